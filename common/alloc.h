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

/* A lode_malloc'd copy of the string s, or NULL. */
char *lode_strdup(const char *s);

/* The slow path of lode_grow: reallocate. */
int lode_grow_to(void *ptr, size_t *cap, size_t need, size_t elem);

/* Grow *ptr, an array of *cap elements of size elem, to hold at least need
 * elements (doubling); returns 0 or LODE_ENOMEM with *ptr unchanged.  Inline
 * so that the common case, room enough, costs one comparison. */
static inline int lode_grow(void *ptr, size_t *cap, size_t need, size_t elem)
{
	return need <= *cap ? 0 : lode_grow_to(ptr, cap, need, elem);
}

/*
 * An arena: many small allocations given back all at once, for the objects
 * of one query's evaluation, where malloc and free were a quarter of the
 * cost of a one-word query.  It begins in a buffer of the caller's (often
 * enough for a whole query, so that nothing is allocated) and takes further
 * chunks from lode_malloc, so the failure hook reaches it as well.
 *
 * Calls:  lode_arena_init [lode_arena_chunks]
 *         (lode_arena_alloc | _calloc | _grow)*  lode_arena_free
 * Blocks are aligned for any type and live until lode_arena_free, which
 * frees the chunks (not the caller's buffer) and leaves the arena empty,
 * ready for use again without the buffer, its chunks starting again at
 * their first size.  All return NULL or
 * LODE_ENOMEM when out of memory, like their plain counterparts.
 */
typedef struct lode_arena {
	unsigned char *next, *end; /* free space of the newest chunk */
	void *chunks;              /* lode_malloc'd chunks, newest first */
	size_t chunk, chunk_max;   /* the next chunk's size, doubling up to
	                              chunk_max */
	size_t chunk_first;        /* chunk's size after lode_arena_free */
} lode_arena;

/* Chunks are 8 KiB unless lode_arena_chunks says otherwise. */
void lode_arena_init(lode_arena *a, void *buf, size_t size);
/* Chunks of first (> 0) bytes, doubling with each new one up to max (at
 * least first): for an arena that may grow to megabytes but should begin
 * small.  Call it before the first allocation. */
void lode_arena_chunks(lode_arena *a, size_t first, size_t max);
void *lode_arena_alloc(lode_arena *a, size_t size);
void *lode_arena_calloc(lode_arena *a, size_t n, size_t size);
/* lode_grow for an array in the arena: the old one is left behind. */
int lode_arena_grow(lode_arena *a, void *ptr, size_t *cap, size_t need,
                    size_t elem);
void lode_arena_free(lode_arena *a);

/* Tests: make the allocation after the next n succeed-calls fail, and every
 * one after it until reset; n < 0 turns the hook off.  The count is shared
 * by all threads. */
void lode_alloc_fail_after(long n);

#endif
