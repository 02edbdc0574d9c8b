/*
 * codec.h -- integer compression for postings.
 *
 * Two codecs, both little-endian and specified in FORMAT.md:
 *
 *  - VByte: 7 bits per byte, low groups first, high bit set on every byte but
 *    the last.  At most 10 bytes for a 64-bit value.  Used for positions and
 *    dictionary fields.
 *  - Bit packing: n unsigned values of `width` bits each (0..32), packed
 *    LSB-first into ceil(n * width / 8) bytes.  Used for blocks of document
 *    gaps and frequencies.  Width 0 takes no bytes and decodes to zeros.
 *  - Small8: a lossy one-byte code for a lower bound on an unsigned value,
 *    exact below 32, then 4 significant bits (at most 1/16 low), up to
 *    507904.  Used for document lengths in impact lists.
 *  - Impact lists: the (frequency, length) pairs of a block's documents
 *    that no other document beats on both, so that the highest BM25 of any
 *    pair bounds every score in the block, whatever avgdl is.
 *
 * Decoders take the end of their input and never read past it: bytes read
 * from disk are data, and a short or malformed input returns LODE_ECORRUPT.
 */
#ifndef LODE_COMMON_CODEC_H
#define LODE_COMMON_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "lode.h"

#define LODE_VBYTE_MAX 10

/* Write v at out (room for LODE_VBYTE_MAX bytes); returns bytes written.
 * Inline: the inverter writes a value or two per token. */
static inline size_t lode_vbyte_put(uint8_t *out, uint64_t v)
{
	size_t len = 0;

	while (v >= 0x80) {
		out[len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[len++] = (uint8_t)v;
	return len;
}

/* Read one value from *p (< end) into *v and advance *p; returns 0, or
 * LODE_ECORRUPT if the input ends inside the value or it exceeds 64 bits. */
int lode_vbyte_get(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* lode_vbyte_get with the one-byte case inline: most dictionary fields. */
static inline int lode_vbyte_get_fast(const uint8_t **p, const uint8_t *end,
                                      uint64_t *v)
{
	if (*p < end && **p < 0x80) {
		*v = *(*p)++;
		return 0;
	}
	return lode_vbyte_get(p, end, v);
}

/* lode_vbyte_get for a value that must fit 32 bits (LODE_ECORRUPT if it
 * does not); the one-byte case of most positions and gaps inline. */
int lode_vbyte_get32_slow(const uint8_t **p, const uint8_t *end, uint32_t *v);

static inline int lode_vbyte_get32(const uint8_t **p, const uint8_t *end,
                                   uint32_t *v)
{
	if (*p < end && **p < 0x80) {
		*v = *(*p)++;
		return 0;
	}
	return lode_vbyte_get32_slow(p, end, v);
}

/* Advance *p past n values without decoding them; LODE_ECORRUPT if short.
 * The few values of most documents' positions are skipped inline, a byte
 * at a time; more go eight bytes at a time (lode_vbyte_skip_words). */
int lode_vbyte_skip_words(const uint8_t **p, const uint8_t *end, size_t n);

static inline int lode_vbyte_skip(const uint8_t **p, const uint8_t *end,
                                  size_t n)
{
	const uint8_t *q = *p;

	if (n > 2)
		return lode_vbyte_skip_words(p, end, n);
	for (; n > 0; q++) {
		if (q == end)
			return LODE_ECORRUPT;
		n -= *q < 0x80;
	}
	*p = q;
	return LODE_OK;
}

/* Bits needed to represent v: 0 for 0, 1 for 1, 32 for 2^32-1. */
unsigned lode_bits_needed(uint32_t v);

/* Bytes taken by n values of width bits. */
size_t lode_bitpack_size(size_t n, unsigned width);

/* Pack in[0, n) (each < 2^width) into out, which has room for
 * lode_bitpack_size(n, width) bytes. */
void lode_bitpack(uint8_t *out, const uint32_t *in, size_t n, unsigned width);

/* Unpack n values of width bits from in (input ends at end) into out.
 * Returns 0, or LODE_ECORRUPT if width > 32 or the input is too short. */
int lode_bitunpack(const uint8_t *in, const uint8_t *end, uint32_t *out,
                   size_t n, unsigned width);

/* Small8 codes: value(c) = c for c < 32, else (16 + (c - 32) % 16) shifted
 * left by (c - 32) / 16 + 1; increasing in c, value(255) = 507904. */
#define LODE_SMALL8_MAX 507904u

static inline uint32_t lode_small8_value(uint8_t c)
{
	return c < 32 ? c : (16u + (c - 32u) % 16u) << ((c - 32u) / 16u + 1);
}

/* The greatest code whose value is <= v (255 for v >= LODE_SMALL8_MAX). */
uint8_t lode_small8_floor(uint32_t v);

/*
 * Impact list of n (1..128) documents with frequencies freqs[] (>= 1) and
 * lengths lengths[]:  <Count: u8> <FreqGap: VByte> <Length: u8>^Count, the
 * pairs in increasing frequency (each gap from the previous frequency, the
 * first from 0) and increasing Length, a Small8 floor of the least length
 * among the documents with at least that frequency; a pair is kept only if
 * its Length is below the next pair's.  Every document (f, l) has a pair
 * with frequency >= f and value(Length) <= l.
 */
#define LODE_IMPACTS_MAX_BYTES (1 + 128 * (5 + 1))

/* Encode the list of n (at most 128) documents' frequencies and lengths
 * into out (room for LODE_IMPACTS_MAX_BYTES); returns bytes written. */
size_t lode_impacts_encode(uint8_t *out, const uint32_t *freqs,
                           const uint32_t *lengths, size_t n);

/* Read the count at *p (< end) and advance past it; 0 or LODE_ECORRUPT if
 * the input ends or the count is 0 or above 128. */
int lode_impacts_count(const uint8_t **p, const uint8_t *end, uint32_t *count);

/* Read the next pair at *p: *freq (previous frequency in, 0 before the
 * first) and *length (the Small8 value); 0 or LODE_ECORRUPT. */
int lode_impacts_next(const uint8_t **p, const uint8_t *end, uint32_t *freq,
                      uint32_t *length);

/* Advance *p past a whole list; 0 or LODE_ECORRUPT. */
int lode_impacts_skip(const uint8_t **p, const uint8_t *end);

#endif
