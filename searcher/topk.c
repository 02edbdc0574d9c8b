/* topk.c -- a bounded min-heap of hits. */
#include "topk.h"

#include <stdlib.h>

static void swap(lode_hit *a, lode_hit *b)
{
	lode_hit t = *a;

	*a = *b;
	*b = t;
}

void lode_topk_offer(lode_topk *t, lode_hit hit)
{
	lode_hit *h = t->hits;
	size_t i;

	if (t->k == 0)
		return;
	if (t->n < t->k) {
		/* Sift up. */
		i = t->n++;
		h[i] = hit;
		while (i > 0 && lode_hit_worse(&h[i], &h[(i - 1) / 2])) {
			swap(&h[i], &h[(i - 1) / 2]);
			i = (i - 1) / 2;
		}
		return;
	}
	if (!lode_hit_worse(&h[0], &hit))
		return;
	/* Replace the root and sift down. */
	h[0] = hit;
	for (i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->n && lode_hit_worse(&h[l], &h[m]))
			m = l;
		if (r < t->n && lode_hit_worse(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		swap(&h[i], &h[m]);
		i = m;
	}
}

static int compare_rank(const void *a, const void *b)
{
	const lode_hit *x = a, *y = b;

	if (lode_hit_worse(x, y))
		return 1;
	return lode_hit_worse(y, x) ? -1 : 0;
}

void lode_topk_sort(lode_topk *t)
{
	if (t->n > 1)
		qsort(t->hits, t->n, sizeof(lode_hit), compare_rank);
}
