/*
 * topk.h -- the k best hits so far.
 *
 * A min-heap of at most k hits, the worst at the root, ordered by score and
 * then by document id (a lower id ranks higher on equal scores).  Documents
 * are offered in increasing id order, so a newcomer with a score equal to
 * the threshold never enters a full heap.
 */
#ifndef LODE_SEARCHER_TOPK_H
#define LODE_SEARCHER_TOPK_H

#include <stddef.h>

#include "lode.h"

typedef struct lode_topk {
	lode_hit *hits; /* caller's array of k */
	size_t k, n;
} lode_topk;

/* True if a ranks below b. */
static inline int lode_hit_worse(const lode_hit *a, const lode_hit *b)
{
	return a->score < b->score || (a->score == b->score && a->doc > b->doc);
}

/* The score a new document must beat to enter; -1 while not full (BM25
 * scores are never negative). */
static inline double lode_topk_threshold(const lode_topk *t)
{
	return t->n < t->k ? -1.0 : t->hits[0].score;
}

/* Offer a hit; kept if it ranks among the k best. */
void lode_topk_offer(lode_topk *t, lode_hit hit);

/* Sort the kept hits best first. */
void lode_topk_sort(lode_topk *t);

#endif
