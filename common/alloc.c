/* alloc.c -- allocation wrappers with an out-of-memory hook for tests. */
#include "alloc.h"

#include <assert.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode.h"

/* Allocations left before the hook starts failing; -1 when off.  Atomic:
 * a build's helper threads allocate too, and a test that makes the Nth
 * allocation fail counts theirs (in whichever order they come). */
static _Atomic long fail_countdown = -1;

void lode_alloc_fail_after(long n)
{
	atomic_store(&fail_countdown, n);
}

static int should_fail(void)
{
	long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);

	/* Count down to 0 and stay there: every allocation then fails. */
	while (n > 0 && !atomic_compare_exchange_weak(&fail_countdown, &n, n - 1))
		;
	return n == 0;
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

/* The capacity that holds need elements of size elem, doubling cap (or
 * first, from none); 0 if the bytes would overflow. */
static size_t doubled(size_t cap, size_t need, size_t elem, size_t first)
{
	size_t n = cap ? cap : first;

	while (n < need) {
		if (n > SIZE_MAX / 2)
			return 0;
		n *= 2;
	}
	return n > SIZE_MAX / elem ? 0 : n;
}

char *lode_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = lode_malloc(n);

	if (p)
		memcpy(p, s, n);
	return p;
}

int lode_grow_to(void *ptr, size_t *cap, size_t need, size_t elem)
{
	void **p = ptr;
	size_t n;
	void *q;

	if (need <= *cap)
		return LODE_OK;
	if (!(n = doubled(*cap, need, elem, 16)))
		return LODE_ENOMEM;
	q = lode_realloc(*p, n * elem);
	if (!q)
		return LODE_ENOMEM;
	*p = q;
	*cap = n;
	return LODE_OK;
}

/* ---- arena ----------------------------------------------------------- */

#define ARENA_ALIGN alignof(max_align_t)
#define ARENA_CHUNK 8192

/* A chunk's header, padded so that the space after it is aligned. */
struct chunk {
	union {
		struct chunk *next;
		max_align_t align;
	} u;
};

void lode_arena_init(lode_arena *a, void *buf, size_t size)
{
	uintptr_t p = (uintptr_t)buf;
	uintptr_t q = (p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);

	a->chunks = NULL;
	a->chunk = a->chunk_first = a->chunk_max = ARENA_CHUNK;
	a->next = a->end = buf;
	if (buf && q - p <= size) {
		a->next = (unsigned char *)buf + (q - p);
		a->end = (unsigned char *)buf + size;
	}
}

void lode_arena_chunks(lode_arena *a, size_t first, size_t max)
{
	assert(first > 0);
	a->chunk = a->chunk_first = first;
	a->chunk_max = max > first ? max : first;
}

void *lode_arena_alloc(lode_arena *a, size_t size)
{
	size_t rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	struct chunk *c;
	size_t room;
	void *p;

	if (rounded < size)
		return NULL;
	if (rounded <= (size_t)(a->end - a->next)) {
		p = a->next;
		a->next += rounded;
		return p;
	}
	room = rounded > a->chunk ? rounded : a->chunk;
	if (room > SIZE_MAX - sizeof(struct chunk) ||
	    !(c = lode_malloc(sizeof(struct chunk) + room)))
		return NULL;
	/* Doubled only once the chunk exists: a failure changes nothing. */
	a->chunk = a->chunk > a->chunk_max / 2 ? a->chunk_max : a->chunk * 2;
	c->u.next = a->chunks;
	a->chunks = c;
	p = c + 1;
	/* A block larger than a chunk keeps the current chunk's free space. */
	if (rounded < room) {
		a->next = (unsigned char *)p + rounded;
		a->end = (unsigned char *)p + room;
	}
	return p;
}

void *lode_arena_calloc(lode_arena *a, size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	if ((p = lode_arena_alloc(a, n * size)))
		memset(p, 0, n * size);
	return p;
}

int lode_arena_grow(lode_arena *a, void *ptr, size_t *cap, size_t need,
                    size_t elem)
{
	void **p = ptr;
	size_t n;
	void *q;

	if (need <= *cap)
		return LODE_OK;
	if (!(n = doubled(*cap, need, elem, 4)) ||
	    !(q = lode_arena_alloc(a, n * elem)))
		return LODE_ENOMEM;
	if (*cap)
		memcpy(q, *p, *cap * elem);
	*p = q;
	*cap = n;
	return LODE_OK;
}

void lode_arena_free(lode_arena *a)
{
	struct chunk *c = a->chunks;

	while (c) {
		struct chunk *next = c->u.next;
		lode_free(c);
		c = next;
	}
	a->chunks = NULL;
	a->next = a->end = NULL;
	a->chunk = a->chunk_first;
}
