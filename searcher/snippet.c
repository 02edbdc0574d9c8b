/*
 * snippet.c -- the best passage of a document for a query (snippet.h).
 */
#include <string.h>
#include <utf8proc.h>

#include "alloc.h"
#include "bytes.h"
#include "error.h"
#include "index.h"
#include "query.h"
#include "segment.h"
#include "snippet.h"
#include "stem.h"
#include "tokenizer.h"

#define MAX_WORDS 64 /* distinct query words told apart; more share slots */

static const char ellipsis[] = "\xe2\x80\xa6";

struct word {
	const char *term;
	size_t len;
	char stem[LODE_STEM_TERM_MAX]; /* its stem term, if stem_len */
	size_t stem_len;               /* 0: matches the exact word only */
	int alone;                     /* a query term by itself, not only a
	                                  word of phrases */
};

struct match {
	size_t start, end; /* bytes of the document */
	unsigned word;     /* index into the words, mod MAX_WORDS */
	int keep;          /* a term's, or in an occurrence of its phrase */
};

/* A phrase of the query: its words' indexes, in order. */
struct phrase {
	size_t *word;
	size_t n;
};

/* The words that match a stem: the first of them, and whether any is a
 * query term by itself. */
struct stem_group {
	const char *stem;
	size_t len;
	size_t first;
	int alone;
};

struct collect {
	struct lode_stemmer *stemmer; /* bare words match stems; NULL: exact */
	struct word *words;
	size_t nwords, words_cap;
	uint32_t *exact;              /* words by their bytes: open addressing,
	                                 index + 1, at most half full */
	size_t exact_mask;            /* its slots - 1 */
	struct stem_group *groups;    /* the stems of the words that have one */
	size_t ngroups;
	uint32_t *stems;              /* groups by stem, as exact */
	size_t stems_mask;
	struct phrase *phrases;
	size_t nphrases, phrases_cap;
	size_t *recent;               /* by position mod nrecent: the word a
	                                 token is exactly, SIZE_MAX if none */
	size_t nrecent;               /* the longest phrase's length */
	struct match *matches;
	size_t nmatches, matches_cap;
	int rc;
};

/*
 * Query words are found by their bytes in hash tables, when the query is
 * added up and for every token of the document: compared with each word in
 * turn, an OR of 10,000 words took 2 s for ten snippets on Reuters.
 */
static int same_word(const struct collect *c, size_t i, const char *p,
                     size_t n)
{
	return c->words[i].len == n && lode_bytes_equal(c->words[i].term, p, n);
}

static int same_stem(const struct collect *c, size_t i, const char *p,
                     size_t n)
{
	return c->groups[i].len == n && lode_bytes_equal(c->groups[i].stem, p, n);
}

/* The slot of p[0, n) in table (mask + 1 slots of index + 1, same()
 * telling whether an index is p): the one holding it, or the empty one
 * where it would go. */
static size_t find_slot(const struct collect *c, const uint32_t *table,
                        size_t mask,
                        int (*same)(const struct collect *, size_t,
                                    const char *, size_t),
                        const char *p, size_t n)
{
	size_t at = lode_bytes_hash(p, n) & mask;

	while (table[at] && !same(c, table[at] - 1, p, n))
		at = (at + 1) & mask;
	return at;
}

static size_t exact_slot(const struct collect *c, const char *p, size_t n)
{
	return find_slot(c, c->exact, c->exact_mask, same_word, p, n);
}

static size_t stem_slot(const struct collect *c, const char *p, size_t n)
{
	return find_slot(c, c->stems, c->stems_mask, same_stem, p, n);
}

/* Room in c->exact for one more word. */
static int exact_reserve(struct collect *c)
{
	size_t cap = c->exact ? c->exact_mask + 1 : 64;
	uint32_t *old = c->exact;

	if (old && 2 * (c->nwords + 1) <= cap)
		return LODE_OK;
	while (2 * (c->nwords + 1) > cap)
		cap *= 2;
	if (!(c->exact = lode_calloc(cap, sizeof(*c->exact)))) {
		c->exact = old;
		return LODE_ENOMEM;
	}
	c->exact_mask = cap - 1;
	for (size_t i = 0; i < c->nwords; i++)
		c->exact[exact_slot(c, c->words[i].term, c->words[i].len)] =
		        (uint32_t)(i + 1);
	lode_free(old);
	return LODE_OK;
}

/* The stem groups of the words, once all are known. */
static int group_stems(struct collect *c)
{
	size_t cap = 64;

	while (cap < 2 * c->nwords)
		cap *= 2;
	for (size_t i = 0; i < c->nwords; i++) {
		const struct word *w = &c->words[i];
		size_t at;
		if (!w->stem_len)
			continue;
		if (!c->groups &&
		    (!(c->groups = lode_calloc(c->nwords, sizeof(*c->groups))) ||
		     !(c->stems = lode_calloc(cap, sizeof(*c->stems)))))
			return LODE_ENOMEM;
		c->stems_mask = cap - 1;
		at = stem_slot(c, w->stem, w->stem_len);
		if (c->stems[at]) {
			c->groups[c->stems[at] - 1].alone |= w->alone;
			continue;
		}
		c->groups[c->ngroups] = (struct stem_group){w->stem, w->stem_len,
		                                            i, w->alone};
		c->stems[at] = (uint32_t)++c->ngroups;
	}
	return LODE_OK;
}

static int add_words(struct collect *c, const struct lode_qnode *q)
{
	if (q->kind == LODE_Q_NOT)
		return LODE_OK;
	if (q->kind == LODE_Q_ANDNOT)
		return add_words(c, q->child[0]);
	for (size_t i = 0; i < q->nchild; i++)
		if (add_words(c, q->child[i]))
			return LODE_ENOMEM;
	if (q->nterms > 1) {
		struct phrase *ph;
		if (lode_grow(&c->phrases, &c->phrases_cap, c->nphrases + 1,
		              sizeof(struct phrase)))
			return LODE_ENOMEM;
		ph = &c->phrases[c->nphrases];
		if (!(ph->word = lode_calloc(q->nterms, sizeof(size_t))))
			return LODE_ENOMEM;
		ph->n = q->nterms;
		c->nphrases++;
		if (q->nterms > c->nrecent)
			c->nrecent = q->nterms;
	}
	for (size_t t = 0; t < q->nterms; t++) {
		int stemmed = c->stemmer && q->nterms == 1 && !q->quoted;
		struct word *w;
		size_t i, at;
		if (exact_reserve(c))
			return LODE_ENOMEM;
		at = exact_slot(c, q->terms[t], q->term_len[t]);
		i = c->exact[at] ? c->exact[at] - 1 : c->nwords;
		if (q->nterms > 1)
			c->phrases[c->nphrases - 1].word[t] = i;
		if (i < c->nwords) {
			c->words[i].alone |= q->nterms == 1;
			if (c->words[i].stem_len || !stemmed)
				continue;
		}
		if (i == c->nwords) {
			if (lode_grow(&c->words, &c->words_cap, c->nwords + 1,
			              sizeof(struct word)))
				return LODE_ENOMEM;
			c->words[c->nwords++].alone = q->nterms == 1;
			c->exact[at] = (uint32_t)c->nwords;
		}
		w = &c->words[i];
		w->term = q->terms[t];
		w->len = q->term_len[t];
		w->stem_len = stemmed ? lode_stem_term(c->stemmer, w->term, w->len,
		                                       w->stem) : 0;
	}
	return LODE_OK;
}

/* Whether the tokens up to position, the latest, are phrase ph. */
static int phrase_ends_at(const struct collect *c, const struct phrase *ph,
                          uint32_t position)
{
	if ((uint64_t)position + 1 < ph->n)
		return 0;
	for (size_t k = 0; k < ph->n; k++)
		if (c->recent[(position - k) % c->nrecent] != ph->word[ph->n - 1 - k])
			return 0;
	return 1;
}

static int on_token(void *ctx, const char *term, size_t len, uint32_t position,
                    size_t start, size_t end)
{
	struct collect *c = ctx;
	char stem[LODE_STEM_TERM_MAX];
	size_t stem_len = 0, first = SIZE_MAX, exact = SIZE_MAX;
	int alone = 0;

	/* The first word the token matches, exactly or by its stem, names
	 * its match; the word it is exactly (one at most) places it in
	 * phrases. */
	if (c->nwords) {
		uint32_t s = c->exact[exact_slot(c, term, len)];
		if (s) {
			exact = first = s - 1;
			alone = c->words[exact].alone;
		}
	}
	if (c->ngroups) {
		uint32_t s;
		stem_len = lode_stem_term(c->stemmer, term, len, stem);
		if ((s = c->stems[stem_slot(c, stem, stem_len)])) {
			const struct stem_group *g = &c->groups[s - 1];
			if (g->first < first)
				first = g->first;
			alone |= g->alone;
		}
	}
	if (c->nrecent)
		c->recent[position % c->nrecent] = exact;
	if (first == SIZE_MAX)
		return 0;
	if (lode_grow(&c->matches, &c->matches_cap, c->nmatches + 1,
	              sizeof(struct match))) {
		c->rc = LODE_ENOMEM;
		return 1;
	}
	c->matches[c->nmatches].start = start;
	c->matches[c->nmatches].end = end;
	c->matches[c->nmatches].keep = alone;
	c->matches[c->nmatches++].word = (unsigned)(first % MAX_WORDS);
	/* A phrase's tokens all matched, so they are the latest matches. */
	for (size_t p = 0; p < c->nphrases; p++)
		if (phrase_ends_at(c, &c->phrases[p], position))
			for (size_t k = 0; k < c->phrases[p].n; k++)
				c->matches[c->nmatches - 1 - k].keep = 1;
	return 0;
}

/* Keep the matches of terms and of phrases where the whole phrase is: a
 * word of "oil prices" alone is no match. */
static void drop_loose_words(struct collect *c)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->nmatches; i++)
		if (c->matches[i].keep)
			c->matches[kept++] = c->matches[i];
	c->nmatches = kept;
}

/* Choose the window of matches [*first, *last] as described above. */
static void best_window(const struct collect *c, size_t width, size_t *first,
                        size_t *last)
{
	unsigned counts[MAX_WORDS] = {0};
	unsigned distinct = 0, best_distinct = 0;
	size_t j = 0, best_count = 0;

	*first = *last = 0;
	for (size_t i = 0; i < c->nmatches; i++) {
		while (j < c->nmatches &&
		       c->matches[j].end - c->matches[i].start <= width) {
			if (counts[c->matches[j].word]++ == 0)
				distinct++;
			j++;
		}
		if (j > i && (distinct > best_distinct ||
		              (distinct == best_distinct && j - i > best_count))) {
			best_distinct = distinct;
			best_count = j - i;
			*first = i;
			*last = j - 1;
		}
		if (j > i && --counts[c->matches[i].word] == 0)
			distinct--;
		if (j == i)
			j++;
	}
}

static int is_space(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
	       ch == '\f' || ch == '\v';
}

struct out {
	char *buf;
	size_t len, cap;
	lode_span *spans;
	size_t nspans, spans_cap;
};

static int put(struct out *o, const char *p, size_t n)
{
	if (lode_grow(&o->buf, &o->cap, o->len + n + 1, 1))
		return LODE_ENOMEM;
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	o->buf[o->len] = '\0';
	return LODE_OK;
}

/* Copy text[start, end) folded onto one line, recording match spans.
 * Matches may overlap: a character that folds to several tokens (½ is
 * "1⁄2", ㏂ "a.m.") gives each of them its byte range, and "x½y" gives
 * "x1" and "2y" ranges that share the ½; overlapping matches are one span. */
static int render(struct out *o, const char *text, size_t start, size_t end,
                  const struct collect *c)
{
	size_t m = 0, i = start, span_end = 0;
	int pending_space = 0, open = 0;

	while (m < c->nmatches && c->matches[m].start < start)
		m++;
	while (i < end) {
		unsigned char ch = (unsigned char)text[i];
		utf8proc_int32_t cp;
		utf8proc_ssize_t n;
		if (is_space(ch) || ch < 0x20 || ch == 0x7f) {
			pending_space = 1;
			i++;
			continue;
		}
		if (pending_space && o->len > 0 && put(o, " ", 1))
			return LODE_ENOMEM;
		pending_space = 0;
		if (!open && m < c->nmatches && c->matches[m].start <= i) {
			if (lode_grow(&o->spans, &o->spans_cap, o->nspans + 1,
			              sizeof(lode_span)))
				return LODE_ENOMEM;
			o->spans[o->nspans].start = o->len;
			open = 1;
			span_end = c->matches[m++].end;
		}
		while (open && m < c->nmatches && c->matches[m].start < span_end) {
			if (c->matches[m].end > span_end)
				span_end = c->matches[m].end;
			m++;
		}
		n = utf8proc_iterate((const utf8proc_uint8_t *)text + i,
		                     (utf8proc_ssize_t)(end - i), &cp);
		if (n < 1) {
			if (put(o, "\xef\xbf\xbd", 3))
				return LODE_ENOMEM;
			n = 1;
		} else if (put(o, text + i, (size_t)n)) {
			return LODE_ENOMEM;
		}
		i += (size_t)n;
		if (open && (i >= span_end || i >= end)) {
			/* A match the window cuts is marked as far as shown. */
			o->spans[o->nspans++].end = o->len;
			open = 0;
		}
	}
	return LODE_OK;
}

int lode_snippet_make(const lode_index *ix, const lode_query *query,
                      uint32_t doc, size_t width, lode_snippet *out,
                      lode_error *err)
{
	uint32_t local;
	const struct lode_segment *seg = lode_index_segment_of(ix, doc, &local);
	uint64_t full;
	size_t len;
	char *text;
	int rc;

	memset(out, 0, sizeof(*out));
	lode_error_clear(err);
	if (!seg)
		return lode_fail(err, LODE_EINVAL, "no document %u", doc);
	if ((rc = lode_segment_doc_text(seg, local, LODE_SNIPPET_SCAN + 4, &text,
	                                &len, &full, err)))
		return rc;
	rc = lode_snippet_of_text(ix->stemmer, query, text, len, full, width,
	                          out, err);
	lode_free(text);
	return rc;
}

int lode_snippet_of_text(const char *stemmer, const lode_query *query,
                         const char *text, size_t len, uint64_t full,
                         size_t width, lode_snippet *out, lode_error *err)
{
	struct collect c = {0};
	struct out o = {0};
	size_t first, last, start = 0, end, cut;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len < full) {
		/* Read 4 bytes more than searched, to see where characters
		 * end.  Search no further than the last white space, so that no
		 * word is cut in two; inside a huge word (longer than a token
		 * can be), between two characters. */
		size_t limit = len > 4 ? len - 4 : 0;
		cut = limit;
		while (cut > 0 && limit - cut < 4 * LODE_MAX_TOKEN_BYTES &&
		       !is_space((unsigned char)text[cut - 1]))
			cut--;
		if (cut == 0 || !is_space((unsigned char)text[cut - 1]))
			for (cut = limit; cut > 0 && ((uint8_t)text[cut] & 0xc0) == 0x80;)
				cut--;
		len = cut;
	}
	if (width < 16)
		width = 16;
	if (stemmer[0] && !query->exact &&
	    (rc = lode_stemmer_new(stemmer, &c.stemmer, err)))
		return rc;
	rc = add_words(&c, query->root);
	if (rc == LODE_OK)
		rc = group_stems(&c);
	if (rc == LODE_OK && c.nrecent &&
	    !(c.recent = lode_calloc(c.nrecent, sizeof(size_t))))
		rc = LODE_ENOMEM;
	if (rc == LODE_OK) {
		lode_tokenize(text, len, on_token, &c);
		rc = c.rc;
		drop_loose_words(&c);
	}
	if (rc)
		goto out_nomem;
	end = len < width ? len : width;
	if (c.nmatches) {
		size_t ws, we, extra;
		best_window(&c, width, &first, &last);
		ws = c.matches[first].start;
		we = c.matches[last].end;
		extra = we - ws < width ? width - (we - ws) : 0;
		start = ws > extra / 3 ? ws - extra / 3 : 0;
		end = we + (extra - (ws - start));
		if (end > len)
			end = len;
		/* One match longer than the snippet (a 255-byte word): cut it
		 * between characters. */
		if (end - start > 2 * width) {
			end = start + 2 * width;
			while (end > start && ((uint8_t)text[end] & 0xc0) == 0x80)
				end--;
		}
		/* Cut at white space, never inside a word or a character. */
		if (start > 0) {
			size_t s = start;
			while (s < ws && !is_space((unsigned char)text[s - 1]))
				s++;
			start = s;
		}
	}
	if (end < len) {
		size_t e = end;
		while (e > start && !is_space((unsigned char)text[e]))
			e--;
		if (e > start && (!c.nmatches || e >= c.matches[last].end))
			end = e;
		/* No white space (Chinese, Japanese): between characters. */
		while (end > start && ((uint8_t)text[end] & 0xc0) == 0x80)
			end--;
	}
	if ((start > 0 && put(&o, ellipsis, strlen(ellipsis))) ||
	    render(&o, text, start, end, &c) ||
	    (end < full && put(&o, ellipsis, strlen(ellipsis))) ||
	    (!o.buf && put(&o, "", 0)))
		goto out_nomem;
	out->text = o.buf;
	out->len = o.len;
	out->spans = o.spans;
	out->nspans = o.nspans;
	goto out_free;
out_nomem:
	lode_free(o.buf);
	lode_free(o.spans);
	rc = lode_fail(err, LODE_ENOMEM, "out of memory");
out_free:
	lode_stemmer_free(c.stemmer);
	lode_free(c.words);
	lode_free(c.exact);
	lode_free(c.groups);
	lode_free(c.stems);
	for (size_t p = 0; p < c.nphrases; p++)
		lode_free(c.phrases[p].word);
	lode_free(c.phrases);
	lode_free(c.recent);
	lode_free(c.matches);
	return rc;
}

void lode_snippet_release(lode_snippet *s)
{
	if (!s)
		return;
	lode_free(s->text);
	lode_free(s->spans);
	memset(s, 0, sizeof(*s));
}
