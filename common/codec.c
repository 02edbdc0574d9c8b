/*
 * codec.c -- VByte and bit packing (see codec.h and FORMAT.md).
 *
 * Bit unpacking is the hot loop of every query: it decodes each postings
 * block.  Eight values of width w take exactly w bytes, so every group of
 * eight starts on a byte boundary and, for a constant w, each value's byte
 * offset and shift within its group are constants.  One function per width
 * (generated below) reads each value with one unaligned 64-bit load, a shift
 * and a mask: shift <= 7 and w <= 32, so a value always lies inside the
 * eight bytes loaded.  That load may run up to 8 bytes past a group's packed
 * data, so only groups with that much input left take the fast path; the
 * rest are read a byte at a time, never past `end`.  The technique is the
 * scalar one of Lemire and Boytsov, "Decoding billions of integers per
 * second through vectorization" (SPE 2015).
 *
 * Positions are Golomb-Rice codes (S. W. Golomb, IEEE Trans. Inf. Theory
 * 12(3), 1966; R. F. Rice, JPL 79-22, 1979) with one parameter per block,
 * as in Witten, Moffat and Bell, "Managing Gigabytes" (2nd ed., 1999),
 * section 3.3; their unary parts are kept apart from their low bits, as
 * Elias-Fano keeps its high bits (P. Elias, JACM 21(2), 1974), so that
 * passing the positions of earlier documents counts ones a word at a time.
 */
#include "codec.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lode.h"


/* Little-endian loads and stores of any alignment, on any host. */
static LODE_ALWAYS_INLINE uint64_t load_le64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
#else
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	       (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
#endif
}

static LODE_ALWAYS_INLINE void store_le32(uint8_t *p, uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &v, sizeof(v));
#else
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
#endif
}

/* ---- VByte ----------------------------------------------------------- */

int lode_vbyte_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	const uint8_t *q = *p;
	uint64_t x = 0;
	unsigned shift;
	uint8_t b;

	for (shift = 0; shift < 63; shift += 7) {
		if (q == end)
			return LODE_ECORRUPT;
		b = *q++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (b < 0x80)
			goto out;
	}
	/* The tenth byte holds bit 63 alone and must end the value. */
	if (q == end || *q > 1)
		return LODE_ECORRUPT;
	x |= (uint64_t)*q++ << 63;
out:
	*v = x;
	*p = q;
	return LODE_OK;
}

const uint8_t *lode_vbyte_next(const uint8_t *p, const uint8_t *end,
                               uint64_t *v)
{
	return lode_vbyte_get(&p, end, v) == LODE_OK ? p : NULL;
}

int lode_vbyte_skip_words(const uint8_t **p, const uint8_t *end, size_t n)
{
	const uint8_t *q = *p;
	uint64_t w, ends;

	/* Each value ends at a byte below 0x80: count those eight bytes at a
	 * time.  (~w & high) >> 7 has a 1 in each byte that ends a value and
	 * the multiply sums the eight bytes into the top one.  Stop before a
	 * word that ends the nth value and find it byte by byte. */
	while (end - q >= 8) {
		w = load_le64(q);
		ends = (~w & UINT64_C(0x8080808080808080)) >> 7;
		ends = (ends * UINT64_C(0x0101010101010101)) >> 56;
		if (ends >= n)
			break;
		n -= (size_t)ends;
		q += 8;
	}
	for (; n > 0; q++) {
		if (q == end)
			return LODE_ECORRUPT;
		if (*q < 0x80)
			n--;
	}
	*p = q;
	return LODE_OK;
}

/* ---- bit packing ----------------------------------------------------- */

unsigned lode_bits_needed(uint32_t v)
{
#if defined(__GNUC__)
	return v ? 32 - (unsigned)__builtin_clz(v) : 0;
#else
	unsigned bits = 0;

	while (v) {
		bits++;
		v >>= 1;
	}
	return bits;
#endif
}

void lode_bitpack(uint8_t *out, const uint32_t *in, size_t n, unsigned width)
{
	uint64_t acc = 0; /* pending bits, the oldest in bit 0 */
	unsigned bits = 0; /* how many bits of acc are pending, < 32 */
	uint32_t all = 0;  /* every value ORed, for the contract's assert */
	size_t i;

	assert(width <= 32);
	for (i = 0; i < n; i++) {
		all |= in[i];
		acc |= (uint64_t)in[i] << bits;
		bits += width;
		if (bits >= 32) {
			store_le32(out, (uint32_t)acc);
			out += 4;
			acc >>= 32;
			bits -= 32;
		}
	}
	assert(width == 32 || all >> width == 0);
	(void)all;
	while (bits > 0) {
		*out++ = (uint8_t)acc;
		acc >>= 8;
		bits = bits > 8 ? bits - 8 : 0;
	}
}

/* Decode groups of eight values of constant width w from in, which has at
 * least group_reach(w) readable bytes past the start of the last group. */
static LODE_ALWAYS_INLINE void unpack_groups(const uint8_t *in,
                                             uint32_t *out, size_t groups,
                                             unsigned w)
{
	const uint64_t mask = (UINT64_C(1) << w) - 1;
	size_t g;

#define LANE(j) \
	out[j] = (uint32_t)((load_le64(in + (j) * w / 8) >> ((j) * w % 8)) & mask)
	for (g = 0; g < groups; g++) {
		LANE(0); LANE(1); LANE(2); LANE(3);
		LANE(4); LANE(5); LANE(6); LANE(7);
		in += w;
		out += 8;
	}
#undef LANE
}

/* Bytes unpack_groups may read from the start of one group. */
static size_t group_reach(unsigned w)
{
	return 7 * w / 8 + 8;
}

typedef void unpack_fn(const uint8_t *in, uint32_t *out, size_t groups);

#define UNPACK_FN(w) \
	static void unpack_##w(const uint8_t *in, uint32_t *out, \
	                       size_t groups) \
	{ \
		unpack_groups(in, out, groups, w); \
	}
UNPACK_FN(1)  UNPACK_FN(2)  UNPACK_FN(3)  UNPACK_FN(4)  UNPACK_FN(5)
UNPACK_FN(6)  UNPACK_FN(7)  UNPACK_FN(8)  UNPACK_FN(9)  UNPACK_FN(10)
UNPACK_FN(11) UNPACK_FN(12) UNPACK_FN(13) UNPACK_FN(14) UNPACK_FN(15)
UNPACK_FN(16) UNPACK_FN(17) UNPACK_FN(18) UNPACK_FN(19) UNPACK_FN(20)
UNPACK_FN(21) UNPACK_FN(22) UNPACK_FN(23) UNPACK_FN(24) UNPACK_FN(25)
UNPACK_FN(26) UNPACK_FN(27) UNPACK_FN(28) UNPACK_FN(29) UNPACK_FN(30)
UNPACK_FN(31)
#undef UNPACK_FN

/* Fast group decoders for widths 1..31 (0 and 32 are special cases). */
static unpack_fn *const unpackers[32] = {
	NULL,       unpack_1,  unpack_2,  unpack_3,  unpack_4,  unpack_5,
	unpack_6,   unpack_7,  unpack_8,  unpack_9,  unpack_10, unpack_11,
	unpack_12,  unpack_13, unpack_14, unpack_15, unpack_16, unpack_17,
	unpack_18,  unpack_19, unpack_20, unpack_21, unpack_22, unpack_23,
	unpack_24,  unpack_25, unpack_26, unpack_27, unpack_28, unpack_29,
	unpack_30,  unpack_31,
};

/* Decode n values of width w (1..31) reading whole bytes only as they are
 * needed, so never past the packed data. */
static void unpack_bytewise(const uint8_t *in, uint32_t *out, size_t n,
                            unsigned w)
{
	const uint64_t mask = (UINT64_C(1) << w) - 1;
	uint64_t acc = 0; /* bits read but not yet used, the oldest in bit 0 */
	unsigned bits = 0; /* how many bits of acc are unused, < w */
	size_t i;

	for (i = 0; i < n; i++) {
		while (bits < w) {
			acc |= (uint64_t)*in++ << bits;
			bits += 8;
		}
		out[i] = (uint32_t)(acc & mask);
		acc >>= w;
		bits -= w;
	}
}

int lode_bitunpack(const uint8_t *in, const uint8_t *end, uint32_t *out,
                   size_t n, unsigned width)
{
	size_t avail, groups, fast, i;

	assert(in <= end);
	if (width > 32)
		return LODE_ECORRUPT;
	avail = (size_t)(end - in);
	if (avail < lode_bitpack_size(n, width))
		return LODE_ECORRUPT;
	if (width == 0) {
		memset(out, 0, n * sizeof(*out));
		return LODE_OK;
	}
	if (width == 32) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		memcpy(out, in, n * sizeof(*out));
#else
		for (i = 0; i < n; i++)
			out[i] = (uint32_t)in[4 * i] |
			         (uint32_t)in[4 * i + 1] << 8 |
			         (uint32_t)in[4 * i + 2] << 16 |
			         (uint32_t)in[4 * i + 3] << 24;
#endif
		return LODE_OK;
	}

	/* Group g starts at byte g * width and reads group_reach bytes. */
	groups = n / 8;
	fast = avail < group_reach(width)
	               ? 0
	               : (avail - group_reach(width)) / width + 1;
	if (fast > groups)
		fast = groups;
	unpackers[width](in, out, fast);
	i = fast * 8;
	unpack_bytewise(in + fast * width, out + i, n - i, width);
	return LODE_OK;
}

/* ---- patched frame of reference -------------------------------------- */

uint8_t lode_pfor_plan(const uint32_t *in, size_t n, int exceptions,
                       size_t *bytes)
{
	size_t exact[33] = {0}; /* values of exactly b bits */
	size_t above = 0;       /* values of more than w bits */
	unsigned top = 0, best;

	assert(n <= LODE_PFOR_MAX_VALUES);
	if (!exceptions) {
		uint32_t all = 0;
		for (size_t i = 0; i < n; i++)
			all |= in[i];
		top = lode_bits_needed(all);
		*bytes = lode_bitpack_size(n, top);
		return (uint8_t)top;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned b = lode_bits_needed(in[i]);
		exact[b]++;
		if (b > top)
			top = b;
	}
	best = top;
	*bytes = lode_bitpack_size(n, top);
	/* The widest (no exceptions) wins a tie: the fastest to decode. */
	for (unsigned w = top; exceptions && w-- > 0;) {
		size_t cost;
		above += exact[w + 1];
		cost = lode_bitpack_size(n, w) + 2 + above +
		       lode_bitpack_size(above, top - w);
		if (cost < *bytes) {
			*bytes = cost;
			best = w;
		}
	}
	return (uint8_t)(best == top ? best : best | LODE_PFOR_EXCEPTIONS);
}

void lode_pfor_encode(uint8_t *out, const uint32_t *in, size_t n,
                      uint8_t header)
{
	unsigned w = lode_pfor_width(header);
	uint32_t low[LODE_PFOR_MAX_VALUES] = {0}, high[LODE_PFOR_MAX_VALUES];
	unsigned top = 0;
	size_t count = 0;

	assert(n <= LODE_PFOR_MAX_VALUES && w <= 32);
	if (!(header & LODE_PFOR_EXCEPTIONS)) {
		lode_bitpack(out, in, n, w);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		low[i] = w < 32 ? in[i] & (((uint32_t)1 << w) - 1) : in[i];
		if (lode_bits_needed(in[i]) > top)
			top = lode_bits_needed(in[i]);
	}
	lode_bitpack(out, low, n, w);
	out += lode_bitpack_size(n, w);
	for (size_t i = 0; i < n; i++) {
		if (lode_bits_needed(in[i]) > w) {
			out[2 + count] = (uint8_t)i;
			high[count++] = in[i] >> w;
		}
	}
	out[0] = (uint8_t)count;
	out[1] = (uint8_t)(top - w);
	lode_bitpack(out + 2 + count, high, count, top - w);
}

size_t lode_pfor_patched_size(const uint8_t *in, const uint8_t *end, size_t n,
                              uint8_t header, unsigned *width)
{
	unsigned w = lode_pfor_width(header);
	size_t packed, count, hw, size;

	if (w > 32 || n > LODE_PFOR_MAX_VALUES)
		return SIZE_MAX;
	packed = lode_bitpack_size(n, w);
	if (packed > (size_t)(end - in) || (size_t)(end - in) - packed < 2)
		return SIZE_MAX;
	count = in[packed];
	hw = in[packed + 1];
	if (count == 0 || count > n || hw == 0 || hw > 32 - w)
		return SIZE_MAX;
	size = packed + 2 + count + lode_bitpack_size(count, (unsigned)hw);
	if (size > (size_t)(end - in))
		return SIZE_MAX;
	*width = w + (unsigned)hw;
	return size;
}

int lode_pfor_patch(const uint8_t *in, const uint8_t *end, uint32_t *out,
                    size_t n, uint8_t header)
{
	unsigned w = lode_pfor_width(header);
	const uint8_t *e = in + lode_bitpack_size(n, w);
	const uint8_t *index = e + 2, *high = e + 2 + e[0];
	size_t count = e[0];
	unsigned hw = e[1];
	const uint64_t mask = ((uint64_t)1 << hw) - 1;
	size_t bit = 0;
	unsigned prev = 0;

	/* Indices increase from 0: each is above the previous one plus 1. */
	for (size_t j = 0; j < count; j++, bit += hw) {
		unsigned i = index[j];
		uint64_t v;
		if (i < prev || i >= n)
			return LODE_ECORRUPT;
		prev = i + 1;
		/* One load holds the value (hw <= 32, shift <= 7) where 8 bytes
		 * are readable; near end, a byte at a time. */
		if ((size_t)(end - high) >= bit / 8 + 8) {
			v = load_le64(high + bit / 8) >> (bit % 8);
		} else {
			v = 0;
			for (size_t b = 0; b < hw; b++)
				v |= (uint64_t)(high[(bit + b) / 8] >> ((bit + b) % 8) & 1)
				     << b;
		}
		out[i] |= (uint32_t)(v & mask) << w;
	}
	return LODE_OK;
}

uint8_t lode_small8_floor(uint32_t v)
{
	unsigned e;

	if (v < 32)
		return (uint8_t)v;
	if (v >= LODE_SMALL8_MAX)
		return 255;
	e = lode_bits_needed(v) - 1; /* 5..18: v is in [2^e, 2^(e+1)) */
	return (uint8_t)(32 + 16 * (e - 5) + ((v >> (e - 4)) - 16));
}

size_t lode_impacts_encode(uint8_t *out, const uint32_t *freqs,
                           const uint32_t *lengths, size_t n)
{
	uint32_t top[256] = {0}; /* the highest frequency of each length code */
	uint32_t prev = 0, count = 0;
	size_t len = 1;

	for (size_t i = 0; i < n; i++) {
		uint8_t code = lode_small8_floor(lengths[i]);
		if (freqs[i] > top[code])
			top[code] = freqs[i];
	}
	/* Shortest first: a code is kept if its frequency beats every shorter
	 * one's (a skyline, so no sort): that is the list, in order. */
	for (unsigned code = 0; code < 256; code++) {
		if (top[code] <= prev)
			continue;
		len += lode_vbyte_put(out + len, top[code] - prev);
		out[len++] = (uint8_t)code;
		prev = top[code];
		count++;
	}
	out[0] = (uint8_t)count;
	return len;
}

int lode_impacts_count(const uint8_t **p, const uint8_t *end, uint32_t *count)
{
	if (*p >= end || **p == 0 || **p > 128)
		return LODE_ECORRUPT;
	*count = *(*p)++;
	return LODE_OK;
}

int lode_impacts_next(const uint8_t **p, const uint8_t *end, uint32_t *freq,
                      uint32_t *length)
{
	uint32_t gap;

	if (lode_vbyte_get32(p, end, &gap) || gap == 0 || gap > UINT32_MAX - *freq ||
	    *p >= end)
		return LODE_ECORRUPT;
	*freq += gap;
	*length = lode_small8_value(*(*p)++);
	return LODE_OK;
}

int lode_impacts_skip(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *q = *p;
	uint32_t count, freq = 0, length;

	if (lode_impacts_count(&q, end, &count))
		return LODE_ECORRUPT;
	for (uint32_t k = 0; k < count; k++)
		if (lode_impacts_next(&q, end, &freq, &length))
			return LODE_ECORRUPT;
	*p = q;
	return LODE_OK;
}

/* ---- bit streams: Rice codes of positions ------------------------------ */

void lode_bitwriter_flush(lode_bitwriter *bw)
{
	if (bw->nbits)
		bw->out[bw->bytes++] = (uint8_t)bw->acc;
	bw->acc = 0;
	bw->nbits = 0;
}

void lode_rice_put(lode_bitwriter *bw, const uint32_t *v, size_t n,
                   unsigned k)
{
	uint8_t *out = bw->out + bw->bytes;
	uint64_t acc = bw->acc;   /* pending bits, the oldest in bit 0 */
	unsigned nb = bw->nbits;  /* pending bits in acc, < 32 in the loops */
	const uint32_t mask = ((uint32_t)1 << k) - 1;

	assert(k < 32 && nb < 8);
#define PUT32_IF_FULL()                          \
	do {                                     \
		if (nb >= 32) {                  \
			store_le32(out, (uint32_t)acc); \
			out += 4;                \
			acc >>= 32;              \
			nb -= 32;                \
		}                                \
	} while (0)
	for (size_t i = 0; k && i < n; i++) {
		acc |= (uint64_t)(v[i] & mask) << nb;
		nb += k;
		PUT32_IF_FULL();
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t q = v[i] >> k;
		for (; q >= 32; q -= 32) {
			/* 32 zero bits: the pending ones go out, as many stay. */
			store_le32(out, (uint32_t)acc);
			out += 4;
			acc >>= 32;
		}
		acc |= (uint64_t)1 << (nb + q);
		nb += q + 1;
		PUT32_IF_FULL();
	}
#undef PUT32_IF_FULL
	for (; nb >= 8; nb -= 8) {
		*out++ = (uint8_t)acc;
		acc >>= 8;
	}
	bw->bytes = (size_t)(out - bw->out);
	bw->acc = acc;
	bw->nbits = nb;
}

/* Bits set in w (SWAR: no popcnt instruction is assumed). */
static LODE_ALWAYS_INLINE unsigned count_ones(uint64_t w)
{
	w = w - ((w >> 1) & 0x5555555555555555ull);
	w = (w & 0x3333333333333333ull) + ((w >> 2) & 0x3333333333333333ull);
	w = (w + (w >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((w * 0x0101010101010101ull) >> 56);
}

int lode_ones_skip(const uint8_t *in, uint64_t *bit, uint64_t end, uint64_t m)
{
	uint64_t at = *bit;

	while (m > 0) {
		uint64_t w = lode_peek_bits(in, at);
		unsigned c = count_ones(w);
		if (c < m) {
			m -= c;
			at += LODE_PEEK_VALID;
			if (at > end)
				return LODE_ECORRUPT;
			continue;
		}
		/* The m-th one of w: drop the m - 1 below it. */
		while (--m > 0)
			w &= w - 1;
		at += lode_lowest_bit(w) + 1;
	}
	if (at > end)
		return LODE_ECORRUPT;
	*bit = at;
	return LODE_OK;
}

unsigned lode_rice_param_base(uint64_t sum, uint64_t n)
{
	uint64_t mean = sum / n;
	unsigned k0 = mean > UINT32_MAX ? 32 : lode_bits_needed((uint32_t)mean);

	k0 = k0 > 2 ? k0 - 2 : 0;
	return k0 > 29 ? 29 : k0;
}

unsigned lode_rice_plan(const uint32_t *v, size_t n, uint64_t *bits)
{
	uint64_t sum = 0, cost[3] = {0};
	unsigned k0, best = 0;

	for (size_t i = 0; i < n; i++)
		sum += v[i];
	k0 = lode_rice_param_base(sum, n);
	for (size_t i = 0; i < n; i++) {
		cost[0] += v[i] >> k0;
		cost[1] += v[i] >> (k0 + 1);
		cost[2] += v[i] >> (k0 + 2);
	}
	for (unsigned c = 0; c < 3; c++)
		cost[c] += (uint64_t)n * (k0 + c + 1);
	for (unsigned c = 1; c < 3; c++)
		if (cost[c] < cost[best])
			best = c;
	*bits = cost[best];
	return k0 + best;
}
