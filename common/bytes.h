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

/* a[0, n) equals b[0, n).  Inline for the short terms of hash probes,
 * where calling memcmp cost more than the comparison: up to 16 bytes are
 * compared as two overlapping words from each end, never read past n. */
static inline int lode_bytes_equal(const char *a, const char *b, size_t n)
{
	uint64_t a0, a1, b0, b1;
	uint32_t c0, c1, d0, d1;

	if (n > 16)
		return memcmp(a, b, n) == 0;
	if (n >= 8) {
		memcpy(&a0, a, 8);
		memcpy(&b0, b, 8);
		memcpy(&a1, a + n - 8, 8);
		memcpy(&b1, b + n - 8, 8);
		return ((a0 ^ b0) | (a1 ^ b1)) == 0;
	}
	if (n >= 4) {
		memcpy(&c0, a, 4);
		memcpy(&d0, b, 4);
		memcpy(&c1, a + n - 4, 4);
		memcpy(&d1, b + n - 4, 4);
		return ((c0 ^ d0) | (c1 ^ d1)) == 0;
	}
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

/* A term's first 8 bytes as a big-endian number, zero-padded: the block
 * keys of the dictionary (FORMAT.md).  No term holds a zero byte, so a < b
 * in lode_bytes_compare's order gives key(a) <= key(b), equal only when
 * the first 8 bytes are. */
static inline uint64_t lode_bytes_key(const char *p, size_t n)
{
	uint64_t key = 0;

	for (size_t i = 0; i < 8; i++)
		key = key << 8 | (i < n ? (uint8_t)p[i] : 0);
	return key;
}

/* Bytes p[0, 8) and p[0, 4) as numbers, in the machine's order. */
static inline uint64_t lode_bytes_load64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t lode_bytes_load32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * The hash of the in-memory hash tables (never stored: a table is rebuilt
 * from its terms).  Terms are read a word at a time as in lode_bytes_equal,
 * two overlapping words covering up to 16 bytes, never past n, then mixed
 * by multiplications whose high bits are folded down: linear probing takes
 * the low bits.  Byte by byte (FNV-1a), a term's multiplications formed one
 * chain of dependent steps, 3.5 % of the instructions of a build.
 */
static inline uint32_t lode_bytes_hash(const char *p, size_t n)
{
	const uint64_t k1 = 0x9e3779b97f4a7c15ULL, k2 = 0xc2b2ae3d27d4eb4fULL;
	uint64_t a, b, h;

	if (n >= 8) {
		a = lode_bytes_load64(p);
		b = lode_bytes_load64(p + n - 8);
		for (size_t i = 8; i + 8 < n; i += 8)
			a = (a ^ lode_bytes_load64(p + i)) * k1 + (a >> 29);
	} else if (n >= 4) {
		a = lode_bytes_load32(p);
		b = lode_bytes_load32(p + n - 4);
	} else {
		/* p[0], p[n / 2] and p[n - 1] are every byte of 1 to 3. */
		a = n ? (uint64_t)(uint8_t)p[0] << 16 |
		                (uint64_t)(uint8_t)p[n / 2] << 8 |
		                (uint8_t)p[n - 1]
		      : 0;
		b = 0;
	}
	h = (a ^ n) * k1 ^ (b + k1) * k2;
	h ^= h >> 32;
	h *= k2;
	return (uint32_t)(h ^ (h >> 29));
}

#endif
