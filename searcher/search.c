/* search.c -- the public query functions: match, count, ranked top k. */
#include <stdlib.h>

#include "alloc.h"
#include "error.h"
#include "eval.h"
#include "postings.h"
#include "query.h"
#include "topk.h"

int lode_match(const lode_index *ix, const lode_query *query, lode_match_fn fn,
               void *ctx, lode_error *err)
{
	struct lode_eval *ev;
	int rc;

	lode_error_clear(err);
	if ((rc = lode_eval_open(ix, query, &ev, err)))
		return rc;
	rc = lode_eval_each(ev, fn, ctx, NULL, err);
	lode_eval_close(ev);
	return rc;
}

int lode_count(const lode_index *ix, const lode_query *query, uint64_t *count,
               lode_error *err)
{
	struct lode_eval *ev;
	int rc;

	lode_error_clear(err);
	*count = 0;
	if ((rc = lode_eval_open(ix, query, &ev, err)))
		return rc;
	rc = lode_eval_each(ev, NULL, NULL, count, err);
	lode_eval_close(ev);
	return rc;
}

int lode_search(const lode_index *ix, const lode_query *query, size_t k,
                lode_hit *hits, size_t *nhits, uint64_t *total, lode_error *err)
{
	lode_topk top = {hits, k, 0};
	struct lode_eval *ev;
	int rc;

	lode_error_clear(err);
	*nhits = 0;
	if ((rc = lode_eval_open(ix, query, &ev, err)))
		return rc;
	rc = lode_eval_top(ev, &top, total, err);
	lode_eval_close(ev);
	if (rc)
		return rc;
	lode_topk_sort(&top);
	*nhits = top.n;
	return LODE_OK;
}
