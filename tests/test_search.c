/*
 * test_search.c -- matching and ranking against a brute-force reference.
 *
 * Each case generates a seeded corpus (a Zipf-ish vocabulary of 30-60 words,
 * so that phrases and co-occurrences are frequent; punctuation, apostrophes,
 * capitals, non-ASCII letters, empty and one-word documents, repeated words,
 * subdirectories, plus a hidden and a binary file that must be skipped),
 * writes it as files and indexes it twice: with the default memory budget,
 * and with a tiny one that spills a sorted run after every document or few,
 * so the run merge is exercised.  The reference keeps every document's term
 * ids in memory, tokenized with lode_tokenize exactly as the indexer does.
 * Some corpora plant words in exactly 127, 128, 129, 255, 256, 257, ... of
 * 300-3000 documents, so postings span block boundaries and skip tables.
 *
 * Seeded random queries (terms, phrases sampled from the documents or made
 * up, AND explicit and implicit, OR, NOT, leading NOT, parentheses nested up
 * to depth 4) are parsed with lode_qnode_parse for the reference, which
 * evaluates the tree over all documents by brute force, and must give:
 *
 *   - lode_match: exactly the reference set, in increasing order;
 *   - lode_count: its size;
 *   - lode_search with k = 0, 1, 3, 10 and more than the corpus, with and
 *     without asking for the total (lode ranks ORs of terms and phrases,
 *     ANDs led by one and NOTs of these with MaxScore; a quarter of the
 *     queries are such ORs, an eighth such ANDs, an eighth ANDs with
 *     exclusions among their operands ('a AND b NOT c', 'a AND NOT c',
 *     which lode turns into (a AND b) NOT c), an eighth ORs of 16 to 40
 *     operands, which lode takes a window of documents at a time, and on
 *     the tiny-budget index every such AND is pruned, however few its
 *     matches, and the windows are of 1 to 200 documents): the
 *     reference BM25 ranking (ties by lower id), scores within 1e-9
 *     relative, near ties (reference scores within 1e-9) accepted in either
 *     order; and each top k must be the first k of lode's own full ranking,
 *     bit for bit.
 *
 * BM25, as eval.h specifies: a node's score at a document it matches is, for
 * a PHRASE leaf, idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
 * (k1 and b the defaults for most queries, others set with
 * lode_query_set_bm25 for the rest, edge values 0 and 1 among them)
 * with idf the sum of ln(1 + (N - df + 0.5) / (df + 0.5)) over its terms
 * (times its boost, 1 in a parsed query), df counted in the whole index, and
 * tf the number of start positions where it occurs; or, for the queries
 * ranked with lode_query_set_dfr (DFR In_expB2), w * tfn / (tfn + 1) with
 * tfn = tf * log2(1 + c * avgdl / dl) and w the sum over its terms of
 * (cf + 1) / df * log2((N + 1) / (N * (1 - e^(-cf / N)) + 0.5)), cf the
 * term's occurrences in the whole index; for AND and OR the sum of
 * the scores of the children that match; for a NOT b the score of a; for a
 * leading NOT zero.  So terms under a NOT never score, and an OR child that
 * does not match adds nothing even if some of its leaves occur.
 *
 * Every mismatch prints the seed, which index, the query and its tree.
 *
 * Last come minimal cases of bugs these tests found; the sanitizer build
 * (make SANITIZE=address,undefined) is what catches them.
 */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <utf8proc.h>

#include "lode.h"
#include "docs_writer.h"
#include "eval.h"
#include "format.h"
#include "index.h"
#include "postings_writer.h"
#include "query.h"
#include "sample.h"
#include "support.h"
#include "tokenizer.h"

/* Failing queries reported per corpus before the rest are only counted. */
#define MAX_REPORTS 8
/* Relative tolerance between lode's and the reference's scores. */
#define SCORE_TOL 1e-9
/* Deepest nesting of generated queries. */
#define QUERY_DEPTH 4
/* Budget of the spilling build: far below what one document needs. */
#define TINY_BUDGET 4096

/* ---- small helpers -------------------------------------------------------- */

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		abort();
	return p;
}

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		abort();
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xcalloc(n, 1);

	memcpy(p, s, n);
	return p;
}

/* A growing NUL-terminated string. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_put(struct sbuf *s, const char *str, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->p = xrealloc(s->p, s->cap);
	}
	memcpy(s->p + s->len, str, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void sb_puts(struct sbuf *s, const char *str)
{
	sb_put(s, str, strlen(str));
}

static void sb_reset(struct sbuf *s)
{
	s->len = 0;
	sb_put(s, "", 0);
}

/* ---- the reference index ---------------------------------------------------- */

struct occurrence {
	uint32_t doc, pos;
};

struct rdoc {
	char *name;        /* path below the corpus directory */
	char *text;        /* file contents */
	size_t len;
	uint32_t *toks;    /* term id of each position */
	uint32_t ntoks, toks_cap;
};

struct ref {
	struct rdoc *docs; /* in index order (the walk's order) */
	uint32_t ndocs;
	char **terms;      /* folded term bytes, NUL-terminated */
	size_t *term_lens;
	uint32_t nterms, terms_cap;
	uint32_t *slots;   /* open addressing over terms: id + 1, 0 empty */
	size_t nslots;     /* power of two */
	uint32_t *df;      /* per term: documents containing it */
	struct occurrence **occ; /* per term: every (doc, pos), in order */
	uint32_t *nocc, *occ_cap;
	uint64_t tokens;   /* positions in all documents */
	uint64_t postings; /* sum of df */
	double avgdl;
};

static uint32_t hash_term(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 16777619u;
	return h;
}

/* Id of term, or -1 if no document has it. */
static int64_t ref_find(const struct ref *r, const char *p, size_t n)
{
	size_t mask = r->nslots - 1;

	for (size_t s = hash_term(p, n) & mask; r->slots[s]; s = (s + 1) & mask) {
		uint32_t id = r->slots[s] - 1;
		if (r->term_lens[id] == n && memcmp(r->terms[id], p, n) == 0)
			return id;
	}
	return -1;
}

static uint32_t ref_intern(struct ref *r, const char *p, size_t n)
{
	int64_t found = ref_find(r, p, n);
	size_t mask = r->nslots - 1, s;
	uint32_t id;

	if (found >= 0)
		return (uint32_t)found;
	if ((r->nterms + 1) * 2 > r->nslots) {
		uint32_t *old = r->slots;
		size_t nold = r->nslots;
		r->nslots *= 2;
		r->slots = xcalloc(r->nslots, sizeof(uint32_t));
		mask = r->nslots - 1;
		for (size_t i = 0; i < nold; i++) {
			if (!old[i])
				continue;
			id = old[i] - 1;
			s = hash_term(r->terms[id], r->term_lens[id]) & mask;
			while (r->slots[s])
				s = (s + 1) & mask;
			r->slots[s] = old[i];
		}
		free(old);
	}
	if (r->nterms == r->terms_cap) {
		r->terms_cap = r->terms_cap ? r->terms_cap * 2 : 64;
		r->terms = xrealloc(r->terms, r->terms_cap * sizeof(char *));
		r->term_lens = xrealloc(r->term_lens, r->terms_cap * sizeof(size_t));
	}
	id = r->nterms++;
	r->terms[id] = xcalloc(n + 1, 1);
	memcpy(r->terms[id], p, n);
	r->term_lens[id] = n;
	s = hash_term(p, n) & mask;
	while (r->slots[s])
		s = (s + 1) & mask;
	r->slots[s] = id + 1;
	return id;
}

struct tokenize_ctx {
	struct ref *r;
	struct rdoc *d;
};

static int on_ref_token(void *ctx, const char *term, size_t term_len,
                        uint32_t position, size_t start, size_t end)
{
	struct tokenize_ctx *t = ctx;
	struct rdoc *d = t->d;

	(void)start;
	(void)end;
	assert_int_equal(position, d->ntoks);
	if (d->ntoks == d->toks_cap) {
		d->toks_cap = d->toks_cap ? d->toks_cap * 2 : 16;
		d->toks = xrealloc(d->toks, d->toks_cap * sizeof(uint32_t));
	}
	d->toks[d->ntoks++] = ref_intern(t->r, term, term_len);
	return 0;
}

/* Tokenize every document (already in index order) and invert them. */
static void ref_index(struct ref *r)
{
	r->nslots = 256;
	r->slots = xcalloc(r->nslots, sizeof(uint32_t));
	for (uint32_t i = 0; i < r->ndocs; i++) {
		struct tokenize_ctx t = {r, &r->docs[i]};
		assert_int_equal(lode_tokenize(r->docs[i].text, r->docs[i].len,
		                               on_ref_token, &t), 0);
		r->tokens += r->docs[i].ntoks;
	}
	r->df = xcalloc(r->nterms, sizeof(uint32_t));
	r->occ = xcalloc(r->nterms, sizeof(struct occurrence *));
	r->nocc = xcalloc(r->nterms, sizeof(uint32_t));
	r->occ_cap = xcalloc(r->nterms, sizeof(uint32_t));
	for (uint32_t i = 0; i < r->ndocs; i++) {
		const struct rdoc *d = &r->docs[i];
		for (uint32_t p = 0; p < d->ntoks; p++) {
			uint32_t id = d->toks[p];
			if (r->nocc[id] == 0 || r->occ[id][r->nocc[id] - 1].doc != i) {
				r->df[id]++;
				r->postings++;
			}
			if (r->nocc[id] == r->occ_cap[id]) {
				r->occ_cap[id] = r->occ_cap[id] ? r->occ_cap[id] * 2 : 8;
				r->occ[id] = xrealloc(r->occ[id], r->occ_cap[id] *
				                      sizeof(struct occurrence));
			}
			r->occ[id][r->nocc[id]++] = (struct occurrence){i, p};
		}
	}
	r->avgdl = r->ndocs ? (double)r->tokens / r->ndocs : 1.0;
	if (r->avgdl <= 0)
		r->avgdl = 1.0;
}

static void ref_free(struct ref *r)
{
	for (uint32_t i = 0; i < r->ndocs; i++) {
		free(r->docs[i].name);
		free(r->docs[i].text);
		free(r->docs[i].toks);
	}
	for (uint32_t t = 0; t < r->nterms; t++) {
		free(r->terms[t]);
		free(r->occ[t]);
	}
	free(r->docs);
	free(r->terms);
	free(r->term_lens);
	free(r->slots);
	free(r->df);
	free(r->occ);
	free(r->nocc);
	free(r->occ_cap);
	memset(r, 0, sizeof(*r));
}

/* ---- brute-force evaluation ---------------------------------------------------- */

/* A node's value at every document: whether it matches, and its score there
 * (0 where it does not match). */
struct rres {
	uint8_t *match;
	double *score;
};

static void rres_new(const struct ref *r, struct rres *out)
{
	out->match = xcalloc(r->ndocs, 1);
	out->score = xcalloc(r->ndocs, sizeof(double));
}

static void rres_free(struct rres *res)
{
	free(res->match);
	free(res->score);
}

/* BM25 parameters of a query. */
struct ranking {
	double k1, b;  /* BM25's, unless dfr */
	int dfr;       /* DFR In_expB2 with c */
	double c;
};

/* Query n is ranked with rankings[n % 8]: the defaults for two in eight,
 * DFR for two, and the largest k1 (where scores must stay finite). */
static const struct ranking rankings[] = {
	{LODE_BM25_K1, LODE_BM25_B, 0, 0}, {LODE_BM25_K1, LODE_BM25_B, 0, 0},
	{0.5, 0.3, 0, 0}, {2.0, 1.0, 0, 0}, {0, 0, 0, 0},
	{0, 0, 1, LODE_DFR_C}, {0, 0, 1, 7.0}, {LODE_BM25_K1_MAX, 1.0, 0, 0},
};

static double ref_idf(const struct ref *r, uint32_t df)
{
	return log(1.0 + ((double)r->ndocs - df + 0.5) / (df + 0.5));
}

/* A phrase: counts every start position where all its terms follow. */
static double ref_dfr_weight(const struct ref *r, uint32_t df, uint32_t cf)
{
	double n = r->ndocs, ne = n * (1 - exp(-(double)cf / n));

	return df ? (cf + 1.0) / df * log2((n + 1) / (ne + 0.5)) : 0;
}

static void ref_phrase(const struct ref *r, const struct ranking *p,
                       const struct lode_qnode *q, struct rres *out)
{
	int64_t *ids = xcalloc(q->nterms, sizeof(int64_t));
	uint32_t *tf = xcalloc(r->ndocs, sizeof(uint32_t));
	double idf = 0;
	int missing = 0;

	for (size_t k = 0; k < q->nterms; k++) {
		ids[k] = ref_find(r, q->terms[k], q->term_len[k]);
		missing |= ids[k] < 0;
		if (p->dfr)
			idf += ids[k] < 0 ? 0 : ref_dfr_weight(r, r->df[ids[k]],
			                                       r->nocc[ids[k]]);
		else
			idf += ref_idf(r, ids[k] < 0 ? 0 : r->df[ids[k]]);
	}
	idf *= q->boost; /* 1: a parsed query is never expanded */
	for (uint32_t i = 0; !missing && i < r->nocc[ids[0]]; i++) {
		struct occurrence o = r->occ[ids[0]][i];
		const struct rdoc *d = &r->docs[o.doc];
		size_t k;
		if (o.pos + q->nterms > d->ntoks)
			continue;
		for (k = 1; k < q->nterms; k++)
			if (d->toks[o.pos + k] != ids[k])
				break;
		if (k == q->nterms)
			tf[o.doc]++;
	}
	for (uint32_t d = 0; d < r->ndocs; d++) {
		double norm;
		if (!tf[d])
			continue;
		out->match[d] = 1;
		if (p->dfr) {
			double tfn = tf[d] * log2(1 + p->c * r->avgdl /
			                                  r->docs[d].ntoks);
			out->score[d] = idf * tfn / (tfn + 1);
			continue;
		}
		norm = p->k1 * (1 - p->b + p->b * r->docs[d].ntoks / r->avgdl);
		out->score[d] = idf * tf[d] * (p->k1 + 1) / (tf[d] + norm);
	}
	free(ids);
	free(tf);
}

static void ref_eval(const struct ref *r, const struct ranking *p,
                     const struct lode_qnode *q, struct rres *out)
{
	struct rres c;

	if (q->kind == LODE_Q_ANDNOT)
		ref_eval(r, p, q->child[0], out);
	else
		rres_new(r, out);
	switch (q->kind) {
	case LODE_Q_PHRASE:
		ref_phrase(r, p, q, out);
		return;
	case LODE_Q_AND:
		memset(out->match, 1, r->ndocs);
		/* fall through */
	case LODE_Q_OR:
		for (size_t i = 0; i < q->nchild; i++) {
			ref_eval(r, p, q->child[i], &c);
			for (uint32_t d = 0; d < r->ndocs; d++) {
				if (q->kind == LODE_Q_AND)
					out->match[d] &= c.match[d];
				else
					out->match[d] |= c.match[d];
				out->score[d] += c.score[d];
			}
			rres_free(&c);
		}
		break;
	case LODE_Q_ANDNOT:
		ref_eval(r, p, q->child[1], &c);
		for (uint32_t d = 0; d < r->ndocs; d++)
			out->match[d] &= !c.match[d];
		rres_free(&c);
		break;
	case LODE_Q_NOT:
		ref_eval(r, p, q->child[0], &c);
		for (uint32_t d = 0; d < r->ndocs; d++)
			out->match[d] = !c.match[d];
		rres_free(&c);
		break;
	}
	for (uint32_t d = 0; d < r->ndocs; d++)
		if (!out->match[d])
			out->score[d] = 0;
}

/* ---- the corpus generator ---------------------------------------------------- */

/* Words in Zipf rank order once shuffled per corpus.  Several tokenize into
 * more than one term or fold to something else; "and", "or" and "not" are
 * words in documents and only operators in queries when uppercase. */
static const char *const vocabulary[] = {
	"the", "of", "and", "to", "a", "in", "is", "that", "for", "it",
	"was", "on", "with", "as", "by", "not", "or", "iran", "council",
	"security", "national", "supreme", "oil", "nuclear", "talks",
	"sanctions", "minister", "foreign", "said", "state", "news", "agency",
	"president", "deal", "vienna", "tehran", "week", "report", "strike",
	"missile", "drone", "gulf", "ship", "port", "market", "price",
	"barrel", "retaliation", "2024", "x", "i", "u.n.", "iran's", "don't",
	"café", "Pézeshkian", "Straße", "naïve", "1,200", "e-mail",
	NULL, /* the long word, filled in by long_word() */
};
#define NVOCAB (sizeof(vocabulary) / sizeof(vocabulary[0]))
#define MAX_STOCK 6

/* A word longer than LODE_MAX_TOKEN_BYTES: documents and queries cut it. */
static const char *long_word(void)
{
	static char word[261];

	if (!word[0]) {
		for (size_t i = 0; i < sizeof(word) - 1; i++)
			word[i] = (char)('a' + i % 7);
	}
	return word;
}

struct corpus_spec {
	uint64_t seed;
	uint32_t min_docs, max_docs;
	uint32_t max_words;       /* words of an ordinary document, at most */
	uint32_t huge_words;      /* words of one huge document; 0 = none */
	uint32_t nqueries;
	size_t tiny_budget;       /* memory budget of the spilling build */
	const uint32_t *planted;  /* exact document counts of planted words */
	size_t nplanted;
	int extras;               /* also write a hidden and a binary file */
};

struct gen {
	test_rng rng;
	const char *words[NVOCAB];
	uint32_t nwords;
	uint64_t cum[NVOCAB];     /* cumulative Zipf weights */
	uint32_t stock[MAX_STOCK][4]; /* frequent phrases, as word indices */
	uint32_t stock_len[MAX_STOCK];
	char planted[16][16];     /* names of planted words */
	size_t nplanted;
};

static uint32_t below(struct gen *g, uint32_t n)
{
	return test_rng_below(&g->rng, n);
}

static void gen_init(struct gen *g, const struct corpus_spec *spec)
{
	const char *all[NVOCAB];

	memset(g, 0, sizeof(*g));
	test_rng_seed(&g->rng, spec->seed);
	for (size_t i = 0; i < NVOCAB; i++)
		all[i] = vocabulary[i] ? vocabulary[i] : long_word();
	for (size_t i = NVOCAB - 1; i > 0; i--) {
		uint32_t j = below(g, (uint32_t)i + 1);
		const char *t = all[i];
		all[i] = all[j];
		all[j] = t;
	}
	g->nwords = 30 + below(g, 31);
	for (uint32_t i = 0; i < g->nwords; i++) {
		g->words[i] = all[i];
		g->cum[i] = (i ? g->cum[i - 1] : 0) + 1000000 / (i + 1);
	}
	for (uint32_t s = 0; s < MAX_STOCK; s++) {
		g->stock_len[s] = 2 + below(g, 3);
		for (uint32_t k = 0; k < g->stock_len[s]; k++)
			g->stock[s][k] = below(g, g->nwords < 12 ? g->nwords : 12);
	}
	assert_true(spec->nplanted <= sizeof(g->planted) / sizeof(g->planted[0]));
	g->nplanted = spec->nplanted;
	for (size_t i = 0; i < spec->nplanted; i++)
		snprintf(g->planted[i], sizeof(g->planted[i]), "planted%" PRIu32,
		         spec->planted[i]);
}

static uint32_t zipf(struct gen *g)
{
	uint64_t u = test_rng_next(&g->rng) % g->cum[g->nwords - 1];
	uint32_t i = 0;

	while (g->cum[i] <= u)
		i++;
	return i;
}

/* Append w, sometimes capitalized or uppercase.  In a query an uppercase
 * "and", "or" or "not" would be an operator, so those keep their case. */
static void put_word(struct gen *g, struct sbuf *s, const char *w, int query)
{
	uint32_t r = below(g, 100);
	size_t start = s->len;

	sb_puts(s, w);
	if (r < 10) {
		if (s->p[start] >= 'a' && s->p[start] <= 'z')
			s->p[start] = (char)(s->p[start] - 'a' + 'A');
	} else if (r < 15) {
		for (size_t i = start; i < s->len; i++)
			if (s->p[i] >= 'a' && s->p[i] <= 'z')
				s->p[i] = (char)(s->p[i] - 'a' + 'A');
		if (query && (!strcmp(s->p + start, "AND") ||
		              !strcmp(s->p + start, "OR") ||
		              !strcmp(s->p + start, "NOT"))) {
			s->len = start;
			sb_puts(s, w);
		}
	}
}

/* A document of 1 to max_words words, or exactly min_words if nonzero;
 * without min_words, some documents are empty, one word or punctuation. */
static void gen_text(struct gen *g, struct sbuf *s, uint32_t min_words,
                     uint32_t max_words)
{
	static const char *const seps[] = {" ", " ", " ", " ", " ", " ", " ",
	                                   "\n", "  ", "\t", "-", ", ", " \n\n"};
	static const char *const suffixes[] = {",", ".", ";", ":", "!", "?",
	                                       "'s", ")", "\"", "...",
	                                       "\xe2\x80\x99s", "'"};
	uint32_t r = below(g, 100), n, prev = 0;

	sb_reset(s);
	if (min_words)
		r = 100;
	if (r < 5)
		return;
	if (r < 8) {
		put_word(g, s, g->words[zipf(g)], 0);
		return;
	}
	if (r < 10) {
		sb_puts(s, " -- ... !? \"\" ()\n");
		return;
	}
	n = min_words ? min_words : 1 + below(g, max_words);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t w = zipf(g);
		if (i > 0)
			sb_puts(s, seps[below(g, sizeof(seps) / sizeof(seps[0]))]);
		r = below(g, 100);
		if (r < 4)
			sb_puts(s, below(g, 2) ? "(" : "\"");
		if (r >= 4 && r < 12) {
			uint32_t k = below(g, MAX_STOCK);
			for (uint32_t j = 0; j < g->stock_len[k]; j++) {
				if (j)
					sb_puts(s, " ");
				put_word(g, s, g->words[g->stock[k][j]], 0);
			}
			i += g->stock_len[k] - 1;
			continue;
		}
		if (r >= 12 && r < 16 && i > 0)
			w = prev;
		put_word(g, s, g->words[w], 0);
		prev = w;
		if (below(g, 100) < 12)
			sb_puts(s, suffixes[below(g, sizeof(suffixes) /
			                             sizeof(suffixes[0]))]);
	}
}

/* Walk order: names compared byte by byte within each directory, so
 * "sub/x" (in directory "sub") comes before "sub.txt" and "sub-x.txt". */
static int compare_walk(const void *a, const void *b)
{
	const char *x = ((const struct rdoc *)a)->name;
	const char *y = ((const struct rdoc *)b)->name;

	for (;;) {
		size_t nx = strcspn(x, "/"), ny = strcspn(y, "/");
		int c = memcmp(x, y, nx < ny ? nx : ny);
		if (c)
			return c;
		if (nx != ny)
			return nx < ny ? -1 : 1;
		if (!x[nx] || !y[ny])
			return !x[nx] ? (y[ny] ? -1 : 0) : 1;
		x += nx + 1;
		y += ny + 1;
	}
}

static char *doc_name(struct gen *g, uint32_t i)
{
	char name[64];
	uint32_t r = below(g, 100);

	if (i == 0)
		return xstrdup("sub.txt");
	if (i == 1)
		return xstrdup("sub-x.txt");
	if (r < 65)
		snprintf(name, sizeof(name), "%05" PRIu32 ".txt", i);
	else if (r < 80)
		snprintf(name, sizeof(name), "sub/%05" PRIu32 ".txt", i);
	else if (r < 88)
		snprintf(name, sizeof(name), "sub/deep/%05" PRIu32, i);
	else if (r < 95)
		snprintf(name, sizeof(name), "zz/%05" PRIu32 ".md", i);
	else
		snprintf(name, sizeof(name), "A%05" PRIu32 ".txt", i);
	return xstrdup(name);
}

/* Generate the documents into r (in index order) and write them below dir. */
static void gen_corpus(struct gen *g, const struct corpus_spec *spec,
                       const char *dir, struct ref *r)
{
	struct sbuf s = {0};
	uint32_t span = spec->max_docs - spec->min_docs + 1;

	r->ndocs = spec->min_docs + below(g, span);
	r->docs = xcalloc(r->ndocs, sizeof(struct rdoc));
	for (uint32_t i = 0; i < r->ndocs; i++) {
		if (spec->huge_words && i == r->ndocs / 2)
			gen_text(g, &s, spec->huge_words, 0);
		else
			gen_text(g, &s, 0, spec->max_words);
		r->docs[i].name = doc_name(g, i);
		r->docs[i].text = xcalloc(s.len + 1, 1);
		memcpy(r->docs[i].text, s.p, s.len);
		r->docs[i].len = s.len;
	}
	/* Planted words occur in exactly the given number of documents. */
	for (size_t k = 0; k < spec->nplanted; k++) {
		uint32_t *pick = xcalloc(r->ndocs, sizeof(uint32_t));
		assert_true(spec->planted[k] <= r->ndocs);
		for (uint32_t i = 0; i < r->ndocs; i++)
			pick[i] = i;
		for (uint32_t i = 0; i < spec->planted[k]; i++) {
			uint32_t j = i + below(g, r->ndocs - i), t = pick[i];
			struct rdoc *d = &r->docs[pick[j]];
			pick[i] = pick[j];
			pick[j] = t;
			d->text = xrealloc(d->text, d->len + 20);
			d->len += (size_t)snprintf(d->text + d->len, 20, " %s",
			                           g->planted[k]);
		}
		free(pick);
	}
	qsort(r->docs, r->ndocs, sizeof(struct rdoc), compare_walk);
	for (uint32_t i = 0; i < r->ndocs; i++)
		test_write_file(dir, r->docs[i].name, r->docs[i].text,
		                r->docs[i].len);
	if (spec->extras) {
		static const char binary[] = "oil\0price iran";
		test_write_file(dir, ".hidden.txt", "oil iran talks", 14);
		test_write_file(dir, "sub/.git/HEAD", "oil iran", 8);
		test_write_file(dir, "sub/bin.dat", binary, sizeof(binary));
	}
	free(s.p);
	ref_index(r);
}

/* ---- the query generator ---------------------------------------------------- */

static void gen_leaf(struct gen *g, const struct ref *r, struct sbuf *s)
{
	uint32_t kind = below(g, 100);

	if (kind < 12 && g->nplanted) {
		sb_puts(s, g->planted[below(g, (uint32_t)g->nplanted)]);
	} else if (kind < 50) {
		put_word(g, s, g->words[zipf(g)], 1);
	} else if (kind < 53) {
		sb_puts(s, below(g, 2) ? "zebra" : "Quixotic's");
	} else if (kind < 78 && r->ndocs > 0) {
		/* A phrase that occurs: consecutive terms of a document. */
		const struct rdoc *d = &r->docs[below(g, r->ndocs)];
		uint32_t n = 2 + below(g, 3), start;
		for (uint32_t tries = 0; d->ntoks < 2 && tries < 20; tries++)
			d = &r->docs[below(g, r->ndocs)];
		if (d->ntoks < 2) {
			put_word(g, s, g->words[zipf(g)], 1);
			return;
		}
		if (n > d->ntoks)
			n = d->ntoks;
		start = below(g, d->ntoks - n + 1);
		sb_puts(s, "\"");
		for (uint32_t k = 0; k < n; k++) {
			if (k)
				sb_puts(s, below(g, 8) ? " " : " , ");
			put_word(g, s, r->terms[d->toks[start + k]], 0);
		}
		sb_puts(s, "\"");
	} else if (kind < 94) {
		uint32_t n = 2 + below(g, 3);
		sb_puts(s, "\"");
		for (uint32_t k = 0; k < n; k++) {
			if (k)
				sb_puts(s, " ");
			put_word(g, s, g->words[zipf(g)], 0);
		}
		sb_puts(s, "\"");
	} else {
		sb_puts(s, "\"");
		put_word(g, s, g->words[zipf(g)], 0);
		sb_puts(s, "\"");
	}
}

static void gen_query(struct gen *g, const struct ref *r, struct sbuf *s,
                      int depth);

/* An operand of an operator: in parentheses half the time. */
static void gen_operand(struct gen *g, const struct ref *r, struct sbuf *s,
                        int depth)
{
	if (depth < QUERY_DEPTH && below(g, 2)) {
		sb_puts(s, "(");
		gen_query(g, r, s, depth + 1);
		sb_puts(s, ")");
	} else if (depth < QUERY_DEPTH && below(g, 3) == 0) {
		gen_query(g, r, s, depth + 1);
	} else {
		gen_leaf(g, r, s);
	}
}

static void gen_query(struct gen *g, const struct ref *r, struct sbuf *s,
                      int depth)
{
	static const char *const joins[] = {" AND ", " ", " OR ", " NOT "};
	uint32_t kind = below(g, 100), n;

	if (depth >= QUERY_DEPTH || kind < 20 + 10 * (uint32_t)depth) {
		gen_leaf(g, r, s);
		return;
	}
	if (kind < 88) {
		/* AND (explicit, implicit), OR, a NOT b: 2 to 4 operands. */
		const char *join = joins[below(g, 4)];
		n = 2 + below(g, 3);
		for (uint32_t i = 0; i < n; i++) {
			if (i)
				sb_puts(s, below(g, 6) ? join : joins[below(g, 4)]);
			gen_operand(g, r, s, depth);
		}
	} else {
		sb_puts(s, "NOT ");
		gen_operand(g, r, s, depth);
	}
}

/* An OR of 2 to 12 terms and phrases: what lode ranks with MaxScore. */
static void gen_flat_or(struct gen *g, const struct ref *r, struct sbuf *s)
{
	uint32_t n = 2 + below(g, 11);

	for (uint32_t i = 0; i < n; i++) {
		if (i)
			sb_puts(s, " OR ");
		gen_leaf(g, r, s);
	}
}

/* An OR of 16 to 40 operands, most of them leaves, the others queries of
 * their own (then ranked match by match), at times the a of a NOT b: what
 * lode takes a window of documents at a time (eval.c, advance_or_window),
 * the windows small on the tiny-budget index. */
static void gen_wide_or(struct gen *g, const struct ref *r, struct sbuf *s)
{
	uint32_t n = 16 + below(g, 25), not = below(g, 4) == 0;

	if (not)
		sb_puts(s, "(");
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			sb_puts(s, " OR ");
		if (below(g, 4) == 0) {
			sb_puts(s, "(");
			gen_query(g, r, s, QUERY_DEPTH - 1);
			sb_puts(s, ")");
		} else {
			gen_leaf(g, r, s);
		}
	}
	if (not) {
		sb_puts(s, ") NOT ");
		gen_leaf(g, r, s);
	}
}

/* A frequent word half the time, else any leaf. */
static void gen_common_leaf(struct gen *g, const struct ref *r, struct sbuf *s)
{
	if (below(g, 2))
		put_word(g, s, g->words[below(g, 4)], 1);
	else
		gen_leaf(g, r, s);
}

/* An OR of terms and phrases ANDed with one or two leaves, often of the
 * most frequent words: what lode ranks with MaxScore and required leaves
 * when the OR is the AND's cheapest child. */
static void gen_and_of_or(struct gen *g, const struct ref *r, struct sbuf *s)
{
	uint32_t n = 1 + below(g, 2);

	sb_puts(s, "(");
	gen_flat_or(g, r, s);
	sb_puts(s, ")");
	for (uint32_t i = 0; i < n; i++) {
		sb_puts(s, " AND ");
		gen_common_leaf(g, r, s);
	}
}

/* An AND with exclusions among its operands, 'a AND b NOT c' and 'a AND NOT
 * c', its first operand at times an OR of leaves: what lode evaluates as
 * (a AND b) NOT c, a block at a time for terms, with MaxScore led by the
 * OR. */
static void gen_and_with_not(struct gen *g, const struct ref *r,
                             struct sbuf *s)
{
	uint32_t n = 1 + below(g, 3);

	if (below(g, 3) == 0) {
		sb_puts(s, "(");
		gen_flat_or(g, r, s);
		sb_puts(s, ")");
	} else {
		gen_common_leaf(g, r, s);
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t shape = below(g, 4);
		sb_puts(s, " AND ");
		if (shape == 0) {
			sb_puts(s, "NOT ");
			gen_leaf(g, r, s);
			continue;
		}
		gen_common_leaf(g, r, s);
		if (shape == 1) {
			sb_puts(s, " NOT ");
			gen_leaf(g, r, s);
		}
	}
}

/* ---- comparing lode with the reference ------------------------------------ */

/* Where a comparison is, for messages. */
struct check {
	uint64_t seed;
	const char *index;  /* which build */
	const char *query;
	const struct lode_qnode *tree;
	const struct ranking *rank; /* the query's ranking parameters */
	unsigned failures;  /* mismatches in the corpus */
	unsigned reported;  /* (query, index) pairs reported in the corpus */
	int headed;         /* the current pair's header is printed */
};

static void mismatch(struct check *ck, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void mismatch(struct check *ck, const char *fmt, ...)
{
	char tree[1024];
	va_list ap;

	ck->failures++;
	if (!ck->headed) {
		if (ck->reported >= MAX_REPORTS)
			return;
		ck->reported++;
		ck->headed = 1;
		fprintf(stderr, "MISMATCH seed %" PRIu64 ", %s index", ck->seed,
		        ck->index);
		if (ck->query && ck->rank->dfr)
			fprintf(stderr, ", query '%s' (DFR c %g)", ck->query,
			        ck->rank->c);
		else if (ck->query)
			fprintf(stderr, ", query '%s' (k1 %g, b %g)", ck->query,
			        ck->rank->k1, ck->rank->b);
		if (ck->tree) {
			lode_qnode_format(ck->tree, tree, sizeof(tree));
			fprintf(stderr, "\n  tree %s", tree);
		}
		fputc('\n', stderr);
	}
	fputs("  ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int near(double a, double b)
{
	return fabs(a - b) <= SCORE_TOL * fmax(fabs(a), fabs(b)) + 1e-12;
}

struct collect {
	uint32_t *ids;
	size_t n, cap;
	int stop_after;     /* return 7 once this many were seen; 0 = never */
};

static int collect_doc(void *ctx, uint32_t doc)
{
	struct collect *c = ctx;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->ids = xrealloc(c->ids, c->cap * sizeof(uint32_t));
	}
	c->ids[c->n++] = doc;
	return c->stop_after && c->n == (size_t)c->stop_after ? 7 : 0;
}

/* Reference ranking: the matching documents by score, ties by lower id. */
struct ranked {
	uint32_t doc;
	double score;
};

static int compare_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* What a query must give, from the reference. */
struct expected {
	const struct rres *res;    /* per document: match and score */
	uint32_t ndocs;
	const struct ranked *rank; /* the matching documents, best first */
	size_t nmatch;
};

/*
 * lode_search with k, asking for the total or not (without it, lode may
 * prune with MaxScore): checked against the reference ranking and, when full
 * is given, against the first k of lode's own full ranking, bit for bit.
 */
static void check_search(struct check *ck, const lode_index *ix,
                         const lode_query *query, const struct expected *x,
                         size_t k, int with_total, lode_hit *hits,
                         const lode_hit *full)
{
	const char *how = with_total ? "" : " without total";
	lode_error err = {0};
	size_t nhits = 0, expect = k < x->nmatch ? k : x->nmatch;
	uint64_t total = x->nmatch;
	int rc;

	rc = lode_search(ix, query, k, hits, &nhits, with_total ? &total : NULL,
	                 &err);
	if (rc != LODE_OK) {
		mismatch(ck, "lode_search k=%zu%s failed: %s", k, how,
		         err.message);
		return;
	}
	if (total != x->nmatch || nhits != expect) {
		mismatch(ck, "lode_search k=%zu%s: %zu hits of %" PRIu64 ", want"
		         " %zu of %zu", k, how, nhits, total, expect, x->nmatch);
		return;
	}
	for (size_t i = 0; i < nhits; i++) {
		uint32_t d = hits[i].doc;
		if (d >= x->ndocs || !x->res->match[d]) {
			mismatch(ck, "k=%zu%s rank %zu: doc %" PRIu32 " does not "
			         "match", k, how, i, d);
			return;
		}
		if (!near(hits[i].score, x->res->score[d])) {
			mismatch(ck, "k=%zu%s rank %zu: doc %" PRIu32 " score %.17g,"
			         " reference %.17g", k, how, i, d, hits[i].score,
			         x->res->score[d]);
			return;
		}
		if (!near(x->res->score[d], x->rank[i].score)) {
			mismatch(ck, "k=%zu%s rank %zu: doc %" PRIu32 " (reference "
			         "score %.17g), want doc %" PRIu32 " (%.17g)", k, how,
			         i, d, x->res->score[d], x->rank[i].doc,
			         x->rank[i].score);
			return;
		}
		if (i > 0 && (hits[i - 1].score < hits[i].score ||
		              (hits[i - 1].score == hits[i].score &&
		               hits[i - 1].doc >= d))) {
			mismatch(ck, "k=%zu%s ranks %zu and %zu out of order: doc %"
			         PRIu32 " %.17g, doc %" PRIu32 " %.17g", k, how,
			         i - 1, i, hits[i - 1].doc, hits[i - 1].score, d,
			         hits[i].score);
			return;
		}
		if (full && (full[i].doc != d || full[i].score != hits[i].score)) {
			mismatch(ck, "k=%zu%s rank %zu: doc %" PRIu32 " %.17g, but "
			         "the full ranking has doc %" PRIu32 " %.17g there",
			         k, how, i, d, hits[i].score, full[i].doc,
			         full[i].score);
			return;
		}
	}
}

/* Everything lode says about one query against the reference result res. */
static void check_query(struct check *ck, const struct ref *r,
                        const lode_index *ix, const struct rres *res)
{
	static const size_t ks[] = {0, 1, 3, 10};
	struct collect got = {0}, first = {.stop_after = 1};
	struct ranked *rank = xcalloc(r->ndocs, sizeof(struct ranked));
	struct expected x = {res, r->ndocs, rank, 0};
	size_t all = (size_t)r->ndocs + 5;
	lode_hit *full = xcalloc(all, sizeof(lode_hit));
	lode_hit *hits = xcalloc(all, sizeof(lode_hit));
	lode_query *query = NULL;
	lode_error err = {0};
	char tree[1024], ref_tree[1024];
	uint64_t count = 0;
	int rc;

	rc = lode_query_parse(ck->query, strlen(ck->query), &query, &err);
	if (rc != LODE_OK) {
		mismatch(ck, "lode_query_parse failed: %s", err.message);
		goto out;
	}
	rc = ck->rank->dfr ? lode_query_set_dfr(query, ck->rank->c, &err)
	                   : lode_query_set_bm25(query, ck->rank->k1,
	                                         ck->rank->b, &err);
	if (rc != LODE_OK) {
		mismatch(ck, "setting the ranking failed: %s", err.message);
		goto out;
	}
	lode_qnode_format(query->root, tree, sizeof(tree));
	lode_qnode_format(ck->tree, ref_tree, sizeof(ref_tree));
	if (strcmp(tree, ref_tree) != 0)
		mismatch(ck, "lode_query_parse gave the tree %s", tree);

	for (uint32_t d = 0; d < r->ndocs; d++)
		if (res->match[d])
			rank[x.nmatch++] = (struct ranked){d, res->score[d]};

	/* lode_match: the reference set, increasing. */
	rc = lode_match(ix, query, collect_doc, &got, &err);
	if (rc != LODE_OK) {
		mismatch(ck, "lode_match failed: %s", err.message);
	} else {
		size_t i;
		for (i = 0; i < got.n && i < x.nmatch; i++)
			if (got.ids[i] != rank[i].doc)
				break;
		if (i < got.n || i < x.nmatch)
			mismatch(ck, "lode_match gave %zu documents, reference %zu;"
			         " first difference at %zu: lode %" PRId64
			         ", reference %" PRId64, got.n, x.nmatch, i,
			         i < got.n ? (int64_t)got.ids[i] : -1,
			         i < x.nmatch ? (int64_t)rank[i].doc : -1);
	}
	/* Stopping early returns the callback's value. */
	rc = lode_match(ix, query, collect_doc, &first, &err);
	if (rc != (x.nmatch ? 7 : LODE_OK) || first.n != (x.nmatch ? 1u : 0u))
		mismatch(ck, "lode_match stopping at the first document returned"
		         " %d after %zu calls", rc, first.n);

	rc = lode_count(ix, query, &count, &err);
	if (rc != LODE_OK || count != x.nmatch)
		mismatch(ck, "lode_count: rc %d, %" PRIu64 " documents, reference"
		         " %zu", rc, count, x.nmatch);

	qsort(rank, x.nmatch, sizeof(struct ranked), compare_ranked);
	check_search(ck, ix, query, &x, all, 1, full, NULL);
	check_search(ck, ix, query, &x, all, 0, hits, full);
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		check_search(ck, ix, query, &x, ks[i], 1, hits, full);
		check_search(ck, ix, query, &x, ks[i], 0, hits, full);
	}
out:
	lode_query_free(query);
	free(got.ids);
	free(first.ids);
	free(rank);
	free(full);
	free(hits);
}

/* The index as a whole (checksums, counts) and its document table: paths
 * in walk order, lengths, token counts, stored text. */
/* Look up one term in the one segment: 1 found (*df set), 0 absent, -1
 * an error. */
static int dict_lookup(const lode_index *ix, const char *p, size_t n,
                       uint32_t *df)
{
	lode_term_info info;
	lode_error err = {0};
	int rc = lode_segment_lookup(&ix->segs[0], p, n, &info, &err);

	*df = rc == 1 ? info.df : 0;
	return rc < 0 ? -1 : rc;
}

/*
 * The dictionary lookup (which skips comparisons by front coding) finds
 * every term of the reference with its document frequency, and near misses
 * of each (one byte shorter, one longer, the last byte one more or less)
 * exactly when the reference has them too.
 */
static void check_dictionary(struct check *ck, const struct ref *r,
                             const lode_index *ix)
{
	char buf[LODE_MAX_TOKEN_BYTES + 1];

	if (ix->nsegs != 1)
		return; /* check_documents reports it */
	for (uint32_t t = 0; t < r->nterms; t++) {
		const char *term = r->terms[t];
		size_t len = r->term_lens[t];
		uint32_t df;
		if (dict_lookup(ix, term, len, &df) != 1 || df != r->df[t])
			mismatch(ck, "lookup of %s: not found with df %" PRIu32,
			         term, r->df[t]);
		for (int v = 0; v < 5; v++) {
			size_t n = len;
			int want;
			memcpy(buf, term, len);
			switch (v) {
			case 0: n = len - 1; break;
			case 1: buf[n++] = 'a'; break;
			case 2: buf[n++] = '\x7f'; break;
			case 3: buf[n - 1] = (char)(buf[n - 1] + 1); break;
			case 4: buf[n - 1] = (char)(buf[n - 1] - 1); break;
			}
			if (n == 0 || n > LODE_MAX_TOKEN_BYTES)
				continue;
			want = ref_find(r, buf, n) >= 0;
			if (dict_lookup(ix, buf, n, &df) != want)
				mismatch(ck, "lookup of %.*s (near %s): want %s",
				         (int)n, buf, term, want ? "found" : "absent");
		}
	}
}

static void check_documents(struct check *ck, const struct ref *r,
                            const char *dir, const lode_index *ix)
{
	lode_index_info info;
	lode_doc_info doc = {0};
	lode_error err = {0};
	char path[8192];

	if (lode_check(ix, &err) != LODE_OK)
		mismatch(ck, "lode_check: %s", err.message);
	lode_index_info_get(ix, &info);
	if (info.documents != r->ndocs || info.tokens != r->tokens ||
	    info.segments != 1)
		mismatch(ck, "index has %" PRIu64 " documents, %" PRIu64 " tokens;"
		         " reference %" PRIu32 ", %" PRIu64, info.documents,
		         info.tokens, r->ndocs, r->tokens);
	for (uint32_t i = 0; i < r->ndocs; i++) {
		const struct rdoc *d = &r->docs[i];
		char *text = NULL;
		size_t len = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, d->name);
		err = (lode_error){LODE_EIO, "an earlier failure"};
		if (lode_doc(ix, i, &doc, &err) != LODE_OK) {
			mismatch(ck, "lode_doc(%" PRIu32 ") failed: %s", i,
			         err.message);
			continue;
		}
		if (err.code != LODE_OK || err.message[0])
			mismatch(ck, "lode_doc succeeded, error not cleared");
		if (doc.path_len != strlen(path) ||
		    memcmp(doc.path, path, doc.path_len) != 0 ||
		    doc.byte_length != d->len || doc.tokens != d->ntoks)
			mismatch(ck, "document %" PRIu32 " is %.*s (%" PRIu64
			         " bytes, %" PRIu32 " tokens), want %s (%zu, %"
			         PRIu32 ")", i, (int)doc.path_len, doc.path,
			         doc.byte_length, doc.tokens, path, d->len,
			         d->ntoks);
		err = (lode_error){LODE_EIO, "an earlier failure"};
		if (lode_doc_text(ix, i, &text, &len, &err) != LODE_OK ||
		    len != d->len || memcmp(text, d->text, len) != 0 ||
		    err.code != LODE_OK || err.message[0])
			mismatch(ck, "stored text of document %" PRIu32 " differs"
			         " (or the error was not cleared)", i);
		free(text);
	}
	if (lode_doc(ix, r->ndocs, &doc, &err) != LODE_EINVAL)
		mismatch(ck, "lode_doc past the last document is not EINVAL");
	lode_doc_info_release(&doc);
	check_dictionary(ck, r, ix);
}

/* Documents that have at least one token. */
static uint32_t with_tokens(const struct ref *r)
{
	uint32_t n = 0;

	for (uint32_t d = 0; d < r->ndocs; d++)
		n += r->docs[d].ntoks > 0;
	return n;
}

/* Whether the two indexes' dictionaries, postings and positions are the
 * same bytes. */
static int same_postings(const char *a, const char *b)
{
	static const char *const files[] = {
		LODE_FILE_DICT, LODE_FILE_POSTINGS, LODE_FILE_POSITIONS,
	};
	int same = 1;

	for (size_t i = 0; same && i < sizeof(files) / sizeof(*files); i++) {
		char *pa = test_asprintf("%s/seg-000001/%s", a, files[i]);
		char *pb = test_asprintf("%s/seg-000001/%s", b, files[i]);
		same = test_same_file(pa, pb);
		free(pa);
		free(pb);
	}
	return same;
}

static void build_index(struct check *ck, const struct ref *r,
                        const char *dir, const char *index, size_t budget,
                        unsigned threads, int no_text, int extras)
{
	const char *dirs[] = {dir};
	lode_build_options opt = {.memory_budget = budget, .threads = threads,
	                          .no_text = no_text};
	lode_build_stats stats;
	lode_error err = {0};
	int rc;

	rc = lode_build(index, dirs, 1, &opt, &stats, &err);
	if (rc != LODE_OK) {
		mismatch(ck, "lode_build failed: %s", err.message);
		fail();
	}
	if (stats.documents != r->ndocs || stats.tokens != r->tokens ||
	    stats.terms != r->nterms || stats.postings != r->postings ||
	    stats.skipped_binary != (extras ? 1u : 0u))
		mismatch(ck, "build stats: %" PRIu64 " documents, %" PRIu64
		         " tokens, %" PRIu64 " terms, %" PRIu64 " postings, %"
		         PRIu64 " binary; reference %" PRIu32 ", %" PRIu64 ", %"
		         PRIu32 ", %" PRIu64 ", %d", stats.documents, stats.tokens,
		         stats.terms, stats.postings, stats.skipped_binary,
		         r->ndocs, r->tokens, r->nterms, r->postings,
		         extras ? 1 : 0);
	/* A document with tokens outgrows a tiny budget; an empty one adds
	 * nothing to spill. */
	if (budget && with_tokens(r) > 1 && stats.runs <= 1)
		mismatch(ck, "a %zu-byte budget spilled %" PRIu64 " runs", budget,
		         stats.runs);
	if (!budget && stats.runs != 0)
		mismatch(ck, "the default budget spilled %" PRIu64 " runs",
		         stats.runs);
}

/* Generate a corpus, index it twice, and run spec->nqueries queries on both
 * indexes.  Returns the number of mismatches. */
static unsigned run_corpus(const struct corpus_spec *spec)
{
	static const char *const labels[] = {"default-budget", "tiny-budget"};
	struct check ck = {.seed = spec->seed};
	struct ref r = {0};
	struct sbuf q = {0};
	struct gen g;
	lode_index *ix[2] = {NULL, NULL};
	lode_error err = {0};
	char *root = test_tmpdir("search");
	char dir[4096], index[2][4096];
	size_t sample_limit;
	int same_sample;

	snprintf(dir, sizeof(dir), "%s/docs", root);
	snprintf(index[0], sizeof(index[0]), "%s/index", root);
	snprintf(index[1], sizeof(index[1]), "%s/index-tiny", root);
	gen_init(&g, spec);
	gen_corpus(&g, spec, dir, &r);
	if (r.ndocs == 0)
		test_write_file(dir, "empty/.keep", "", 0); /* the directory */

	/* The tiny-budget index also ends its sample of common words early,
	 * most likely inside a document, so that most pairs are indexed as
	 * they come rather than replayed (pairs.h); its sample moves out of
	 * the postings at its first spill.  For two seeds in three the default
	 * one ends it at the same token, replaying the sample from its
	 * postings in memory, and both must then hold the same bytes. */
	sample_limit = 1 + below(&g, 3000);
	same_sample = spec->seed % 3 != 0;
	for (int b = 0; b < 2; b++) {
		ck.index = labels[b];
		ck.headed = 0;
		/* It is built with the reader, compressor and writer threads,
		 * the writer encoding some terms in batches and the others
		 * straight into the files; the default one on one thread.
		 * For odd seeds it keeps no text: lode_doc_text and the
		 * snippets then read the files. */
		if (b || same_sample)
			lode_sample_limit = sample_limit;
		if (b) {
			lode_writer_batch_input = 1 + below(&g, 2000);
			lode_writer_batch_term_max = below(&g, 400);
		}
		build_index(&ck, &r, dir, index[b], b ? spec->tiny_budget : 0,
		            b ? 2 : 1, b && (spec->seed & 1), spec->extras);
		lode_sample_limit = LODE_SAMPLE_TOKENS;
		lode_writer_batch_input = LODE_WRITER_BATCH_INPUT;
		lode_writer_batch_term_max = LODE_WRITER_BATCH_TERM_MAX;
		if (lode_index_open(index[b], &ix[b], &err) != LODE_OK) {
			mismatch(&ck, "lode_index_open failed: %s", err.message);
			fail();
		}
		check_documents(&ck, &r, dir, ix[b]);
	}
	if (same_sample && !same_postings(index[0], index[1]))
		mismatch(&ck, "with the sample ended at token %zu, the indexes' "
		         "postings differ", sample_limit);

	for (uint32_t n = 0; n < spec->nqueries; n++) {
		struct lode_qnode *tree = NULL;
		struct rres res;
		uint32_t family = below(&g, 8);
		sb_reset(&q);
		if (family < 2)
			gen_flat_or(&g, &r, &q);
		else if (family == 2)
			gen_and_of_or(&g, &r, &q);
		else if (family == 3)
			gen_and_with_not(&g, &r, &q);
		else if (family == 4)
			gen_wide_or(&g, &r, &q);
		else
			gen_query(&g, &r, &q, 0);
		ck.query = q.p;
		ck.tree = NULL;
		ck.rank = &rankings[n % (sizeof(rankings) / sizeof(rankings[0]))];
		ck.index = "reference";
		ck.headed = 0;
		if (lode_qnode_parse(q.p, q.len, &tree, &err) != LODE_OK) {
			mismatch(&ck, "lode_qnode_parse failed: %s", err.message);
			continue;
		}
		ck.tree = tree;
		ref_eval(&r, ck.rank, tree, &res);
		for (int b = 0; b < 2; b++) {
			ck.index = labels[b];
			ck.headed = 0;
			/* On the tiny-budget index, every AND led by an OR of
			 * leaves is pruned, however few its matches. */
			lode_and_prune_matches = b ? 0 : LODE_AND_PRUNE_MATCHES;
			/* ... and wide ORs cross windows of 1 to 200
			 * documents, all of them scored match by match. */
			lode_or_window = b ? 1 + below(&g, 200) : LODE_OR_WINDOW;
			lode_or_scored_min = b ? LODE_OR_WINDOW_MIN : LODE_OR_SCORED_MIN;
			check_query(&ck, &r, ix[b], &res);
		}
		lode_and_prune_matches = LODE_AND_PRUNE_MATCHES;
		lode_or_window = LODE_OR_WINDOW;
		lode_or_scored_min = LODE_OR_SCORED_MIN;
		rres_free(&res);
		lode_qnode_free(tree);
	}

	lode_index_close(ix[0]);
	lode_index_close(ix[1]);
	ref_free(&r);
	free(q.p);
	if (ck.failures)
		fprintf(stderr, "seed %" PRIu64 ": %u mismatches in all; corpus "
		        "and indexes kept in %s\n", spec->seed, ck.failures, root);
	else
		test_rmtree(root);
	free(root);
	return ck.failures;
}

/* ---- cases -------------------------------------------------------------------- */

/* Ten small corpora: 20-200 documents of up to 300 words, a quarter of them
 * with one document of 20000 words. */
static void small_corpora_match_reference(void **state)
{
	unsigned failures = 0;

	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct corpus_spec spec = {
			.seed = seed, .min_docs = 20, .max_docs = 200,
			.max_words = 300, .nqueries = 250,
			.huge_words = seed % 4 == 0 ? 20000 : 0,
			.tiny_budget = TINY_BUDGET, .extras = seed % 2,
		};
		failures += run_corpus(&spec);
	}
	assert_int_equal(failures, 0);
}

/* Planted words in 1, 127, 128, 129, 255, 256, 257 and 300 of 300-400
 * documents: postings of one, two and three blocks, block boundaries, skip
 * tables and advance() across blocks. */
static void block_boundaries_match_reference(void **state)
{
	static const uint32_t planted[] = {1, 127, 128, 129, 255, 256, 257, 300};
	unsigned failures = 0;

	(void)state;
	for (uint64_t seed = 101; seed <= 102; seed++) {
		struct corpus_spec spec = {
			.seed = seed, .min_docs = 300, .max_docs = 400,
			.max_words = 60, .nqueries = 200,
			.tiny_budget = TINY_BUDGET, .planted = planted,
			.nplanted = sizeof(planted) / sizeof(planted[0]),
			.extras = 1,
		};
		failures += run_corpus(&spec);
	}
	assert_int_equal(failures, 0);
}

/* 1100-1300 short documents: the frequent words are in more than a thousand
 * of them (nine or more blocks, galloping over the skip table). */
static void thousand_document_terms_match_reference(void **state)
{
	static const uint32_t planted[] = {640, 1000, 1100};
	unsigned failures = 0;

	(void)state;
	for (uint64_t seed = 201; seed <= 201; seed++) {
		struct corpus_spec spec = {
			.seed = seed, .min_docs = 1100, .max_docs = 1300,
			.max_words = 40, .nqueries = 250,
			.tiny_budget = 64 << 10, .planted = planted,
			.nplanted = sizeof(planted) / sizeof(planted[0]),
			.extras = 1,
		};
		failures += run_corpus(&spec);
	}
	assert_int_equal(failures, 0);
}

/* 2500-3000 documents of 1 to 150 words: the Zipf words have 15 to 24
 * blocks whose impact lists differ (frequencies and lengths vary), so
 * block-max MaxScore skips whole windows once the top k fills, for ORs and
 * for single terms alike; the top k must still be the exhaustive one. */
static void block_max_pruning_matches_reference(void **state)
{
	static const uint32_t planted[] = {700, 2000};
	unsigned failures = 0;

	(void)state;
	for (uint64_t seed = 401; seed <= 401; seed++) {
		struct corpus_spec spec = {
			.seed = seed, .min_docs = 2500, .max_docs = 3000,
			.max_words = 150, .nqueries = 150,
			.tiny_budget = 256 << 10, .planted = planted,
			.nplanted = sizeof(planted) / sizeof(planted[0]),
		};
		failures += run_corpus(&spec);
	}
	assert_int_equal(failures, 0);
}

/* No documents, one document, and a few documents with few tokens. */
static void tiny_corpora_match_reference(void **state)
{
	unsigned failures = 0;

	(void)state;
	for (uint64_t seed = 301; seed <= 306; seed++) {
		struct corpus_spec spec = {
			.seed = seed, .min_docs = (uint32_t)(seed - 301) / 2,
			.max_docs = (uint32_t)(seed - 301) / 2 * 3,
			.max_words = 4, .nqueries = 100,
			/* Below what one term takes: every document spills. */
			.tiny_budget = 64, .extras = seed % 2,
		};
		failures += run_corpus(&spec);
	}
	assert_int_equal(failures, 0);
}

/* ---- regressions: minimal cases of bugs the property tests found ----------- */

/* Index the files names[i] = texts[i] below a fresh directory, plus the
 * directories in empty_dirs; returns the root (docs in root/docs). */
static char *small_index(const char *const *names, const char *const *texts,
                         size_t n, const char *const *empty_dirs,
                         size_t nempty, lode_index **ix)
{
	char *root = test_tmpdir("search-min");
	char dir[4096], index[4096], path[8192];
	const char *dirs[] = {dir};
	lode_error err = {0};

	snprintf(dir, sizeof(dir), "%s/docs", root);
	snprintf(index, sizeof(index), "%s/index", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	for (size_t i = 0; i < n; i++)
		test_write_file(dir, names[i], texts[i], strlen(texts[i]));
	for (size_t i = 0; i < nempty; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, empty_dirs[i]);
		assert_int_equal(mkdir(path, 0755), 0);
	}
	if (lode_build(index, dirs, 1, NULL, NULL, &err) != LODE_OK)
		fail_msg("lode_build: %s", err.message);
	if (lode_index_open(index, ix, &err) != LODE_OK)
		fail_msg("lode_index_open: %s", err.message);
	return root;
}

/*
 * A directory with no visible entries (empty, or only hidden ones) must be
 * walked like any other.  indexer/walk.c walk_dir() called
 * qsort(names = NULL, 0, ...), undefined behaviour that the
 * SANITIZE=address,undefined build aborted on inside lode_build (fixed in
 * 09de1ad; kept as a regression test).
 */
static void empty_directories_are_walked(void **state)
{
	static const char *const names[] = {"a.txt", "c/.hidden", "d/x.txt"};
	static const char *const texts[] = {"oil price", "oil", "price"};
	static const char *const empty[] = {"b"};
	lode_index_info info;
	lode_index *ix = NULL;
	char *root;

	(void)state;
	root = small_index(names, texts, 3, empty, 1, &ix);
	lode_index_info_get(ix, &info);
	assert_int_equal(info.documents, 2);
	lode_index_close(ix);
	test_rmtree(root);
	free(root);
}

/*
 * Terms sharing their first 8 bytes across many dictionary blocks: the
 * lookup's binary search on block keys (FORMAT.md, BlockKeys) sees equal
 * keys and must compare whole terms.  Every term is found, and near misses
 * (between, before and after the run, one byte short) are not.
 */
static void terms_of_equal_block_keys_are_found(void **state)
{
	static const char *const names[] = {"keys.txt"};
	const char *texts[1];
	char *text = malloc(400 * 16), *root, word[32];
	lode_index *ix = NULL;
	size_t len = 0;
	uint32_t df;

	(void)state;
	assert_non_null(text);
	/* 300 words "keyprefix000".."keyprefix299" (about 10 blocks of
	 * one key), and words around them. */
	len += (size_t)sprintf(text + len, "keyprefi keyprefiw keyprefja ");
	for (int i = 0; i < 300; i++)
		len += (size_t)sprintf(text + len, "keyprefix%03d ", i);
	texts[0] = text;
	root = small_index(names, texts, 1, NULL, 0, &ix);
	for (int i = 0; i < 300; i++) {
		int n = snprintf(word, sizeof(word), "keyprefix%03d", i);
		assert_int_equal(dict_lookup(ix, word, (size_t)n, &df), 1);
		n = snprintf(word, sizeof(word), "keyprefix%03da", i);
		assert_int_equal(dict_lookup(ix, word, (size_t)n, &df), 0);
		n = snprintf(word, sizeof(word), "keyprefix%02d", i / 10);
		assert_int_equal(dict_lookup(ix, word, (size_t)n, &df), 0);
	}
	assert_int_equal(dict_lookup(ix, "keyprefi", 8, &df), 1);
	assert_int_equal(dict_lookup(ix, "keyprefiw", 9, &df), 1);
	assert_int_equal(dict_lookup(ix, "keyprefja", 9, &df), 1);
	assert_int_equal(dict_lookup(ix, "keyprefix", 9, &df), 0);
	assert_int_equal(dict_lookup(ix, "keyprefix300", 12, &df), 0);
	assert_int_equal(dict_lookup(ix, "keyprefiy", 9, &df), 0);
	assert_int_equal(dict_lookup(ix, "keyprefh", 8, &df), 0);
	lode_index_close(ix);
	test_rmtree(root);
	free(root);
	free(text);
}

/*
 * A damaged block key (FORMAT.md, BlockKeys) sends the binary search to a
 * wrong block: then every lookup either finds its term (with its document
 * frequency) or reports the index corrupt, and never answers that a term
 * of the index is absent.  Each block's key is set to 0, to all ones and to
 * each neighbour's in turn.
 */
static void damaged_block_keys_never_hide_terms(void **state)
{
	static const char *const names[] = {"words.txt"};
	const char *texts[1];
	char *text = malloc(700 * 8), *root, path[8192], index[8192], word[32];
	lode_index *ix = NULL;
	uint64_t nblocks, keys;
	size_t len = 0, n;
	uint8_t *orig, *bad;
	FILE *f;
	int corrupt = 0;

	(void)state;
	assert_non_null(text);
	for (int i = 0; i < 600; i++)
		len += (size_t)sprintf(text + len, "w%03d ", i);
	texts[0] = text;
	root = small_index(names, texts, 1, NULL, 0, &ix);
	lode_index_close(ix);
	snprintf(path, sizeof(path), "%s/index/seg-000001/" LODE_FILE_DICT, root);
	snprintf(index, sizeof(index), "%s/index", root);
	orig = (uint8_t *)test_read_file(path, &n);
	assert_non_null(orig);
	bad = malloc(n);
	assert_non_null(bad);
	nblocks = lode_get64(orig + n - LODE_DICT_FOOTER_SIZE + 8);
	keys = lode_get64(orig + n - LODE_DICT_FOOTER_SIZE + 16) + nblocks * 8;
	assert_true(nblocks > 10);
	for (uint64_t b = 0; b < nblocks; b++) {
		for (int kind = 0; kind < 4; kind++) {
			uint64_t key = kind == 0 ? 0 : kind == 1 ? UINT64_MAX
			             : lode_get64(orig + keys + 8 * (kind == 2
			                          ? (b ? b - 1 : 1)
			                          : (b + 1 < nblocks ? b + 1 : b - 1)));
			memcpy(bad, orig, n);
			lode_put64(bad + keys + 8 * b, key);
			assert_non_null(f = fopen(path, "wb"));
			assert_int_equal(fwrite(bad, 1, n, f), n);
			assert_int_equal(fclose(f), 0);
			ix = NULL;
			{
				lode_error err = {0};
				assert_int_equal(lode_index_open(index, &ix, &err), LODE_OK);
			}
			for (int i = 0; i < 600; i++) {
				uint32_t df;
				int m = snprintf(word, sizeof(word), "w%03d", i);
				int rc = dict_lookup(ix, word, (size_t)m, &df);
				if (rc == 0)
					fail_msg("block %" PRIu64 ", key %d: w%03d missed",
					         b, kind, i);
				if (rc == 1)
					assert_int_equal(df, 1);
				corrupt += rc < 0;
			}
			lode_index_close(ix);
		}
	}
	/* Some damage must have been seen, or the test proves nothing. */
	assert_true(corrupt > 0);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(orig, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	free(bad);
	free(orig);
	test_rmtree(root);
	free(root);
	free(text);
}

/* Parse text; the caller frees the query. */
static lode_query *parse(const char *text)
{
	lode_query *query = NULL;
	lode_error err = {0};

	if (lode_query_parse(text, strlen(text), &query, &err) != LODE_OK)
		fail_msg("'%s': %s", text, err.message);
	return query;
}

/*
 * lode_search with k = 0 and hits = NULL (room for no hits) counts the
 * matches.  lode_search() sorts the hits with lode_topk_sort()
 * (searcher/topk.c), which calls qsort(hits = NULL, 0, ...): undefined
 * behaviour that the sanitizer build aborts on.
 */
static void search_for_no_hits_takes_no_buffer(void **state)
{
	static const char *const names[] = {"a.txt", "b.txt"};
	static const char *const texts[] = {"oil price", "iran"};
	lode_query *query = parse("oil");
	lode_index *ix = NULL;
	lode_error err = {0};
	uint64_t total = 99;
	size_t nhits = 99;
	char *root;

	(void)state;
	root = small_index(names, texts, 2, NULL, 0, &ix);
	assert_int_equal(lode_search(ix, query, 0, NULL, &nhits, &total, &err),
	                 LODE_OK);
	assert_int_equal(nhits, 0);
	assert_int_equal(total, 1);
	lode_query_free(query);
	lode_index_close(ix);
	test_rmtree(root);
	free(root);
}

/*
 * "a NOT b" where b is in no document: searcher/eval.c simplify() replaces
 * the ANDNOT matcher by its first child, then frees the ANDNOT with
 * nchild = 1, so the EMPTY matcher of b (child[1]) leaks: 88 bytes on every
 * evaluation, per segment.  LeakSanitizer reports it when the sanitizer
 * build exits.  The same when b is any subtree that matches nothing in the
 * segment ("oil NOT (zebra AND iran)", "oil NOT \"price zebra\"").
 */
static void not_of_absent_term_frees_its_matchers(void **state)
{
	static const char *const names[] = {"a.txt", "b.txt"};
	static const char *const texts[] = {"oil price", "iran"};
	lode_query *query = parse("oil NOT zebra");
	lode_index *ix = NULL;
	lode_error err = {0};
	uint64_t count = 0;
	char *root;

	(void)state;
	root = small_index(names, texts, 2, NULL, 0, &ix);
	assert_int_equal(lode_count(ix, query, &count, &err), LODE_OK);
	assert_int_equal(count, 1);
	lode_query_free(query);
	lode_index_close(ix);
	test_rmtree(root);
	free(root);
}

/* The snippet of query text in document doc of ix; the caller releases it. */
static lode_snippet snippet_of(const lode_index *ix, const char *text,
                               uint32_t doc)
{
	lode_query *query = parse(text);
	lode_snippet snip;
	lode_error err = {LODE_EIO, "an earlier failure"};

	if (lode_snippet_make(ix, query, doc, 160, &snip, &err) != LODE_OK)
		fail_msg("snippet of '%s': %s", text, err.message);
	assert_int_equal(err.code, LODE_OK);  /* success clears the error */
	assert_string_equal(err.message, "");
	lode_query_free(query);
	return snip;
}

static int ends_with(const lode_snippet *s, const char *tail)
{
	size_t n = strlen(tail);

	return s->len >= n && memcmp(s->text + s->len - n, tail, n) == 0;
}

/*
 * Terms that share their first 8 bytes (a dictionary block's key) over
 * several blocks: every one is found, and every term between, before and
 * after them that is not there is absent, never "corrupt" (the first
 * block's own key may be a term's that sorts before its first term).
 */
static void terms_sharing_block_keys_are_found_or_absent(void **state)
{
	enum { WORDS = 150 };
	const char *names[WORDS + 1], *texts[WORDS + 1];
	char name[WORDS + 1][16], word[WORDS + 1][16];
	lode_index *ix = NULL;
	lode_error err = {0};
	char *root;

	(void)state;
	/* prefixed000 ... prefixed298 (even numbers) and "prefixes", whose key
	 * is the same, a word a document: no pair terms, so that the first
	 * block starts with prefixed000. */
	for (int i = 0; i <= WORDS; i++) {
		snprintf(name[i], sizeof(name[i]), "%03d.txt", i);
		if (i < WORDS)
			snprintf(word[i], sizeof(word[i]), "prefixed%03d", 2 * i);
		else
			snprintf(word[i], sizeof(word[i]), "prefixes");
		names[i] = name[i];
		texts[i] = word[i];
	}
	root = small_index(names, texts, WORDS + 1, NULL, 0, &ix);
	for (int i = -1; i <= 2 * WORDS; i++) {
		char w[32];
		lode_query *q;
		uint64_t count;
		uint64_t want = i >= 0 && i % 2 == 0 && i < 2 * WORDS;
		if (i < 0)
			snprintf(w, sizeof(w), "prefixe"); /* below every key */
		else
			snprintf(w, sizeof(w), "prefixed%03d", i);
		q = parse(w);
		if (lode_count(ix, q, &count, &err) != LODE_OK)
			fail_msg("%s: %s", w, err.message);
		if (count != want)
			fail_msg("%s: %" PRIu64 " documents, not %" PRIu64, w, count,
			         want);
		lode_query_free(q);
	}
	{
		static const struct {
			const char *query;
			uint64_t count;
		} cases[] = {
			/* The first block's key, below its first term. */
			{"prefixed", 0}, {"prefixed0", 0}, {"prefixed00", 0},
			{"prefixed29", 0}, {"prefixed999", 0}, {"prefixes", 1},
			{"prefixeda", 0}, {"prefixez", 0}, {"prefixedzzz", 0},
		};
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			lode_query *q = parse(cases[c].query);
			uint64_t count;
			if (lode_count(ix, q, &count, &err) != LODE_OK)
				fail_msg("%s: %s", cases[c].query, err.message);
			if (count != cases[c].count)
				fail_msg("%s: %" PRIu64 " documents", cases[c].query, count);
			lode_query_free(q);
		}
	}
	assert_int_equal(lode_check(ix, &err), LODE_OK);
	lode_index_close(ix);
	test_rmtree(root);
	free(root);
}

/* Whether s is valid UTF-8 without U+FFFD (the documents here are valid:
 * a U+FFFD is a character cut in two) with spans in order, apart and
 * inside it. */
static int snippet_is_sound(const lode_snippet *s)
{
	for (size_t i = 0; i < s->len;) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n = utf8proc_iterate(
		        (const utf8proc_uint8_t *)s->text + i,
		        (utf8proc_ssize_t)(s->len - i), &cp);
		if (n < 1 || cp == 0xfffd)
			return 0;
		i += (size_t)n;
	}
	for (size_t k = 0; k < s->nspans; k++)
		if (s->spans[k].start >= s->spans[k].end ||
		    s->spans[k].end > s->len ||
		    (k > 0 && s->spans[k].start < s->spans[k - 1].end))
			return 0;
	return 1;
}

/* The bytes of span k of s, NUL-terminated, in buf (of n bytes). */
static const char *span_text(const lode_snippet *s, size_t k, char *buf,
                             size_t n)
{
	size_t len = s->spans[k].end - s->spans[k].start;

	if (len >= n)
		len = n - 1;
	memcpy(buf, s->text + s->spans[k].start, len);
	buf[len] = '\0';
	return buf;
}

/*
 * Characters that fold to several tokens give each of them the character's
 * byte range (½ is "1⁄2", ㏂ "a.m."), and a token may end inside a character
 * where the next one starts ("x½y" is "x1" and "2y"): matches that share
 * bytes are one span, every span is opened before it is closed, and text
 * without white space (Japanese) is cut between characters.
 */
static void snippets_mark_overlapping_matches_and_cut_characters(void **state)
{
	static const char *const names[] = {"a.txt", "b.txt", "c.txt", "d.txt",
	                                    "e.txt"};
	static const struct {
		const char *query;
		uint32_t doc;
		size_t nspans;
		const char *span; /* every span's text */
	} cases[] = {
		{"\"1 2\"", 0, 9, "\xc2\xbd"},
		{"\"1 2\" q", 1, 21, NULL},
		{"x1", 2, 1, "x\xc2\xbd"},
		{"x1 OR 2y", 2, 1, "x\xc2\xbdy"},
		{"\"a m\"", 2, 1, "\xe3\x8f\x82"},
		{"\xe6\x97\xa5\xe6\x9c\xac", 3, 0, NULL},
		{"NOT zzz", 3, 0, NULL},
		/* A phrase's words are marked where the phrase is, not alone;
		 * a term is marked everywhere. */
		{"\"oil prices\"", 4, 2, NULL},
		{"oil \"oil prices\"", 4, 3, NULL},
		{"\"prices rose\" minister", 4, 3, NULL},
		{"\"rose oil\"", 4, 0, NULL},
	};
	struct sbuf fractions = {0}, japanese = {0};
	const char *texts[5];
	lode_index *ix = NULL;
	char *root, buf[64];

	(void)state;
	sb_puts(&fractions, "q");
	for (int i = 0; i < 20; i++)
		sb_puts(&fractions, " \xc2\xbd");
	sb_puts(&fractions, " end");
	/* 日本語の文章です。, 27 bytes, 40 times: no white space at all. */
	for (int i = 0; i < 40; i++)
		sb_puts(&japanese, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"
		                   "\xe3\x81\xae\xe6\x96\x87\xe7\xab\xa0"
		                   "\xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82");
	texts[0] = "Add \xc2\xbd cup of flour, \xc2\xbd cup of sugar, "
	           "\xc2\xbd cup of milk, \xc2\xbd tsp salt, \xc2\xbd tsp "
	           "soda, \xc2\xbd cup butter, \xc2\xbd cup water, \xc2\xbd "
	           "cup oil, \xc2\xbd cup nuts.";
	texts[1] = fractions.p;
	texts[2] = "meet at 9 \xe3\x8f\x82 by x\xc2\xbdy";
	texts[3] = japanese.p;
	texts[4] = "Oil minister says oil prices rose, then prices fell.";
	root = small_index(names, texts, 5, NULL, 0, &ix);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		lode_snippet snip = snippet_of(ix, cases[c].query, cases[c].doc);
		if (!snippet_is_sound(&snip))
			fail_msg("%s: unsound snippet '%s'", cases[c].query, snip.text);
		if ((cases[c].nspans || cases[c].doc == 4) &&
		    snip.nspans != cases[c].nspans)
			fail_msg("%s: %zu spans, not %zu", cases[c].query,
			         snip.nspans, cases[c].nspans);
		for (size_t k = 0; cases[c].span && k < snip.nspans; k++)
			if (strcmp(span_text(&snip, k, buf, sizeof(buf)),
			           cases[c].span))
				fail_msg("%s: span %zu is '%s'", cases[c].query, k, buf);
		lode_snippet_release(&snip);
	}
	/* 300 query words, found by their bytes (snippet.c's tables grow
	 * from 64 slots): "prices" twice and "oil" twice, each its own span;
	 * "minister" only inside a phrase that is not there. */
	{
		struct sbuf wide = {0};
		lode_snippet snip;
		for (int i = 0; i < 300; i++) {
			snprintf(buf, sizeof(buf), "%sw%dq", i ? " OR " : "", i);
			sb_puts(&wide, buf);
			if (i == 150)
				sb_puts(&wide, " OR prices OR \"minister fell\" OR oil");
		}
		snip = snippet_of(ix, wide.p, 4);
		if (!snippet_is_sound(&snip) || snip.nspans != 4)
			fail_msg("300 words: %zu spans in '%s'", snip.nspans,
			         snip.text);
		for (size_t k = 0; k < snip.nspans; k++)
			if (strcmp(span_text(&snip, k, buf, sizeof(buf)),
			           k == 0 ? "Oil" : k == 1 ? "oil" : "prices"))
				fail_msg("300 words: span %zu is '%s'", k, buf);
		lode_snippet_release(&snip);
		free(wide.p);
	}
	lode_index_close(ix);
	free(fractions.p);
	free(japanese.p);
	test_rmtree(root);
	free(root);
}

/*
 * Position codes (FORMAT.md, positions.pos) whose unary parts run over many
 * load windows: in one block, 150 documents where "x" repeats every other
 * token (a Rice parameter of 0) beside three where "x" recurs only after
 * gaps of 300 to 40000 tokens; phrases across the long gaps, and after
 * them, must match exactly, and lode check must pass.
 */
static void long_position_gaps_decode(void **state)
{
	enum { SHORT = 150, LONG = 3 };
	static const uint32_t gaps[LONG] = {300, 5000, 40000};
	const char *names[SHORT + LONG];
	char *texts[SHORT + LONG];
	char name[SHORT + LONG][16];
	lode_index *ix = NULL;
	lode_error err = {0};
	uint64_t count;
	char *root;

	(void)state;
	for (int d = 0; d < SHORT + LONG; d++) {
		struct sbuf s = {0};
		snprintf(name[d], sizeof(name[d]), "%03d.txt", d);
		names[d] = name[d];
		if (d % 51 == 50 && d / 51 < LONG) {
			/* x, filler, x q, filler, x r: the long gaps. */
			uint32_t gap = gaps[d / 51];
			sb_puts(&s, "x");
			for (uint32_t i = 0; i < gap; i++)
				sb_puts(&s, " lorem");
			sb_puts(&s, " x q");
			for (uint32_t i = 0; i < gap; i++)
				sb_puts(&s, " ipsum");
			sb_puts(&s, " x r");
		} else {
			for (int i = 0; i < 20; i++)
				sb_puts(&s, i % 2 ? " y" : " x");
		}
		texts[d] = s.p;
	}
	root = small_index(names, (const char *const *)texts, SHORT + LONG,
	                   NULL, 0, &ix);
	{
		static const struct {
			const char *query;
			uint64_t count;
		} cases[] = {
			{"\"x q\"", LONG}, {"\"x r\"", LONG},
			{"\"lorem x q ipsum\"", LONG}, {"\"ipsum x r\"", LONG},
			{"\"x y x y\"", SHORT}, {"\"y x\"", SHORT},
			{"\"q x\"", 0}, {"\"x lorem lorem\"", LONG},
		};
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			lode_query *q = parse(cases[c].query);
			assert_int_equal(lode_count(ix, q, &count, &err), LODE_OK);
			if (count != cases[c].count)
				fail_msg("%s: %" PRIu64 " documents, not %" PRIu64,
				         cases[c].query, count, cases[c].count);
			lode_query_free(q);
		}
	}
	assert_int_equal(lode_check(ix, &err), LODE_OK);
	lode_index_close(ix);
	for (int d = 0; d < SHORT + LONG; d++)
		free(texts[d]);
	test_rmtree(root);
	free(root);
}

/*
 * Documents of megabytes: every position is indexed (the inverter streams
 * positions into the term buffers, indexer/inverter.c), and snippets search
 * only the first MiB (searcher/snippet.c SCAN_MAX), cut between words or,
 * inside one huge word, between characters.
 */
static void huge_documents_are_indexed_and_snippeted(void **state)
{
	static const char *const names[] = {"big.txt", "word.txt"};
	const size_t big = (size_t)3 << 20, word = (size_t)3 << 19;
	char *texts[2];
	lode_index *ix = NULL;
	lode_doc_info info = {0};
	lode_error err = {0};
	lode_snippet snip;
	uint64_t count;
	size_t len = 0, filler = 0;
	char *root, eee[256];

	(void)state;
	/* "needle", then "lorem ipsum " to 2 MiB, "haystack", more filler. */
	texts[0] = malloc(big + 1);
	assert_non_null(texts[0]);
	len = (size_t)sprintf(texts[0], "needle ");
	while (len + 12 < big) {
		if (len >= (size_t)2 << 20 && len < ((size_t)2 << 20) + 12)
			len += (size_t)sprintf(texts[0] + len, "haystack ");
		memcpy(texts[0] + len, "lorem ipsum ", 12);
		len += 12;
		filler++;
	}
	texts[0][len] = '\0';
	/* "start", then one word of 1.5 MiB of two-byte characters ('é'). */
	texts[1] = malloc(word + 8);
	assert_non_null(texts[1]);
	memcpy(texts[1], "start ", 6);
	for (len = 6; len + 2 <= word + 6; len += 2)
		memcpy(texts[1] + len, "\xc3\xa9", 2);
	texts[1][len] = '\0';
	root = small_index(names, (const char *const *)texts, 2, NULL, 0, &ix);

	assert_int_equal(lode_doc(ix, 0, &info, &err), LODE_OK);
	assert_int_equal(info.tokens, 2 + 2 * filler);
	lode_doc_info_release(&info);
	lode_query *q = parse("haystack AND \"ipsum lorem\" AND needle");
	assert_int_equal(lode_count(ix, q, &count, &err), LODE_OK);
	assert_int_equal(count, 1);
	lode_query_free(q);

	snip = snippet_of(ix, "needle", 0);
	assert_int_equal(snip.nspans, 1);
	assert_memory_equal(snip.text + snip.spans[0].start, "needle", 6);
	assert_true(ends_with(&snip, "\xe2\x80\xa6"));
	lode_snippet_release(&snip);

	/* Beyond the first MiB: the start of the text, unmarked, cut. */
	snip = snippet_of(ix, "haystack", 0);
	assert_int_equal(snip.nspans, 0);
	assert_memory_equal(snip.text, "needle lorem", 12);
	assert_true(ends_with(&snip, "\xe2\x80\xa6"));
	lode_snippet_release(&snip);

	/* The window stops before the huge word. */
	snip = snippet_of(ix, "start", 1);
	assert_int_equal(snip.nspans, 1);
	assert_string_equal(snip.text, "start\xe2\x80\xa6");
	lode_snippet_release(&snip);

	/* The huge word's token (its first 255 bytes, folded to 'e') matches
	 * the whole word; the snippet shows about two widths of it, cut
	 * between characters (no U+FFFD), marked as far as shown. */
	memset(eee, 'e', 255);
	eee[255] = '\0';
	snip = snippet_of(ix, eee, 1);
	assert_int_equal(snip.nspans, 1);
	assert_true(snip.len <= 3 + 2 * 160 + 3);
	assert_null(strstr(snip.text, "\xef\xbf\xbd"));
	assert_true(ends_with(&snip, "\xc3\xa9\xe2\x80\xa6"));
	assert_int_equal(snip.spans[0].end, snip.len - 3);
	lode_snippet_release(&snip);

	lode_index_close(ix);
	test_rmtree(root);
	free(root);
	free(texts[0]);
	free(texts[1]);
}

/*
 * Documents around the writer's 256 KiB output buffer (docs_writer.c): one
 * compressed in one call, just below where its bound passes the buffer;
 * one just past it, streamed; and one of 2 MiB of random letters whose
 * output fills the buffer several times over.  zlib had failed on the
 * like of the last ("zlib: deflate failed", a 2.5 MB C header), and an
 * empty first document copied zero bytes into a chunk not yet allocated
 * (memcpy from NULL, which UBSan stops on): both found in review, kept as
 * regressions.  Every text reads back, and lode check passes.
 */
static void documents_with_long_compressed_output_are_stored(void **state)
{
	static const char *const names[] = {"a-empty.txt", "b-one-call.txt",
	                                    "c-streamed.txt", "d-big.txt",
	                                    "e-small.txt"};
	const size_t sizes[] = {0, (size_t)250 << 10, (size_t)260 << 10,
	                        (size_t)2 << 20, 0};
	const char *texts[5];
	char *bufs[5] = {NULL};
	lode_index *ix = NULL;
	lode_error err = {0};
	uint64_t x = 88172645463325252u;
	char *root;

	(void)state;
	for (int d = 1; d < 4; d++) {
		assert_non_null(bufs[d] = malloc(sizes[d] + 1));
		for (size_t i = 0; i < sizes[d]; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			bufs[d][i] = i % 9 == 8 ? ' ' : (char)('a' + x % 26);
		}
		bufs[d][sizes[d]] = '\0';
		texts[d] = bufs[d];
	}
	texts[0] = "";
	texts[4] = "after the big one";
	root = small_index(names, texts, 5, NULL, 0, &ix);

	assert_int_equal(lode_check(ix, &err), LODE_OK);
	for (uint32_t d = 0; d < 5; d++) {
		char *text = NULL;
		size_t n = 0;
		assert_int_equal(lode_doc_text(ix, d, &text, &n, &err), LODE_OK);
		assert_int_equal(n, strlen(texts[d]));
		assert_memory_equal(text, texts[d], n);
		free(text);
	}
	lode_index_close(ix);
	for (int d = 0; d < 5; d++)
		free(bufs[d]);
	test_rmtree(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_corpora_match_reference),
		cmocka_unit_test(block_boundaries_match_reference),
		cmocka_unit_test(thousand_document_terms_match_reference),
		cmocka_unit_test(block_max_pruning_matches_reference),
		cmocka_unit_test(tiny_corpora_match_reference),
		cmocka_unit_test(not_of_absent_term_frees_its_matchers),
		cmocka_unit_test(empty_directories_are_walked),
		cmocka_unit_test(terms_of_equal_block_keys_are_found),
		cmocka_unit_test(damaged_block_keys_never_hide_terms),
		cmocka_unit_test(search_for_no_hits_takes_no_buffer),
		cmocka_unit_test(long_position_gaps_decode),
		cmocka_unit_test(huge_documents_are_indexed_and_snippeted),
		cmocka_unit_test(snippets_mark_overlapping_matches_and_cut_characters),
		cmocka_unit_test(terms_sharing_block_keys_are_found_or_absent),
		cmocka_unit_test(documents_with_long_compressed_output_are_stored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
