/*
 * inverter.c -- in-memory postings buffers, sorted runs and their merge.
 *
 * Each token's position goes straight into its term's buffer, so a document
 * costs no scratch memory per token (a 2 GB file would otherwise need
 * gigabytes of it).  The first time a document touches a term, the term's
 * buffer gets the document gap and a one-byte hole for the frequency,
 * which is not known yet; when the document ends, the frequency is written
 * into the hole.  A frequency of 128 or more needs up to FREQ_SLOT bytes:
 * its positions move forward into the FREQ_SLOT - 1 bytes that every
 * reservation of buffer room keeps spare, so that ending a document never
 * allocates.  Buffers are the chunk encoding of inverter.h.
 *
 * Pair terms (pairs.h) need the common words, which need statistics: the
 * first tokens are sampled (sample.h) until the sample is full or the input
 * ends; then the common words are chosen from it, the pairs it holds are
 * added, and from there on pairs are indexed as they come.  While no run
 * has spilled, the sample is the postings in memory: the words' counts are
 * their positions, and the pairs are found in the common words' positions,
 * so that sampling costs a count per token.  A spill would lose them: the
 * sample's tokens are then copied out of the postings into a sample object
 * (sample.h), which records every further token until the choice.
 */
#include "inverter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <unistd.h>

#include "alloc.h"
#include "bytes.h"
#include "codec.h"
#include "error.h"
#include "file.h"
#include "pairs.h"
#include "sample.h"
#include "stem.h"
#include "tokenizer.h"


#define RUN_MAGIC "LODE\0RUN"
#define NO_DOC UINT32_MAX
#define FREQ_SLOT 5 /* VByte bytes of the largest uint32_t */
#define FREQ_SPARE (FREQ_SLOT - 1)

/* One cache line (the array is aligned to it): a token's lookup and its
 * posting touch the record once, where an 80-byte record straddled two
 * lines for most terms. */
struct term {
	uint32_t text;      /* offset of the term's bytes in the arena */
	uint16_t len;       /* bytes (at most LODE_MAX_TOKEN_BYTES) */
	uint8_t common;     /* its id among the common words, 0 if none */
	uint32_t hash;
	uint32_t used;      /* bytes of buf */
	uint8_t *buf;       /* postings chunk of the current run */
	uint32_t cap;       /* bytes allocated for buf */
	uint32_t last_doc;  /* last document in buf, NO_DOC if none; while it
	                       is the current one, the fields below are valid */
	uint32_t df;        /* documents in buf */
	uint32_t freq_at;   /* offset in buf of the frequency's hole */
	uint64_t cf;        /* positions in buf */
	uint32_t last_pos;  /* position of the latest token */
	uint32_t freq;      /* tokens in the current document */
	uint32_t stem;      /* exact term: its stem term's index + 1, 0 if not
	                       known yet */
	uint32_t sample_id; /* its word's id in the sample, while there is one */
};

#define TERM_ALIGN 64
_Static_assert(sizeof(struct term) == TERM_ALIGN, "a term is one cache line");
_Static_assert(LODE_MAX_TOKEN_BYTES <= UINT16_MAX &&
                       LODE_PAIR_TERM_MAX <= UINT16_MAX,
               "a term's length fits its record");

/* The arena's offsets are 32 bits; a run spills before its arena passes
 * ARENA_SPILL, so only a single document with more than 4 GiB of distinct
 * terms' bytes can reach the limit. */
#define ARENA_MAX UINT32_MAX
#define ARENA_SPILL (ARENA_MAX / 2)

/*
 * Postings buffers of up to POOL_MAX bytes come from a pool of their own:
 * capacities are powers of two from 16 bytes (class 0), a buffer that grows
 * moves to the next class and leaves its block on its class's free list for
 * the next term, and the blocks are carved from large chunks that a spill
 * frees all at once.  With malloc, realloc and free for each term (20
 * Newsgroups: 172,724 terms, most of them in one or two documents), the
 * allocator was 6 % of a build.  Larger buffers are few and use realloc.
 */
#define POOL_CLASSES 13
#define POOL_MIN 16
#define POOL_MAX (POOL_MIN << (POOL_CLASSES - 1))
#define POOL_CHUNK_MIN ((size_t)64 << 10)
#define POOL_CHUNK_MAX ((size_t)1 << 20)

struct pool {
	void *free[POOL_CLASSES]; /* freed blocks of each class, linked
	                             through their first bytes */
	lode_arena chunks;        /* where new blocks are carved */
	size_t carved;            /* bytes handed out from chunks */
};

/* The class of a pooled capacity (a power of two, POOL_MIN to POOL_MAX). */
static unsigned pool_class(size_t cap)
{
	return (unsigned)__builtin_ctzll(cap / POOL_MIN);
}

/* An empty pool.  Chunks double from POOL_CHUNK_MIN so that a small
 * budget's runs stay small. */
static void pool_init(struct pool *p)
{
	memset(p, 0, sizeof(*p));
	lode_arena_init(&p->chunks, NULL, 0);
	lode_arena_chunks(&p->chunks, POOL_CHUNK_MIN, POOL_CHUNK_MAX);
}

/* A block of class c: the newest freed one, or carved; NULL if out of
 * memory. */
static void *pool_get(struct pool *p, unsigned c)
{
	size_t size = (size_t)POOL_MIN << c;
	void *b = p->free[c];

	if (b) {
		memcpy(&p->free[c], b, sizeof(void *));
		return b;
	}
	if ((b = lode_arena_alloc(&p->chunks, size)))
		p->carved += size;
	return b;
}

static void pool_put(struct pool *p, void *b, unsigned c)
{
	memcpy(b, &p->free[c], sizeof(void *));
	p->free[c] = b;
}

/* Free every chunk: the pooled buffers are gone. */
static void pool_release(struct pool *p)
{
	lode_arena_free(&p->chunks);
	pool_init(p);
}

/* Bytes of a run read in the merge before their pages are let go. */
#define RUN_DROP_BYTES (4u << 20)

struct run {
	lode_map map;
	size_t dropped;      /* pages before this offset are let go */
	const uint8_t *p;    /* next record */
	int has;             /* the fields below hold the current record */
	const char *term;
	size_t term_len;
	uint64_t df, cf;
	lode_chunk chunk;
};

/*
 * Tokens wait in batches of TOKEN_BATCH before they are added, so that the
 * memory each one needs can be fetched ahead of it: its hash table slot
 * when it is queued, its term record PREFETCH_RECORD tokens ahead, and the
 * term's bytes and the end of its postings buffer PREFETCH_DATA tokens
 * ahead.  Added one by one, each token waited for those cache misses in
 * turn (half of on_token's time in perf: the slot load and the record's
 * hash comparison).
 */
#define TOKEN_BATCH 128
#define PREFETCH_RECORD 12
#define PREFETCH_DATA 4

struct pending {
	uint32_t at;       /* offset of its bytes in pend_bytes */
	uint32_t len;
	uint32_t hash;
	uint32_t position;
};

/* A term to sort: 16 bytes, the size the array had with qsort alone. */
struct sort_key {
	uint64_t key;       /* lode_bytes_key of its bytes */
	uint32_t index;     /* in inv->terms */
};

/* A term among those of equal keys, sorted by all its bytes. */
struct tie_key {
	const char *bytes;
	uint32_t len;
	uint32_t index;
};

struct lode_inverter {
	size_t budget;
	char *run_dir;
	struct lode_stemmer *stemmer; /* NULL: no stem terms */

	struct term *terms;     /* aligned to TERM_ALIGN inside terms_mem */
	void *terms_mem;
	size_t nterms, terms_cap;
	uint32_t *table;        /* open addressing: term index + 1, 0 empty */
	size_t table_cap;       /* power of two */
	char *arena;            /* term bytes */
	size_t arena_used, arena_cap;
	size_t buffered;        /* bytes of postings buffers above POOL_MAX */
	struct pool pool;       /* the smaller ones */

	size_t ntoks;           /* tokens of the current document */
	struct pending *pend;   /* tokens not yet added (TOKEN_BATCH) */
	char *pend_bytes;       /* their terms, one after another */
	size_t npend, pend_used;
	uint32_t *touched;      /* terms seen in the current document */
	size_t ntouched, touched_cap;
	uint32_t doc;           /* current document */
	int rc;                 /* error raised inside the tokenizer callback */

	/* Common words and pair terms. */
	int sampling;           /* the common words are not chosen yet */
	size_t sampled;         /* tokens sampled so far */
	uint32_t *sample_docs;  /* while sampling in memory: per ended document
	                           its id and its end in the sampled tokens (two
	                           entries each) */
	size_t nsample_docs, sample_docs_cap;
	struct lode_sample *sample; /* once a run spilled while sampling: the
	                               sampled tokens, until the choice */
	lode_common_words common;
	uint32_t *pair_of;      /* common ids a, b: pair term index + 1 at
	                           (a - 1) * LODE_PAIR_WORDS_MAX + b - 1, or 0 */
	uint8_t prev_common;    /* the current document's previous token's
	                           common id */

	struct run *runs;
	size_t nruns, runs_cap;

	/* Iteration after finish(). */
	int finished;
	struct sort_key *order; /* in-memory case: terms in byte order */
	size_t norder, next_order;
	lode_chunk *chunks;
	size_t chunks_cap;
};

static size_t memory_used(const struct lode_inverter *inv)
{
	/* What is in use: the tables keep their size across spills, and
	 * counting their capacity would make every later document spill. */
	/* Not the sample: it has a size of its own (sample.h), and counting
	 * it would make a small budget spill after every document. */
	/* Free pooled blocks count: they are the next terms' buffers.  The
	 * newest chunk's uncarved rest does not (at most POOL_CHUNK_MAX, and
	 * untouched pages), nor the tail a chunk is left with when a block
	 * does not fit it. */
	return inv->buffered + inv->pool.carved +
	       inv->nterms * (sizeof(struct term) + 2 * sizeof(uint32_t)) +
	       inv->arena_used;
}

int lode_inverter_new(size_t budget, const char *run_dir,
                      struct lode_stemmer *stemmer, struct lode_inverter **out,
                      lode_error *err)
{
	struct lode_inverter *inv = lode_calloc(1, sizeof(*inv));
	size_t n = strlen(run_dir) + 1;

	*out = NULL;
	if (!inv)
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	pool_init(&inv->pool);
	inv->budget = budget;
	inv->stemmer = stemmer;
	inv->run_dir = lode_malloc(n);
	inv->table_cap = 1u << 12;
	inv->table = lode_calloc(inv->table_cap, sizeof(uint32_t));
	inv->pair_of = lode_calloc(LODE_PAIR_WORDS_MAX * LODE_PAIR_WORDS_MAX,
	                           sizeof(uint32_t));
	inv->pend = lode_malloc(TOKEN_BATCH * sizeof(struct pending));
	inv->pend_bytes = lode_malloc(TOKEN_BATCH * LODE_MAX_TOKEN_BYTES +
	                              LODE_TOKEN_READABLE);
	if (!inv->run_dir || !inv->table || !inv->pair_of || !inv->pend ||
	    !inv->pend_bytes) {
		lode_inverter_free(inv);
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	}
	memcpy(inv->run_dir, run_dir, n);
	inv->sampling = 1;
	*out = inv;
	return LODE_OK;
}

static int rehash(struct lode_inverter *inv)
{
	size_t cap = inv->table_cap * 2, mask = cap - 1;
	uint32_t *table = lode_calloc(cap, sizeof(uint32_t));

	if (!table)
		return LODE_ENOMEM;
	for (size_t i = 0; i < inv->nterms; i++) {
		size_t slot = inv->terms[i].hash & mask;
		while (table[slot])
			slot = (slot + 1) & mask;
		table[slot] = (uint32_t)i + 1;
	}
	lode_free(inv->table);
	inv->table = table;
	inv->table_cap = cap;
	return LODE_OK;
}

/* Room for one more term record, keeping the array aligned to a cache
 * line (lode_grow's realloc would keep 16 bytes). */
static int grow_terms(struct lode_inverter *inv)
{
	size_t cap = inv->terms_cap ? inv->terms_cap * 2 : 1024;
	void *mem;
	struct term *terms;

	if (inv->nterms < inv->terms_cap)
		return LODE_OK;
	if (cap > SIZE_MAX / sizeof(struct term) - 1 ||
	    !(mem = lode_malloc(cap * sizeof(struct term) + TERM_ALIGN - 1)))
		return LODE_ENOMEM;
	terms = (struct term *)(((uintptr_t)mem + TERM_ALIGN - 1) &
	                        ~(uintptr_t)(TERM_ALIGN - 1));
	if (inv->nterms)
		memcpy(terms, inv->terms, inv->nterms * sizeof(struct term));
	lode_free(inv->terms_mem);
	inv->terms_mem = mem;
	inv->terms = terms;
	inv->terms_cap = cap;
	return LODE_OK;
}

/* term_lookup's slow path: add p[0, n), whose hash is h, at the empty
 * slot; returns its index, LODE_ENOMEM or LODE_ELIMIT (ARENA_MAX). */
static int64_t term_add(struct lode_inverter *inv, const char *p, size_t n,
                        uint32_t h, size_t slot)
{
	struct term *t;

	if (inv->arena_used + n > ARENA_MAX)
		return LODE_ELIMIT;
	if (grow_terms(inv) ||
	    lode_grow(&inv->arena, &inv->arena_cap, inv->arena_used + n, 1))
		return LODE_ENOMEM;
	t = &inv->terms[inv->nterms];
	memset(t, 0, sizeof(*t));
	t->text = (uint32_t)inv->arena_used;
	t->len = (uint16_t)n;
	t->hash = h;
	t->last_doc = NO_DOC;
	t->common = (uint8_t)lode_common_id(&inv->common, p, n);
	/* Words only: stem and pair terms start with their marks. */
	if (inv->sample && p[0] != LODE_STEM_MARK && p[0] != LODE_PAIR_MARK &&
	    lode_sample_word(inv->sample, p, n, &t->sample_id))
		return LODE_ENOMEM;
	memcpy(inv->arena + inv->arena_used, p, n);
	inv->arena_used += n;
	inv->table[slot] = (uint32_t)++inv->nterms;
	if (inv->nterms * 2 > inv->table_cap && rehash(inv))
		return LODE_ENOMEM;
	return (int64_t)inv->nterms - 1;
}

/* Find or add term; returns its index or a negative error.  Inline (the
 * compiler would not), as once per token a call's saving and restoring
 * of registers cost about as much as the probe. */
static LODE_ALWAYS_INLINE int64_t
term_lookup_hashed(struct lode_inverter *inv, const char *p, size_t n,
                   uint32_t h)
{
	size_t mask = inv->table_cap - 1, slot = h & mask;
	const struct term *t;

	for (uint32_t e; (e = inv->table[slot]) != 0; slot = (slot + 1) & mask) {
		t = &inv->terms[e - 1];
		if (t->hash == h && t->len == n &&
		    lode_bytes_equal(inv->arena + t->text, p, n))
			return e - 1;
	}
	return term_add(inv, p, n, h, slot);
}

static LODE_ALWAYS_INLINE int64_t term_lookup(struct lode_inverter *inv,
                                              const char *p, size_t n)
{
	return term_lookup_hashed(inv, p, n, lode_bytes_hash(p, n));
}

/* buf_reserve's slow path: grow t's buffer. */
static int buf_grow(struct lode_inverter *inv, struct term *t, size_t need)
{
	size_t cap = t->cap;
	uint8_t *buf;

	if ((uint64_t)t->used + need > UINT32_MAX / 2)
		return LODE_ELIMIT;
	if (cap < POOL_MIN)
		cap = POOL_MIN;
	while (cap < t->used + need)
		cap *= 2;
	if (t->cap > POOL_MAX) {
		if (!(buf = lode_realloc(t->buf, cap)))
			return LODE_ENOMEM;
		inv->buffered += cap - t->cap;
	} else {
		buf = cap <= POOL_MAX ? pool_get(&inv->pool, pool_class(cap))
		                      : lode_malloc(cap);
		if (!buf)
			return LODE_ENOMEM;
		if (cap > POOL_MAX)
			inv->buffered += cap;
		if (t->cap) {
			memcpy(buf, t->buf, t->used);
			pool_put(&inv->pool, t->buf, pool_class(t->cap));
		}
	}
	t->buf = buf;
	t->cap = (uint32_t)cap;
	return LODE_OK;
}

/* Make room for need more bytes in t's buffer. */
static inline int buf_reserve(struct lode_inverter *inv, struct term *t,
                              size_t need)
{
	if ((size_t)t->used + need <= t->cap)
		return LODE_OK;
	return buf_grow(inv, t, need);
}

/* touch's slow path, the term's first occurrence in the document: note
 * it in the touched list and start its posting (document gap, hole for the
 * frequency) in its buffer. */
static int touch_first(struct lode_inverter *inv, uint32_t ti)
{
	struct term *t = &inv->terms[ti];
	int rc;

	if (lode_grow(&inv->touched, &inv->touched_cap, inv->ntouched + 1,
	              sizeof(uint32_t)))
		return LODE_ENOMEM;
	if ((rc = buf_reserve(inv, t, LODE_VBYTE_MAX + 1 + FREQ_SPARE)))
		return rc;
	t->used += (uint32_t)lode_vbyte_put(t->buf + t->used,
	                                    t->last_doc == NO_DOC
	                                            ? inv->doc
	                                            : inv->doc - t->last_doc);
	t->freq_at = t->used;
	t->used += 1;
	inv->touched[inv->ntouched++] = ti;
	t->last_doc = inv->doc;
	t->freq = 0;
	t->last_pos = 0;
	return LODE_OK;
}

/* Make term ti part of the current document. */
static inline int touch(struct lode_inverter *inv, uint32_t ti)
{
	if (inv->terms[ti].last_doc == inv->doc)
		return LODE_OK;
	return touch_first(inv, ti);
}

/* One occurrence of term ti, which keeps no positions (a stem or pair
 * term), in the current document. */
static int add_count(struct lode_inverter *inv, uint32_t ti)
{
	int rc;

	if ((rc = touch(inv, ti)))
		return rc;
	inv->terms[ti].freq++;
	return LODE_OK;
}

/* Count an occurrence of the stem of exact term ti. */
static int add_stem(struct lode_inverter *inv, uint32_t ti)
{
	if (inv->terms[ti].stem == 0) {
		char stem[LODE_STEM_TERM_MAX];
		size_t n = lode_stem_term(inv->stemmer, inv->arena + inv->terms[ti].text,
		                          inv->terms[ti].len, stem);
		int64_t si = term_lookup(inv, stem, n);
		if (si < 0)
			return (int)si;
		inv->terms[ti].stem = (uint32_t)si + 1;
	}
	return add_count(inv, inv->terms[ti].stem - 1);
}

/* One occurrence of term ti at position in the current document. */
static int add_position(struct lode_inverter *inv, uint32_t ti,
                        uint32_t position)
{
	struct term *t;
	int rc;

	if ((rc = touch(inv, ti)) ||
	    (rc = buf_reserve(inv, &inv->terms[ti], LODE_VBYTE_MAX + FREQ_SPARE)))
		return rc;
	t = &inv->terms[ti];
	t->used += (uint32_t)lode_vbyte_put(t->buf + t->used,
	                                    position - t->last_pos);
	t->last_pos = position;
	t->freq++;
	return LODE_OK;
}

/* An occurrence of the pair of common words a, b (ids). */
static int add_pair(struct lode_inverter *inv, unsigned a, unsigned b)
{
	uint32_t *slot = &inv->pair_of[(a - 1) * LODE_PAIR_WORDS_MAX + b - 1];

	if (*slot == 0) {
		char term[LODE_PAIR_TERM_MAX];
		size_t n = lode_pair_term(inv->common.word[a - 1],
		                          inv->common.len[a - 1],
		                          inv->common.word[b - 1],
		                          inv->common.len[b - 1], term);
		int64_t ti = term_lookup(inv, term, n);
		if (ti < 0)
			return (int)ti;
		*slot = (uint32_t)ti + 1;
	}
	return add_count(inv, *slot - 1);
}

static int end_sample(struct lode_inverter *inv, uint32_t last);

/* After exact term ti: sample it, or count the pair it ends. */
static int follow_pairs(struct lode_inverter *inv, uint32_t ti)
{
	uint8_t c;
	int rc;

	if (inv->sampling) {
		if (inv->sample &&
		    lode_sample_token(inv->sample, inv->terms[ti].sample_id))
			return LODE_ENOMEM;
		if (++inv->sampled >= lode_sample_limit)
			return end_sample(inv, ti + 1);
		return LODE_OK;
	}
	c = inv->terms[ti].common;
	if (c && inv->prev_common && (rc = add_pair(inv, inv->prev_common, c)))
		return rc;
	inv->prev_common = c;
	return LODE_OK;
}

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* The record of the term in the first slot of hash h's probe, if any. */
static inline const struct term *first_probe(const struct lode_inverter *inv,
                                             uint32_t h)
{
	uint32_t e = inv->table[h & (inv->table_cap - 1)];

	return e ? &inv->terms[e - 1] : NULL;
}

/* Add the queued tokens, in order, fetching ahead what each will touch. */
static int add_pending(struct lode_inverter *inv)
{
	size_t n = inv->npend;
	int rc = LODE_OK;

	for (size_t i = 0; i < n; i++) {
		const struct pending *tok = &inv->pend[i];
		const struct term *t;
		int64_t ti;

		if (i + PREFETCH_RECORD < n &&
		    (t = first_probe(inv, inv->pend[i + PREFETCH_RECORD].hash)))
			PREFETCH(t);
		if (i + PREFETCH_DATA < n &&
		    (t = first_probe(inv, inv->pend[i + PREFETCH_DATA].hash))) {
			PREFETCH(inv->arena + t->text);
			PREFETCH(t->buf + t->used);
		}
		ti = term_lookup_hashed(inv, inv->pend_bytes + tok->at, tok->len,
		                        tok->hash);
		if (ti < 0) {
			rc = (int)ti;
			break;
		}
		/* Stem terms keep no positions: phrases match exact words. */
		if ((rc = add_position(inv, (uint32_t)ti, tok->position)) ||
		    (inv->stemmer && (rc = add_stem(inv, (uint32_t)ti))) ||
		    (rc = follow_pairs(inv, (uint32_t)ti)))
			break;
	}
	inv->npend = 0;
	inv->pend_used = 0;
	return rc;
}

/* Queue a token: its hash, and a prefetch of its table slot. */
static int on_token(void *ctx, const char *term, size_t len, uint32_t position,
                    size_t start, size_t end)
{
	struct lode_inverter *inv = ctx;
	struct pending *tok = &inv->pend[inv->npend];
	int rc;

	(void)start;
	(void)end;
	if (inv->ntoks == UINT32_MAX - 1) {
		inv->rc = LODE_ELIMIT;
		return 1;
	}
	tok->at = (uint32_t)inv->pend_used;
	tok->len = (uint32_t)len;
	tok->hash = lode_bytes_hash(term, len);
	tok->position = position;
	PREFETCH(&inv->table[tok->hash & (inv->table_cap - 1)]);
	/* Most terms are short: one fixed move (pend_bytes has the slack). */
	if (len <= LODE_TOKEN_READABLE)
		memcpy(inv->pend_bytes + inv->pend_used, term, LODE_TOKEN_READABLE);
	else
		memcpy(inv->pend_bytes + inv->pend_used, term, len);
	inv->pend_used += len;
	inv->ntoks++;
	if (++inv->npend == TOKEN_BATCH && (rc = add_pending(inv))) {
		inv->rc = rc;
		return 1;
	}
	return 0;
}

/* End the current document: write each touched term's frequency into its
 * hole, moving its positions forward when it takes more than the hole's
 * byte (into the spare room, FREQ_SPARE bytes). */
static void flush_touched(struct lode_inverter *inv, size_t from)
{
	for (size_t i = from; i < inv->ntouched; i++) {
		struct term *t = &inv->terms[inv->touched[i]];
		uint8_t *hole = t->buf + t->freq_at;

		if (t->freq < 0x80) {
			*hole = (uint8_t)t->freq;
		} else {
			uint8_t code[LODE_VBYTE_MAX];
			size_t n = lode_vbyte_put(code, t->freq);
			memmove(hole + n, hole + 1, t->used - t->freq_at - 1);
			memcpy(hole, code, n);
			t->used += (uint32_t)(n - 1);
		}
		t->df++;
		t->cf += t->freq;
	}
	inv->ntouched = from;
}

static void flush_document(struct lode_inverter *inv)
{
	flush_touched(inv, 0);
}

static int compare_ties(const void *a, const void *b)
{
	const struct tie_key *x = a, *y = b;

	return lode_bytes_compare(x->bytes, x->len, y->bytes, y->len);
}

/* Sort the run keys[0, n) of equal keys by the terms' bytes, through
 * ties[0, n). */
static void sort_ties(const struct lode_inverter *inv, struct sort_key *keys,
                      size_t n, struct tie_key *ties)
{
	for (size_t i = 0; i < n; i++) {
		const struct term *t = &inv->terms[keys[i].index];
		ties[i].bytes = inv->arena + t->text;
		ties[i].len = t->len;
		ties[i].index = keys[i].index;
	}
	qsort(ties, n, sizeof(*ties), compare_ties);
	for (size_t i = 0; i < n; i++)
		keys[i].index = ties[i].index;
}

_Static_assert(sizeof(struct tie_key) <= sizeof(struct sort_key),
               "the radix sort's scratch array holds a run's tie keys");

/*
 * Sort keys[0, n) in the terms' byte order: a least-significant-byte-first
 * radix sort of the 8-byte keys (one counting pass, then a stable pass for
 * each byte that is not the same in every key), then each run of equal
 * keys by the terms' bytes, in the same scratch array.  A quarter of the
 * instructions of qsort with a comparison of keys then bytes, and the
 * memory it took (the array and glibc's scratch copy of it) but for a run
 * of terms that share their first 8 bytes: qsort's scratch copy of it.
 */
static int sort_keys(const struct lode_inverter *inv, struct sort_key *keys,
                     size_t n)
{
	size_t count[8][256] = {{0}};
	struct sort_key *tmp, *src = keys, *dst;

	if (n < 2)
		return LODE_OK;
	if (!(tmp = lode_malloc(n * sizeof(*tmp))))
		return LODE_ENOMEM;
	dst = tmp;
	for (size_t i = 0; i < n; i++)
		for (unsigned b = 0; b < 8; b++)
			count[b][(keys[i].key >> (8 * b)) & 0xff]++;
	for (unsigned b = 0; b < 8; b++) {
		size_t *c = count[b], at = 0;
		struct sort_key *swap;
		if (c[(keys[0].key >> (8 * b)) & 0xff] == n)
			continue; /* one value of this byte: order unchanged */
		for (unsigned v = 0; v < 256; v++) {
			size_t k = c[v];
			c[v] = at;
			at += k;
		}
		for (size_t i = 0; i < n; i++)
			dst[c[(src[i].key >> (8 * b)) & 0xff]++] = src[i];
		swap = src;
		src = dst;
		dst = swap;
	}
	if (src != keys)
		memcpy(keys, src, n * sizeof(*keys));
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && keys[j].key == keys[i].key; j++)
			;
		if (j - i > 1)
			sort_ties(inv, keys + i, j - i, (struct tie_key *)(void *)tmp);
	}
	lode_free(tmp);
	return LODE_OK;
}

/* Fill inv->order with the buffered terms in byte order. */
static int sort_terms(struct lode_inverter *inv)
{
	lode_free(inv->order);
	inv->order = lode_malloc(inv->nterms * sizeof(struct sort_key));
	if (!inv->order)
		return LODE_ENOMEM;
	for (size_t i = 0; i < inv->nterms; i++) {
		inv->order[i].key = lode_bytes_key(inv->arena + inv->terms[i].text,
		                                   inv->terms[i].len);
		inv->order[i].index = (uint32_t)i;
	}
	if (sort_keys(inv, inv->order, inv->nterms))
		return LODE_ENOMEM;
	inv->norder = inv->nterms;
	inv->next_order = 0;
	return LODE_OK;
}

/* Forget every buffered term, keeping the allocations that are reusable. */
static void reset_memory(struct lode_inverter *inv)
{
	for (size_t i = 0; i < inv->nterms; i++)
		if (inv->terms[i].cap > POOL_MAX)
			lode_free(inv->terms[i].buf);
	pool_release(&inv->pool);
	inv->nterms = 0;
	inv->arena_used = 0;
	inv->buffered = 0;
	if (inv->table)
		memset(inv->table, 0, inv->table_cap * sizeof(uint32_t));
	if (inv->pair_of)
		memset(inv->pair_of, 0, LODE_PAIR_WORDS_MAX * LODE_PAIR_WORDS_MAX *
		                                sizeof(uint32_t));
#ifdef __GLIBC__
	/* Hand the freed buffers back to the system: glibc keeps small
	 * freed blocks resident, and the merge after the last spill would
	 * add its own memory to theirs. */
	malloc_trim(0);
#endif
}

static char *run_path(const struct lode_inverter *inv, size_t n)
{
	char name[32];

	snprintf(name, sizeof(name), "run-%06zu.tmp", n);
	return lode_path_join(inv->run_dir, name);
}

static int run_advance(struct run *r, lode_error *err)
{
	const uint8_t *end = r->map.data + r->map.size - 4;
	size_t read = (size_t)(r->p - r->map.data);
	uint64_t len, clen;

	/* The records before p are merged: without this, the mapped runs
	 * would end up resident whole (190 MB of a 1 GB corpus's build). */
	if (read - r->dropped >= RUN_DROP_BYTES) {
		lode_map_drop(&r->map, r->dropped, read);
		r->dropped = read;
	}
	if (r->p >= end) {
		r->has = 0;
		return LODE_OK;
	}
	if (lode_vbyte_get(&r->p, end, &len) || len > (uint64_t)(end - r->p))
		goto corrupt;
	r->term = (const char *)r->p;
	r->term_len = (size_t)len;
	r->p += len;
	if (lode_vbyte_get(&r->p, end, &r->df) ||
	    lode_vbyte_get(&r->p, end, &r->cf) ||
	    lode_vbyte_get(&r->p, end, &clen) || clen > (uint64_t)(end - r->p))
		goto corrupt;
	r->chunk.data = r->p;
	r->chunk.len = (size_t)clen;
	r->p += clen;
	r->has = 1;
	return LODE_OK;
corrupt:
	return lode_fail(err, LODE_ECORRUPT, "%s: corrupt run file", r->map.path);
}

/* Reading a term's buffer in the current run: its documents, each with
 * its positions. */
struct buf_reader {
	const uint8_t *p, *end;
	uint32_t doc;  /* the document read last */
	uint32_t left; /* its positions not read yet */
	uint32_t pos;  /* the position read last */
	int started;
};

static void buf_reader_start(struct buf_reader *r, const struct term *t)
{
	r->p = t->buf;
	r->end = t->buf + t->used;
	r->started = 0;
}

/* The next document of t's buffer: 1 with r->doc and r->left set, 0 at the
 * end.  Document open (NO_DOC if none) has not ended: its frequency's hole
 * holds nothing yet, t->freq has it. */
static int buf_next_doc(const struct term *t, struct buf_reader *r,
                        uint32_t open)
{
	uint64_t v = 0;

	if (r->p >= r->end)
		return 0;
	(void)lode_vbyte_get_fast(&r->p, r->end, &v);
	r->doc = r->started ? r->doc + (uint32_t)v : (uint32_t)v;
	r->started = 1;
	if (r->doc == open && r->p == t->buf + t->freq_at) {
		r->left = t->freq;
		r->p++;
	} else {
		(void)lode_vbyte_get_fast(&r->p, r->end, &v);
		r->left = (uint32_t)v;
	}
	r->pos = 0;
	return 1;
}

/* The next position of the document buf_next_doc read (r->left > 0). */
static uint32_t buf_next_position(struct buf_reader *r)
{
	uint64_t gap = 0;

	(void)lode_vbyte_get_fast(&r->p, r->end, &gap);
	r->left--;
	return r->pos += (uint32_t)gap;
}

/* Whether term t may be a common word: a word (not a stem term) of at most
 * LODE_PAIR_WORD_MAX bytes; pair terms do not exist while sampling. */
static int may_be_common(const struct lode_inverter *inv, const struct term *t)
{
	return t->len <= LODE_PAIR_WORD_MAX &&
	       inv->arena[t->text] != LODE_STEM_MARK;
}

/* Where document doc starts in the sampled tokens (sampling in memory; doc
 * is among inv->sample_docs). */
static size_t sample_doc_start(const struct lode_inverter *inv, uint32_t doc)
{
	size_t lo = 0, hi = inv->nsample_docs / 2;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (inv->sample_docs[2 * mid] < doc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? inv->sample_docs[2 * lo - 1] : 0;
}

/* A run is about to spill while sampling in memory: copy the sampled tokens
 * out of the postings (every document ended) into a sample object, which
 * records the tokens from here on. */
static int sample_out_of_postings(struct lode_inverter *inv)
{
	struct lode_sample *s;
	uint32_t *tokens = NULL;

	if (lode_sample_new(&s))
		return LODE_ENOMEM;
	if (inv->sampled &&
	    !(tokens = lode_calloc(inv->sampled, sizeof(uint32_t)))) {
		lode_sample_free(s);
		return LODE_ENOMEM;
	}
	for (size_t i = 0; i < inv->nterms; i++) {
		const struct term *t = &inv->terms[i];
		struct buf_reader r;
		uint32_t id;
		if (!may_be_common(inv, t))
			continue;
		if (lode_sample_word(s, inv->arena + t->text, t->len, &id)) {
			lode_free(tokens);
			lode_sample_free(s);
			return LODE_ENOMEM;
		}
		buf_reader_start(&r, t);
		while (buf_next_doc(t, &r, NO_DOC)) {
			size_t start = sample_doc_start(inv, r.doc);
			while (r.left)
				tokens[start + buf_next_position(&r)] = id;
		}
	}
	lode_sample_load(s, tokens, inv->sampled, inv->sample_docs,
	                 inv->nsample_docs);
	inv->sample_docs = NULL;
	inv->nsample_docs = inv->sample_docs_cap = 0;
	inv->sample = s;
	return LODE_OK;
}

/* While sampling, the document doc has ended. */
static int sample_end_document(struct lode_inverter *inv, uint32_t doc)
{
	if (inv->sample)
		return lode_sample_end_document(inv->sample, doc);
	if (lode_grow(&inv->sample_docs, &inv->sample_docs_cap,
	              inv->nsample_docs + 2, sizeof(uint32_t)))
		return LODE_ENOMEM;
	inv->sample_docs[inv->nsample_docs++] = doc;
	inv->sample_docs[inv->nsample_docs++] = (uint32_t)inv->sampled;
	return LODE_OK;
}

/* Mark the common words among the terms in memory. */
static void mark_common(struct lode_inverter *inv)
{
	for (size_t i = 0; i < inv->nterms; i++)
		inv->terms[i].common = (uint8_t)lode_common_id(
		        &inv->common, inv->arena + inv->terms[i].text,
		        inv->terms[i].len);
}

/*
 * The pairs of the sample in memory: the common words' positions are
 * marked with their ids, a byte for each sampled token, then in each
 * document every two adjacent marks are a pair, the pairs of ended documents flushed with
 * them (the terms touched after the current document's, from base on); the
 * current one, if open, goes on.
 */
static int replay_postings(struct lode_inverter *inv, int open)
{
	uint8_t *mark = lode_calloc(inv->sampled + 1, 1);
	size_t base = inv->ntouched, from = 0, d = 0;
	uint32_t current = inv->doc, open_doc = open ? current : NO_DOC;
	int rc = LODE_OK;

	if (!mark)
		return LODE_ENOMEM;
	for (size_t i = 0; i < inv->nterms; i++) {
		const struct term *t = &inv->terms[i];
		struct buf_reader r;
		if (!t->common)
			continue;
		size_t at = 0; /* documents of inv->sample_docs before r.doc */
		buf_reader_start(&r, t);
		while (buf_next_doc(t, &r, open_doc)) {
			size_t start;
			/* A common word is in most documents: step, not search. */
			while (at < inv->nsample_docs / 2 &&
			       inv->sample_docs[2 * at] < r.doc)
				at++;
			start = at ? inv->sample_docs[2 * at - 1] : 0;
			while (r.left)
				mark[start + buf_next_position(&r)] = t->common;
		}
	}
	/* Each ended document, then what there is of the open one. */
	for (;;) {
		int ended = d < inv->nsample_docs;
		size_t to = ended ? inv->sample_docs[d + 1] : inv->sampled;
		inv->doc = ended ? inv->sample_docs[d] : current;
		for (size_t k = from; rc == LODE_OK && k + 1 < to; k++)
			if (mark[k] && mark[k + 1])
				rc = add_pair(inv, mark[k], mark[k + 1]);
		if (rc != LODE_OK || !ended)
			break;
		flush_touched(inv, base);
		from = to;
		d += 2;
	}
	inv->doc = current;
	lode_free(mark);
	return rc;
}

/* Replaying a sample object: a pair, and the end of a document, whose
 * terms are those touched after the current document's (from base on). */
struct replay {
	struct lode_inverter *inv;
	size_t base;
};

static int replay_pair(void *ctx, uint32_t doc, unsigned a, unsigned b)
{
	struct replay *r = ctx;

	r->inv->doc = doc;
	return add_pair(r->inv, a, b);
}

static void replay_end(void *ctx, uint32_t doc)
{
	struct replay *r = ctx;

	r->inv->doc = doc;
	flush_touched(r->inv, r->base);
}

/*
 * The sample is full, or the input ended: choose the common words, mark
 * the terms in memory that are, and index the pairs of the sample.  If the
 * sample ended inside a document (last: the index + 1 of the term of its
 * last token; 0 between documents), that document's pairs join its
 * postings, and its next pair starts from the last sampled token.
 */
static int end_sample(struct lode_inverter *inv, uint32_t last)
{
	int rc;

	if (inv->sample) {
		struct replay r = {inv, inv->ntouched};
		uint32_t current = inv->doc;
		unsigned prev;
		if (lode_sample_choose(inv->sample, &inv->common))
			return LODE_ENOMEM;
		mark_common(inv);
		rc = lode_sample_replay(inv->sample, &inv->common, current,
		                        replay_pair, replay_end, &r, &prev);
		inv->doc = current;
		inv->prev_common = (uint8_t)prev;
		lode_sample_free(inv->sample);
		inv->sample = NULL;
	} else {
		lode_common_pick pick;
		lode_common_pick_start(&pick, inv->sampled);
		for (size_t i = 0; i < inv->nterms; i++) {
			const struct term *t = &inv->terms[i];
			if (may_be_common(inv, t))
				lode_common_pick_offer(
				        &pick, inv->arena + t->text, t->len,
				        t->cf + (last && t->last_doc == inv->doc
				                         ? t->freq
				                         : 0));
		}
		lode_common_pick_take(&pick, &inv->common);
		mark_common(inv);
		rc = replay_postings(inv, last != 0);
		inv->prev_common = last ? inv->terms[last - 1].common : 0;
	}
	inv->sampling = 0;
	lode_free(inv->sample_docs);
	inv->sample_docs = NULL;
	inv->nsample_docs = inv->sample_docs_cap = 0;
	return rc;
}

/* Write the buffered terms as one sorted run file, then forget them. */
static int spill(struct lode_inverter *inv, lode_error *err)
{
	lode_out out;
	char *path;
	int rc;

	if (lode_grow(&inv->runs, &inv->runs_cap, inv->nruns + 1,
	              sizeof(struct run)))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	if ((rc = sort_terms(inv)) != LODE_OK)
		return lode_fail(err, rc, "out of memory");
	path = run_path(inv, inv->nruns);
	if (!path)
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	rc = lode_out_open(&out, path, RUN_MAGIC, err);
	for (size_t i = 0; rc == LODE_OK && i < inv->norder; i++) {
		const struct term *t = &inv->terms[inv->order[i].index];
		if ((rc = lode_out_vbyte(&out, t->len, err)) ||
		    (rc = lode_out_write(&out, inv->arena + t->text, t->len, err)) ||
		    (rc = lode_out_vbyte(&out, t->df, err)) ||
		    (rc = lode_out_vbyte(&out, t->cf, err)) ||
		    (rc = lode_out_vbyte(&out, t->used, err)))
			break;
		rc = lode_out_write(&out, t->buf, t->used, err);
	}
	if (rc == LODE_OK)
		rc = lode_out_finish(&out, err);
	else
		lode_out_abort(&out);
	if (rc == LODE_OK) {
		struct run *r = &inv->runs[inv->nruns];
		memset(r, 0, sizeof(*r));
		rc = lode_map_open(&r->map, path, RUN_MAGIC, 4, err);
		if (rc == LODE_OK) {
			inv->nruns++;
			r->p = r->map.data + 16;
			rc = run_advance(r, err);
		}
	} else {
		unlink(path);
	}
	lode_free(path);
	lode_free(inv->order);
	inv->order = NULL;
	reset_memory(inv);
	return rc;
}

void lode_inverter_set_budget(struct lode_inverter *inv, size_t budget)
{
	inv->budget = budget;
}

/* Which of the in-memory limits a LODE_ELIMIT met. */
static const char *limit_reached(const struct lode_inverter *inv)
{
	return inv->arena_used + LODE_STEM_TERM_MAX + LODE_PAIR_TERM_MAX > ARENA_MAX
	               ? "a document's distinct terms exceed 4 GB in memory"
	               : "a term's postings exceed 2 GB in memory";
}

int lode_inverter_add(struct lode_inverter *inv, uint32_t doc, const char *text,
                      size_t len, uint32_t *tokens, lode_error *err)
{
	inv->doc = doc;
	inv->rc = LODE_OK;
	inv->ntoks = 0;
	inv->ntouched = 0;
	inv->prev_common = 0;
	inv->npend = 0;
	inv->pend_used = 0;
	lode_tokenize(text, len, on_token, inv);
	if (inv->rc == LODE_OK)
		inv->rc = add_pending(inv);
	*tokens = (uint32_t)inv->ntoks;
	if (inv->rc == LODE_ENOMEM)
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	if (inv->rc == LODE_ELIMIT)
		return lode_fail(err, LODE_ELIMIT, "%s",
		                 inv->ntoks == UINT32_MAX - 1
		                         ? "document has more than 2^32 tokens"
		                         : limit_reached(inv));
	flush_document(inv);
	if (inv->sampling && sample_end_document(inv, doc))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	if (memory_used(inv) > inv->budget || inv->arena_used > ARENA_SPILL) {
		if (inv->sampling && !inv->sample && sample_out_of_postings(inv))
			return lode_fail(err, LODE_ENOMEM, "out of memory");
		return spill(inv, err);
	}
	return LODE_OK;
}

int lode_inverter_finish(struct lode_inverter *inv, lode_error *err)
{
	int rc = LODE_OK;

	inv->finished = 1;
	if (inv->sampling && (rc = end_sample(inv, 0)) != LODE_OK)
		return lode_fail(err, rc, "%s", rc == LODE_ENOMEM ? "out of memory"
		                                                  : limit_reached(inv));
	if (inv->nruns > 0 && inv->nterms > 0)
		rc = spill(inv, err);
	else if (inv->nruns == 0 && (rc = sort_terms(inv)) != LODE_OK)
		rc = lode_fail(err, rc, "out of memory");
	return rc;
}

uint32_t lode_inverter_runs(const struct lode_inverter *inv)
{
	return (uint32_t)inv->nruns;
}

const lode_common_words *lode_inverter_common(const struct lode_inverter *inv)
{
	return &inv->common;
}

static int next_merged(struct lode_inverter *inv, lode_term_postings *out,
                       lode_error *err)
{
	struct run *min = NULL;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < inv->nruns; i++) {
		struct run *r = &inv->runs[i];
		if (r->has && (!min || lode_bytes_compare(r->term, r->term_len, min->term,
		                                     min->term_len) < 0))
			min = r;
	}
	if (!min)
		return 0;
	if (lode_grow(&inv->chunks, &inv->chunks_cap, inv->nruns,
	              sizeof(lode_chunk)))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	out->term = min->term;
	out->term_len = min->term_len;
	out->df = 0;
	out->cf = 0;
	/* Runs hold increasing document ranges, so run order is doc order.
	 * out->term points into min's mapping and stays valid as runs advance. */
	for (size_t i = 0; i < inv->nruns; i++) {
		struct run *r = &inv->runs[i];
		if (!r->has ||
		    lode_bytes_compare(r->term, r->term_len, out->term, out->term_len))
			continue;
		if (r->df > UINT32_MAX - out->df)
			return lode_fail(err, LODE_ECORRUPT, "%s: corrupt run file",
			                 r->map.path);
		inv->chunks[n++] = r->chunk;
		out->df += (uint32_t)r->df;
		out->cf += r->cf;
		if ((rc = run_advance(r, err)) != LODE_OK)
			return rc;
	}
	out->chunks = inv->chunks;
	out->nchunks = n;
	return 1;
}

int lode_inverter_next(struct lode_inverter *inv, lode_term_postings *out,
                       lode_error *err)
{
	const struct term *t;

	if (inv->nruns)
		return next_merged(inv, out, err);
	if (inv->next_order >= inv->norder)
		return 0;
	if (lode_grow(&inv->chunks, &inv->chunks_cap, 1, sizeof(lode_chunk)))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	t = &inv->terms[inv->order[inv->next_order++].index];
	inv->chunks[0].data = t->buf;
	inv->chunks[0].len = t->used;
	out->term = inv->arena + t->text;
	out->term_len = t->len;
	out->df = t->df;
	out->cf = t->cf;
	out->chunks = inv->chunks;
	out->nchunks = 1;
	return 1;
}

void lode_inverter_free(struct lode_inverter *inv)
{
	if (!inv)
		return;
	reset_memory(inv);
	for (size_t i = 0; i < inv->nruns; i++) {
		char *path = run_path(inv, i);
		lode_map_close(&inv->runs[i].map);
		if (path)
			unlink(path);
		lode_free(path);
	}
	lode_free(inv->runs);
	lode_free(inv->terms_mem);
	lode_free(inv->table);
	lode_free(inv->arena);
	lode_free(inv->touched);
	lode_sample_free(inv->sample);
	lode_free(inv->sample_docs);
	lode_free(inv->pair_of);
	lode_free(inv->pend);
	lode_free(inv->pend_bytes);
	lode_free(inv->order);
	lode_free(inv->chunks);
	lode_free(inv->run_dir);
	lode_free(inv);
}
