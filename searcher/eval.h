/*
 * eval.h -- evaluating a query tree over an index, document at a time.
 *
 * Calls:  lode_eval_open  (lode_eval_each | lode_eval_top)
 *         lode_eval_close
 *
 * open() looks the query's terms up in every segment and builds, per
 * segment, a tree of matchers over posting iterators: AND leapfrogs its
 * children (rarest first) with advance(), OR takes the least current
 * document of its children, a NOT b advances b to each candidate of a, a
 * leading NOT walks the complement, and a phrase intersects its terms'
 * documents first and compares positions only on the documents they share.
 *
 * each() yields matching documents as global ids in increasing order,
 * segment after segment.  top() ranks them by BM25: the sum, over the terms
 * and phrases not under a NOT that match a document, of idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)),
 * with idf = ln(1 + (N - df + 0.5) / (df + 0.5)) from index-wide counts, and k1
 * and b the query's (lode_query_set_bm25; 1.2 and 0.75 by default).  A
 * phrase's tf is its number of occurrences and its idf the sum of its terms'
 * (as Lucene does), so no extra pass is needed to count phrase documents.
 * With lode_query_set_dfr, a leaf scores DFR In_expB2 instead: w * tfn /
 * (tfn + 1), tfn = tf * log2(1 + c * avgdl / dl), w the sum over its terms
 * of (cf + 1) / df * log2((N + 1) / (N * (1 - e^(-cf / N)) + 0.5)).
 */
#ifndef LODE_SEARCHER_EVAL_H
#define LODE_SEARCHER_EVAL_H

#include <stdint.h>

#include "index.h"
#include "lode.h"
#include "query.h"
#include "topk.h"

struct lode_eval;

/* In an index with a stemmer, the query's bare words match their stem
 * terms unless query->exact. */
int lode_eval_open(const lode_index *index, const struct lode_query *query,
                   struct lode_eval **out, lode_error *err);

/* Each matching document, in order, to fn (a nonzero return stops and is
 * returned); or, with fn NULL, only counted into *count.  A term's
 * documents go a block at a time, and a term is counted by its DocFreq.
 * Call on a freshly opened evaluation, once. */
int lode_eval_each(struct lode_eval *ev, lode_match_fn fn, void *ctx,
                   uint64_t *count, lode_error *err);

/* An AND led by an OR of terms and phrases is pruned (lode_eval_top) when
 * it may have this many times k matches: LODE_AND_PRUNE_MATCHES, which
 * tests lower to 0 so that small corpora take that way too. */
#define LODE_AND_PRUNE_MATCHES 32.0
extern double lode_and_prune_matches;

/* An OR of LODE_OR_WINDOW_MIN children or more at the root is taken this
 * many documents at a time (at most LODE_OR_WINDOW, at least 1):
 * LODE_OR_WINDOW, which tests lower so that small corpora cross windows. */
#define LODE_OR_WINDOW_MIN 16
#define LODE_OR_WINDOW 2048
extern uint32_t lode_or_window;

/* ... and ranked so, scoring every match, when it has at least this many
 * children (fewer go by MaxScore): LODE_OR_SCORED_MIN, which tests lower so
 * that ORs of leaves of either size take both ways. */
#define LODE_OR_SCORED_MIN 128
extern size_t lode_or_scored_min;

/*
 * Offer the best matches to top.  A term, an OR of terms and phrases (of
 * fewer than lode_or_scored_min), an
 * AND of terms and phrases led by such an OR (its cheapest child), and a
 * NOT b of any of these are evaluated with block-max MaxScore, which skips
 * documents that cannot enter the top k (b is consulted only for those
 * that would); a phrase, alone (or as a of a NOT b) or in such an OR,
 * reads positions only for the documents that its words' frequencies (and
 * the other leaves' bounds) do not rule out; other queries score every
 * match.  With total non-NULL, *total counts the matches (apart, after
 * pruning; a phrase alone or a NOT b of one is then scored match by
 * match).  Call on a freshly opened evaluation, once.
 */
int lode_eval_top(struct lode_eval *ev, lode_topk *top, uint64_t *total,
                  lode_error *err);

void lode_eval_close(struct lode_eval *ev);

#endif
