/*
 * alloc.h -- the library's allocator, with a failure hook for tests.
 *
 * All library allocations go through these functions so that tests can make
 * the Nth allocation fail and check that every path returns LODE_ENOMEM
 * cleanly (the zlib and SQLite habit).  They behave like malloc, realloc and
 * free otherwise; lode_free(NULL) is allowed.
 */
#ifndef LODE_COMMON_ALLOC_H
#define LODE_COMMON_ALLOC_H

#include <stddef.h>

void *lode_malloc(size_t size);
void *lode_calloc(size_t n, size_t size);
void *lode_realloc(void *ptr, size_t size);
void lode_free(void *ptr);

/* The slow path of lode_grow: reallocate. */
int lode_grow_to(void *ptr, size_t *cap, size_t need, size_t elem);

/* Grow *ptr, an array of *cap elements of size elem, to hold at least need
 * elements (doubling); returns 0 or LODE_ENOMEM with *ptr unchanged.  Inline
 * so that the common case, room enough, costs one comparison. */
static inline int lode_grow(void *ptr, size_t *cap, size_t need, size_t elem)
{
	return need <= *cap ? 0 : lode_grow_to(ptr, cap, need, elem);
}

/* Tests: make the allocation after the next n succeed-calls fail, and every
 * one after it until reset; n < 0 turns the hook off. */
void lode_alloc_fail_after(long n);

#endif
