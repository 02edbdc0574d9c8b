/* stem.c -- stem terms through libstemmer. */
#include "stem.h"

#include <libstemmer.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

struct lode_stemmer {
	struct sb_stemmer *sb;
};

int lode_stemmer_new(const char *language, struct lode_stemmer **out,
                     lode_error *err)
{
	struct sb_stemmer *s = sb_stemmer_new(language, "UTF_8");
	char known[400] = "";

	*out = NULL;
	if (!s) {
		for (const char **l = sb_stemmer_list(); *l; l++) {
			if (strlen(known) + strlen(*l) + 2 >= sizeof(known))
				break;
			if (known[0])
				strcat(known, " ");
			strcat(known, *l);
		}
		return lode_fail(err, LODE_EINVAL, "no stemmer for '%s' (known: %s)",
		                 language, known);
	}
	*out = lode_malloc(sizeof(**out));
	if (!*out) {
		sb_stemmer_delete(s);
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	}
	(*out)->sb = s;
	return LODE_OK;
}

size_t lode_stem_term(struct lode_stemmer *s, const char *word, size_t len,
                      char *out)
{
	struct sb_stemmer *sb = s->sb;
	const sb_symbol *stem = sb_stemmer_stem(sb, (const sb_symbol *)word,
	                                        (int)len);
	size_t n = stem ? (size_t)sb_stemmer_length(sb) : 0;

	/* No stem (out of memory in libstemmer): the word stands for itself. */
	if (!stem) {
		stem = (const sb_symbol *)word;
		n = len;
	}
	if (n > LODE_STEM_TERM_MAX - 1) {
		/* Cut at a character boundary. */
		n = LODE_STEM_TERM_MAX - 1;
		while (n > 0 && (stem[n] & 0xc0) == 0x80)
			n--;
	}
	out[0] = LODE_STEM_MARK;
	memcpy(out + 1, stem, n);
	return n + 1;
}

void lode_stemmer_free(struct lode_stemmer *s)
{
	if (s) {
		sb_stemmer_delete(s->sb);
		lode_free(s);
	}
}
