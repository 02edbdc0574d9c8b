/*
 * sample.c -- the first tokens of a build and their words' counts.
 */
#include "sample.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "lode.h"

size_t lode_sample_limit = LODE_SAMPLE_TOKENS;

/* A common word has at least 1/COMMON_SHARE of the sample's tokens. */
#define COMMON_SHARE 1000

struct word {
	uint32_t text;  /* offset in the arena */
	uint8_t len;
	uint32_t hash;
};

struct lode_sample {
	struct word *words;     /* id i at words[i - 1] */
	size_t nwords, words_cap;
	uint32_t *table;        /* open addressing: id, 0 empty */
	size_t table_cap;       /* power of two */
	char *arena;
	size_t arena_used, arena_cap;
	uint32_t *tokens;       /* word ids, 0 for words that cannot count */
	size_t ntokens, tokens_cap;
	uint32_t *docs;         /* per ended document: id, end in tokens */
	size_t ndocs, docs_cap; /* (two entries each) */
};

int lode_sample_new(struct lode_sample **out)
{
	struct lode_sample *s = lode_calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return LODE_ENOMEM;
	s->table_cap = 1u << 12;
	s->table = lode_calloc(s->table_cap, sizeof(uint32_t));
	if (!s->table) {
		lode_free(s);
		return LODE_ENOMEM;
	}
	*out = s;
	return LODE_OK;
}

void lode_sample_free(struct lode_sample *s)
{
	if (!s)
		return;
	lode_free(s->words);
	lode_free(s->table);
	lode_free(s->arena);
	lode_free(s->tokens);
	lode_free(s->docs);
	lode_free(s);
}

static int rehash(struct lode_sample *s)
{
	size_t cap = s->table_cap * 2, mask = cap - 1;
	uint32_t *table = lode_calloc(cap, sizeof(uint32_t));

	if (!table)
		return LODE_ENOMEM;
	for (size_t i = 0; i < s->nwords; i++) {
		size_t slot = s->words[i].hash & mask;
		while (table[slot])
			slot = (slot + 1) & mask;
		table[slot] = (uint32_t)i + 1;
	}
	lode_free(s->table);
	s->table = table;
	s->table_cap = cap;
	return LODE_OK;
}

int lode_sample_word(struct lode_sample *s, const char *p, size_t n,
                     uint32_t *id)
{
	uint32_t h = lode_bytes_hash(p, n);
	size_t mask = s->table_cap - 1, slot = h & mask;
	struct word *w;

	*id = 0;
	if (n == 0 || n > LODE_PAIR_WORD_MAX)
		return LODE_OK;
	for (uint32_t e; (e = s->table[slot]) != 0; slot = (slot + 1) & mask) {
		w = &s->words[e - 1];
		if (w->hash == h && w->len == n &&
		    lode_bytes_equal(s->arena + w->text, p, n)) {
			*id = e;
			return LODE_OK;
		}
	}
	if (s->arena_used + n > UINT32_MAX ||
	    lode_grow(&s->words, &s->words_cap, s->nwords + 1, sizeof(*w)) ||
	    lode_grow(&s->arena, &s->arena_cap, s->arena_used + n, 1))
		return LODE_ENOMEM;
	w = &s->words[s->nwords];
	w->text = (uint32_t)s->arena_used;
	w->len = (uint8_t)n;
	w->hash = h;
	memcpy(s->arena + s->arena_used, p, n);
	s->arena_used += n;
	s->table[slot] = (uint32_t)++s->nwords;
	*id = (uint32_t)s->nwords;
	if (s->nwords * 2 > s->table_cap && rehash(s))
		return LODE_ENOMEM;
	return LODE_OK;
}

int lode_sample_token(struct lode_sample *s, uint32_t id)
{
	if (lode_grow(&s->tokens, &s->tokens_cap, s->ntokens + 1,
	              sizeof(uint32_t)))
		return LODE_ENOMEM;
	/* Counted when the words are chosen: an increment here waited for
	 * its word's record (2.6 % of a build's time in perf), where the
	 * counting pass runs its increments side by side. */
	s->tokens[s->ntokens++] = id;
	return LODE_OK;
}

int lode_sample_end_document(struct lode_sample *s, uint32_t doc)
{
	if (lode_grow(&s->docs, &s->docs_cap, s->ndocs + 2, sizeof(uint32_t)))
		return LODE_ENOMEM;
	s->docs[s->ndocs++] = doc;
	s->docs[s->ndocs++] = (uint32_t)s->ntokens;
	return LODE_OK;
}

void lode_sample_load(struct lode_sample *s, uint32_t *tokens, size_t ntokens,
                      uint32_t *docs, size_t ndocs)
{
	lode_free(s->tokens);
	lode_free(s->docs);
	s->tokens = tokens;
	s->ntokens = s->tokens_cap = ntokens;
	s->docs = docs;
	s->ndocs = s->docs_cap = ndocs;
}

/* Most tokens first, then byte order. */
static int compare_candidates(const struct lode_word_count *x,
                              const struct lode_word_count *y)
{
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return lode_bytes_compare(x->bytes, x->len, y->bytes, y->len);
}

static int compare_by_bytes(const void *a, const void *b)
{
	const struct lode_word_count *x = a, *y = b;

	return lode_bytes_compare(x->bytes, x->len, y->bytes, y->len);
}

void lode_common_pick_start(lode_common_pick *pick, size_t ntokens)
{
	pick->n = 0;
	pick->ntokens = ntokens;
}

/* Keep the best LODE_PAIR_WORDS_MAX in best[], sorted, by insertion: one
 * pass over the vocabulary. */
void lode_common_pick_offer(lode_common_pick *pick, const char *bytes,
                            size_t len, uint64_t count)
{
	struct lode_word_count c = {count, bytes, len};
	size_t j, n = pick->n;

	if (count == 0 || count * COMMON_SHARE < pick->ntokens)
		return;
	if (n == LODE_PAIR_WORDS_MAX &&
	    compare_candidates(&c, &pick->best[n - 1]) >= 0)
		return;
	for (j = n < LODE_PAIR_WORDS_MAX ? pick->n++ : n - 1;
	     j > 0 && compare_candidates(&c, &pick->best[j - 1]) < 0; j--)
		pick->best[j] = pick->best[j - 1];
	pick->best[j] = c;
}

void lode_common_pick_take(lode_common_pick *pick, lode_common_words *cw)
{
	qsort(pick->best, pick->n, sizeof(pick->best[0]), compare_by_bytes);
	cw->n = pick->n;
	for (size_t i = 0; i < pick->n; i++) {
		cw->len[i] = (uint8_t)pick->best[i].len;
		memcpy(cw->word[i], pick->best[i].bytes, pick->best[i].len);
	}
}

int lode_sample_choose(const struct lode_sample *s, lode_common_words *cw)
{
	uint32_t *count = lode_calloc(s->nwords + 1, sizeof(uint32_t));
	lode_common_pick pick;

	if (!count)
		return LODE_ENOMEM;
	for (size_t k = 0; k < s->ntokens; k++)
		count[s->tokens[k]]++;
	lode_common_pick_start(&pick, s->ntokens);
	for (size_t i = 0; i < s->nwords; i++)
		lode_common_pick_offer(&pick, s->arena + s->words[i].text,
		                       s->words[i].len, count[i + 1]);
	lode_common_pick_take(&pick, cw);
	lode_free(count);
	return LODE_OK;
}

int lode_sample_replay(const struct lode_sample *s, const lode_common_words *cw,
                       uint32_t current,
                       int (*pair)(void *ctx, uint32_t doc, unsigned a,
                                   unsigned b),
                       void (*end)(void *ctx, uint32_t doc), void *ctx,
                       unsigned *last)
{
	uint8_t *common = lode_calloc(s->nwords + 1, 1);
	size_t from = 0, d = 0;
	int rc = 0;

	*last = 0;
	if (!common)
		return LODE_ENOMEM;
	for (size_t i = 0; i < s->nwords; i++)
		common[i + 1] = (uint8_t)lode_common_id(
		        cw, s->arena + s->words[i].text, s->words[i].len);
	/* Each ended document, then what there is of the current one. */
	for (;;) {
		int ended = d < s->ndocs;
		size_t to = ended ? s->docs[d + 1] : s->ntokens;
		uint32_t doc = ended ? s->docs[d] : current;
		unsigned prev = 0;
		for (size_t k = from; rc == 0 && k < to; k++) {
			unsigned c = common[s->tokens[k]];
			if (c && prev)
				rc = pair(ctx, doc, prev, c);
			prev = c;
		}
		if (rc || !ended) {
			*last = prev;
			break;
		}
		end(ctx, doc);
		from = to;
		d += 2;
	}
	lode_free(common);
	return rc;
}
