/* eval.c -- matchers over posting iterators, and BM25 or DFR scoring. */
#include "eval.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "bytes.h"
#include "codec.h"
#include "error.h"
#include "pairs.h"
#include "postings.h"
#include "stem.h"
#include "topk.h"

enum mkind {
	M_EMPTY,  /* matches nothing */
	M_TERM,   /* one term */
	M_PHRASE, /* consecutive terms */
	M_AND,
	M_OR,
	M_OR_WINDOW, /* an OR at the root, a window at a time (window_root) */
	M_ANDNOT, /* child[0] but not child[1] */
	M_NOT,    /* every document but child[0]'s */
};

/* One term of a phrase in the current document. */
struct phrase_run {
	uint32_t n; /* the term's frequency */
};

struct matcher {
	enum mkind kind;
	int started;
	uint32_t doc;              /* current document, LODE_DOC_END when done */
	uint64_t cost;             /* estimated documents, to order AND */
	double weight;             /* idf, 0 when not scored (under a NOT) */
	uint64_t max_tf;           /* TERM, PHRASE: no document has more */
	lode_postings *posts;      /* TERM: 1, PHRASE: nposts */
	size_t nposts;
	uint32_t phrase_freq;      /* PHRASE: occurrences in doc */
	uint32_t counted;          /* PHRASE: doc + 1 once phrase_freq is
	                              counted there (top_maxscore), or 0 */
	size_t lead;               /* PHRASE: the rarest term, which leads */
	struct phrase_run *runs;   /* PHRASE: nposts of them */
	uint32_t *order;           /* PHRASE: terms by frequency in the doc */
	size_t nwords;             /* PHRASE: posts[0, nwords) are its words, in
	                              order; the others, pair terms of two of
	                              them (pairs.h), only narrow the
	                              documents down */
	uint32_t *starts;          /* PHRASE: candidate starts (starts_cap) */
	uint32_t starts_cap;
	struct matcher **child;
	size_t nchild;
	size_t two_phase_kids;     /* AND: children that are two_phase() */
	struct or_window *window;  /* M_OR_WINDOW: its window */
};

uint32_t lode_or_window = LODE_OR_WINDOW;
size_t lode_or_scored_min = LODE_OR_SCORED_MIN;

/* What an OR at the root knows of the current window: the documents
 * [base, end) its children hold, a bit each, and, when scored, their
 * scores and each document's doc_norm(). */
struct or_window {
	uint32_t base, end;        /* end 0: no window yet */
	uint32_t words;            /* of bits[] the window uses */
	uint64_t bits[LODE_OR_WINDOW / 64];
	const struct lode_eval *ev; /* scores: non-NULL when scored */
	const struct lode_segment *seg;
	double *score, *norm;      /* LODE_OR_WINDOW each, when scored */
};

/* A leaf word's dictionary entry in one segment, found while computing the
 * weights, so that building the matchers need not look it up again. */
struct term_hit {
	int found;                 /* 1, 0 (absent), -1: not looked up */
	lode_term_info info;
};

/* Room for a small query's matchers in lode_eval itself: a one-word query
 * needs about 1.5 KiB, mostly its postings iterator. */
#define EVAL_ARENA_INLINE 4096

struct lode_eval {
	const lode_index *ix;
	const struct lode_qnode *root;
	double *weights;           /* per leaf (phrase node) in DFS order */
	size_t nleaves, weights_cap;
	size_t *first_hit;         /* per leaf: its first word's hits[] */
	size_t first_hit_cap;
	struct term_hit *hits;     /* per leaf word, per segment */
	size_t nhits, hits_cap;
	struct matcher **roots;    /* per segment */
	struct lode_stemmer *stemmer; /* words match stems; NULL: exact */
	struct lode_qnode *owned;  /* a tree made for this evaluation */
	double k1, b;              /* BM25 parameters of the query */
	int dfr;                   /* rank by DFR In_expB2, not BM25 */
	double c;                  /* DFR's length normalisation */
	lode_arena arena;          /* everything above and the matchers */
	/* Last, so that lode_eval_open clears only the fields above. */
	unsigned char arena_inline[EVAL_ARENA_INLINE];
};

struct build {
	struct lode_eval *ev;
	uint32_t s;                /* the segment built for */
	const struct lode_segment *seg;
	size_t leaf;               /* next leaf number */
	struct lode_stemmer *stemmer;
	lode_error *err;
};

/* The dictionary term for term t of leaf q: with stemming, a bare word
 * (one term, not quoted) looks up its stem term; phrases never do. */
static const char *leaf_term(struct lode_stemmer *stemmer,
                             const struct lode_qnode *q, size_t t,
                             char buf[LODE_STEM_TERM_MAX], size_t *len)
{
	if (stemmer && q->nterms == 1 && !q->quoted) {
		*len = lode_stem_term(stemmer, q->terms[0], q->term_len[0], buf);
		return buf;
	}
	*len = q->term_len[t];
	return q->terms[t];
}

/* Free what m and its children hold outside the arena: the buffers that
 * grow while they run. */
static void matcher_release(struct matcher *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nposts; i++)
		lode_postings_release(&m->posts[i]);
	lode_free(m->starts);
	m->starts = NULL;
	for (size_t i = 0; i < m->nchild; i++)
		matcher_release(m->child[i]);
}

static struct matcher *matcher_new(struct lode_eval *ev, enum mkind kind)
{
	struct matcher *m = lode_arena_calloc(&ev->arena, 1, sizeof(*m));

	if (m)
		m->kind = kind;
	return m;
}

/* ---- advancing --------------------------------------------------------- */

static int m_advance_slow(struct matcher *m, uint32_t target,
                          lode_error *err);

/* Move m to its first match >= target; no move if already there.  Inline
 * so that the common no-move case (an OR's children that are already past
 * the target) costs a comparison, not a call, and a term (the most common
 * leaf) goes straight to its postings. */
static inline int m_advance(struct matcher *m, uint32_t target,
                            lode_error *err)
{
	int rc;

	if (m->started && m->doc >= target)
		return LODE_OK;
	if (m->kind != M_TERM)
		return m_advance_slow(m, target, err);
	m->started = 1;
	rc = lode_postings_advance(&m->posts[0], target, err);
	m->doc = m->posts[0].doc;
	return rc;
}

/*
 * Occurrences of the phrase in the document all m's postings are on: starts
 * p with word k at p + k for every k.  The terms are taken rarest first in
 * this document (their frequencies are known before any position is read):
 * the rarest term's positions give the candidate starts, and each next term
 * keeps only the starts it agrees with, so a frequent word's positions are
 * decoded only while some start survives.
 */
static int count_phrase(struct matcher *m, lode_error *err)
{
	struct phrase_run *runs = m->runs;
	size_t n = m->nwords, nstarts = 0;
	uint32_t *order = m->order, *starts;
	int rc;

	for (size_t k = 0; n > 2 && k < n; k++) {
		uint32_t f;
		size_t j;
		if ((rc = lode_postings_freq(&m->posts[k], &f, err)))
			return rc;
		runs[k].n = f;
		/* Insertion sort: phrases are short. */
		for (j = k; j > 0 && runs[order[j - 1]].n > f; j--)
			order[j] = order[j - 1];
		order[j] = (uint32_t)k;
	}
	if (n == 2) {
		/* Both are read anyway: count in one merge, no start list. */
		const uint32_t *a, *b;
		uint32_t na, nb, count = 0;
		size_t at = 0;
		if ((rc = lode_postings_positions(&m->posts[0], &a, &na, err)) ||
		    (rc = lode_postings_positions(&m->posts[1], &b, &nb, err)))
			return rc;
		for (uint32_t j = 0; j < na && at < nb; j++) {
			uint64_t want = (uint64_t)a[j] + 1;
			while (at < nb && b[at] < want)
				at++;
			count += at < nb && b[at] == want;
		}
		m->phrase_freq = count;
		return LODE_OK;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t k = order[i], count;
		const uint32_t *pos;
		if ((rc = lode_postings_positions(&m->posts[k], &pos, &count, err)))
			return rc;
		if (i == 0) {
			if (count > m->starts_cap) {
				starts = lode_realloc(m->starts, count * sizeof(uint32_t));
				if (!starts)
					return lode_fail(err, LODE_ENOMEM, "out of memory");
				m->starts = starts;
				m->starts_cap = count;
			}
			/* Starts that leave room for the terms before k. */
			for (uint32_t j = 0; j < count; j++)
				if (pos[j] >= k)
					m->starts[nstarts++] = pos[j] - k;
		} else {
			/* Keep the starts s with s + k among pos (both sorted). */
			size_t kept = 0, at = 0;
			for (size_t j = 0; j < nstarts; j++) {
				uint64_t want = (uint64_t)m->starts[j] + k;
				while (at < count && pos[at] < want)
					at++;
				if (at == count)
					break;
				if (pos[at] == want)
					m->starts[kept++] = m->starts[j];
			}
			nstarts = kept;
		}
		if (nstarts == 0)
			break;
	}
	m->phrase_freq = (uint32_t)nstarts;
	return LODE_OK;
}

/* Move every term of the phrase to the first document >= target that
 * contains them all, the rarest term leading, without reading positions:
 * m->doc is a candidate, which count_phrase() confirms or not. */
static int phrase_candidate(struct matcher *m, uint32_t target,
                            lode_error *err)
{
	lode_postings *lead = &m->posts[m->lead];
	uint32_t t;
	int rc;

	if ((rc = lode_postings_advance(lead, target, err)))
		return rc;
again:
	t = lead->doc;
	m->doc = t;
	if (t == LODE_DOC_END)
		return LODE_OK;
	for (size_t k = 0; k < m->nposts; k++) {
		lode_postings *p = &m->posts[k];
		if (p == lead)
			continue;
		if ((rc = lode_postings_advance(p, t, err)))
			return rc;
		if (p->doc != t) {
			if (p->doc == LODE_DOC_END) {
				m->doc = LODE_DOC_END;
				return LODE_OK;
			}
			if ((rc = lode_postings_advance(lead, p->doc, err)))
				return rc;
			goto again;
		}
	}
	return LODE_OK;
}

/* The first candidate >= target whose positions hold the phrase. */
static int advance_phrase(struct matcher *m, uint32_t target, lode_error *err)
{
	int rc;

	for (;;) {
		if ((rc = phrase_candidate(m, target, err)) ||
		    m->doc == LODE_DOC_END || (rc = count_phrase(m, err)))
			return rc;
		if (m->phrase_freq > 0)
			return LODE_OK;
		if (m->doc == LODE_DOC_END - 1) {
			m->doc = LODE_DOC_END;
			return LODE_OK;
		}
		target = m->doc + 1;
	}
}

/*
 * Two-phase matching (as Lucene's TwoPhaseIterator): an AND's phrase
 * children, and an AND NOT's excluded phrase, move to candidates only, the
 * documents that hold all their words, and their positions are read only
 * where every other child agrees on the document.  Advanced exactly, a
 * phrase would confirm candidates the other children then pass over: in
 * '"place or" AND pitches' every document with both words.  A phrase
 * moved this way is always moved this way, so that its doc, which may be
 * an unconfirmed candidate, is never taken for a match.
 */
static inline int two_phase(const struct matcher *m)
{
	return m->kind == M_PHRASE;
}

/* Move m to its first candidate >= target: a two-phase phrase's next
 * candidate, any other matcher's next match. */
static inline int m_approach(struct matcher *m, uint32_t target,
                             lode_error *err)
{
	/* m_advance's tests first: a term costs no more than there. */
	if ((m->started && m->doc >= target) || m->kind == M_TERM)
		return m_advance(m, target, err);
	m->started = 1;
	if (two_phase(m))
		return phrase_candidate(m, target, err);
	return m_advance_slow(m, target, err);
}

/* Leapfrog: the first (rarest) child proposes, the others follow or
 * overtake it, until all agree; then the two-phase children confirm. */
static int advance_and(struct matcher *m, uint32_t target, lode_error *err)
{
	struct matcher *lead = m->child[0];
	int rc;

	if ((rc = m_approach(lead, target, err)))
		return rc;
again:
	if (lead->doc == LODE_DOC_END) {
		m->doc = LODE_DOC_END;
		return LODE_OK;
	}
	for (size_t k = 1; k < m->nchild; k++) {
		struct matcher *c = m->child[k];
		if ((rc = m_approach(c, lead->doc, err)))
			return rc;
		if (c->doc != lead->doc) {
			if (c->doc == LODE_DOC_END) {
				m->doc = LODE_DOC_END;
				return LODE_OK;
			}
			if ((rc = m_approach(lead, c->doc, err)))
				return rc;
			goto again;
		}
	}
	for (size_t k = 0; m->two_phase_kids && k < m->nchild; k++) {
		struct matcher *c = m->child[k];
		if (!two_phase(c))
			continue;
		if ((rc = count_phrase(c, err)))
			return rc;
		if (c->phrase_freq == 0) {
			if (lead->doc == LODE_DOC_END - 1) {
				m->doc = LODE_DOC_END;
				return LODE_OK;
			}
			if ((rc = m_approach(lead, lead->doc + 1, err)))
				return rc;
			goto again;
		}
	}
	m->doc = lead->doc;
	return LODE_OK;
}

static int advance_or(struct matcher *m, uint32_t target, lode_error *err);
static int m_score(const struct lode_eval *ev, struct matcher *m, uint32_t doc,
                   double norm, double *acc, lode_error *err);
static inline double doc_norm(const struct lode_eval *ev, uint32_t dl);
static inline double leaf_score(const struct lode_eval *ev, double weight,
                                uint32_t tf, double norm);

/* Term c (on a document >= w->base) through the window w, a decoded block
 * at a time: leaf_add()'s scores, without a call a document. */
static int term_through_window(struct or_window *w, struct matcher *c,
                               lode_error *err)
{
	lode_postings *p = &c->posts[0];
	int scored = w->ev && c->weight != 0;
	int rc;

	while (p->doc < w->end) {
		const uint32_t *freqs = NULL;
		uint32_t i = p->i;
		if (scored && (rc = lode_postings_block_freqs(p, &freqs, err)))
			return rc;
		for (; i < p->n && p->docs[i] < w->end; i++) {
			uint32_t d = p->docs[i] - w->base;
			w->bits[d / 64] |= (uint64_t)1 << (d % 64);
			if (scored)
				w->score[d] += leaf_score(w->ev, c->weight,
				                          freqs[i] + 1, w->norm[d]);
		}
		if (i < p->n) {
			lode_postings_seek_in_block(p, i);
			break;
		}
		/* On the block's last document: next() loads the next block. */
		lode_postings_seek_in_block(p, p->n - 1);
		if ((rc = lode_postings_next(p, err)))
			return rc;
	}
	c->doc = p->doc;
	return LODE_OK;
}

/*
 * The window from the first document >= target that a child holds: each
 * child in turn walked through it, its documents marked and, when scored,
 * their scores added, in child order as m_score adds them, so that the
 * sums are the same to the bit.  Every child then stands past the window.
 */
static int fill_or_window(struct matcher *m, uint32_t target, lode_error *err)
{
	struct or_window *w = m->window;
	uint32_t least, span = lode_or_window;
	int rc;

	if (span == 0)
		span = 1;
	if (span > LODE_OR_WINDOW)
		span = LODE_OR_WINDOW;

	/* Every child to target, the least of them in m->doc. */
	if ((rc = advance_or(m, target, err)))
		return rc;
	least = m->doc;
	w->base = least;
	w->end = LODE_DOC_END;
	if (least == LODE_DOC_END)
		return LODE_OK;
	if (least + (uint64_t)span < LODE_DOC_END)
		w->end = least + span;
	w->words = (w->end - w->base + 63) / 64;
	memset(w->bits, 0, w->words * sizeof(uint64_t));
	if (w->ev) {
		uint32_t n = w->end - w->base;
		if (n > w->seg->ndocs - w->base)
			n = w->seg->ndocs - w->base;
		memset(w->score, 0, n * sizeof(double));
		for (uint32_t d = 0; d < n; d++)
			w->norm[d] = doc_norm(
			        w->ev, lode_segment_doc_tokens(w->seg, w->base + d));
	}
	for (size_t i = 0; i < m->nchild; i++) {
		struct matcher *c = m->child[i];
		if (c->kind == M_TERM) {
			if ((rc = term_through_window(w, c, err)))
				return rc;
			continue;
		}
		while (c->doc < w->end) {
			uint32_t d = c->doc - w->base;
			w->bits[d / 64] |= (uint64_t)1 << (d % 64);
			if (w->ev && (rc = m_score(w->ev, c, c->doc, w->norm[d],
			                           &w->score[d], err)))
				return rc;
			if ((rc = m_advance(c, c->doc + 1, err)))
				return rc;
		}
	}
	return LODE_OK;
}

/*
 * An OR of LODE_OR_WINDOW_MIN children or more at the root, where every match
 * is visited (counted, listed, or scored match by match), is taken a
 * window of documents at a time, as Lucene's BooleanScorer does: each
 * child marks its documents of the window in a bitmap (and adds its scores
 * there), the bitmap gives the matches in order.  A child's document then
 * costs a bit set, where advance_or() looked at every child for every
 * match: an OR of 1,024 words ("more like this") took 60 ms on Reuters
 * (mode all), now 9.5.  A binary heap of the children by document, tried
 * first, gained nothing at the root (a sift of ten levels a document) and
 * lost 20-35 % inside an AND, whose leader makes every child move.  Not
 * inline: it cost an OR of two terms 2 % more instructions in
 * m_advance_slow.
 */
static LODE_NOINLINE int advance_or_window(struct matcher *m, uint32_t target,
                                           lode_error *err)
{
	struct or_window *w = m->window;
	int rc;

	for (;;) {
		if (target < w->end) { /* end 0: no window yet */
			uint32_t at = target < w->base ? 0 : target - w->base;
			size_t k = at / 64;
			uint64_t word = w->bits[k] & (~(uint64_t)0 << (at % 64));
			while (!word && ++k < w->words)
				word = w->bits[k];
			if (word) {
				m->doc = w->base + (uint32_t)(k * 64) +
				         (uint32_t)__builtin_ctzll(word);
				return LODE_OK;
			}
			target = w->end;
			if (target == LODE_DOC_END) {
				m->doc = LODE_DOC_END;
				return LODE_OK;
			}
		}
		if ((rc = fill_or_window(m, target, err)))
			return rc;
		if (w->base == LODE_DOC_END) {
			m->doc = LODE_DOC_END;
			return LODE_OK;
		}
	}
}

static int advance_or(struct matcher *m, uint32_t target, lode_error *err)
{
	uint32_t least = LODE_DOC_END;
	int rc;

	for (size_t i = 0; i < m->nchild; i++) {
		if ((rc = m_advance(m->child[i], target, err)))
			return rc;
		if (m->child[i]->doc < least)
			least = m->child[i]->doc;
	}
	m->doc = least;
	return LODE_OK;
}

/* A two-phase yes is confirmed only when a no that needs no position
 * check (a term, or an OR, AND or NOT without phrases at its top) has not
 * excluded its candidate already ('"the first" AND NOT windows' read the
 * phrase's positions in every document of "windows" too), and before a
 * two-phase no is. */
static int advance_andnot(struct matcher *m, uint32_t target, lode_error *err)
{
	struct matcher *yes = m->child[0], *no = m->child[1];
	int rc;

	for (;; target = yes->doc + 1) {
		if ((rc = m_approach(yes, target, err)))
			return rc;
		if (yes->doc == LODE_DOC_END)
			break;
		if ((rc = m_approach(no, yes->doc, err)))
			return rc;
		if (no->doc == yes->doc && !two_phase(no))
			continue;
		if (two_phase(yes)) {
			if ((rc = count_phrase(yes, err)))
				return rc;
			if (yes->phrase_freq == 0)
				continue;
		}
		if (no->doc == yes->doc) {
			if ((rc = count_phrase(no, err)))
				return rc;
			if (no->phrase_freq > 0)
				continue;
		}
		break;
	}
	m->doc = yes->doc;
	return LODE_OK;
}

static int advance_not(struct matcher *m, uint32_t target, uint32_t ndocs,
                       lode_error *err)
{
	struct matcher *no = m->child[0];
	uint32_t d = target;
	int rc;

	for (; d < ndocs; d++) {
		if ((rc = m_advance(no, d, err)))
			return rc;
		if (no->doc != d)
			break;
	}
	m->doc = d < ndocs ? d : LODE_DOC_END;
	return LODE_OK;
}

/* ndocs of the segment for M_NOT, kept in cost (set at build). */
static int m_advance_slow(struct matcher *m, uint32_t target,
                          lode_error *err)
{
	int rc = LODE_OK;

	m->started = 1;
	switch (m->kind) {
	case M_EMPTY:
		m->doc = LODE_DOC_END;
		break;
	case M_TERM:
		rc = lode_postings_advance(&m->posts[0], target, err);
		m->doc = m->posts[0].doc;
		break;
	case M_PHRASE:
		rc = advance_phrase(m, target, err);
		break;
	case M_AND:
		rc = advance_and(m, target, err);
		break;
	case M_OR:
		rc = advance_or(m, target, err);
		break;
	case M_OR_WINDOW:
		rc = advance_or_window(m, target, err);
		break;
	case M_ANDNOT:
		rc = advance_andnot(m, target, err);
		break;
	case M_NOT:
		rc = advance_not(m, target, (uint32_t)m->cost, err);
		break;
	}
	return rc;
}

/* ---- an AND of terms, a block at a time -------------------------------- */

/*
 * An AND of terms alone is intersected a block of its lead (the rarest
 * term) at a time: the lead's documents from its current one to its
 * block's end are the candidates, and each other term in turn keeps those
 * it holds, walking its postings along them in one loop.  Through
 * advance_and, each candidate cost two matcher calls per term and a
 * restart of the loop over the terms at every mismatch.  A term alone,
 * and either of them as a of a NOT b, go the same way: b is consulted for
 * each window's matches.
 */
#define WINDOW_TERMS 8

/* What a window intersects. */
struct window_terms {
	struct matcher *const *term; /* rarest first */
	size_t n;
	struct matcher *no;          /* what is excluded, or NULL */
};

static int and_of_terms(const struct matcher *m)
{
	if (m->kind != M_AND || m->nchild > WINDOW_TERMS)
		return 0;
	for (size_t i = 0; i < m->nchild; i++)
		if (m->child[i]->kind != M_TERM)
			return 0;
	return 1;
}

struct and_window {
	uint32_t n;                    /* matches */
	uint32_t doc[LODE_BLOCK_DOCS]; /* ... their documents, increasing */
	uint32_t at[LODE_BLOCK_DOCS];  /* ... and their offsets from the lead's
	                                * place (lead->i) in its block, which
	                                * index tf's rows */
	uint32_t tf[WINDOW_TERMS][LODE_BLOCK_DOCS]; /* by child: frequencies */
};

/*
 * The next matches of t's terms (all of them, the exclusion aside) into
 * w, with their frequencies if tfs: w->n of them, 0 once there are none
 * left.  The lead then stands on the window's last document or beyond, so
 * that the next call starts after it; the lead jumps to the furthest
 * document another term reached when that is past its block.
 *
 * The postings are moved directly, so the term matchers' own started and
 * doc go stale: once a window pass has begun, nothing may advance or score
 * those matchers.
 */
static LODE_ALWAYS_INLINE int and_window(const struct window_terms *t,
                                         int tfs, struct and_window *w,
                                         lode_error *err)
{
	lode_postings *lead = &t->term[0]->posts[0];
	int rc;

	if (!lead->started && (rc = lode_postings_next(lead, err)))
		return rc;
	while (lead->doc != LODE_DOC_END) {
		const uint32_t *docs = lead->docs + lead->i;
		uint32_t n = lead->n - lead->i, ahead = 0, last;

		for (uint32_t j = 0; j < n; j++)
			w->at[j] = j;
		for (size_t k = 1; k < t->n && n > 0; k++) {
			lode_postings *c = &t->term[k]->posts[0];
			/* c's place in its block, in locals: c->i and c->doc
			 * are set when it leaves the block and at the end. */
			int in = c->started && c->doc != LODE_DOC_END;
			uint32_t kept = 0, i = c->i, end = in ? c->docs[c->n - 1] : 0;
			const uint32_t *freqs = NULL; /* c's block's, once asked */

			for (uint32_t j = 0; j < n; j++) {
				uint32_t a = w->at[j], x = docs[a];
				if (!in || end < x) {
					if (in)
						lode_postings_seek_in_block(c, i);
					if ((rc = lode_postings_advance(c, x, err)))
						return rc;
					if (!(in = c->doc != LODE_DOC_END))
						break;
					i = c->i;
					end = c->docs[c->n - 1];
					freqs = NULL;
				}
				while (c->docs[i] < x)
					i++;
				if (c->docs[i] != x)
					continue;
				if (tfs) {
					if (!freqs && (rc = lode_postings_block_freqs(
					                       c, &freqs, err)))
						return rc;
					w->tf[k][a] = freqs[i] + 1;
				}
				w->at[kept++] = a;
			}
			if (in)
				lode_postings_seek_in_block(c, i);
			n = kept;
			if (c->doc > ahead)
				ahead = c->doc;
		}
		for (uint32_t j = 0; j < n; j++)
			w->doc[j] = docs[w->at[j]];
		if (tfs && n > 0) {
			const uint32_t *f;
			if ((rc = lode_postings_block_freqs(lead, &f, err)))
				return rc;
			for (uint32_t j = 0; j < n; j++)
				w->tf[0][w->at[j]] = f[lead->i + w->at[j]] + 1;
		}
		w->n = n;
		last = lead->docs[lead->n - 1];
		lode_postings_seek_in_block(lead, lead->n - 1);
		rc = ahead > last ? lode_postings_advance(lead, ahead, err)
		                  : lode_postings_next(lead, err);
		if (rc || n > 0)
			return rc;
	}
	w->n = 0;
	return LODE_OK;
}

/* Drop from w the matches that no (an ANDNOT's excluded side) has. */
static int window_except(struct and_window *w, struct matcher *no,
                         lode_error *err)
{
	uint32_t kept = 0;
	int rc;

	for (uint32_t j = 0; j < w->n; j++) {
		uint32_t d = w->doc[j];
		if ((rc = m_approach(no, d, err)))
			return rc;
		if (no->doc == d) {
			if (!two_phase(no))
				continue;
			if ((rc = count_phrase(no, err)))
				return rc;
			if (no->phrase_freq > 0)
				continue;
		}
		w->doc[kept] = d;
		w->at[kept++] = w->at[j];
	}
	w->n = kept;
	return LODE_OK;
}

/* Whether root (in its slot *at) is a term, an AND of terms
 * (and_of_terms), or one of them NOT something.  *t is filled either way
 * and means something only when the answer is yes. */
static int windowed(struct matcher *const *at, struct window_terms *t)
{
	struct matcher *m = *at;

	t->no = NULL;
	if (m->kind == M_ANDNOT) {
		t->no = m->child[1];
		at = &m->child[0];
		m = *at;
	}
	t->term = m->kind == M_TERM ? at : m->child;
	t->n = m->kind == M_TERM ? 1 : m->nchild;
	return m->kind == M_TERM || and_of_terms(m);
}

/* ---- scoring ------------------------------------------------------------ */

/* The score of a leaf of this weight that occurs tf times in a document
 * whose doc_norm() is norm: BM25's weight * tf * (k1 + 1) / (tf + norm), or
 * DFR's weight * tfn / (tfn + 1) with tfn = tf * norm.  The one expression
 * every path uses, so that pruned and exhaustive searches compute
 * bit-identical scores. */
static inline double leaf_score(const struct lode_eval *ev, double weight,
                                uint32_t tf, double norm)
{
	double tfn;

	if (!ev->dfr)
		return weight * tf * (ev->k1 + 1) / (tf + norm);
	tfn = tf * norm;
	/* tfn / (tfn + 1), finite even when tfn is not (a corrupt length of
	 * 0 makes norm infinite). */
	return weight / (1 + 1 / tfn);
}

/* For a document of dl tokens: BM25's k1 * (1 - b + b * dl / avgdl), or
 * DFR's normalisation 2, log2(1 + c * avgdl / dl). */
static inline double doc_norm(const struct lode_eval *ev, uint32_t dl)
{
	if (ev->dfr)
		return log2(1 + ev->c * ev->ix->avgdl / dl);
	return ev->k1 * (1 - ev->b + ev->b * dl / ev->ix->avgdl);
}

/* Term frequency of a leaf on its current document. */
static int leaf_tf(struct matcher *m, uint32_t *tf, lode_error *err)
{
	if (m->kind == M_PHRASE) {
		*tf = m->phrase_freq;
		return LODE_OK;
	}
	return lode_postings_freq(&m->posts[0], tf, err);
}

/* Add leaf m's score on its current document, whose doc_norm() is norm,
 * to *acc (nothing if it is not scored).  Inline: m_score's loop over an
 * AND's or OR's children scores their terms with it. */
static LODE_ALWAYS_INLINE int leaf_add(const struct lode_eval *ev,
                                       struct matcher *m, double norm,
                                       double *acc, lode_error *err)
{
	uint32_t tf;
	int rc;

	if (m->weight == 0)
		return LODE_OK;
	if ((rc = leaf_tf(m, &tf, err)))
		return rc;
	*acc += leaf_score(ev, m->weight, tf, norm);
	return LODE_OK;
}

/* Add m's contribution to the score of doc (m->doc == doc); norm is the
 * document's doc_norm(). */
static int m_score(const struct lode_eval *ev, struct matcher *m, uint32_t doc,
                   double norm, double *acc, lode_error *err)
{
	int rc;

	switch (m->kind) {
	case M_TERM:
	case M_PHRASE:
		return leaf_add(ev, m, norm, acc, err);
	case M_AND:
	case M_OR:
		for (size_t i = 0; i < m->nchild; i++) {
			struct matcher *c = m->child[i];
			if (c->doc != doc)
				continue;
			/* A term child scored here, not in a call of its own:
			 * the call was a third of an AND's time per match. */
			if ((rc = c->kind == M_TERM
			                  ? leaf_add(ev, c, norm, acc, err)
			                  : m_score(ev, c, doc, norm, acc, err)))
				return rc;
		}
		return LODE_OK;
	case M_OR_WINDOW: /* scored when its window was filled */
		*acc += m->window->score[doc - m->window->base];
		return LODE_OK;
	case M_ANDNOT:
		return m_score(ev, m->child[0], doc, norm, acc, err);
	case M_EMPTY:
	case M_NOT:
		return LODE_OK;
	}
	return LODE_OK;
}

/* ---- building ------------------------------------------------------------ */

static double idf(uint64_t n, uint64_t df)
{
	return log(1.0 + ((double)n - (double)df + 0.5) / ((double)df + 0.5));
}

/* In_expB2's weight of a term in df of n documents, cf times in all:
 * the informative content In_exp, log2((n + 1) / (n_e + 0.5)) with
 * n_e = n * (1 - e^(-cf / n)) the documents expected to hold it, times
 * the Bernoulli after-effect (cf + 1) / df (whose other factor,
 * 1 / (tfn + 1), is leaf_score's).  0 for a term no document has. */
static double dfr_weight(uint64_t n, uint64_t df, uint64_t cf)
{
	double ne;

	if (df == 0)
		return 0;
	ne = (double)n * (1 - exp(-(double)cf / (double)n));
	return ((double)cf + 1) / (double)df * log2(((double)n + 1) / (ne + 0.5));
}

/* Weights of every leaf, from document frequencies over all segments.
 * Leaves under a NOT get 0: they never add to a score. */
static int compute_weights(struct lode_eval *ev, const struct lode_qnode *q,
                           int negated, lode_error *err)
{
	int rc;

	if (q->kind != LODE_Q_PHRASE) {
		for (size_t i = 0; i < q->nchild; i++) {
			int neg = negated || q->kind == LODE_Q_NOT ||
			          (q->kind == LODE_Q_ANDNOT && i == 1);
			if ((rc = compute_weights(ev, q->child[i], neg, err)))
				return rc;
		}
		return LODE_OK;
	}
	if (lode_arena_grow(&ev->arena, &ev->weights, &ev->weights_cap,
	                    ev->nleaves + 1, sizeof(double)) ||
	    lode_arena_grow(&ev->arena, &ev->first_hit, &ev->first_hit_cap,
	                    ev->nleaves + 1, sizeof(size_t)) ||
	    lode_arena_grow(&ev->arena, &ev->hits, &ev->hits_cap,
	                    ev->nhits + q->nterms * ev->ix->nsegs,
	                    sizeof(struct term_hit)))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	ev->weights[ev->nleaves] = 0;
	ev->first_hit[ev->nleaves] = ev->nhits;
	for (size_t t = 0; t < q->nterms; t++) {
		char buf[LODE_STEM_TERM_MAX];
		size_t len;
		const char *term = leaf_term(ev->stemmer, q, t, buf, &len);
		uint64_t df = 0, cf = 0;
		for (uint32_t s = 0; s < ev->ix->nsegs; s++) {
			struct term_hit *h = &ev->hits[ev->nhits++];
			h->found = -1;
			if (negated) /* no weight needed */
				continue;
			rc = lode_segment_lookup(&ev->ix->segs[s], term, len, &h->info,
			                         err);
			if (rc < 0)
				return rc;
			h->found = rc;
			if (rc == 1) {
				df += h->info.df;
				cf += h->info.cf;
			}
		}
		ev->weights[ev->nleaves] += ev->dfr ? dfr_weight(ev->ix->ndocs, df, cf)
		                                    : idf(ev->ix->ndocs, df);
	}
	ev->weights[ev->nleaves] *= q->boost;
	ev->nleaves++;
	return LODE_OK;
}

/* Room for any term a leaf looks up. */
#define LEAF_TERM_MAX (LODE_STEM_TERM_MAX > LODE_PAIR_TERM_MAX \
                               ? LODE_STEM_TERM_MAX              \
                               : LODE_PAIR_TERM_MAX)
/* Leaves of up to this many terms need no allocation to be built. */
#define LEAF_TERMS_ON_STACK 8

struct leaf_term {
	const char *term;
	size_t len;
	char buf[LEAF_TERM_MAX];   /* the term, if made here */
};

/*
 * A leaf's terms: a bare word; a phrase of two common words, their pair
 * term (pairs.h), whose frequency is the phrase's; or the words of a
 * phrase, followed by the pair term of each two adjacent common words
 * (which narrow down the documents whose positions are compared).
 * Returns how many terms there are; *nwords receives how many are words.
 */
static size_t leaf_terms(const struct build *b, const struct lode_qnode *q,
                         struct leaf_term *lt, size_t *nwords)
{
	const lode_common_words *cw = &b->seg->common;
	size_t n = 0;
	unsigned prev = 0;

	for (; n < q->nterms; n++)
		lt[n].term = leaf_term(b->stemmer, q, n, lt[n].buf, &lt[n].len);
	*nwords = n;
	for (size_t t = 0; cw->n && q->nterms > 1 && t < q->nterms; t++) {
		unsigned c = lode_common_id(cw, q->terms[t], q->term_len[t]);
		if (c && prev) {
			lt[n].len = lode_pair_term(q->terms[t - 1], q->term_len[t - 1],
			                           q->terms[t], q->term_len[t],
			                           lt[n].buf);
			lt[n].term = lt[n].buf;
			n++;
		}
		prev = c;
	}
	if (q->nterms == 2 && n == 3) {
		/* The pair alone says it all. */
		lt[0] = lt[2];
		lt[0].term = lt[0].buf;
		*nwords = 0;
		return 1;
	}
	return n;
}

static int build_leaf(struct build *b, const struct lode_qnode *q,
                      struct matcher **out)
{
	size_t leaf = b->leaf++;
	double weight = b->ev->weights[leaf];
	const struct term_hit *hits = b->ev->hits + b->ev->first_hit[leaf];
	struct matcher *m = NULL;
	uint64_t cost = UINT64_MAX;
	struct leaf_term stack[LEAF_TERMS_ON_STACK], *lt = stack;
	size_t n, nwords, most = 2 * q->nterms;
	int rc = LODE_OK;

	*out = NULL;
	if (most > LEAF_TERMS_ON_STACK &&
	    !(lt = lode_malloc(most * sizeof(*lt))))
		return lode_fail(b->err, LODE_ENOMEM, "out of memory");
	n = leaf_terms(b, q, lt, &nwords);
	m = matcher_new(b->ev, n == 1 ? M_TERM : M_PHRASE);
	if (!m ||
	    !(m->posts = lode_arena_alloc(&b->ev->arena, n * sizeof(lode_postings))) ||
	    (n > 1 &&
	     (!(m->runs = lode_arena_calloc(&b->ev->arena, n,
	                                    sizeof(struct phrase_run))) ||
	      !(m->order = lode_arena_calloc(&b->ev->arena, n, sizeof(uint32_t)))))) {
		rc = lode_fail(b->err, LODE_ENOMEM, "out of memory");
		goto out_free;
	}
	m->weight = weight;
	m->nwords = nwords;
	for (size_t t = 0; t < n; t++) {
		lode_term_info info;
		const struct term_hit *h =
		        t < nwords ? &hits[t * b->ev->ix->nsegs + b->s] : NULL;
		if (h && h->found >= 0) {
			rc = h->found;
			info = h->info;
		} else {
			rc = lode_segment_lookup(b->seg, lt[t].term, lt[t].len, &info,
			                         b->err);
		}
		if (rc == 0) {
			/* A missing term: the leaf matches nothing here. */
			matcher_release(m);
			m = NULL;
			*out = matcher_new(b->ev, M_EMPTY);
			rc = *out ? LODE_OK : lode_fail(b->err, LODE_ENOMEM,
			                                "out of memory");
			goto out_free;
		}
		if (rc < 0 ||
		    (rc = lode_postings_init(&m->posts[t], b->seg, &info, b->err)))
			goto out_free;
		m->nposts = t + 1;
		if (info.df < cost) {
			cost = info.df;
			m->lead = t;
		}
		/* One document holds at most all occurrences but one per
		 * other document. */
		if (t == 0 || info.cf - info.df + 1 < m->max_tf)
			m->max_tf = info.cf - info.df + 1;
	}
	m->cost = cost;
	*out = m;
	m = NULL;
	rc = LODE_OK;
out_free:
	matcher_release(m);
	if (lt != stack)
		lode_free(lt);
	return rc;
}

static int compare_cost(const void *a, const void *b)
{
	const struct matcher *x = *(struct matcher *const *)a;
	const struct matcher *y = *(struct matcher *const *)b;

	return x->cost < y->cost ? -1 : x->cost > y->cost;
}

static int build(struct build *b, const struct lode_qnode *q,
                 struct matcher **out);

/* Whether leaves a and b match the same documents as often: the same
 * words, both quoted or neither. */
static int same_leaf(const struct lode_qnode *a, const struct lode_qnode *b)
{
	if (a->nterms != b->nterms || a->quoted != b->quoted)
		return 0;
	for (size_t t = 0; t < a->nterms; t++)
		if (a->term_len[t] != b->term_len[t] ||
		    memcmp(a->terms[t], b->terms[t], a->term_len[t]) != 0)
			return 0;
	return 1;
}

static uint64_t leaf_hash(const struct lode_qnode *q)
{
	uint64_t h = (uint64_t)q->quoted;

	for (size_t t = 0; t < q->nterms; t++)
		h = h * 0x9e3779b97f4a7c15ULL +
		    lode_bytes_hash(q->terms[t], q->term_len[t]);
	return h;
}

/* Children of an AND or OR up to this many are compared with each other;
 * more are found in a hash table. */
#define SAME_LEAF_SCAN 16

/*
 * The earlier child of q that is the same leaf as child i (a PHRASE), or
 * i itself if there is none; with table (mask + 1 slots of child indices
 * + 1), i is entered there then.
 */
static size_t first_same_leaf(const struct lode_qnode *q, size_t i,
                              uint32_t *table, size_t mask)
{
	const struct lode_qnode *leaf = q->child[i];
	size_t at;

	if (!table) {
		for (size_t j = 0; j < i; j++)
			if (q->child[j]->kind == LODE_Q_PHRASE &&
			    same_leaf(q->child[j], leaf))
				return j;
		return i;
	}
	for (at = leaf_hash(leaf) & mask; table[at]; at = (at + 1) & mask)
		if (same_leaf(q->child[table[at] - 1], leaf))
			return table[at] - 1;
	table[at] = (uint32_t)(i + 1);
	return i;
}

/*
 * Build q's children into m, dropping EMPTY ones for OR.  A leaf that an
 * AND or OR holds more than once ('oil oil', pasted text without --text)
 * is built once, its weights added up: it then scores what the copies
 * did (BM25 and DFR are linear in the weight), where each copy was
 * iterated on its own ('oil' 10,000 times ANDed took 0.7 s on Reuters).
 * Without the memory for finding them, the copies stay.
 */
static int build_children(struct build *b, const struct lode_qnode *q,
                          struct matcher *m)
{
	size_t n = q->nchild, mask = 0;
	struct matcher **of = NULL; /* each child's matcher, NULL if none */
	uint32_t *table = NULL;
	int rc;

	m->child = lode_arena_calloc(&b->ev->arena, n, sizeof(struct matcher *));
	if (!m->child)
		return lode_fail(b->err, LODE_ENOMEM, "out of memory");
	if ((q->kind == LODE_Q_AND || q->kind == LODE_Q_OR) &&
	    (of = lode_arena_calloc(&b->ev->arena, n, sizeof(*of))) &&
	    n > SAME_LEAF_SCAN) {
		while (mask < 2 * n)
			mask = 2 * mask + 1;
		if (!(table = lode_arena_calloc(&b->ev->arena, mask + 1,
		                                sizeof(*table))))
			of = NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct matcher *c;
		if (of && q->child[i]->kind == LODE_Q_PHRASE) {
			size_t j = first_same_leaf(q, i, table, mask);
			if (j != i) {
				double weight = b->ev->weights[b->leaf++];
				if (of[j])
					of[j]->weight += weight;
				continue;
			}
		}
		if ((rc = build(b, q->child[i], &c)))
			return rc;
		if (q->kind == LODE_Q_OR && c->kind == M_EMPTY) {
			matcher_release(c);
			continue;
		}
		if (of)
			of[i] = c;
		m->child[m->nchild++] = c;
	}
	return LODE_OK;
}

/* Replace m by something cheaper with the same matches, if there is one. */
static struct matcher *simplify(struct matcher *m)
{
	struct matcher *c;
	int empty = 0;

	switch (m->kind) {
	case M_AND:
		for (size_t i = 0; i < m->nchild; i++)
			empty |= m->child[i]->kind == M_EMPTY;
		if (empty)
			break;
		if (m->nchild == 1) { /* its children were one leaf */
			c = m->child[0];
			m->nchild = 0;
			matcher_release(m);
			return c;
		}
		qsort(m->child, m->nchild, sizeof(*m->child), compare_cost);
		m->cost = m->child[0]->cost;
		for (size_t i = 0; i < m->nchild; i++)
			m->two_phase_kids += two_phase(m->child[i]);
		return m;
	case M_OR:
		if (m->nchild == 0)
			break;
		if (m->nchild == 1) {
			c = m->child[0];
			m->nchild = 0;
			matcher_release(m);
			return c;
		}
		m->cost = 0;
		for (size_t i = 0; i < m->nchild; i++)
			m->cost += m->child[i]->cost;
		return m;
	case M_ANDNOT:
		if (m->child[0]->kind == M_EMPTY)
			break;
		if (m->child[1]->kind == M_EMPTY) {
			/* a NOT (nothing) is a: keep a, free the rest. */
			c = m->child[0];
			m->child[0] = NULL;
			matcher_release(m);
			return c;
		}
		m->cost = m->child[0]->cost;
		return m;
	default:
		return m;
	}
	/* Matches nothing. */
	for (size_t i = 0; i < m->nchild; i++)
		matcher_release(m->child[i]);
	m->child = NULL;
	m->nchild = 0;
	m->kind = M_EMPTY;
	m->cost = 0;
	return m;
}

/*
 * An AND with exclusions among its children, x AND (y NOT z) AND (NOT w),
 * as (x AND y) NOT (z OR w): the same documents, and the same scores added
 * in the same order (the excluded sides are not scored, and y takes the
 * place its ANDNOT had among the children ordered by cost; equal costs keep
 * their order only as far as qsort does, which C does not promise, so
 * this holds against the build before the hoist, not as a contract).  The AND of
 * the included sides can then be intersected a block at a time or pruned
 * as a whole, and the exclusions are consulted only for its matches.  *m
 * (an AND, not simplified yet) is left as it is when it has no exclusion or
 * nothing but exclusions; otherwise it becomes the ANDNOT, its AND
 * simplified.
 */
static int hoist_exclusions(struct build *b, struct matcher **m)
{
	struct matcher *and = *m, *no, *top;
	size_t nno = 0, nyes = 0, k = 0;

	for (size_t i = 0; i < and->nchild; i++) {
		enum mkind kind = and->child[i]->kind;
		nno += kind == M_ANDNOT || kind == M_NOT;
		nyes += kind != M_NOT;
	}
	if (nno == 0 || nyes == 0)
		return LODE_OK;
	no = matcher_new(b->ev, M_OR);
	top = matcher_new(b->ev, M_ANDNOT);
	if (!no || !top ||
	    !(no->child = lode_arena_calloc(&b->ev->arena, nno,
	                                    sizeof(struct matcher *))) ||
	    !(top->child = lode_arena_calloc(&b->ev->arena, 2,
	                                     sizeof(struct matcher *))))
		return lode_fail(b->err, LODE_ENOMEM, "out of memory");
	for (size_t i = 0; i < and->nchild; i++) {
		struct matcher *c = and->child[i], *x;
		if (c->kind != M_ANDNOT && c->kind != M_NOT) {
			and->child[k++] = c;
			continue;
		}
		if (c->kind == M_ANDNOT)
			and->child[k++] = c->child[0];
		x = c->kind == M_ANDNOT ? c->child[1] : c->child[0];
		/* Excluding nothing is no exclusion (OR drops EMPTY). */
		if (x->kind != M_EMPTY)
			no->child[no->nchild++] = x;
		else
			matcher_release(x);
		c->nchild = 0;
	}
	and->nchild = k;
	if (k == 1) { /* an AND of one is its child */
		top->child[0] = and->child[0];
		and->nchild = 0;
		matcher_release(and);
	} else {
		top->child[0] = simplify(and);
	}
	top->child[1] = simplify(no);
	top->nchild = 2;
	*m = top;
	return LODE_OK;
}

static int build(struct build *b, const struct lode_qnode *q,
                 struct matcher **out)
{
	static const enum mkind kinds[] = {
		[LODE_Q_AND] = M_AND, [LODE_Q_OR] = M_OR,
		[LODE_Q_ANDNOT] = M_ANDNOT, [LODE_Q_NOT] = M_NOT,
	};
	struct matcher *m;
	int rc;

	*out = NULL;
	if (q->kind == LODE_Q_PHRASE)
		return build_leaf(b, q, out);
	m = matcher_new(b->ev, kinds[q->kind]);
	if (!m)
		return lode_fail(b->err, LODE_ENOMEM, "out of memory");
	if ((rc = build_children(b, q, m))) {
		matcher_release(m);
		return rc;
	}
	if (m->kind == M_NOT)
		m->cost = b->seg->ndocs; /* advance_not's bound */
	if (m->kind == M_AND && (rc = hoist_exclusions(b, &m))) {
		matcher_release(m);
		return rc;
	}
	*out = simplify(m);
	return LODE_OK;
}

/*
 * The index keeps the memory of one finished evaluation for the next: 4 KiB
 * that malloc would otherwise hand out and take back on every query, beyond
 * its per-thread caches (390 instructions of a rare term's 7,000).  One
 * slot, swapped atomically, so that threads sharing the index need no lock;
 * it is a cache, not part of the index's value, hence the cast.
 */
static struct lode_eval *take_spare(const lode_index *ix)
{
	struct lode_eval *ev =
	        atomic_exchange(&((lode_index *)ix)->spare_eval, NULL);

	return ev ? ev : lode_malloc(sizeof(*ev));
}

static void give_spare(const lode_index *ix, struct lode_eval *ev)
{
	lode_free(atomic_exchange(&((lode_index *)ix)->spare_eval, ev));
}

int lode_eval_open(const lode_index *ix, const struct lode_query *query,
                   struct lode_eval **out, lode_error *err)
{
	const struct lode_qnode *root = query->root;
	struct lode_eval *ev = take_spare(ix);
	int rc;

	*out = NULL;
	if (!ev)
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	memset(ev, 0, offsetof(struct lode_eval, arena_inline));
	lode_arena_init(&ev->arena, ev->arena_inline, sizeof(ev->arena_inline));
	if (!(ev->roots = lode_arena_calloc(&ev->arena, ix->nsegs ? ix->nsegs : 1,
	                                    sizeof(struct matcher *)))) {
		lode_eval_close(ev);
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	}
	ev->ix = ix;
	ev->root = root;
	ev->k1 = query->k1;
	ev->b = query->b;
	ev->dfr = query->dfr;
	ev->c = query->c;
	if (ix->stemmer[0] && !query->exact) {
		if ((rc = lode_stemmer_new(ix->stemmer, &ev->stemmer, err)))
			goto out_close;
		if (query->free_text) {
			if (lode_qnode_exact_and_stem(root, &ev->owned)) {
				rc = lode_fail(err, LODE_ENOMEM, "out of memory");
				goto out_close;
			}
			ev->root = root = ev->owned;
		}
	}
	if ((rc = compute_weights(ev, root, 0, err)))
		goto out_close;
	for (uint32_t s = 0; s < ix->nsegs; s++) {
		struct build b = {ev, s, &ix->segs[s], 0, ev->stemmer, err};
		if ((rc = build(&b, root, &ev->roots[s])))
			goto out_close;
	}
	*out = ev;
	return LODE_OK;
out_close:
	lode_eval_close(ev);
	return rc;
}

/* Before segment s's root m first moves: an OR of many children at the
 * root (or as a of a NOT b) is taken a window at a time
 * (advance_or_window), its scores added up with it if scored.  Without
 * the memory for it, the OR goes child by child: slower, the same
 * answers. */
static void window_root(struct lode_eval *ev, uint32_t s, struct matcher *m,
                        int scored)
{
	struct or_window *w;

	if (m->kind == M_ANDNOT)
		m = m->child[0];
	if (m->kind != M_OR || m->nchild < LODE_OR_WINDOW_MIN || m->started ||
	    m->window)
		return;
	if (!(w = lode_arena_calloc(&ev->arena, 1, sizeof(*w))))
		return;
	if (scored) {
		w->score = lode_arena_calloc(&ev->arena, LODE_OR_WINDOW, sizeof(double));
		w->norm = lode_arena_calloc(&ev->arena, LODE_OR_WINDOW, sizeof(double));
		if (!w->score || !w->norm)
			return;
		w->ev = ev;
		w->seg = &ev->ix->segs[s];
	}
	m->window = w;
	m->kind = M_OR_WINDOW;
}

/* Every document of one term's postings, a block at a time. */
static int each_of_term(lode_postings *p, uint32_t base, lode_match_fn fn,
                        void *ctx, lode_error *err)
{
	int rc;

	for (;;) {
		if ((rc = lode_postings_next(p, err)) || p->doc == LODE_DOC_END)
			return rc;
		for (uint32_t i = p->i; i < p->n; i++)
			if ((rc = fn(ctx, base + p->docs[i])) != 0)
				return rc;
		/* On the block's last document: next() loads the next block. */
		p->i = p->n - 1;
		p->doc = p->docs[p->i];
	}
}

/* Every match of t (windowed), a window at a time. */
static int each_of_window(const struct window_terms *t, uint32_t base,
                          lode_match_fn fn, void *ctx, uint64_t *count,
                          lode_error *err)
{
	struct and_window w;
	int rc;

	for (;;) {
		if ((rc = and_window(t, 0, &w, err)) || w.n == 0)
			return rc;
		if (t->no && (rc = window_except(&w, t->no, err)))
			return rc;
		if (!fn) {
			*count += w.n;
			continue;
		}
		for (uint32_t j = 0; j < w.n; j++)
			if ((rc = fn(ctx, base + w.doc[j])) != 0)
				return rc;
	}
}

int lode_eval_each(struct lode_eval *ev, lode_match_fn fn, void *ctx,
                   uint64_t *count, lode_error *err)
{
	int rc = LODE_OK;

	for (uint32_t s = 0; s < ev->ix->nsegs && rc == LODE_OK; s++) {
		struct matcher *m = ev->roots[s];
		uint32_t base = ev->ix->segs[s].doc_base;
		struct window_terms t;
		if (m->kind == M_TERM && !fn) {
			*count += m->posts[0].df; /* no need to read them */
			continue;
		}
		if (m->kind == M_TERM) {
			rc = each_of_term(&m->posts[0], base, fn, ctx, err);
			continue;
		}
		if (windowed(&ev->roots[s], &t)) {
			rc = each_of_window(&t, base, fn, ctx, count, err);
			continue;
		}
		window_root(ev, s, m, 0);
		for (uint32_t target = 0;; target = m->doc + 1) {
			if ((rc = m_advance(m, target, err)) || m->doc == LODE_DOC_END)
				break;
			if (fn && (rc = fn(ctx, base + m->doc)) != 0)
				break;
			if (!fn)
				(*count)++;
		}
	}
	return rc;
}

/* ---- top k --------------------------------------------------------------- */

/* Sums of bounds are compared with the threshold with this margin, so that
 * rounding can only make pruning more cautious, never drop a document. */
#define BOUND_MARGIN (1 + 1e-9)

/* top_exhaustive for t (windowed): each window's matches scored in
 * m_score's order of the terms, so that scores are the same to the bit. */
static int top_of_window(struct lode_eval *ev, uint32_t s,
                         const struct window_terms *t, lode_topk *top,
                         uint64_t *matched, lode_error *err)
{
	const struct lode_segment *seg = &ev->ix->segs[s];
	struct and_window w;
	double weight[WINDOW_TERMS];
	size_t scored[WINDOW_TERMS], nscored = 0;
	int rc;

	for (size_t c = 0; c < t->n; c++)
		if ((weight[nscored] = t->term[c]->weight) != 0)
			scored[nscored++] = c;
	for (;;) {
		if ((rc = and_window(t, top->k > 0, &w, err)) || w.n == 0)
			return rc;
		if (t->no && (rc = window_except(&w, t->no, err)))
			return rc;
		*matched += w.n;
		for (uint32_t j = 0; j < w.n && top->k > 0; j++) {
			double norm = doc_norm(ev, lode_segment_doc_tokens(
			                                   seg, w.doc[j]));
			lode_hit hit = {seg->doc_base + w.doc[j], 0};
			for (size_t c = 0; c < nscored; c++)
				hit.score += leaf_score(ev, weight[c],
				                        w.tf[scored[c]][w.at[j]],
				                        norm);
			lode_topk_offer(top, hit);
		}
	}
}

/* Every match of segment s scored and offered; *matched counts them. */
static int top_exhaustive(struct lode_eval *ev, uint32_t s, lode_topk *top,
                          uint64_t *matched, lode_error *err)
{
	const struct lode_segment *seg = &ev->ix->segs[s];
	struct matcher *m = ev->roots[s];
	struct window_terms t;
	int rc;

	if (windowed(&ev->roots[s], &t))
		return top_of_window(ev, s, &t, top, matched, err);
	window_root(ev, s, m, top->k > 0);
	for (uint32_t target = 0;; target = m->doc + 1) {
		lode_hit hit;
		if ((rc = m_advance(m, target, err)))
			return rc;
		if (m->doc == LODE_DOC_END)
			return LODE_OK;
		(*matched)++;
		if (top->k == 0)
			continue;
		hit.doc = seg->doc_base + m->doc;
		hit.score = 0;
		rc = m_score(ev, m, m->doc, doc_norm(ev, lode_segment_doc_tokens(
		                                         seg, m->doc)),
		             &hit.score, err);
		if (rc)
			return rc;
		lode_topk_offer(top, hit);
	}
}

/*
 * The most phrase m can score on its candidate document, whose doc_norm()
 * is norm: it occurs there no more often than its least frequent word, or
 * pair term (the phrase holds its pairs).  The frequencies are in the
 * blocks decoded to find the candidate; the positions are not read.
 */
static int phrase_bound(const struct lode_eval *ev, struct matcher *m,
                        double norm, double *bound, lode_error *err)
{
	uint32_t least = UINT32_MAX;
	int rc;

	for (size_t k = 0; k < m->nposts; k++) {
		uint32_t f;
		if ((rc = lode_postings_freq(&m->posts[k], &f, err)))
			return rc;
		if (f < least)
			least = f;
	}
	*bound = leaf_score(ev, m->weight, least, norm);
	return LODE_OK;
}

static int scored_leaf(const struct matcher *m)
{
	return (m->kind == M_TERM || m->kind == M_PHRASE) && m->weight > 0;
}

static int or_of_leaves(const struct matcher *m)
{
	if (m->kind != M_OR)
		return 0;
	for (size_t i = 0; i < m->nchild; i++)
		if (!scored_leaf(m->child[i]))
			return 0;
	return 1;
}

/*
 * MaxScore applies to an OR whose children are all scored leaves, to a
 * scored term of 4 blocks or more (whole blocks may be skipped; with fewer,
 * the windows cost more than they save), to an AND of scored leaves and
 * one such OR that leads it (it is the cheapest child), and to a NOT b
 * where it applies to a (b is checked where a document would enter the
 * top k).  The AND's leaves are required, the OR's children optional, if
 * the AND may have lode_and_prune_matches times k matches (the OR's
 * documents times each leaf's share of the segment's).  Led by a rarer leaf, the AND's leapfrog visits fewer
 * documents than the OR's children propose ('(that OR cheveldae) AND
 * ohio': 1.28 times the instructions); with few matches, nothing is pruned
 * and the windows cost time ('(couple OR overpass) AND hope', some 50
 * matches expected: 10.3 against 11.2 us, 1.00 times the instructions).
 */
double lode_and_prune_matches = LODE_AND_PRUNE_MATCHES;

static int maxscore_applies(const struct matcher *m, uint32_t ndocs, size_t k)
{
	double matches;

	if (m->kind == M_ANDNOT)
		return m->child[0]->kind != M_ANDNOT &&
		       maxscore_applies(m->child[0], ndocs, k);
	if (m->kind == M_TERM)
		return m->weight > 0 && m->posts[0].nblocks >= 4;
	if (m->kind == M_OR)
		return or_of_leaves(m);
	if (m->kind != M_AND || !or_of_leaves(m->child[0]) || ndocs == 0)
		return 0;
	matches = (double)m->child[0]->cost;
	for (size_t i = 1; i < m->nchild; i++) {
		if (!scored_leaf(m->child[i]))
			return 0;
		matches *= (double)m->child[i]->cost / ndocs;
	}
	return matches >= lode_and_prune_matches * (double)k;
}

/* root is a scored phrase alone, or a NOT b of one: top_phrase's. */
static int phrase_root(const struct matcher *root)
{
	const struct matcher *m = root->kind == M_ANDNOT ? root->child[0] : root;

	return m->kind == M_PHRASE && m->weight > 0;
}

/* Whether top k of root, in a segment of ndocs documents, is pruned, not
 * scored match by match: MaxScore, or a phrase alone or a NOT b of one
 * (top_phrase), but for those whose matches are to be counted too
 * (with_total): counting reads every candidate's positions, which scoring
 * them all does too.  An OR of lode_or_scored_min children or more (or a
 * NOT b of one) is scored a window at a time instead (advance_or_window):
 * MaxScore looks at every leaf for every candidate, and ORs of 256 words
 * took 17-20 ms for their top 10 on Reuters and 20 Newsgroups, 6-7 ms
 * scoring every match; with 64 words MaxScore is ahead on 20 Newsgroups
 * (1.9 against 2.7 ms), with 16 by 3-6x. */
static int pruned(const struct matcher *root, int with_total, uint32_t ndocs,
                  size_t k)
{
	const struct matcher *or = root->kind == M_ANDNOT ? root->child[0] : root;

	if (or->kind == M_OR && or->nchild >= lode_or_scored_min)
		return 0;
	return maxscore_applies(root, ndocs, k) ||
	       (phrase_root(root) && !with_total);
}

/* Block bounds for an OR of at most this many leaves (see top_maxscore). */
#define BLOCKMAX_LEAVES 4

struct ms_leaf {
	struct matcher *m;
	double bound; /* no document up to end scores more on this leaf */
	uint32_t end; /* last document of the leaf's current block(s);
	               * LODE_DOC_END when it has no documents left */
	size_t index; /* position among the leaves in the order m_score()
	               * adds them */
};

/* DFR's tfn / (tfn + 1) for tf occurrences in a document of dl tokens:
 * leaf_score's, over the weight.  It grows with tf and shrinks with dl, and
 * so does dfr_factor(tf, tf): a document of tf' <= tf occurrences and
 * dl' >= lower tokens has at most dfr_factor(tf, max(lower, tf)), since
 * dl' >= tf' too. */
static double dfr_factor(const struct lode_eval *ev, double tf, double dl)
{
	double tfn = tf * log2(1 + ev->c * ev->ix->avgdl / dl);

	return 1 / (1 + 1 / tfn); /* as leaf_score has it */
}

/*
 * The bound of leaf l from document lo on, up to l->end: the highest score
 * of the impact list of the block holding lo (read through the skip table,
 * not decoded); for a term of one block, its highest frequency and no
 * length.  A phrase occurs in a document no more often than each of its
 * words, and only in documents every word's block holds: its bound is the
 * least of its words' bounds, its window the shortest.  BM25 bounds are
 * computed as w * (k1 + 1) * tf / (tf + k1 * (1 - b) + k1 * b / avgdl * dl),
 * DFR bounds as w * dfr_factor(tf, max(dl, tf)), rounded differently from
 * leaf_score(): BOUND_MARGIN absorbs the difference.  Without blocks, the
 * window is the segment and the bound the term's: its CollectionFreq -
 * DocFreq + 1 (or 2^W for one block, W its frequencies' width) and no
 * length (for DFR, a length of tf).
 */
static int leaf_window(const struct lode_eval *ev,
                       const struct lode_segment *seg, struct ms_leaf *l,
                       uint32_t lo, int blocks, lode_error *err)
{
	const double base = ev->k1 * (1 - ev->b);
	const double slope = ev->k1 * ev->b / ev->ix->avgdl;
	struct matcher *m = l->m;
	uint32_t end = seg->ndocs - 1;
	double best = HUGE_VAL; /* tf / (tf + norm), least over the words */

	for (size_t k = 0; k < m->nposts; k++) {
		uint32_t count, freq = 0, length;
		double b = 0;
		lode_impact imp;
		if (!blocks) {
			/* The whole segment: the term's bound. */
			uint64_t tf = m->max_tf;
			if (!m->posts[k].skips && m->posts[k].df > 1 &&
			    m->posts[k].blocks[1] < 32 &&
			    ((uint64_t)1 << m->posts[k].blocks[1]) < tf)
				tf = (uint64_t)1 << m->posts[k].blocks[1];
			b = ev->dfr ? dfr_factor(ev, (double)tf, (double)tf)
			            : (double)tf / ((double)tf + base);
			if (b < best)
				best = b;
			continue;
		}
		lode_postings_impact(&m->posts[k], lo, &imp);
		if (imp.last == LODE_DOC_END) {
			l->bound = 0;
			l->end = LODE_DOC_END;
			return LODE_OK;
		}
		if (imp.last < end)
			end = imp.last;
		if (!imp.list) {
			double tf = (double)(imp.max_freq < m->max_tf ? imp.max_freq
			                                              : m->max_tf);
			b = ev->dfr ? dfr_factor(ev, tf, tf) : tf / (tf + base);
		} else {
			const uint8_t *q = imp.list;
			if (lode_impacts_count(&q, imp.end, &count))
				goto corrupt;
			for (uint32_t i = 0; i < count; i++) {
				double x;
				if (q + 1 < imp.end && q[0] < 0x80) {
					/* One-byte gap: most are. */
					freq += q[0];
					length = lode_small8_value(q[1]);
					q += 2;
					if (q[-2] == 0)
						goto corrupt;
				} else if (lode_impacts_next(&q, imp.end, &freq,
				                             &length)) {
					goto corrupt;
				}
				if (ev->dfr)
					x = dfr_factor(ev, freq, length > freq ? length
					                                       : freq);
				else
					x = freq / (freq + base + slope * length);
				if (x > b)
					b = x;
			}
		}
		if (b < best)
			best = b;
	}
	l->end = end;
	l->bound = m->weight * (ev->dfr ? 1 : ev->k1 + 1) * best;
	return LODE_OK;
corrupt:
	return lode_fail(err, LODE_ECORRUPT, "%s: corrupt: bad impact list",
	                 seg->postings.path);
}

/*
 * Move phrase m, an essential leaf of top_maxscore's window [.., hi], to
 * its first match >= target, passing over the candidates that could not
 * enter the top k even if they matched: those where its bound
 * (phrase_bound) and others, the window bounds of the other leaves, add
 * up to less than theta.  Past hi, where the window's bounds do not hold,
 * it stops at the next candidate, unconfirmed.  Where others alone reach
 * theta no candidate can be passed over: it seeks its next match, past hi
 * if need be, so that the windows it has no match in are skipped whole
 * (leaf_window bounds it from where it is).
 */
static int seek_phrase(const struct lode_eval *ev,
                       const struct lode_segment *seg, struct matcher *m,
                       uint32_t target, uint32_t hi, double others,
                       double theta, lode_error *err)
{
	int filter = theta >= 0 && others * BOUND_MARGIN < theta;
	int rc;

	m->started = 1;
	for (;;) {
		if ((rc = phrase_candidate(m, target, err)) ||
		    m->doc == LODE_DOC_END || (filter && m->doc > hi))
			return rc;
		if (filter) {
			double bound, norm = doc_norm(
			        ev, lode_segment_doc_tokens(seg, m->doc));
			if ((rc = phrase_bound(ev, m, norm, &bound, err)))
				return rc;
			if ((others + bound) * BOUND_MARGIN < theta)
				goto next;
		}
		if ((rc = count_phrase(m, err)))
			return rc;
		m->counted = m->doc + 1;
		if (m->phrase_freq > 0)
			return LODE_OK;
next:
		if (m->doc == LODE_DOC_END - 1) {
			m->doc = LODE_DOC_END;
			return LODE_OK;
		}
		target = m->doc + 1;
	}
}

/* Offer document d of segment seg with score to top unless no (a NOT's
 * excluded side, if not NULL) matches d; *offered says which.  no is
 * moved only to the documents offered here, which increase. */
static int offer_unless(lode_topk *top, const struct lode_segment *seg,
                        uint32_t d, double score, struct matcher *no,
                        int *offered, lode_error *err)
{
	int rc;

	*offered = 0;
	if (no && (rc = m_approach(no, d, err)))
		return rc;
	if (no && no->doc == d) {
		if (two_phase(no) && (rc = count_phrase(no, err)))
			return rc;
		if (!two_phase(no) || no->phrase_freq > 0)
			return LODE_OK;
	}
	lode_topk_offer(top, (lode_hit){seg->doc_base + d, score});
	*offered = 1;
	return LODE_OK;
}

/*
 * A scored phrase alone, its matches offered to top: seek_phrase() with no
 * other leaf, so that a candidate's positions are read only while its
 * bound may lift it into the top k.  Positions were the cost of such a
 * phrase ('"the first"' on 20 Newsgroups: 3,077 candidates, each position
 * list of "the" decoded and merged).  As a of a NOT b, b is consulted for
 * the matches that would enter the top k ('"the first" NOT windows':
 * 21.29M -> 4.49M instructions, scored match by match before).
 */
static int top_phrase(struct lode_eval *ev, uint32_t s, lode_topk *top,
                      lode_error *err)
{
	const struct lode_segment *seg = &ev->ix->segs[s];
	struct matcher *m = ev->roots[s], *no = NULL;
	int rc, offered;

	if (m->kind == M_ANDNOT) {
		no = m->child[1];
		m = m->child[0];
	}
	for (uint32_t target = 0;; target = m->doc + 1) {
		double theta = lode_topk_threshold(top), score;
		if ((rc = seek_phrase(ev, seg, m, target, seg->ndocs - 1, 0, theta,
		                      err)))
			return rc;
		if (m->doc == LODE_DOC_END)
			return LODE_OK;
		score = leaf_score(ev, m->weight, m->phrase_freq,
		                   doc_norm(ev, lode_segment_doc_tokens(seg, m->doc)));
		if (score > theta &&
		    (rc = offer_unless(top, seg, m->doc, score, no, &offered, err)))
			return rc;
		if (m->doc == LODE_DOC_END - 1)
			return LODE_OK;
	}
}

/* Move leaf m to its first document >= target: a term exactly, a phrase
 * (two-phase, as in an AND) to its next candidate, which score_leaf()
 * confirms only if the document may enter the top k. */
static int leaf_seek(struct matcher *m, uint32_t target, lode_error *err)
{
	if (m->kind != M_PHRASE)
		return m_advance(m, target, err);
	if (m->started && m->doc >= target)
		return LODE_OK;
	m->started = 1;
	return phrase_candidate(m, target, err);
}

/* Leaf l's BM25 on document d (where it is; a phrase only if its
 * positions hold it there) into contrib[] and seen[], and added to *sum. */
static int score_leaf(const struct lode_eval *ev, const struct ms_leaf *l,
                      uint32_t d, double norm, double *contrib, uint32_t *seen,
                      double *sum, lode_error *err)
{
	uint32_t tf;
	int rc;

	/* A phrase may be at a candidate (leaf_seek): confirmed here. */
	if (l->m->kind == M_PHRASE) {
		if (l->m->counted != d + 1) {
			if ((rc = count_phrase(l->m, err)))
				return rc;
			l->m->counted = d + 1;
		}
		if (l->m->phrase_freq == 0)
			return LODE_OK;
	}
	if ((rc = leaf_tf(l->m, &tf, err)))
		return rc;
	contrib[l->index] = leaf_score(ev, l->m->weight, tf, norm);
	seen[l->index] = d + 1;
	*sum += contrib[l->index];
	return LODE_OK;
}

/*
 * The window [lo, hi] of a query of one scored term, l, that may lift a
 * document into the top k: the documents of its block scored in one loop
 * over the decoded block, with leaf_score() as everywhere.  The general
 * loop of top_maxscore() pays about 200 instructions a document for the
 * bookkeeping of several leaves; frequent words score most documents of
 * most blocks.  The loop stops when the window's bound no longer beats the
 * threshold.
 */
static LODE_ALWAYS_INLINE int
score_term_window(struct lode_eval *ev, const struct lode_segment *seg,
                  const struct ms_leaf *l, uint32_t lo, uint32_t hi,
                  struct matcher *no, lode_topk *top, lode_error *err)
{
	struct matcher *m = l->m;
	lode_postings *p = &m->posts[0];
	double theta = lode_topk_threshold(top);
	const uint32_t *freqs;
	uint32_t i;
	int rc;

	if ((rc = m_advance(m, lo, err)))
		return rc;
	if (m->doc > hi)
		return LODE_OK;
	if ((rc = lode_postings_block_freqs(p, &freqs, err)))
		return rc;
	for (i = p->i; i < p->n && p->docs[i] <= hi; i++) {
		uint32_t d = p->docs[i];
		double norm = doc_norm(ev, lode_segment_doc_tokens(seg, d));
		double score = leaf_score(ev, m->weight, freqs[i] + 1, norm);
		if (score > theta) {
			int offered;
			if ((rc = offer_unless(top, seg, d, score, no, &offered, err)))
				return rc;
			if (!offered)
				continue;
			theta = lode_topk_threshold(top);
			if (l->bound * BOUND_MARGIN < theta)
				break;
		}
	}
	lode_postings_seek_in_block(p, i < p->n ? i : p->n - 1);
	m->doc = p->doc;
	return LODE_OK;
}

/* Fill leaf[] with the n leaves of or (root itself if it is a term), req[]
 * with root's other children if required (root is then an AND), and
 * number them in the order m_score() adds them; returns the first
 * optional leaf's number.  Inline: called apart, it cost top_maxscore's
 * loop 2 % more instructions on an OR of two phrases (the compiler's
 * choice of registers). */
static LODE_ALWAYS_INLINE size_t
number_leaves(struct matcher *root, int required, struct matcher *or,
              size_t n, struct ms_leaf *leaf, struct ms_leaf *req)
{
	struct matcher **kids = required ? root->child : &root;
	size_t nkids = required ? root->nchild : 1;
	size_t index = 0, first = 0;

	for (size_t i = 0; i < nkids; i++) {
		if (kids[i] != or) {
			req->m = kids[i];
			(req++)->index = index++;
			continue;
		}
		first = index;
		for (size_t j = 0; j < n; j++) {
			leaf->m = or->kind == M_OR ? or->child[j] : or;
			(leaf++)->index = index++;
		}
	}
	return first;
}

/*
 * Block-max MaxScore: MaxScore (H. Turtle and J. Flood, "Query evaluation:
 * strategies and optimizations", IP&M 31(6), 1995) with score bounds per
 * block, as in S. Ding and T. Suel, "Faster top-k document retrieval using
 * block-max indexes", SIGIR 2011, and Lucene's MaxScoreBulkScorer.
 *
 * The documents are taken in windows [lo, hi] where no leaf's postings
 * cross a block boundary (hi is the least last document of the leaves'
 * blocks holding lo), so that every leaf has one bound in the window, read
 * from the skip tables without decoding a block.  Leaves are sorted by
 * bound: the longest prefix whose bounds add up to no more than the k-th
 * best score so far cannot lift a document into the top k on its own, so
 * only the other, "essential", leaves propose candidates, and the prefix
 * is consulted, highest bound first, only while a candidate can still make
 * it.  A window whose bounds all add up to no more than that is skipped
 * without reading its blocks.  Scores are summed in the OR's child order,
 * as the exhaustive path does, so the hits are identical to exhaustive
 * evaluation.  A single term is an OR of one.  An OR of more than
 * BLOCKMAX_LEAVES leaves (free text) makes windows so short that their
 * bookkeeping costs more than the tighter bounds save: it runs as one
 * window with each leaf's bound over the segment, plain MaxScore.
 * Measured with callgrind on the bench query sets (11 words ORed on
 * average from TIME's queries for free text).
 *
 * In an AND of the OR and required leaves, a match has every required
 * leaf and one of the OR's: the required leaves' bounds (over the
 * segment) add to every sum, the essential leaves propose candidates and
 * the required ones leapfrog to them.  '(writes OR champion) AND the' on
 * 20 Newsgroups (9,549 matches) scored every match: 14.4M instructions,
 * now 2.9M, as "writes" alone soon cannot lift a document.
 */
static LODE_ALWAYS_INLINE int maxscore(struct lode_eval *ev, uint32_t s,
                                       lode_topk *top, const int required,
                                       const int excluding, lode_error *err)
{
	const struct lode_segment *seg = &ev->ix->segs[s];
	/* In root = a NOT b (excluding), no is b, and a is ranked. */
	struct matcher *root = ev->roots[s], *no = NULL;
	/* The OR's leaves are optional (the only ones, but for an AND), the
	 * AND's other children required. */
	struct matcher *or = root;
	size_t n = 1, nreq = 0, total, first; /* the optional leaves' first
	                                         index */
	struct ms_leaf *leaf, *req;
	double *prefix, *contrib;
	uint32_t *seen;
	double rbound = 0; /* the required leaves' bounds (over the segment) */
	int blocks;
	uint32_t lo = 0;
	int rc = LODE_OK;

	if (excluding) {
		no = root->child[1];
		or = root = root->child[0];
	}
	if (required) {
		or = root->child[0];
		nreq = root->nchild - 1;
	}
	if (or->kind == M_OR)
		n = or->nchild;
	total = n + nreq;
	leaf = lode_arena_calloc(&ev->arena, total, sizeof(*leaf));
	prefix = lode_arena_calloc(&ev->arena, n + 1, sizeof(double));
	contrib = lode_arena_calloc(&ev->arena, total, sizeof(double));
	/* contrib's doc + 1 */
	seen = lode_arena_calloc(&ev->arena, total, sizeof(uint32_t));
	if (!leaf || !prefix || !contrib || !seen)
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	req = leaf + n;
	/* Many leaves make short windows whose bookkeeping costs more than
	 * their tighter bounds save: past BLOCKMAX_LEAVES, one window and
	 * each leaf's bound over the segment (plain MaxScore).  Required
	 * leaves count, though they make no windows: counting the OR's
	 * alone, '(writes OR champion OR his) AND the AND of' took 4.90M
	 * instructions instead of 4.85M. */
	blocks = total <= BLOCKMAX_LEAVES;
	first = number_leaves(root, required, or, n, leaf, req);
	/* A required leaf is bounded over the segment: its blocks would cut
	 * the windows short where the optional leaves have no documents
	 * ('the' in '(endometriosis OR parks) AND the': 2.6 times the
	 * instructions of leapfrogging every match). */
	for (size_t i = 0; i < total; i++)
		if ((rc = leaf_window(ev, seg, &leaf[i], 0, i < n && blocks,
		                      err)))
			return rc;
	for (size_t i = 0; i < nreq; i++)
		rbound += req[i].bound;
	while (lo < seg->ndocs) {
		/* all: every leaf's bound in the window. */
		double theta = lode_topk_threshold(top), all;
		uint32_t hi = seg->ndocs - 1, resume = 0;
		size_t e = 0;

		/* The window: fresh bounds for the leaves whose block ended. */
		for (size_t i = 0; i < n; i++) {
			struct ms_leaf l;
			size_t j;
			if (leaf[i].end < lo &&
			    (rc = leaf_window(ev, seg, &leaf[i], lo, blocks,
			                      err)))
				return rc;
			if (leaf[i].end < hi)
				hi = leaf[i].end;
			/* Insertion sort by bound: few leaves, mostly in order. */
			l = leaf[i];
			for (j = i; j > 0 && leaf[j - 1].bound > l.bound; j--)
				leaf[j] = leaf[j - 1];
			leaf[j] = l;
		}
		for (size_t j = 0; j < n; j++)
			prefix[j + 1] = prefix[j] + leaf[j].bound;
		all = rbound + prefix[n];
		/* A match has every required leaf too. */
		while (e < n && (rbound + prefix[e + 1]) * BOUND_MARGIN < theta)
			e++;
		/* e == n: nothing in the window can enter the top k. */
		if (e == 0 && total == 1 && leaf[0].m->kind == M_TERM) {
			if ((rc = score_term_window(ev, seg, &leaf[0], lo, hi,
			                            excluding ? no : NULL, top,
			                            err)))
				return rc;
			e = n;
		}
		while (e < n) {
			double sum = 0, score = 0, norm;
			uint32_t d = LODE_DOC_END, ahead;
			size_t j;
			int hit = 0;
			for (j = e; j < n; j++) {
				struct matcher *c = leaf[j].m;
				if (c->started && c->doc >= lo)
					;
				else if (c->kind == M_PHRASE)
					rc = seek_phrase(ev, seg, c, lo, hi,
					                 all - leaf[j].bound, theta, err);
				else
					rc = m_advance(c, lo, err);
				if (rc)
					return rc;
				if (c->doc < d)
					d = c->doc;
			}
			if (d > hi)
				break;
			/* The required leaves must be there too: if one is
			 * further on, the next candidate is there (a leapfrog). */
			ahead = d;
			for (j = 0; j < nreq && ahead == d; j++) {
				struct matcher *c = req[j].m;
				if ((rc = leaf_seek(c, d, err)))
					return rc;
				if (c->doc > ahead)
					ahead = c->doc;
			}
			if (ahead != d) {
				if (ahead > hi) {
					resume = ahead;
					break;
				}
				lo = ahead;
				continue;
			}
			norm = doc_norm(ev, lode_segment_doc_tokens(seg, d));
			for (j = e; j < n; j++) {
				if (leaf[j].m->doc == d &&
				    (rc = score_leaf(ev, &leaf[j], d, norm, contrib, seen,
				                     &sum, err)))
					return rc;
			}
			/* A required phrase is confirmed here: d is a match
			 * only if every required leaf scored. */
			for (j = 0; j < nreq; j++) {
				if ((rc = score_leaf(ev, &req[j], d, norm, contrib, seen,
				                     &sum, err)))
					return rc;
				if (seen[req[j].index] != d + 1)
					break;
			}
			if (nreq && j < nreq)
				j = 0; /* not a match: leave j != -1 below */
			else
				for (j = e; j-- > 0;) {
					struct matcher *c = leaf[j].m;
					if ((sum + prefix[j + 1]) * BOUND_MARGIN < theta)
						break; /* cannot reach the top k */
					if ((!c->started || c->doc < d) &&
					    (rc = leaf_seek(c, d, err)))
						return rc;
					if (c->doc == d &&
					    (rc = score_leaf(ev, &leaf[j], d, norm, contrib,
					                     seen, &sum, err)))
						return rc;
				}
			/* Summed in m_score's order: adding the absent ones'
			 * zeros would change nothing.  d matches if an optional
			 * leaf does: a phrase's candidate may not, if the
			 * phrase was moved there by leaf_seek() in an earlier
			 * window, where it was not essential. */
			for (size_t i = 0; j == (size_t)-1 && i < total; i++)
				if (seen[i] == d + 1) {
					score += contrib[i];
					hit = 1;
				}
			/* With required leaves, an optional one must be there
			 * too.  (A phrase that was not essential when moved
			 * was so because the required leaves and it could not
			 * beat theta: d, with the required leaves alone, would
			 * not be offered anyway.  Tests cannot tell this check
			 * is here; it keeps "a match" meaning one.) */
			if (nreq && hit) {
				size_t i = first;
				while (i < first + n && seen[i] != d + 1)
					i++;
				hit = i < first + n;
			}
			/* b of a NOT b is consulted only for a document that
			 * would enter the top k. */
			if (hit && score > theta) {
				int offered;
				if ((rc = offer_unless(top, seg, d, score,
				                       excluding ? no : NULL, &offered,
				                       err)))
					return rc;
				theta = lode_topk_threshold(top);
				while (e < n &&
				       (rbound + prefix[e + 1]) * BOUND_MARGIN < theta)
					e++;
			}
			if (d == hi)
				break;
			lo = d + 1;
		}
		if (hi >= seg->ndocs - 1 || resume == LODE_DOC_END)
			break;
		lo = resume > hi ? resume : hi + 1;
	}
	return LODE_OK;
}

/* Compiled apart for an OR or a term, for an AND, and for a NOT b of
 * either, so that the first pays nothing for required leaves and
 * exclusions (3 % of the instructions of an OR of two phrases, 4 % of the
 * frequent terms', with the tests in one loop). */
static int top_maxscore(struct lode_eval *ev, uint32_t s, lode_topk *top,
                        lode_error *err)
{
	const struct matcher *m = ev->roots[s];

	if (m->kind == M_ANDNOT)
		return maxscore(ev, s, top, m->child[0]->kind == M_AND, 1, err);
	if (m->kind == M_AND)
		return maxscore(ev, s, top, 1, 0, err);
	return maxscore(ev, s, top, 0, 0, err);
}

/* Matches of segment s counted on matchers built afresh (top_maxscore
 * consumed the others); a term's are its DocFreq. */
static int count_afresh(struct lode_eval *ev, uint32_t s, uint64_t *matched,
                        lode_error *err)
{
	struct build b = {ev, s, &ev->ix->segs[s], 0, ev->stemmer, err};
	struct window_terms t;
	struct matcher *m;
	int rc;

	if (ev->roots[s]->kind == M_TERM) {
		*matched += ev->roots[s]->posts[0].df;
		return LODE_OK;
	}
	if ((rc = build(&b, ev->root, &m)))
		return rc;
	window_root(ev, s, m, 0);
	if (windowed(&m, &t))
		rc = each_of_window(&t, 0, NULL, NULL, matched, err);
	else
		for (uint32_t target = 0;; target = m->doc + 1) {
			if ((rc = m_advance(m, target, err)) ||
			    m->doc == LODE_DOC_END)
				break;
			(*matched)++;
		}
	matcher_release(m);
	return rc;
}

int lode_eval_top(struct lode_eval *ev, lode_topk *top, uint64_t *total,
                  lode_error *err)
{
	uint64_t matched = 0;
	int rc;

	for (uint32_t s = 0; s < ev->ix->nsegs; s++) {
		/* Pruned, and counted apart if asked: counting is cheaper than
		 * scoring every match (a free-text query on 20 Newsgroups: count
		 * 0.96 ms + top 10 0.15 ms, against 2 ms scoring all). */
		int prune = top->k > 0 && pruned(ev->roots[s], total != NULL,
		                                 ev->ix->segs[s].ndocs, top->k);
		if (!prune)
			rc = top_exhaustive(ev, s, top, &matched, err);
		else if (phrase_root(ev->roots[s]))
			rc = top_phrase(ev, s, top, err);
		else
			rc = top_maxscore(ev, s, top, err);
		if (rc == LODE_OK && total && prune)
			rc = count_afresh(ev, s, &matched, err);
		if (rc)
			return rc;
	}
	if (total)
		*total = matched;
	return LODE_OK;
}

void lode_eval_close(struct lode_eval *ev)
{
	if (!ev)
		return;
	for (uint32_t s = 0; ev->roots && s < ev->ix->nsegs; s++)
		matcher_release(ev->roots[s]);
	lode_stemmer_free(ev->stemmer);
	lode_qnode_free(ev->owned);
	lode_arena_free(&ev->arena);
	if (ev->ix)
		give_spare(ev->ix, ev);
	else
		lode_free(ev);
}
