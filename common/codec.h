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
 *
 * Decoders take the end of their input and never read past it: bytes read
 * from disk are data, and a short or malformed input returns LODE_ECORRUPT.
 */
#ifndef LODE_COMMON_CODEC_H
#define LODE_COMMON_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define LODE_VBYTE_MAX 10

/* Write v at out (room for LODE_VBYTE_MAX bytes); returns bytes written. */
size_t lode_vbyte_put(uint8_t *out, uint64_t v);

/* Read one value from *p (< end) into *v and advance *p; returns 0, or
 * LODE_ECORRUPT if the input ends inside the value or it exceeds 64 bits. */
int lode_vbyte_get(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* Same for a value that must fit 32 bits. */
int lode_vbyte_get32(const uint8_t **p, const uint8_t *end, uint32_t *v);

/* Advance *p past n values without decoding them; LODE_ECORRUPT if short. */
int lode_vbyte_skip(const uint8_t **p, const uint8_t *end, size_t n);

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

#endif
