/* alloc.c -- allocation wrappers with an out-of-memory hook for tests. */
#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode.h"

/* Allocations left before the hook starts failing; -1 when off. */
static long fail_countdown = -1;

void lode_alloc_fail_after(long n)
{
	fail_countdown = n;
}

static int should_fail(void)
{
	if (fail_countdown < 0)
		return 0;
	if (fail_countdown == 0)
		return 1;
	fail_countdown--;
	return 0;
}

void *lode_malloc(size_t size)
{
	return should_fail() ? NULL : malloc(size ? size : 1);
}

void *lode_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *lode_realloc(void *ptr, size_t size)
{
	return should_fail() ? NULL : realloc(ptr, size ? size : 1);
}

void lode_free(void *ptr)
{
	free(ptr);
}

int lode_grow_to(void *ptr, size_t *cap, size_t need, size_t elem)
{
	void **p = ptr;
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return LODE_OK;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return LODE_ENOMEM;
		n *= 2;
	}
	if (n > SIZE_MAX / elem)
		return LODE_ENOMEM;
	q = lode_realloc(*p, n * elem);
	if (!q)
		return LODE_ENOMEM;
	*p = q;
	*cap = n;
	return LODE_OK;
}
