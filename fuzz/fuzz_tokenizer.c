/*
 * fuzz_tokenizer.c -- fuzz target: the tokenizer's and stemmer's promises.
 *
 * The bytes are a document.  Every token lode_tokenize pushes must be 1 to
 * LODE_MAX_TOKEN_BYTES bytes of valid UTF-8, come from a nonempty byte range
 * inside the text whose start and end are at or after the previous token's
 * (one character may give several tokens: U+FDFA gives four, all with its
 * range), and take the next position (0, 1, 2, ...).  A term must tokenize
 * to itself, one token over its whole length: the same code folds documents
 * and query words, so a query for a term must find it.  Each term's stem
 * term, by a Snowball stemmer the input picks, must be the mark then at
 * most LODE_STEM_TERM_MAX - 1 bytes of valid UTF-8, written within the
 * buffer stem.h asks for.  Finally a callback that stops at a token chosen
 * by the input must stop the tokenizer there, its value returned.  A broken
 * promise aborts.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "stem.h"
#include "tokenizer.h"

const char fuzz_target_name[] = "tokenizer";

/* What the stopping callback returns. */
#define STOP 7

/* Stemmers tried, one per input; made on first use, kept for the process. */
static const char *const languages[] = {
	"english", "porter", "french", "german", "russian", "turkish",
	"arabic", "greek", "finnish", "hindi",
};
#define NLANGUAGES (sizeof(languages) / sizeof(languages[0]))
static struct lode_stemmer *stemmers[NLANGUAGES];

struct state {
	struct lode_stemmer *stemmer;
	char *stem;           /* LODE_STEM_TERM_MAX bytes, exactly */
	size_t size;          /* bytes of the text */
	size_t prev_start;    /* range of the previous token */
	size_t prev_end;
	uint32_t ntokens;     /* tokens seen */
	uint32_t stop_after;  /* second pass: stop at this token */
};

/* True if s[0, n) is well-formed UTF-8 (Unicode table 3-7). */
static bool valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0, more;
	unsigned char lo, hi;

	while (i < n) {
		unsigned char c = s[i++];
		lo = 0x80;
		hi = 0xBF;
		if (c < 0x80)
			continue;
		if (c >= 0xC2 && c <= 0xDF) {
			more = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			more = 2;
			lo = c == 0xE0 ? 0xA0 : 0x80;
			hi = c == 0xED ? 0x9F : 0xBF;
		} else if (c >= 0xF0 && c <= 0xF4) {
			more = 3;
			lo = c == 0xF0 ? 0x90 : 0x80;
			hi = c == 0xF4 ? 0x8F : 0xBF;
		} else {
			return false;
		}
		if (n - i < more)
			return false;
		for (; more; more--, i++) {
			if (s[i] < lo || s[i] > hi)
				return false;
			lo = 0x80;
			hi = 0xBF;
		}
	}
	return true;
}

/* Re-tokenizing a term: one token, the term itself. */
struct again {
	const char *term;
	size_t len;
	int ntokens;
};

static int on_again(void *ctx, const char *term, size_t term_len,
                    uint32_t position, size_t start, size_t end)
{
	struct again *a = ctx;

	FUZZ_CHECK(a->ntokens++ == 0 && position == 0);
	FUZZ_CHECK(term_len == a->len && memcmp(term, a->term, term_len) == 0);
	FUZZ_CHECK(start == 0 && end == a->len);
	return 0;
}

static int on_token(void *ctx, const char *term, size_t term_len,
                    uint32_t position, size_t start, size_t end)
{
	struct state *s = ctx;
	struct again a = {term, term_len, 0};
	size_t n;

	FUZZ_CHECK(term_len >= 1 && term_len <= LODE_MAX_TOKEN_BYTES);
	FUZZ_CHECK(valid_utf8((const unsigned char *)term, term_len));
	FUZZ_CHECK(start < end && end <= s->size);
	FUZZ_CHECK(s->prev_start <= start && s->prev_end <= end);
	FUZZ_CHECK(position == s->ntokens);
	s->prev_start = start;
	s->prev_end = end;
	s->ntokens++;
	FUZZ_CHECK(lode_tokenize(term, term_len, on_again, &a) == 0 &&
	           a.ntokens == 1);
	n = lode_stem_term(s->stemmer, term, term_len, s->stem);
	FUZZ_CHECK(n >= 1 && n <= LODE_STEM_TERM_MAX);
	FUZZ_CHECK(s->stem[0] == LODE_STEM_MARK);
	FUZZ_CHECK(valid_utf8((const unsigned char *)s->stem + 1, n - 1));
	return 0;
}

static int on_token_stop(void *ctx, const char *term, size_t term_len,
                         uint32_t position, size_t start, size_t end)
{
	struct state *s = ctx;

	(void)term;
	(void)term_len;
	(void)start;
	(void)end;
	FUZZ_CHECK(position == s->ntokens && position <= s->stop_after);
	s->ntokens++;
	return position == s->stop_after ? STOP : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t lang = size % NLANGUAGES;
	struct state s = {.size = size};
	uint32_t total;

	if (!stemmers[lang])
		FUZZ_CHECK(lode_stemmer_new(languages[lang], &stemmers[lang],
		                            NULL) == LODE_OK);
	s.stemmer = stemmers[lang];
	s.stem = malloc(LODE_STEM_TERM_MAX);
	FUZZ_CHECK(s.stem);
	FUZZ_CHECK(lode_tokenize(text, size, on_token, &s) == 0);
	free(s.stem);
	total = s.ntokens;
	if (total == 0)
		return 0;
	memset(&s, 0, sizeof(s));
	s.size = size;
	s.stop_after = (uint32_t)(size * 2654435761u % total);
	FUZZ_CHECK(lode_tokenize(text, size, on_token_stop, &s) == STOP);
	FUZZ_CHECK(s.ntokens == s.stop_after + 1);
	return 0;
}
