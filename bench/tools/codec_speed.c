/*
 * codec_speed.c -- decode speed of lode's integer codecs against memcpy.
 *
 *     codec_speed [MILLIONS]
 *
 * The benchmark issue asks for codec decode speed in integers per second
 * beside memcpy of the same integers.  For each bit width the postings use,
 * MILLIONS (default 16) million random values below 2^width are packed in
 * blocks of 128, as postings.pst holds them, and unpacked with
 * lode_bitunpack; memcpy copies the same count of 32-bit integers block by
 * block into the same 128-entry buffer.  Frequencies' PFor (packing with
 * exceptions) is timed on blocks of small values with a few large ones;
 * the Rice codes of positions (low bits apart from unary parts, as
 * positions.pos holds them) on geometric gaps, with the parameter the
 * writer would choose; VByte, the dictionary's codec and format 6's
 * positions', on gaps drawn as positions are (most below 128).  Each figure is the best of 5 passes (monotonic clock), and
 * every pass checks a sum of what it decoded, so no pass can be optimised
 * away or be wrong unnoticed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"

#define BLOCK 128
#define PASSES 5

static uint64_t state = 0x9e3779b97f4a7c15u;

static uint64_t next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		fprintf(stderr, "codec_speed: out of memory\n");
		exit(2);
	}
	return p;
}

/* The best of PASSES timings of fn over n values, in millions a second;
 * every pass must give the same sum. */
static double best_rate(uint64_t (*fn)(const void *ctx), const void *ctx,
                        size_t n)
{
	double best = 0;
	uint64_t first = 0;

	for (int pass = 0; pass < PASSES; pass++) {
		double t = now();
		uint64_t sum = fn(ctx);
		t = now() - t;
		if (pass == 0) {
			first = sum;
		} else if (sum != first) {
			fprintf(stderr, "codec_speed: pass %d decoded another sum\n",
			        pass);
			exit(2);
		}
		if (t > 0 && n / t / 1e6 > best)
			best = n / t / 1e6;
	}
	return best;
}

struct packed {
	const uint8_t *data, *end;
	size_t blocks, block_bytes;
	unsigned width;
	const uint32_t *plain;     /* the values, for memcpy */
};

static uint64_t run_unpack(const void *ctx)
{
	const struct packed *p = ctx;
	uint32_t out[BLOCK];
	uint64_t sum = 0;

	for (size_t b = 0; b < p->blocks; b++) {
		if (lode_bitunpack(p->data + b * p->block_bytes, p->end, out, BLOCK,
		                   p->width)) {
			fprintf(stderr, "codec_speed: unpack failed\n");
			exit(2);
		}
		sum += out[b % BLOCK];
	}
	return sum;
}

static uint64_t run_memcpy(const void *ctx)
{
	const struct packed *p = ctx;
	uint32_t out[BLOCK];
	uint64_t sum = 0;

	for (size_t b = 0; b < p->blocks; b++) {
		memcpy(out, p->plain + b * BLOCK, sizeof(out));
		/* As unpack's: keeps the copy from being elided. */
		__asm__ volatile("" : : "r"(out) : "memory");
		sum += out[b % BLOCK];
	}
	return sum;
}

struct vbytes {
	const uint8_t *data, *end;
	size_t n;
};

static uint64_t run_vbyte(const void *ctx)
{
	const struct vbytes *v = ctx;
	const uint8_t *p = v->data;
	uint64_t sum = 0;

	for (size_t i = 0; i < v->n; i++) {
		uint32_t x;
		/* The positions decoder's shape: one-byte values inline. */
		if (p < v->end && *p < 0x80)
			x = *p++;
		else if (lode_vbyte_get32(&p, v->end, &x)) {
			fprintf(stderr, "codec_speed: vbyte failed\n");
			exit(2);
		}
		sum += x;
	}
	return sum;
}

struct pfor {
	const uint8_t *data, *end;
	const size_t *offsets;     /* where each block's part starts */
	const uint8_t *headers;
	size_t blocks;
};

static uint64_t run_pfor(const void *ctx)
{
	const struct pfor *p = ctx;
	uint32_t out[BLOCK];
	uint64_t sum = 0;

	for (size_t b = 0; b < p->blocks; b++) {
		if (lode_pfor_decode(p->data + p->offsets[b], p->end, out, BLOCK,
		                     p->headers[b])) {
			fprintf(stderr, "codec_speed: pfor failed\n");
			exit(2);
		}
		sum += out[b % BLOCK];
	}
	return sum;
}

/* Blocks of values below 2^base, each value with probability share of
 * outlier bits instead. */
static void pfor_row(const char *name, size_t blocks, unsigned base,
                     unsigned outlier, double share)
{
	uint8_t *data = xmalloc(blocks * (BLOCK * 5 + 8) + 32);
	size_t *offsets = xmalloc(blocks * sizeof(size_t)), used = 0;
	uint8_t *headers = xmalloc(blocks);
	uint32_t in[BLOCK];
	size_t exceptions = 0;
	struct pfor p;

	for (size_t b = 0; b < blocks; b++) {
		size_t bytes;
		for (size_t i = 0; i < BLOCK; i++) {
			unsigned bits = (double)(next() % 1000) / 1000 < share ? outlier
			                                                     : base;
			in[i] = (uint32_t)(next() >> (64 - bits));
		}
		headers[b] = lode_pfor_plan(in, BLOCK, 1, &bytes);
		if (headers[b] & LODE_PFOR_EXCEPTIONS)
			exceptions++;
		offsets[b] = used;
		lode_pfor_encode(data + used, in, BLOCK, headers[b]);
		used += bytes;
	}
	memset(data + used, 0, 32);
	p.data = data;
	p.end = data + used + 32;
	p.offsets = offsets;
	p.headers = headers;
	p.blocks = blocks;
	printf("%-28s %8.0f   %5.2f bits/value, %zu%% of blocks patched\n",
	       name, best_rate(run_pfor, &p, blocks * BLOCK),
	       (double)used * 8 / (double)(blocks * BLOCK),
	       exceptions * 100 / blocks);
	free(data);
	free(offsets);
	free(headers);
}

struct rice {
	const uint8_t *data;
	uint64_t high, end;        /* bits where the unary parts begin, end */
	unsigned k;
	size_t n;
};

/* Documents of RICE_DOC positions each, decoded as phrases do. */
#define RICE_DOC 8

static uint64_t run_rice(const void *ctx)
{
	const struct rice *r = ctx;
	uint64_t hi = r->high, sum = 0;
	uint32_t out[RICE_DOC];

	for (size_t i = 0; i + RICE_DOC <= r->n; i += RICE_DOC) {
		if (lode_rice_positions(r->data, &hi, r->end, i * r->k, r->k,
		                        RICE_DOC, UINT32_MAX, out)) {
			fprintf(stderr, "codec_speed: rice failed\n");
			exit(2);
		}
		sum += out[RICE_DOC - 1];
	}
	return sum;
}

/* n geometric values of mean about mean, Rice-coded as positions are
 * (one stream: the low bits of all, then the unary parts). */
static void rice_row(const char *name, size_t n, unsigned mean)
{
	uint32_t *v = xmalloc(n * sizeof(uint32_t));
	uint8_t *data;
	uint64_t sum = 0, cost[3] = {0};
	unsigned k0, k, best = 0;
	lode_bitwriter bw = {0};
	struct rice r;

	for (size_t i = 0; i < n; i++) {
		uint32_t x = 0;
		while (next() % mean)
			x++;
		v[i] = x;
		sum += x;
	}
	/* The writer's choice (postings_writer.c). */
	k0 = lode_bits_needed((uint32_t)(sum / n));
	k0 = k0 > 2 ? k0 - 2 : 0;
	if (k0 > 29)
		k0 = 29;
	for (size_t i = 0; i < n; i++)
		for (unsigned c = 0; c < 3; c++)
			cost[c] += v[i] >> (k0 + c);
	for (unsigned c = 1; c < 3; c++)
		if (cost[c] + n * c < cost[best] + n * best)
			best = c;
	k = k0 + best;
	data = xmalloc(n * 8 + sum / 8 + 64);
	bw.out = data;
	for (size_t i = 0; i < n; i++)
		if (k)
			lode_bits_put(&bw, v[i] & ((1u << k) - 1), k);
	r.high = (uint64_t)bw.bytes * 8 + bw.nbits;
	for (size_t i = 0; i < n; i++)
		lode_unary_put(&bw, v[i] >> k);
	lode_bitwriter_flush(&bw);
	memset(data + bw.bytes, 0, LODE_BITS_READ_PAD);
	r.data = data;
	r.end = (uint64_t)bw.bytes * 8;
	r.k = k;
	r.n = n / RICE_DOC * RICE_DOC;
	printf("%-28s %8.0f   %5.2f bits/value, K %u\n", name,
	       best_rate(run_rice, &r, n), (double)r.end / (double)n, k);
	free(data);
	free(v);
}

static void vbyte_row(const char *name, size_t n, uint32_t below,
                      double one_byte_share)
{
	uint8_t *data = xmalloc(n * 5 + 8), *q = data;
	struct vbytes v;

	for (size_t i = 0; i < n; i++) {
		uint64_t r = next();
		uint32_t x = (double)(r % 1000) / 1000 < one_byte_share
		                     ? (uint32_t)(r >> 32) % 128
		                     : 128 + (uint32_t)(r >> 32) % (below - 128);
		q += lode_vbyte_put(q, x);
	}
	v.data = data;
	v.end = q;
	v.n = n;
	printf("%-28s %8.0f   %5.2f bytes/value\n", name,
	       best_rate(run_vbyte, &v, n), (double)(q - data) / (double)n);
	free(data);
}

int main(int argc, char **argv)
{
	static const unsigned widths[] = {1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16,
	                                  20, 24, 32};
	size_t millions = argc > 1 ? strtoul(argv[1], NULL, 10) : 16;
	size_t blocks = millions * 1000000 / BLOCK, n = blocks * BLOCK;
	uint32_t *plain = xmalloc(n * sizeof(uint32_t));
	double copy_rate = 0;

	if (blocks == 0) {
		fprintf(stderr, "usage: codec_speed [MILLIONS]\n");
		return 2;
	}
	printf("%zu values, blocks of %d, best of %d passes; "
	       "millions of integers a second\n\n",
	       n, BLOCK, PASSES);
	printf("%-28s %8s %8s %8s\n", "bit width", "unpack", "memcpy",
	       "ratio");
	for (size_t w = 0; w < sizeof(widths) / sizeof(*widths); w++) {
		unsigned width = widths[w];
		size_t bytes = lode_bitpack_size(BLOCK, width);
		uint8_t *data = xmalloc(blocks * bytes + 32);
		struct packed p;
		double unpack_rate;
		for (size_t i = 0; i < n; i++)
			plain[i] = width == 32 ? (uint32_t)next()
			                       : (uint32_t)next() & ((1u << width) - 1);
		for (size_t b = 0; b < blocks; b++)
			lode_bitpack(data + b * bytes, plain + b * BLOCK, BLOCK, width);
		memset(data + blocks * bytes, 0, 32); /* unpack's padding */
		p.data = data;
		p.end = data + blocks * bytes + 32;
		p.blocks = blocks;
		p.block_bytes = bytes;
		p.width = width;
		p.plain = plain;
		unpack_rate = best_rate(run_unpack, &p, n);
		if (copy_rate == 0) /* the same for every width */
			copy_rate = best_rate(run_memcpy, &p, n);
		printf("%-28u %8.0f %8.0f %8.2f\n", width, unpack_rate, copy_rate,
		       unpack_rate / copy_rate);
		free(data);
	}
	printf("\n%-28s %8s\n", "PFor (frequencies' codec)", "decode");
	pfor_row("2 bits, 3% of 8 bits", blocks, 2, 8, 0.03);
	pfor_row("1 bit, 1% of 12 bits", blocks, 1, 12, 0.01);
	pfor_row("4 bits, no outliers", blocks, 4, 4, 0.0);
	printf("\n%-28s %8s\n", "Rice (positions' codec)", "decode");
	rice_row("geometric gaps, mean 8", n, 8);
	rice_row("geometric gaps, mean 100", n, 100);
	printf("\n%-28s %8s\n", "VByte (format 6 positions)", "decode");
	vbyte_row("gaps, 90% below 128", n, 4096, 0.9);
	vbyte_row("gaps, all 128-16383", n, 16384, 0.0);
	free(plain);
	return 0;
}
