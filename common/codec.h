/*
 * codec.h -- integer compression for postings.
 *
 * The codecs, all little-endian and specified in FORMAT.md:
 *
 *  - VByte: 7 bits per byte, low groups first, high bit set on every byte but
 *    the last.  At most 10 bytes for a 64-bit value.  Used for dictionary
 *    fields, impact lists and the inverter's buffered postings.
 *  - Bit packing: n unsigned values of `width` bits each (0..32), packed
 *    LSB-first into ceil(n * width / 8) bytes.  Width 0 takes no bytes and
 *    decodes to zeros.  With exceptions (patched frame of reference), it
 *    codes blocks of document gaps and frequencies.
 *  - Small8: a lossy one-byte code for a lower bound on an unsigned value,
 *    exact below 32, then 4 significant bits (at most 1/16 low), up to
 *    507904.  Used for document lengths in impact lists.
 *  - Impact lists: the (frequency, length) pairs of a block's documents
 *    that no other document beats on both, so that the highest BM25 of any
 *    pair bounds every score in the block, whatever avgdl is.
 *  - Bit streams of Rice codes, their low bits apart from their unary
 *    high parts: the positions of a postings block.
 *
 * Decoders take the end of their input and never read past it: bytes read
 * from disk are data, and a short or malformed input returns LODE_ECORRUPT.
 */
#ifndef LODE_COMMON_CODEC_H
#define LODE_COMMON_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lode.h"

/* For the few helpers of hot loops that the compiler would otherwise call
 * once they have two callers. */
#if defined(__GNUC__)
#define LODE_ALWAYS_INLINE inline __attribute__((always_inline))
#define LODE_LIKELY(x) __builtin_expect(!!(x), 1)
/* And for the cold paths that, inlined, would crowd a hot one. */
#define LODE_NOINLINE __attribute__((noinline))
#else
#define LODE_ALWAYS_INLINE inline
#define LODE_LIKELY(x) (x)
#define LODE_NOINLINE
#endif

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

/* lode_vbyte_get's slow path for the inline readers below: the value at p
 * (before end) into *v; returns the pointer past it, or NULL where
 * lode_vbyte_get fails.  The pointer goes by value and the inline readers
 * pass a temporary for *v, so that neither a caller's pointer nor its
 * value has its address taken: GCC kept find_in_block's on the stack, a
 * store and a load for every field. */
const uint8_t *lode_vbyte_next(const uint8_t *p, const uint8_t *end,
                               uint64_t *v);

/* lode_vbyte_get with the one-byte case inline: most dictionary fields. */
static inline int lode_vbyte_get_fast(const uint8_t **p, const uint8_t *end,
                                      uint64_t *v)
{
	const uint8_t *q = *p;
	uint64_t x;

	if (LODE_LIKELY(q < end && *q < 0x80)) {
		*v = *q;
		*p = q + 1;
		return 0;
	}
	if (!(q = lode_vbyte_next(q, end, &x)))
		return LODE_ECORRUPT;
	*v = x;
	*p = q;
	return 0;
}

/* lode_vbyte_get for a value that must fit 32 bits (LODE_ECORRUPT if it
 * does not); the one-byte case of most positions and gaps inline. */
static inline int lode_vbyte_get32(const uint8_t **p, const uint8_t *end,
                                   uint32_t *v)
{
	const uint8_t *q = *p;
	uint64_t x;

	if (LODE_LIKELY(q < end && *q < 0x80)) {
		*v = *q;
		*p = q + 1;
		return 0;
	}
	if (!(q = lode_vbyte_next(q, end, &x)) || x > UINT32_MAX)
		return LODE_ECORRUPT;
	*v = (uint32_t)x;
	*p = q;
	return 0;
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

/* Bytes taken by n values of width bits.  Eight values of width bits take
 * width bytes: no overflow in the remainder, and a product too large
 * saturates so that decoders given a corrupt count fail their bounds test.
 * Inline: every postings block's size is asked for. */
static inline size_t lode_bitpack_size(size_t n, unsigned width)
{
	if (width && n / 8 > (SIZE_MAX - 32) / width)
		return SIZE_MAX;
	return n / 8 * width + (n % 8 * width + 7) / 8;
}

/* Pack in[0, n) (each < 2^width) into out, which has room for
 * lode_bitpack_size(n, width) bytes. */
void lode_bitpack(uint8_t *out, const uint32_t *in, size_t n, unsigned width);

/* Unpack n values of width bits from in (input ends at end) into out.
 * Returns 0, or LODE_ECORRUPT if width > 32 or the input is too short. */
int lode_bitunpack(const uint8_t *in, const uint8_t *end, uint32_t *out,
                   size_t n, unsigned width);

/*
 * Patched frame of reference (M. Zukowski, S. Heman, N. Nes and P. Boncz,
 * "Super-Scalar RAM-CPU Cache Compression", ICDE 2006): n (<= 128) values
 * packed at the width w that takes the fewest bytes, the few that need
 * more as exceptions, their index and their bits above w:
 *
 *     Part := Packed(n, w) [<Count: u8> <HighWidth: u8> <Index: u8>^Count
 *                           Packed(Count, HighWidth)]
 *
 * The part's header byte, which the caller stores, is w, plus
 * LODE_PFOR_EXCEPTIONS when the exceptions follow (1 <= Count <= n,
 * indices increasing and below n, 1 <= HighWidth <= 32 - w).
 */
#define LODE_PFOR_EXCEPTIONS 0x80
#define LODE_PFOR_MAX_VALUES 128

/* The packed width w of a part's header byte. */
static inline unsigned lode_pfor_width(uint8_t header)
{
	return header & ~LODE_PFOR_EXCEPTIONS & 0xffu;
}

/* The header byte of the cheapest part for in[0, n), without exceptions
 * unless exceptions is set; *bytes gets its size. */
uint8_t lode_pfor_plan(const uint32_t *in, size_t n, int exceptions,
                       size_t *bytes);

/* Write the part of in[0, n) with header (from lode_pfor_plan) at out,
 * which has room for the size the plan gave. */
void lode_pfor_encode(uint8_t *out, const uint32_t *in, size_t n,
                      uint8_t header);

/* With exceptions, lode_pfor_size and lode_pfor_decode call these. */
size_t lode_pfor_patched_size(const uint8_t *in, const uint8_t *end, size_t n,
                              uint8_t header, unsigned *width);
int lode_pfor_patch(const uint8_t *in, const uint8_t *end, uint32_t *out,
                    size_t n, uint8_t header);

/*
 * The size of the part of n values with header at in, if it lies before
 * end and its header and exception counts are valid, else SIZE_MAX; *width
 * gets the bits its values may take (w plus HighWidth).  Inline: every
 * postings block asks, and most have no exceptions.
 */
static inline size_t lode_pfor_size(const uint8_t *in, const uint8_t *end,
                                    size_t n, uint8_t header, unsigned *width)
{
	size_t packed;

	if (header & LODE_PFOR_EXCEPTIONS)
		return lode_pfor_patched_size(in, end, n, header, width);
	if (header > 32 || n > LODE_PFOR_MAX_VALUES)
		return SIZE_MAX;
	packed = lode_bitpack_size(n, header);
	if (packed > (size_t)(end - in))
		return SIZE_MAX;
	*width = header;
	return packed;
}

/* Decode a part that lode_pfor_size accepted into out[0, n); the fast
 * unpacker may read up to end (past the part).  Returns 0, or
 * LODE_ECORRUPT if its exception indices do not increase below n. */
static inline int lode_pfor_decode(const uint8_t *in, const uint8_t *end,
                                   uint32_t *out, size_t n, uint8_t header)
{
	if (lode_bitunpack(in, end, out, n, lode_pfor_width(header)))
		return LODE_ECORRUPT;
	if (header & LODE_PFOR_EXCEPTIONS)
		return lode_pfor_patch(in, end, out, n, header);
	return LODE_OK;
}

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

/*
 * Bit streams, for the Rice codes of positions (FORMAT.md, positions.pos).
 * Bits are written from bit 0 of the first byte up, as Packed is.  A Rice
 * code of parameter k puts a value's low k bits in one stream (Packed) and
 * its high part q = v >> k, in unary (q zero bits and a one), in another,
 * so that a reader passes m values by finding m ones.  Each put needs room
 * for LODE_BITS_MAX_BYTES(q) more bytes at out + bytes (q: the zeros of a
 * unary code, 0 for lode_bits_put); flush pads the last byte with zero
 * bits.  Readers need LODE_BITS_READ_PAD readable bytes past the end of the
 * stream (positions.pos ends with that much padding: LODE_POSITIONS_PAD).
 */
#define LODE_BITS_READ_PAD 8
#define LODE_BITS_MAX_BYTES(q) ((size_t)(q) / 8 + 8)

typedef struct lode_bitwriter {
	uint8_t *out;    /* the buffer, written at out[bytes] */
	size_t bytes;    /* whole bytes written */
	uint64_t acc;    /* pending bits, the oldest in bit 0 */
	unsigned nbits;  /* pending bits in acc, < 8 between calls */
} lode_bitwriter;

/* Append the n (<= 32) low bits of v (v < 2^n).  Inline: the writer puts
 * every position through it. */
static inline void lode_bits_put(lode_bitwriter *bw, uint32_t v, unsigned n)
{
	bw->acc |= (uint64_t)v << bw->nbits;
	bw->nbits += n;
	while (bw->nbits >= 8) {
		bw->out[bw->bytes++] = (uint8_t)bw->acc;
		bw->acc >>= 8;
		bw->nbits -= 8;
	}
}

/* Append q in unary: q zero bits, then a one. */
static inline void lode_unary_put(lode_bitwriter *bw, uint32_t q)
{
	while (q >= 24) {
		lode_bits_put(bw, 0, 24);
		q -= 24;
	}
	lode_bits_put(bw, (uint32_t)1 << q, q + 1);
}

/* Write out the pending bits, zero-padded to a whole byte. */
void lode_bitwriter_flush(lode_bitwriter *bw);

/* Append the Rice codes of v[0, n) with parameter k (< 32) as a positions
 * block lays them out (FORMAT.md, PositionsBlock): the k low bits of every
 * value, then every high part v >> k in unary.  The buffer needs room for
 * (n (k + 1) + sum of v >> k) / 8 + 8 more bytes.  The same bits as
 * lode_bits_put and lode_unary_put value by value, written 32 at a time
 * from locals: the writer's fields, reached through bw, would be reloaded
 * after every byte it stores. */
void lode_rice_put(lode_bitwriter *bw, const uint32_t *v, size_t n,
                   unsigned k);

/* The lowest Rice parameter worth trying for n values adding up to sum:
 * one below floor(log2(mean)) (0 for a mean below 4), at most 29.  The
 * best is near log2 of the mean: it, or one or two above. */
unsigned lode_rice_param_base(uint64_t sum, uint64_t n);

/* The parameter, of lode_rice_param_base's three, that codes v[0, n)
 * (n >= 1) in the fewest bits (the lowest on a tie); *bits gets their
 * count, n (k + 1) + the sum of v >> k. */
unsigned lode_rice_plan(const uint32_t *v, size_t n, uint64_t *bits);

/* The bits of the stream at in from bit on: LODE_PEEK_VALID of them, from
 * one unaligned little-endian load of the 8 bytes holding bit. */
#define LODE_PEEK_VALID 57

static inline uint64_t lode_peek_bits(const uint8_t *in, uint64_t bit)
{
	const uint8_t *b = in + (bit >> 3);
	uint64_t w;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(&w, b, sizeof(w));
#else
	w = 0;
	for (int i = 7; i >= 0; i--)
		w = w << 8 | b[i];
#endif
	return (w >> (bit & 7)) & ((((uint64_t)1) << LODE_PEEK_VALID) - 1);
}

/* Index of the lowest set bit of w != 0. */
static inline unsigned lode_lowest_bit(uint64_t w)
{
#if defined(__GNUC__)
	return (unsigned)__builtin_ctzll(w);
#else
	unsigned i = 0;

	while (!(w & 1)) {
		w >>= 1;
		i++;
	}
	return i;
#endif
}

/* The n (<= 32) bits of the stream at in from bit on. */
static inline uint32_t lode_bits_get(const uint8_t *in, uint64_t bit,
                                     unsigned n)
{
	return (uint32_t)(lode_peek_bits(in, bit) & ((((uint64_t)1) << n) - 1));
}

/* Read one unary code at *bit (<= end) into *q and move past it;
 * LODE_ECORRUPT if it does not end by bit end. */
static inline int lode_unary_get(const uint8_t *in, uint64_t *bit,
                                 uint64_t end, uint64_t *q)
{
	uint64_t at = *bit, zeros = 0, w;

	while (!(w = lode_peek_bits(in, at))) {
		zeros += LODE_PEEK_VALID;
		at += LODE_PEEK_VALID;
		if (at > end)
			return LODE_ECORRUPT;
	}
	at += lode_lowest_bit(w) + 1;
	if (at > end)
		return LODE_ECORRUPT;
	*q = zeros + lode_lowest_bit(w);
	*bit = at;
	return LODE_OK;
}

/*
 * The n positions of a document (its values: the first position, then
 * each gap minus one) from the Rice codes of parameter k whose unary parts
 * begin at bit *hi (<= end) and whose low bits at bit low, into out[0, n);
 * *hi moves past them.  Each stream is read through a 57-bit window,
 * refilled only when it runs out: the hot loop of phrases.  Returns 0, or
 * LODE_ECORRUPT if a unary part passes end or a position reaches limit.
 */
static LODE_ALWAYS_INLINE int
lode_rice_positions(const uint8_t *in, uint64_t *hi, uint64_t end, uint64_t low,
                    unsigned k, uint32_t n, uint32_t limit, uint32_t *out)
{
	const uint64_t qmax = limit ? (limit - 1) >> k : 0;
	const uint64_t mask = ((uint64_t)1 << k) - 1;
	uint64_t at = *hi;
	uint64_t hw = lode_peek_bits(in, at), lw = lode_peek_bits(in, low);
	uint64_t pos = UINT64_MAX; /* so that the first + 1 is the value */
	unsigned lbits = LODE_PEEK_VALID;

	for (uint32_t t = 0; t < n; t++) {
		uint64_t q;
		if (hw) {
			/* At most 56: q << k cannot overflow, and pos is checked
			 * against limit before the next one is added.  No memory
			 * is read here: at is checked against end before the
			 * next load and at the end. */
			unsigned z = lode_lowest_bit(hw);
			q = z;
			hw = hw >> z >> 1;
			at += z + 1;
		} else {
			if (at > end || lode_unary_get(in, &at, end, &q) ||
			    q > qmax)
				return LODE_ECORRUPT;
			hw = lode_peek_bits(in, at);
		}
		if (lbits < k) {
			lw = lode_peek_bits(in, low);
			lbits = LODE_PEEK_VALID;
		}
		/* Each position is the previous one plus one plus its value:
		 * they increase. */
		pos += (q << k | (lw & mask)) + 1;
		lw >>= k;
		lbits -= k;
		low += k;
		if (pos >= limit)
			return LODE_ECORRUPT;
		out[t] = (uint32_t)pos;
	}
	if (at > end)
		return LODE_ECORRUPT;
	*hi = at;
	return LODE_OK;
}

/* Move *bit (<= end) past m unary codes (m ones); LODE_ECORRUPT if they
 * do not end by bit end. */
int lode_ones_skip(const uint8_t *in, uint64_t *bit, uint64_t end, uint64_t m);

#endif
