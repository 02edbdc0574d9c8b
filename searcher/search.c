/* search.c -- the public query functions: match, count, ranked top k. */
#include <stdlib.h>

#include "alloc.h"
#include "error.h"
#include "eval.h"
#include "postings.h"
#include "query.h"

int lode_match(const lode_index *ix, const lode_query *query, lode_match_fn fn,
               void *ctx, lode_error *err)
{
	struct lode_eval *ev;
	uint32_t doc;
	int rc;

	lode_error_clear(err);
	if ((rc = lode_eval_open(ix, query->root, &ev, err)))
		return rc;
	while ((rc = lode_eval_next(ev, &doc, err)) == LODE_OK &&
	       doc != LODE_DOC_END) {
		if ((rc = fn(ctx, doc)) != 0)
			break;
	}
	lode_eval_close(ev);
	return rc;
}

int lode_count(const lode_index *ix, const lode_query *query, uint64_t *count,
               lode_error *err)
{
	struct lode_eval *ev;
	uint32_t doc;
	int rc;

	lode_error_clear(err);
	*count = 0;
	if ((rc = lode_eval_open(ix, query->root, &ev, err)))
		return rc;
	while ((rc = lode_eval_next(ev, &doc, err)) == LODE_OK &&
	       doc != LODE_DOC_END)
		(*count)++;
	lode_eval_close(ev);
	return rc;
}

/* True if a ranks below b: lower score, or equal score and higher id. */
static int worse(const lode_hit *a, const lode_hit *b)
{
	return a->score < b->score || (a->score == b->score && a->doc > b->doc);
}

/* Restore the min-heap (worst hit at the root) below i. */
static void sift_down(lode_hit *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		lode_hit t;
		if (l < n && worse(&h[l], &h[m]))
			m = l;
		if (r < n && worse(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void sift_up(lode_hit *h, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		lode_hit t;
		if (!worse(&h[i], &h[parent]))
			return;
		t = h[i];
		h[i] = h[parent];
		h[parent] = t;
		i = parent;
	}
}

static int compare_rank(const void *a, const void *b)
{
	const lode_hit *x = a, *y = b;

	if (worse(x, y))
		return 1;
	return worse(y, x) ? -1 : 0;
}

int lode_search(const lode_index *ix, const lode_query *query, size_t k,
                lode_hit *hits, size_t *nhits, uint64_t *total, lode_error *err)
{
	struct lode_eval *ev;
	uint64_t matched = 0;
	size_t n = 0;
	uint32_t doc;
	int rc;

	lode_error_clear(err);
	*nhits = 0;
	if ((rc = lode_eval_open(ix, query->root, &ev, err)))
		return rc;
	while ((rc = lode_eval_next(ev, &doc, err)) == LODE_OK &&
	       doc != LODE_DOC_END) {
		lode_hit hit = {doc, 0};
		matched++;
		if (k == 0)
			continue;
		if ((rc = lode_eval_score(ev, &hit.score, err)))
			break;
		if (n < k) {
			hits[n] = hit;
			sift_up(hits, n++);
		} else if (worse(&hits[0], &hit)) {
			hits[0] = hit;
			sift_down(hits, n, 0);
		}
	}
	lode_eval_close(ev);
	if (rc)
		return rc;
	qsort(hits, n, sizeof(lode_hit), compare_rank);
	*nhits = n;
	if (total)
		*total = matched;
	return LODE_OK;
}
