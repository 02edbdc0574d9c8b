/*
 * test_codec.c -- VByte, bit packing (with exceptions: PFor) and the bit
 * streams of positions:
 * golden byte layouts, random round trips against a bit-by-bit
 * reference, edge values, and truncated or
 * malformed input, which must fail with LODE_ECORRUPT without reading past
 * the end.  Inputs under test sit at the very end of their own malloc'd
 * block, so AddressSanitizer reports any read past `end`.
 *
 * Random cases use the seed in $LODE_TEST_SEED (default below); a failing
 * check prints it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "lode.h"
#include "support.h"

#define DEFAULT_SEED UINT64_C(20240611)

static uint64_t seed = DEFAULT_SEED;

/* Like assert_true, but says which seed and case failed. */
#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			print_error("seed %" PRIu64 ": ", seed); \
			print_error(__VA_ARGS__); \
			print_error("\n"); \
			fail_msg("check failed: %s", #cond); \
		} \
	} while (0)

static const size_t counts[] = { 0, 1, 2, 7, 8, 127, 128, 129, 1000 };
#define NCOUNTS (sizeof(counts) / sizeof(counts[0]))

static void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	assert_non_null(p);
	return p;
}

/*
 * A copy of src[0, len) that ends exactly where its allocation ends, so that
 * AddressSanitizer catches any read past it (for len 0, a read at the start).
 * Free *base.
 */
static const uint8_t *exact_copy(const void *src, size_t len, void **base)
{
	size_t alloc = len ? len : 1;
	uint8_t *block = xmalloc(alloc);

	if (len)
		memcpy(block + alloc - len, src, len);
	*base = block;
	return block + alloc - len;
}

static uint32_t width_mask(unsigned width)
{
	return (uint32_t)((UINT64_C(1) << width) - 1);
}

/* The definition in codec.h, one bit at a time. */
static void reference_pack(uint8_t *out, const uint32_t *in, size_t n,
                           unsigned width)
{
	size_t i, bit;
	unsigned b;

	memset(out, 0, (n * width + 7) / 8);
	for (i = 0; i < n; i++) {
		for (b = 0; b < width; b++) {
			bit = i * width + b;
			if (in[i] >> b & 1)
				out[bit / 8] |= (uint8_t)(1u << bit % 8);
		}
	}
}

/* Bytes VByte takes for v. */
static size_t vbyte_len(uint64_t v)
{
	size_t len = 1;

	while (v >= 0x80) {
		v >>= 7;
		len++;
	}
	return len;
}

/* ---- bit packing ----------------------------------------------------- */

static void bits_needed_counts_significant_bits(void **state)
{
	unsigned b;

	(void)state;
	assert_int_equal(lode_bits_needed(0), 0);
	assert_int_equal(lode_bits_needed(1), 1);
	assert_int_equal(lode_bits_needed(2), 2);
	assert_int_equal(lode_bits_needed(3), 2);
	assert_int_equal(lode_bits_needed(127), 7);
	assert_int_equal(lode_bits_needed(128), 8);
	assert_int_equal(lode_bits_needed(UINT32_MAX), 32);
	for (b = 1; b <= 32; b++) {
		assert_int_equal(lode_bits_needed(UINT32_C(1) << (b - 1)), b);
		assert_int_equal(lode_bits_needed(width_mask(b)), b);
	}
}

static void bitpack_size_rounds_up_to_bytes(void **state)
{
	size_t i;
	unsigned w;

	(void)state;
	for (w = 0; w <= 32; w++)
		for (i = 0; i < NCOUNTS; i++)
			assert_int_equal(lode_bitpack_size(counts[i], w),
			                 (counts[i] * w + 7) / 8);
	assert_int_equal(lode_bitpack_size(3, 2), 1);
	assert_int_equal(lode_bitpack_size(5, 2), 2);
	assert_int_equal(lode_bitpack_size(128, 7), 112);
	assert_int_equal(lode_bitpack_size(SIZE_MAX, 0), 0);
	/* Too large to exist: saturates rather than wrapping. */
	assert_true(lode_bitpack_size(SIZE_MAX, 32) == SIZE_MAX);
	assert_true(lode_bitpack_size(SIZE_MAX / 4, 32) == SIZE_MAX);
}

static void check_golden_pack(const uint32_t *in, size_t n, unsigned width,
                              const uint8_t *want, size_t want_len)
{
	uint8_t packed[64];
	uint32_t out[64];
	const uint8_t *data;
	void *base;

	assert_int_equal(lode_bitpack_size(n, width), want_len);
	memset(packed, 0xa5, sizeof(packed));
	lode_bitpack(packed, in, n, width);
	assert_memory_equal(packed, want, want_len);
	assert_int_equal(packed[want_len], 0xa5);
	data = exact_copy(want, want_len, &base);
	assert_int_equal(lode_bitunpack(data, data + want_len, out, n, width),
	                 LODE_OK);
	assert_memory_equal(out, in, n * sizeof(*in));
	free(base);
}

static void bitpack_golden_layout(void **state)
{
	static const uint32_t a[] = { 1, 2, 3 };
	static const uint8_t a_bytes[] = { 0x39 };
	static const uint32_t b[] = { 0xabc, 0x123 };
	static const uint8_t b_bytes[] = { 0xbc, 0x3a, 0x12 };
	static const uint32_t c[] = { 0x01020304, 0xffffffff };
	static const uint8_t c_bytes[] = { 4, 3, 2, 1, 0xff, 0xff, 0xff, 0xff };
	static const uint32_t d[] = { 1, 0, 1, 1, 0, 0, 0, 0, 1 };
	static const uint8_t d_bytes[] = { 0x0d, 0x01 };
	static const uint32_t e[] = { 0x7f, 0, 0x7f };
	static const uint8_t e_bytes[] = { 0x7f, 0xc0, 0x1f };
	static const uint32_t f[] = { 5, 0, 7 };
	static const uint8_t f_bytes[] = { 0x05, 0x00, 0x00, 0x00, 0xc0, 0x01,
	                                   0x00, 0x00 };
	static const uint32_t g[] = { 0, 0, 0 };

	(void)state;
	check_golden_pack(a, 3, 2, a_bytes, sizeof(a_bytes));
	check_golden_pack(b, 2, 12, b_bytes, sizeof(b_bytes));
	check_golden_pack(c, 2, 32, c_bytes, sizeof(c_bytes));
	check_golden_pack(d, 9, 1, d_bytes, sizeof(d_bytes));
	check_golden_pack(e, 3, 7, e_bytes, sizeof(e_bytes));
	check_golden_pack(f, 3, 19, f_bytes, sizeof(f_bytes));
	check_golden_pack(g, 3, 0, NULL, 0);
}

/*
 * Pack in[0, n) and check the bytes against the reference and that nothing
 * is written past them; then unpack from inputs ending 0..9 bytes after the
 * packed data (garbage 0xff bytes in between), which moves the split
 * between the fast path and the careful tail.
 */
static void check_round_trip(const uint32_t *in, size_t n, unsigned width,
                             const char *what)
{
	size_t size = lode_bitpack_size(n, width), slack, i;
	uint8_t *packed = xmalloc(size + 16);
	uint8_t *want = xmalloc(size);
	uint8_t *padded = xmalloc(size + 9);
	uint32_t *out = xmalloc((n + 1) * sizeof(*out));
	const uint8_t *data;
	void *base;
	int rc;

	memset(packed, 0xa5, size + 16);
	lode_bitpack(packed, in, n, width);
	for (i = size; i < size + 16; i++)
		CHECK(packed[i] == 0xa5,
		      "%s: width %u n %zu: bitpack wrote byte %zu of %zu", what,
		      width, n, i, size);
	reference_pack(want, in, n, width);
	CHECK(memcmp(packed, want, size) == 0,
	      "%s: width %u n %zu: bytes differ from the reference", what,
	      width, n);

	memcpy(padded, packed, size);
	memset(padded + size, 0xff, 9);
	for (slack = 0; slack <= 9; slack++) {
		data = exact_copy(padded, size + slack, &base);
		out[n] = 0xdeadbeef;
		rc = lode_bitunpack(data, data + size + slack, out, n, width);
		CHECK(rc == LODE_OK, "%s: width %u n %zu slack %zu: rc %d",
		      what, width, n, slack, rc);
		for (i = 0; i < n; i++)
			CHECK(out[i] == in[i],
			      "%s: width %u n %zu slack %zu: value %zu is %"
			      PRIu32 ", want %" PRIu32, what, width, n, slack,
			      i, out[i], in[i]);
		CHECK(out[n] == 0xdeadbeef,
		      "%s: width %u n %zu: bitunpack wrote past n", what,
		      width, n);
		free(base);
	}
	free(out);
	free(padded);
	free(want);
	free(packed);
}

static void bitpack_round_trips_random_values(void **state)
{
	uint32_t *in = xmalloc(1000 * sizeof(*in));
	test_rng rng;
	unsigned w, round;
	size_t c, i;

	(void)state;
	test_rng_seed(&rng, seed);
	for (round = 0; round < 4; round++) {
		for (w = 0; w <= 32; w++) {
			for (c = 0; c < NCOUNTS; c++) {
				for (i = 0; i < counts[c]; i++)
					in[i] = (uint32_t)(test_rng_next(&rng) >>
					                   32) & width_mask(w);
				check_round_trip(in, counts[c], w, "random");
			}
		}
	}
	free(in);
}

static void bitpack_round_trips_edge_values(void **state)
{
	static const uint32_t edges[] = { 0, 1, 127, 128, UINT32_MAX };
	uint32_t *in = xmalloc(1000 * sizeof(*in));
	test_rng rng;
	uint32_t v;
	unsigned w;
	size_t c, e, i;

	(void)state;
	test_rng_seed(&rng, seed);
	for (w = 0; w <= 32; w++) {
		for (c = 0; c < NCOUNTS; c++) {
			/* Every value the largest the width holds. */
			for (i = 0; i < counts[c]; i++)
				in[i] = width_mask(w);
			check_round_trip(in, counts[c], w, "all max");
			/* Edge values that fit, in random order. */
			for (i = 0; i < counts[c]; i++) {
				do {
					e = test_rng_below(&rng, 5);
					v = edges[e];
				} while (v > width_mask(w));
				in[i] = v;
			}
			check_round_trip(in, counts[c], w, "edges");
		}
	}
	free(in);
}

static void bitunpack_rejects_truncated_input(void **state)
{
	uint32_t *in = xmalloc(1000 * sizeof(*in));
	uint32_t *out = xmalloc(1000 * sizeof(*out));
	uint8_t *packed = xmalloc(4000);
	const uint8_t *data;
	test_rng rng;
	void *base;
	size_t c, i, len, size;
	unsigned w;
	int rc;

	(void)state;
	test_rng_seed(&rng, seed);
	for (w = 1; w <= 32; w++) {
		for (c = 0; c < NCOUNTS; c++) {
			for (i = 0; i < counts[c]; i++)
				in[i] = (uint32_t)test_rng_next(&rng) &
				        width_mask(w);
			size = lode_bitpack_size(counts[c], w);
			lode_bitpack(packed, in, counts[c], w);
			for (len = 0; len < size; len++) {
				data = exact_copy(packed, len, &base);
				rc = lode_bitunpack(data, data + len, out,
				                    counts[c], w);
				CHECK(rc == LODE_ECORRUPT,
				      "width %u n %zu: %zu of %zu bytes gave %d",
				      w, counts[c], len, size, rc);
				free(base);
			}
		}
	}
	free(packed);
	free(out);
	free(in);
}

static void bitunpack_rejects_width_over_32(void **state)
{
	static const uint8_t zeros[1024];
	uint32_t out[8];

	(void)state;
	assert_int_equal(lode_bitunpack(zeros, zeros + sizeof(zeros), out, 8,
	                                33), LODE_ECORRUPT);
	assert_int_equal(lode_bitunpack(zeros, zeros + sizeof(zeros), out, 8,
	                                64), LODE_ECORRUPT);
	assert_int_equal(lode_bitunpack(zeros, zeros + sizeof(zeros), out, 0,
	                                4096), LODE_ECORRUPT);
	assert_int_equal(lode_bitunpack(zeros, zeros + sizeof(zeros), out, 1,
	                                -1u), LODE_ECORRUPT);
}

static void bitunpack_rejects_impossible_count(void **state)
{
	static const uint8_t zeros[64];
	uint32_t out[1];

	(void)state;
	/* A corrupt count whose byte size would overflow must not pass. */
	assert_int_equal(lode_bitunpack(zeros, zeros + sizeof(zeros), out,
	                                SIZE_MAX, 32), LODE_ECORRUPT);
	assert_int_equal(lode_bitunpack(zeros, zeros + sizeof(zeros), out,
	                                SIZE_MAX / 4 + 1, 32), LODE_ECORRUPT);
	assert_int_equal(lode_bitunpack(zeros, zeros + sizeof(zeros), out,
	                                SIZE_MAX / 8 * 3, 24), LODE_ECORRUPT);
}

static void bitunpack_width_zero_reads_nothing(void **state)
{
	uint32_t out[129];
	const uint8_t *data;
	void *base;
	size_t i;

	(void)state;
	data = exact_copy(NULL, 0, &base);
	memset(out, 0xff, sizeof(out));
	assert_int_equal(lode_bitunpack(data, data, out, 128, 0), LODE_OK);
	for (i = 0; i < 128; i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(out[128], 0xffffffff);
	assert_int_equal(lode_bitunpack(data, data, out, 0, 5), LODE_OK);
	assert_int_equal(lode_bitunpack(data, data, out, 1, 5), LODE_ECORRUPT);
	free(base);
}

/* ---- patched frame of reference ---------------------------------------- */

/* Bytes of the part of in[0, n) at width w, by FORMAT.md's definition. */
static size_t pfor_bytes_at(const uint32_t *in, size_t n, unsigned w,
                            unsigned top)
{
	size_t e = 0;

	for (size_t i = 0; i < n; i++)
		e += lode_bits_needed(in[i]) > w;
	return lode_bitpack_size(n, w) + (e ? 2 + e + lode_bitpack_size(e, top - w) : 0);
}

/* Plan, encode and decode in[0, n) from a buffer that ends where the part
 * does, with the slack the fast unpacker may read beyond it; the plan must
 * be the cheapest width, the widest on a tie. */
static void pfor_round_trip(const uint32_t *in, size_t n, const char *what)
{
	uint8_t buf[LODE_PFOR_MAX_VALUES * 5 + 16 + 64];
	uint32_t out[LODE_PFOR_MAX_VALUES];
	size_t bytes, plain, best = SIZE_MAX;
	unsigned top = 0, width, best_w = 0;
	uint8_t header = lode_pfor_plan(in, n, 1, &bytes);
	void *base;
	const uint8_t *copy;

	for (size_t i = 0; i < n; i++)
		if (lode_bits_needed(in[i]) > top)
			top = lode_bits_needed(in[i]);
	for (unsigned w = 0; w <= top; w++) {
		size_t b = pfor_bytes_at(in, n, w, top);
		if (b <= best) {
			best = b;
			best_w = w;
		}
	}
	CHECK(bytes == best && (header & 0x7f) == best_w,
	      "%s: plan %u (%zu bytes), best %u (%zu)", what, header & 0x7f,
	      bytes, best_w, best);
	CHECK(((header & LODE_PFOR_EXCEPTIONS) != 0) == (best_w < top),
	      "%s: exception flag", what);
	CHECK(lode_pfor_plan(in, n, 0, &plain) == top &&
	      plain == lode_bitpack_size(n, top), "%s: plan without exceptions",
	      what);
	memset(buf, 0xa5, sizeof(buf));
	lode_pfor_encode(buf, in, n, header);
	copy = exact_copy(buf, bytes + 64, &base);
	CHECK(lode_pfor_size(copy, copy + bytes, n, header, &width) == bytes,
	      "%s: size", what);
	CHECK(width == top || (top == 0 && width == 0), "%s: width %u, top %u",
	      what, width, top);
	CHECK(lode_pfor_size(copy, copy + bytes - (bytes > 0), n, header,
	                     &width) == (bytes ? SIZE_MAX : 0),
	      "%s: a byte short", what);
	memset(out, 0xff, sizeof(out));
	CHECK(lode_pfor_decode(copy, copy + bytes + 64, out, n, header) == LODE_OK,
	      "%s: decode", what);
	for (size_t i = 0; i < n; i++)
		CHECK(out[i] == in[i], "%s: value %zu: %u, not %u", what, i, out[i],
		      in[i]);
	/* And with no slack at all: the byte-at-a-time paths. */
	free(base);
	copy = exact_copy(buf, bytes, &base);
	CHECK(lode_pfor_decode(copy, copy + bytes, out, n, header) == LODE_OK,
	      "%s: decode without slack", what);
	for (size_t i = 0; i < n; i++)
		CHECK(out[i] == in[i], "%s: value %zu without slack", what, i);
	free(base);
}

static void pfor_round_trips_random_blocks(void **state)
{
	uint32_t in[LODE_PFOR_MAX_VALUES];
	test_rng rng;
	char what[64];

	(void)state;
	test_rng_seed(&rng, seed);
	for (int round = 0; round < 3000; round++) {
		size_t n = 1 + test_rng_below(&rng, LODE_PFOR_MAX_VALUES);
		unsigned base = test_rng_below(&rng, 12);
		unsigned outlier = 1 + test_rng_below(&rng, 32);
		unsigned rate = 1 + test_rng_below(&rng, 40);
		for (size_t i = 0; i < n; i++) {
			unsigned bits = test_rng_below(&rng, rate) ? base : outlier;
			in[i] = bits ? (uint32_t)(test_rng_next(&rng) >> (64 - bits)) : 0;
		}
		snprintf(what, sizeof(what), "round %d, n %zu", round, n);
		pfor_round_trip(in, n, what);
	}
}

static void pfor_round_trips_edge_blocks(void **state)
{
	uint32_t in[LODE_PFOR_MAX_VALUES];

	(void)state;
	memset(in, 0, sizeof(in));
	pfor_round_trip(in, 1, "one zero");
	pfor_round_trip(in, LODE_PFOR_MAX_VALUES, "all zero");
	in[77] = UINT32_MAX;
	pfor_round_trip(in, LODE_PFOR_MAX_VALUES, "one 2^32-1 among zeros");
	in[0] = UINT32_MAX;
	in[127] = 1u << 31;
	pfor_round_trip(in, LODE_PFOR_MAX_VALUES, "exceptions at both ends");
	for (size_t i = 0; i < LODE_PFOR_MAX_VALUES; i++)
		in[i] = UINT32_MAX - (uint32_t)i;
	pfor_round_trip(in, LODE_PFOR_MAX_VALUES, "all 32 bits");
	pfor_round_trip(in, 1, "one value of 32 bits");
}

static void pfor_rejects_bad_exceptions(void **state)
{
	/* n = 4 values of width 1 (1 byte), then the exceptions. */
	static const struct {
		uint8_t bytes[8];
		size_t len;
		uint8_t header;
		int size_ok;
		const char *what;
	} cases[] = {
		{{0x0f, 1, 3, 2, 0x07}, 5, 0x81, 1, "valid: value 2 is 15"},
		{{0x0f, 0, 3, 2, 0x07}, 5, 0x81, 0, "count 0"},
		{{0x0f, 5, 3, 0, 1, 2, 3, 4}, 8, 0x81, 0, "count above n"},
		{{0x0f, 1, 0, 2}, 4, 0x81, 0, "high width 0"},
		{{0x0f, 1, 32, 2, 1, 1, 1, 1}, 8, 0x81, 0, "high width past 32 bits"},
		{{0x0f, 1, 3, 2}, 4, 0x81, 0, "high bits cut off"},
		{{0x0f, 2}, 2, 0x81, 0, "header cut off"},
		{{0x0f, 1, 3, 4, 0x07}, 5, 0x81, 1, "index equal to n"},
		{{0x0f, 2, 3, 2, 2, 0x3f}, 6, 0x81, 1, "indices not increasing"},
		{{0x0f}, 1, 0xa1, 0, "width above 32"},
		{{0x0f}, 1, 33, 0, "plain width above 32"},
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint32_t out[4];
		unsigned width;
		void *base;
		const uint8_t *in = exact_copy(cases[c].bytes, cases[c].len, &base);
		size_t size = lode_pfor_size(in, in + cases[c].len, 4,
		                             cases[c].header, &width);
		CHECK((size == cases[c].len) == cases[c].size_ok, "%s: size %zu",
		      cases[c].what, size);
		if (size != SIZE_MAX) {
			int rc = lode_pfor_decode(in, in + cases[c].len, out, 4,
			                          cases[c].header);
			CHECK((rc == LODE_OK) == (c == 0), "%s: decode %d",
			      cases[c].what, rc);
		}
		free(base);
	}
	{
		uint32_t out[4];
		assert_int_equal(lode_pfor_decode(cases[0].bytes, cases[0].bytes + 8,
		                                  out, 4, 0x81), LODE_OK);
		assert_int_equal(out[0], 1);
		assert_int_equal(out[2], 15);
	}
}

/* ---- bit streams (positions) ------------------------------------------ */

/* A bit writer over a zeroed buffer of cap bytes. */
static lode_bitwriter bitwriter_on(uint8_t *buf, size_t cap)
{
	lode_bitwriter bw = {0};

	memset(buf, 0, cap);
	bw.out = buf;
	return bw;
}

/* Bit i of a stream, the reference reading of Bits(w) in FORMAT.md. */
static unsigned stream_bit(const uint8_t *in, uint64_t i)
{
	return in[i / 8] >> (i % 8) & 1;
}

static void bit_streams_golden_layout(void **state)
{
	uint8_t buf[16];
	lode_bitwriter bw = bitwriter_on(buf, sizeof(buf));

	(void)state;
	/* K = 2 in 5 bits, then Low 3 (2 bits), then High 1 and 0 in unary:
	 * 01000 11 01 1 -> bits from 0: 0,1,0,0,0, 1,1, 0,1, 1. */
	lode_bits_put(&bw, 2, 5);
	lode_bits_put(&bw, 3, 2);
	lode_unary_put(&bw, 1);
	lode_unary_put(&bw, 0);
	lode_bitwriter_flush(&bw);
	assert_int_equal(bw.bytes, 2);
	assert_int_equal(buf[0], 0x62); /* 0b01100010 */
	assert_int_equal(buf[1], 0x03);
	assert_int_equal(lode_bits_get(buf, 0, 5), 2);
	assert_int_equal(lode_bits_get(buf, 5, 2), 3);
}

/*
 * Random streams of (low bits, unary) pairs of random widths, with long
 * unary runs across load windows: read back value by value, and passed by
 * lode_ones_skip in random strides, always landing where decoding does.
 */
static void bit_streams_round_trip_random(void **state)
{
	enum { N = 3000 };
	static uint32_t low[N], width[N], q[N];
	static uint64_t hi_at[N + 1];
	size_t cap = N * 40 + 64;
	uint8_t *buf = xmalloc(cap);
	test_rng rng;

	(void)state;
	test_rng_seed(&rng, seed);
	for (int round = 0; round < 20; round++) {
		lode_bitwriter bw = bitwriter_on(buf, cap);
		uint64_t bit = 0, lowbits = 0, end;
		void *base;
		const uint8_t *in;
		for (size_t i = 0; i < N; i++) {
			width[i] = (uint32_t)test_rng_below(&rng, 33);
			low[i] = width[i] ? (uint32_t)test_rng_next(&rng) &
			                    width_mask(width[i]) : 0;
			q[i] = test_rng_below(&rng, 8) ? (uint32_t)test_rng_below(&rng, 4)
			                               : (uint32_t)test_rng_below(&rng, 200);
			lode_bits_put(&bw, low[i], width[i]);
			lowbits += width[i];
		}
		for (size_t i = 0; i < N; i++)
			lode_unary_put(&bw, q[i]);
		lode_bitwriter_flush(&bw);
		/* The reader's contract: LODE_BITS_READ_PAD bytes past the end. */
		memset(buf + bw.bytes, 0, LODE_BITS_READ_PAD);
		in = exact_copy(buf, bw.bytes + LODE_BITS_READ_PAD, &base);
		end = (uint64_t)bw.bytes * 8;
		for (size_t i = 0; i < N; i++) {
			CHECK(lode_bits_get(in, bit, width[i]) == low[i],
			      "round %d value %zu low bits", round, i);
			for (uint32_t b = 0; b < width[i]; b++)
				CHECK(stream_bit(in, bit + b) == (low[i] >> b & 1),
				      "round %d value %zu bit %u", round, i, b);
			bit += width[i];
		}
		assert_true(bit == lowbits);
		for (size_t i = 0; i < N; i++) {
			uint64_t got;
			hi_at[i] = bit;
			CHECK(lode_unary_get(in, &bit, end, &got) == LODE_OK &&
			      got == q[i], "round %d unary %zu", round, i);
		}
		hi_at[N] = bit;
		for (size_t i = 0; i < N;) {
			size_t m = test_rng_below(&rng, 4) ? test_rng_below(&rng, 5)
			                                   : test_rng_below(&rng, 300);
			uint64_t at = hi_at[i];
			if (m > N - i)
				m = N - i;
			CHECK(lode_ones_skip(in, &at, end, m) == LODE_OK &&
			      at == hi_at[i + m], "round %d skip %zu from %zu",
			      round, m, i);
			i += m ? m : 1;
		}
		free(base);
	}
	free(buf);
}

/*
 * lode_rice_put against value-by-value lode_bits_put and lode_unary_put:
 * the same bytes and the same pending bits, for every parameter, from
 * every bit offset a writer can be at, with high parts past 32 and 64.
 */
static void rice_put_equals_value_by_value(void **state)
{
	enum { N = 700 };
	static uint32_t v[N];
	size_t cap = N * 48 + 64;
	uint8_t *a = xmalloc(cap), *b = xmalloc(cap);
	test_rng rng;

	(void)state;
	test_rng_seed(&rng, seed);
	for (unsigned k = 0; k < 32; k++) {
		for (unsigned lead = 0; lead < 8; lead++) {
			size_t n = test_rng_below(&rng, N + 1);
			lode_bitwriter wa = bitwriter_on(a, cap);
			lode_bitwriter wb = bitwriter_on(b, cap);
			for (size_t i = 0; i < n; i++) {
				uint32_t q = test_rng_below(&rng, 16)
				                     ? (uint32_t)test_rng_below(&rng, 5)
				                     : (uint32_t)test_rng_below(&rng, 150);
				uint32_t low = k ? (uint32_t)test_rng_next(&rng) &
				                           width_mask(k)
				                 : 0;
				/* Keep v < 2^32: a large q only with a small k. */
				if (k + lode_bits_needed(q) > 32)
					q &= width_mask(32 - k);
				v[i] = (uint32_t)((uint64_t)q << k) | low;
			}
			/* Some bits already pending, as after the parameter. */
			lode_bits_put(&wa, 0x5a & width_mask(lead), lead);
			lode_bits_put(&wb, 0x5a & width_mask(lead), lead);
			for (size_t i = 0; k && i < n; i++)
				lode_bits_put(&wa, v[i] & width_mask(k), k);
			for (size_t i = 0; i < n; i++)
				lode_unary_put(&wa, v[i] >> k);
			lode_rice_put(&wb, v, n, k);
			assert_int_equal(wa.bytes, wb.bytes);
			assert_int_equal(wa.nbits, wb.nbits);
			assert_true(wa.acc == wb.acc);
			assert_memory_equal(a, b, wa.bytes);
		}
	}
	free(a);
	free(b);
}

/*
 * lode_rice_plan: the bits it counts are the bits lode_rice_put writes, and
 * no parameter from 0 to 31 codes the values in fewer bits than the one it
 * chose by more than the slack of trying only three (a geometric-like
 * spread is near its best at log2 of the mean).
 */
static void rice_plan_counts_the_bits_written(void **state)
{
	enum { N = 128 };
	uint32_t v[N];
	uint8_t buf[N * 40 + 64];
	test_rng rng;

	(void)state;
	test_rng_seed(&rng, seed);
	for (int round = 0; round < 2000; round++) {
		size_t n = 1 + test_rng_below(&rng, N);
		unsigned shift = (unsigned)test_rng_below(&rng, 28);
		uint64_t bits, best = UINT64_MAX;
		unsigned k;
		lode_bitwriter w = bitwriter_on(buf, sizeof(buf));
		for (size_t i = 0; i < n; i++)
			v[i] = (uint32_t)test_rng_below(&rng, 1u << shift) >>
			       test_rng_below(&rng, 4);
		k = lode_rice_plan(v, n, &bits);
		assert_true(k < 32);
		lode_rice_put(&w, v, n, k);
		assert_true(w.bytes * 8 + w.nbits == bits);
		for (unsigned j = 0; j < 32; j++) {
			uint64_t c = (uint64_t)n * (j + 1);
			for (size_t i = 0; i < n; i++)
				c += v[i] >> j;
			if (c < best)
				best = c;
		}
		assert_true(bits <= best + best / 8 + n);
	}
}

static void bit_streams_edge_values(void **state)
{
	static const uint32_t qs[] = { 0, 1, 23, 24, 25, 55, 56, 57, 58, 113,
	                               114, 1000 };
	uint8_t buf[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		/* Start at every offset in a byte. */
		for (unsigned shift = 0; shift < 8; shift++) {
			lode_bitwriter bw = bitwriter_on(buf, sizeof(buf));
			uint64_t bit, got;
			lode_bits_put(&bw, 0, shift);
			lode_bits_put(&bw, UINT32_MAX, 32);
			lode_unary_put(&bw, qs[i]);
			lode_unary_put(&bw, 0);
			lode_bitwriter_flush(&bw);
			assert_int_equal(lode_bits_get(buf, shift, 32), UINT32_MAX);
			bit = shift + 32;
			assert_int_equal(lode_unary_get(buf, &bit, bw.bytes * 8, &got),
			                 LODE_OK);
			assert_true(got == qs[i]);
			assert_true(bit == shift + 32 + qs[i] + 1);
			bit = shift + 32;
			assert_int_equal(lode_ones_skip(buf, &bit, bw.bytes * 8, 2),
			                 LODE_OK);
			assert_true(bit == shift + 32 + qs[i] + 2);
		}
	}
}

/* A code that does not end by the stream's end is corrupt, even when one
 * bits follow in the padding; reads stay within the padding. */
static void bit_streams_reject_codes_past_end(void **state)
{
	uint8_t stream[4 + LODE_BITS_READ_PAD];
	void *base;
	const uint8_t *in;
	uint64_t bit, q;

	(void)state;
	memset(stream, 0, sizeof(stream));
	stream[4] = 0xff; /* ones just past the end */
	in = exact_copy(stream, sizeof(stream), &base);
	bit = 0;
	assert_int_equal(lode_unary_get(in, &bit, 32, &q), LODE_ECORRUPT);
	bit = 0;
	assert_int_equal(lode_ones_skip(in, &bit, 32, 1), LODE_ECORRUPT);
	/* Ones in the stream, but fewer than asked for. */
	free(base);
	stream[0] = 0x05;
	in = exact_copy(stream, sizeof(stream), &base);
	bit = 0;
	assert_int_equal(lode_ones_skip(in, &bit, 32, 2), LODE_OK);
	assert_true(bit == 3);
	bit = 0;
	assert_int_equal(lode_ones_skip(in, &bit, 32, 3), LODE_ECORRUPT);
	bit = 0;
	assert_int_equal(lode_ones_skip(in, &bit, 32, 1000), LODE_ECORRUPT);
	free(base);
}

/* ---- VByte ----------------------------------------------------------- */

static void check_golden_vbyte(uint64_t v, const uint8_t *want, size_t len)
{
	uint8_t buf[LODE_VBYTE_MAX + 4];
	const uint8_t *data, *p;
	uint64_t got = 0;
	void *base;

	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(lode_vbyte_put(buf, v), len);
	assert_memory_equal(buf, want, len);
	assert_int_equal(buf[len], 0xa5);
	data = exact_copy(want, len, &base);
	p = data;
	assert_int_equal(lode_vbyte_get(&p, data + len, &got), LODE_OK);
	assert_true(got == v);
	assert_ptr_equal(p, data + len);
	free(base);
}

static void vbyte_golden_layout(void **state)
{
	static const uint8_t v0[] = { 0x00 };
	static const uint8_t v1[] = { 0x01 };
	static const uint8_t v127[] = { 0x7f };
	static const uint8_t v128[] = { 0x80, 0x01 };
	static const uint8_t v300[] = { 0xac, 0x02 };
	static const uint8_t v16383[] = { 0xff, 0x7f };
	static const uint8_t v16384[] = { 0x80, 0x80, 0x01 };
	static const uint8_t v32max[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	static const uint8_t v63[] = { 0x80, 0x80, 0x80, 0x80, 0x80,
	                               0x80, 0x80, 0x80, 0x80, 0x01 };
	static const uint8_t v64max[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
	                                  0xff, 0xff, 0xff, 0xff, 0x01 };

	(void)state;
	check_golden_vbyte(0, v0, sizeof(v0));
	check_golden_vbyte(1, v1, sizeof(v1));
	check_golden_vbyte(127, v127, sizeof(v127));
	check_golden_vbyte(128, v128, sizeof(v128));
	check_golden_vbyte(300, v300, sizeof(v300));
	check_golden_vbyte(16383, v16383, sizeof(v16383));
	check_golden_vbyte(16384, v16384, sizeof(v16384));
	check_golden_vbyte(UINT32_MAX, v32max, sizeof(v32max));
	check_golden_vbyte(UINT64_C(1) << 63, v63, sizeof(v63));
	check_golden_vbyte(UINT64_MAX, v64max, sizeof(v64max));
}

static const uint64_t vbyte_edges[] = {
	0, 1, 127, 128, 16383, 16384, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
	UINT64_C(1) << 63, UINT64_MAX,
};
#define NEDGES (sizeof(vbyte_edges) / sizeof(vbyte_edges[0]))

static void vbyte_round_trips_edge_values(void **state)
{
	uint8_t buf[LODE_VBYTE_MAX];
	const uint8_t *data, *p;
	uint64_t v, got;
	uint32_t got32 = 0; /* printed when get32 fails */
	void *base;
	size_t e, len;
	unsigned b;
	int rc;

	(void)state;
	/* The listed edges, then every 2^b - 1 and 2^b. */
	for (e = 0; e < NEDGES + 2 * 64; e++) {
		if (e < NEDGES) {
			v = vbyte_edges[e];
		} else {
			b = (unsigned)(e - NEDGES) / 2;
			v = UINT64_C(1) << b;
			if ((e - NEDGES) % 2 == 0)
				v--;
		}
		len = lode_vbyte_put(buf, v);
		CHECK(len == vbyte_len(v), "value %" PRIu64 ": %zu bytes", v,
		      len);
		data = exact_copy(buf, len, &base);
		p = data;
		rc = lode_vbyte_get(&p, data + len, &got);
		CHECK(rc == LODE_OK && got == v && p == data + len,
		      "value %" PRIu64 ": rc %d got %" PRIu64, v, rc, got);
		p = data;
		rc = lode_vbyte_get32(&p, data + len, &got32);
		if (v <= UINT32_MAX)
			CHECK(rc == LODE_OK && got32 == v && p == data + len,
			      "get32 %" PRIu64 ": rc %d got %" PRIu32, v, rc,
			      got32);
		else
			CHECK(rc == LODE_ECORRUPT && p == data,
			      "get32 %" PRIu64 ": rc %d", v, rc);
		free(base);
	}
}

/* A random value whose VByte takes 1..10 bytes, every length alike. */
static uint64_t random_vbyte_value(test_rng *rng)
{
	unsigned bits = 1 + test_rng_below(rng, 64);

	return test_rng_next(rng) >> (64 - bits);
}

static void vbyte_round_trips_random_stream(void **state)
{
	enum { N = 5000 };
	uint64_t *values = xmalloc(N * sizeof(*values));
	uint8_t *buf = xmalloc(N * LODE_VBYTE_MAX);
	const uint8_t *data, *p, *end;
	test_rng rng;
	uint64_t got;
	uint32_t got32;
	size_t i, len = 0;
	void *base;
	int rc;

	(void)state;
	test_rng_seed(&rng, seed);
	for (i = 0; i < N; i++) {
		values[i] = random_vbyte_value(&rng);
		len += lode_vbyte_put(buf + len, values[i]);
	}
	data = exact_copy(buf, len, &base);
	end = data + len;
	p = data;
	for (i = 0; i < N; i++) {
		rc = lode_vbyte_get(&p, end, &got);
		CHECK(rc == LODE_OK && got == values[i],
		      "value %zu: rc %d got %" PRIu64 " want %" PRIu64, i, rc,
		      got, values[i]);
	}
	CHECK(p == end, "stream not consumed");
	p = data;
	for (i = 0; i < N; i++) {
		rc = lode_vbyte_get32(&p, end, &got32);
		if (values[i] <= UINT32_MAX) {
			CHECK(rc == LODE_OK && got32 == values[i],
			      "get32 value %zu: rc %d", i, rc);
		} else {
			CHECK(rc == LODE_ECORRUPT, "get32 value %zu: rc %d",
			      i, rc);
			assert_int_equal(lode_vbyte_skip(&p, end, 1), LODE_OK);
		}
	}
	CHECK(p == end, "stream not consumed by get32");
	free(base);
	free(buf);
	free(values);
}

static void vbyte_rejects_truncated_input(void **state)
{
	uint8_t buf[LODE_VBYTE_MAX];
	const uint8_t *data, *p;
	uint64_t got = 42;
	uint32_t got32 = 42;
	size_t e, len, cut;
	void *base;

	(void)state;
	for (e = 0; e < NEDGES; e++) {
		len = lode_vbyte_put(buf, vbyte_edges[e]);
		for (cut = 0; cut < len; cut++) {
			data = exact_copy(buf, cut, &base);
			p = data;
			CHECK(lode_vbyte_get(&p, data + cut, &got) ==
			      LODE_ECORRUPT && p == data && got == 42,
			      "value %" PRIu64 " cut to %zu bytes",
			      vbyte_edges[e], cut);
			CHECK(lode_vbyte_get32(&p, data + cut, &got32) ==
			      LODE_ECORRUPT && p == data && got32 == 42,
			      "get32 value %" PRIu64 " cut to %zu bytes",
			      vbyte_edges[e], cut);
			CHECK(lode_vbyte_skip(&p, data + cut, 1) ==
			      LODE_ECORRUPT && p == data,
			      "skip value %" PRIu64 " cut to %zu bytes",
			      vbyte_edges[e], cut);
			free(base);
		}
	}
}

/* Expect get (and get32) to reject bytes[0, len) without moving p. */
static void check_vbyte_rejected(const uint8_t *bytes, size_t len)
{
	const uint8_t *data, *p;
	uint64_t got;
	uint32_t got32;
	void *base;

	data = exact_copy(bytes, len, &base);
	p = data;
	assert_int_equal(lode_vbyte_get(&p, data + len, &got), LODE_ECORRUPT);
	assert_ptr_equal(p, data);
	assert_int_equal(lode_vbyte_get32(&p, data + len, &got32),
	                 LODE_ECORRUPT);
	assert_ptr_equal(p, data);
	free(base);
}

static void vbyte_rejects_values_over_64_bits(void **state)
{
	uint8_t bytes[16];
	const uint8_t *p;
	uint64_t got;
	unsigned tenth;

	(void)state;
	/* Eleven bytes: ten with the continuation bit, then a last one. */
	memset(bytes, 0x80, sizeof(bytes));
	bytes[10] = 0x00;
	check_vbyte_rejected(bytes, 11);
	check_vbyte_rejected(bytes, 16);
	/* A tenth byte above 1 carries bits past 63 or a continuation. */
	memset(bytes, 0xff, 9);
	for (tenth = 2; tenth <= 0xff; tenth++) {
		bytes[9] = (uint8_t)tenth;
		bytes[10] = 0x00;
		check_vbyte_rejected(bytes, 11);
	}
	/* 0 and 1 are fine, and the value ends there. */
	bytes[9] = 0x00;
	p = bytes;
	assert_int_equal(lode_vbyte_get(&p, bytes + 11, &got), LODE_OK);
	assert_true(got == UINT64_MAX >> 1);
	assert_ptr_equal(p, bytes + 10);
	bytes[9] = 0x01;
	p = bytes;
	assert_int_equal(lode_vbyte_get(&p, bytes + 11, &got), LODE_OK);
	assert_true(got == UINT64_MAX);
	assert_ptr_equal(p, bytes + 10);
}

static void vbyte_get32_rejects_values_over_32_bits(void **state)
{
	static const uint8_t two32[] = { 0x80, 0x80, 0x80, 0x80, 0x10 };
	static const uint8_t max32[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	uint8_t buf[LODE_VBYTE_MAX];
	const uint8_t *p;
	uint32_t got;
	size_t len;

	(void)state;
	p = max32;
	assert_int_equal(lode_vbyte_get32(&p, max32 + 5, &got), LODE_OK);
	assert_true(got == UINT32_MAX);
	p = two32;
	assert_int_equal(lode_vbyte_get32(&p, two32 + 5, &got),
	                 LODE_ECORRUPT);
	assert_ptr_equal(p, two32);
	len = lode_vbyte_put(buf, UINT64_MAX);
	p = buf;
	assert_int_equal(lode_vbyte_get32(&p, buf + len, &got), LODE_ECORRUPT);
	assert_ptr_equal(p, buf);
}

static void vbyte_skip_lands_where_decoding_does(void **state)
{
	enum { N = 3000 };
	size_t *offsets = xmalloc((N + 1) * sizeof(*offsets));
	uint8_t *buf = xmalloc(N * LODE_VBYTE_MAX);
	const uint8_t *data, *p, *end;
	test_rng rng;
	size_t i, start, k, len = 0;
	unsigned trial;
	void *base;
	int rc;

	(void)state;
	test_rng_seed(&rng, seed);
	for (i = 0; i < N; i++) {
		offsets[i] = len;
		/* Mostly short values, as positions are, some long. */
		len += lode_vbyte_put(buf + len,
		                      test_rng_below(&rng, 4) ?
		                      test_rng_below(&rng, 300) :
		                      random_vbyte_value(&rng));
	}
	offsets[N] = len;
	data = exact_copy(buf, len, &base);
	end = data + len;
	for (trial = 0; trial < 20000; trial++) {
		start = test_rng_below(&rng, N + 1);
		k = trial % 3 ? test_rng_below(&rng, 40)
		              : test_rng_below(&rng, (uint32_t)(N - start + 1));
		if (k > N - start)
			k = N - start;
		p = data + offsets[start];
		rc = lode_vbyte_skip(&p, end, k);
		CHECK(rc == LODE_OK && p == data + offsets[start + k],
		      "skip %zu from value %zu: rc %d, at byte %td want %zu",
		      k, start, rc, p - data, offsets[start + k]);
		/* One value more than there is. */
		p = data + offsets[start];
		rc = lode_vbyte_skip(&p, end, N - start + 1);
		CHECK(rc == LODE_ECORRUPT && p == data + offsets[start],
		      "skip past end from value %zu: rc %d", start, rc);
	}
	p = data;
	assert_int_equal(lode_vbyte_skip(&p, end, 0), LODE_OK);
	assert_ptr_equal(p, data);
	assert_int_equal(lode_vbyte_skip(&p, end, N), LODE_OK);
	assert_ptr_equal(p, end);
	assert_int_equal(lode_vbyte_skip(&p, end, 0), LODE_OK);
	assert_int_equal(lode_vbyte_skip(&p, end, 1), LODE_ECORRUPT);
	assert_ptr_equal(p, end);
	free(base);
	free(buf);
	free(offsets);
}

static void vbyte_skip_rejects_truncated_stream(void **state)
{
	enum { N = 200 };
	uint8_t buf[N * LODE_VBYTE_MAX];
	const uint8_t *data, *p;
	test_rng rng;
	size_t i, cut, len = 0;
	void *base;

	(void)state;
	test_rng_seed(&rng, seed);
	for (i = 0; i < N; i++)
		len += lode_vbyte_put(buf + len, random_vbyte_value(&rng));
	for (cut = 0; cut < len; cut++) {
		data = exact_copy(buf, cut, &base);
		p = data;
		CHECK(lode_vbyte_skip(&p, data + cut, N) == LODE_ECORRUPT &&
		      p == data, "skip %d values cut to %zu of %zu bytes", N,
		      cut, len);
		free(base);
	}
	/* Continuation bytes only: no value ever ends. */
	memset(buf, 0x80, 64);
	for (cut = 0; cut <= 64; cut++) {
		data = exact_copy(buf, cut, &base);
		p = data;
		CHECK(lode_vbyte_skip(&p, data + cut, 1) == LODE_ECORRUPT &&
		      p == data, "skip over %zu continuation bytes", cut);
		free(base);
	}
}

/* ---- Small8 ------------------------------------------------------------- */

/* Golden values: the code's layout is part of the format. */
static void small8_golden_values(void **state)
{
	static const struct { uint8_t c; uint32_t v; } golden[] = {
		{0, 0}, {1, 1}, {31, 31}, {32, 32}, {33, 34}, {47, 62}, {48, 64},
		{49, 68}, {64, 128}, {254, 491520}, {255, 507904},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(golden) / sizeof(golden[0]); i++)
		CHECK(lode_small8_value(golden[i].c) == golden[i].v,
		      "value(%u) = %" PRIu32 ", want %" PRIu32, golden[i].c,
		      lode_small8_value(golden[i].c), golden[i].v);
	CHECK(lode_small8_value(255) == LODE_SMALL8_MAX, "value(255)");
	for (unsigned c = 1; c < 256; c++)
		CHECK(lode_small8_value((uint8_t)c) > lode_small8_value((uint8_t)(c - 1)),
		      "values not increasing at %u", c);
}

/* floor is the greatest code at or below v, within 1/16 of v. */
static void check_small8(uint32_t v)
{
	uint8_t f = lode_small8_floor(v);

	CHECK(lode_small8_value(f) <= v, "floor(%" PRIu32 ") = %u too high", v, f);
	CHECK(f == 255 || lode_small8_value((uint8_t)(f + 1)) > v,
	      "floor(%" PRIu32 ") = %u not the greatest", v, f);
	CHECK(v >= LODE_SMALL8_MAX || 16.0 * lode_small8_value(f) >= 15.0 * v,
	      "floor(%" PRIu32 ") = %u more than 1/16 off", v, f);
}

static void small8_floor_brackets_values(void **state)
{
	static const uint32_t edges[] = {
		0, 1, 31, 32, 33, 63, 64, 127, 128, 129, 491519, 491520, 491521,
		507903, 507904, 507905, 1u << 20, UINT32_MAX - 1, UINT32_MAX,
	};
	test_rng rng;

	(void)state;
	for (uint32_t v = 0; v <= 600000; v++)
		check_small8(v);
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		check_small8(edges[i]);
	test_rng_seed(&rng, seed);
	for (int i = 0; i < 100000; i++)
		check_small8((uint32_t)test_rng_next(&rng));
	for (unsigned c = 0; c < 256; c++)
		CHECK(lode_small8_floor(lode_small8_value((uint8_t)c)) == c,
		      "floor(value(%u))", c);
}

/* ---- impact lists ------------------------------------------------------- */

/* Decode list (len bytes) into pairs; returns the count. */
static uint32_t decode_impacts(const uint8_t *list, size_t len, uint32_t *f,
                               uint32_t *l)
{
	const uint8_t *p = list, *q = list;
	uint32_t count, freq = 0;

	CHECK(lode_impacts_count(&p, list + len, &count) == LODE_OK, "count");
	for (uint32_t k = 0; k < count; k++) {
		CHECK(lode_impacts_next(&p, list + len, &freq, &l[k]) == LODE_OK,
		      "pair %u of %u", k, count);
		f[k] = freq;
	}
	CHECK(p == list + len, "list of %zu bytes read to %td", len, p - list);
	CHECK(lode_impacts_skip(&q, list + len) == LODE_OK && q == p,
	      "skip lands where decoding does");
	return count;
}

/* The pairs bound every document, none is dominated by another, and each
 * is reached by a document (no looser than needed). */
static void check_impacts(const uint32_t *freqs, const uint32_t *lengths,
                          size_t n)
{
	uint8_t list[LODE_IMPACTS_MAX_BYTES];
	uint32_t f[128], l[128];
	size_t len = lode_impacts_encode(list, freqs, lengths, n);
	uint32_t count = decode_impacts(list, len, f, l);

	for (uint32_t k = 1; k < count; k++)
		CHECK(f[k] > f[k - 1] && l[k] > l[k - 1], "pairs %u, %u not "
		      "increasing", k - 1, k);
	for (size_t i = 0; i < n; i++) {
		uint32_t k = 0;
		while (k < count && !(f[k] >= freqs[i] && l[k] <= lengths[i]))
			k++;
		CHECK(k < count, "document %zu (%" PRIu32 ", %" PRIu32 ") not "
		      "bounded", i, freqs[i], lengths[i]);
	}
	for (uint32_t k = 0; k < count; k++) {
		size_t i = 0;
		while (i < n && !(freqs[i] >= f[k] &&
		                  lode_small8_floor(lengths[i]) ==
		                          lode_small8_floor(l[k])))
			i++;
		CHECK(i < n || (k + 1 == count && f[k] >= freqs[0]),
		      "pair %u (%" PRIu32 ", %" PRIu32 ") reached by no document",
		      k, f[k], l[k]);
	}
}

static void impacts_bound_every_document(void **state)
{
	static const uint32_t one_f[] = {1}, one_l[] = {0};
	static const uint32_t big_f[] = {UINT32_MAX, 1u << 25, 3};
	static const uint32_t big_l[] = {UINT32_MAX, 7, 2};
	uint32_t freqs[128], lengths[128];
	uint8_t list[LODE_IMPACTS_MAX_BYTES];
	uint32_t f[128], l[128];
	test_rng rng;

	(void)state;
	check_impacts(one_f, one_l, 1);
	check_impacts(big_f, big_l, 3);
	/* Frequencies are kept whole, up to the highest: three pairs. */
	{
		uint32_t k = decode_impacts(
		        list, lode_impacts_encode(list, big_f, big_l, 3), f, l);
		CHECK(k == 3 && f[0] == 3 && f[1] == 1u << 25 &&
		              f[2] == UINT32_MAX,
		      "%" PRIu32 " pairs, top frequency %" PRIu32, k, f[k - 1]);
	}
	test_rng_seed(&rng, seed);
	for (int round = 0; round < 2000; round++) {
		size_t n = 1 + test_rng_below(&rng, 128);
		uint32_t fmax = 1 + test_rng_below(&rng, round % 2 ? 5 : 300);
		for (size_t i = 0; i < n; i++) {
			freqs[i] = 1 + test_rng_below(&rng, fmax);
			lengths[i] = freqs[i] + test_rng_below(&rng, 2000);
		}
		check_impacts(freqs, lengths, n);
	}
}

/* Golden bytes: frequencies 1, 3 (lengths 5, 40) and 3 (length 9). */
static void impacts_golden_layout(void **state)
{
	static const uint32_t freqs[] = {1, 3, 3}, lengths[] = {5, 40, 9};
	static const uint8_t want[] = {2, 1, 5, 2, 9};
	uint8_t list[LODE_IMPACTS_MAX_BYTES];
	size_t len;

	(void)state;
	len = lode_impacts_encode(list, freqs, lengths, 3);
	CHECK(len == sizeof(want) && memcmp(list, want, len) == 0,
	      "golden impact list");
}

static void impacts_reject_bad_lists(void **state)
{
	static const uint8_t zero_count[] = {0}, big_count[] = {129, 1, 1};
	static const uint8_t zero_gap[] = {2, 1, 3, 0, 4};
	static const uint8_t cut[] = {2, 1, 3, 1};
	const uint8_t *p;

	(void)state;
	p = zero_count;
	CHECK(lode_impacts_skip(&p, zero_count + 1) == LODE_ECORRUPT, "count 0");
	p = big_count;
	CHECK(lode_impacts_skip(&p, big_count + 3) == LODE_ECORRUPT, "count 129");
	p = zero_gap;
	CHECK(lode_impacts_skip(&p, zero_gap + 5) == LODE_ECORRUPT, "gap 0");
	for (size_t n = 0; n < sizeof(cut); n++) {
		p = cut;
		CHECK(lode_impacts_skip(&p, cut + n) == LODE_ECORRUPT && p == cut,
		      "cut to %zu bytes", n);
	}
}

int main(void)
{
	const char *env = getenv("LODE_TEST_SEED");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bits_needed_counts_significant_bits),
		cmocka_unit_test(bitpack_size_rounds_up_to_bytes),
		cmocka_unit_test(bitpack_golden_layout),
		cmocka_unit_test(bitpack_round_trips_random_values),
		cmocka_unit_test(bitpack_round_trips_edge_values),
		cmocka_unit_test(bitunpack_rejects_truncated_input),
		cmocka_unit_test(bitunpack_rejects_width_over_32),
		cmocka_unit_test(bitunpack_rejects_impossible_count),
		cmocka_unit_test(bitunpack_width_zero_reads_nothing),
		cmocka_unit_test(pfor_round_trips_random_blocks),
		cmocka_unit_test(pfor_round_trips_edge_blocks),
		cmocka_unit_test(pfor_rejects_bad_exceptions),
		cmocka_unit_test(bit_streams_golden_layout),
		cmocka_unit_test(bit_streams_round_trip_random),
		cmocka_unit_test(bit_streams_edge_values),
		cmocka_unit_test(rice_put_equals_value_by_value),
		cmocka_unit_test(rice_plan_counts_the_bits_written),
		cmocka_unit_test(bit_streams_reject_codes_past_end),
		cmocka_unit_test(vbyte_golden_layout),
		cmocka_unit_test(vbyte_round_trips_edge_values),
		cmocka_unit_test(vbyte_round_trips_random_stream),
		cmocka_unit_test(vbyte_rejects_truncated_input),
		cmocka_unit_test(vbyte_rejects_values_over_64_bits),
		cmocka_unit_test(vbyte_get32_rejects_values_over_32_bits),
		cmocka_unit_test(vbyte_skip_lands_where_decoding_does),
		cmocka_unit_test(vbyte_skip_rejects_truncated_stream),
		cmocka_unit_test(small8_golden_values),
		cmocka_unit_test(small8_floor_brackets_values),
		cmocka_unit_test(impacts_golden_layout),
		cmocka_unit_test(impacts_bound_every_document),
		cmocka_unit_test(impacts_reject_bad_lists),
	};

	if (env && *env)
		seed = strtoull(env, NULL, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
