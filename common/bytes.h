/*
 * bytes.h -- byte strings (terms, words): the order and the hash every
 * module uses.
 */
#ifndef LODE_COMMON_BYTES_H
#define LODE_COMMON_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Byte order, shorter first on a tie: the dictionary's term order. */
static inline int lode_bytes_compare(const char *a, size_t na, const char *b,
                                     size_t nb)
{
	int c = memcmp(a, b, na < nb ? na : nb);

	if (c)
		return c;
	return na < nb ? -1 : na > nb;
}

/* FNV-1a (64 bits, folded to 32) for the in-memory hash tables. */
static inline uint32_t lode_bytes_hash(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 0x100000001b3ULL;
	return (uint32_t)(h ^ (h >> 32));
}

#endif
