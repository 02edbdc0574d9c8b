/* postings.c -- block decoding, skipping, frequencies and positions. */
#include "postings.h"

#include <stddef.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "alloc.h"
#include "codec.h"
#include "error.h"

/* The bit reader loads whole words past a term's last codes. */
_Static_assert(LODE_POSITIONS_PAD >= LODE_BITS_READ_PAD,
               "positions.pos must end with the bit reader's padding");

static int corrupt(const lode_postings *p, const char *what, lode_error *err)
{
	return lode_fail(err, LODE_ECORRUPT, "%s: corrupt: %s",
	                 p->seg->postings.path, what);
}

int lode_postings_init(lode_postings *p, const struct lode_segment *seg,
                       const lode_term_info *info, lode_error *err)
{
	size_t skip_bytes = 0, least;
	unsigned dw = seg->doc_width;

	/* Not docs[] and freqs[] (1 KiB): a block load fills them. */
	memset(p, 0, offsetof(lode_postings, docs));
	p->seg = seg;
	p->df = info->df;
	p->cf = info->cf;
	p->nblocks = (info->df + LODE_BLOCK_DOCS - 1) / LODE_BLOCK_DOCS;
	if (p->nblocks > 1) {
		size_t db = lode_bitpack_size(p->nblocks, dw), ob, pb;
		if (info->postings_len < LODE_SKIP_HEADER_SIZE ||
		    info->postings[0] > 32 || info->postings[1] > 32)
			return corrupt(p, "bad skip table widths", err);
		p->skip_dw = dw;
		p->skip_ow = info->postings[0];
		p->skip_pw = info->postings[1];
		ob = lode_bitpack_size(p->nblocks, p->skip_ow);
		pb = lode_bitpack_size(p->nblocks, p->skip_pw);
		p->skips = info->postings;
		p->skip_docs = p->skips + LODE_SKIP_HEADER_SIZE;
		p->skip_offs = p->skip_docs + db;
		p->skip_pos = p->skip_offs + ob;
		/* Each part is at most 2^32 bytes: no sum overflows. */
		skip_bytes = LODE_SKIP_HEADER_SIZE + db + ob + pb;
	}
	/* A term of one document has just its id; other blocks have two
	 * header bytes at least. */
	least = info->df == 1 ? lode_bitpack_size(1, dw) : skip_bytes + 2;
	if (least > info->postings_len)
		return corrupt(p, "postings shorter than their skip table", err);
	if (info->df == 1 && info->cf > UINT32_MAX)
		return corrupt(p, "frequency out of range", err);
	p->blocks = info->postings + skip_bytes;
	p->end = info->postings + info->postings_len;
	p->positions = info->positions;
	p->positions_end = info->positions + info->positions_len;
	return LODE_OK;
}

void lode_postings_release(lode_postings *p)
{
	lode_free(p->pos_buf);
	p->pos_buf = NULL;
}

/* Field b of a skip table column of width w bits. */
static inline uint32_t skip_field(const uint8_t *column, uint32_t b, unsigned w)
{
	return lode_bits_get(column, (uint64_t)b * w, w);
}

static uint32_t skip_last(const lode_postings *p, uint32_t b)
{
	return skip_field(p->skip_docs, b, p->skip_dw);
}

/*
 * Turn docs[0, n), each a gap minus one, into documents from first on;
 * returns the last document plus one, in 64 bits so that a corrupt block
 * shows as an id out of range rather than wrapping.  Four at a time with
 * SSE2 where the sum cannot pass 32 bits: gaps below 2^24 (width <= 24),
 * 128 of them from a first document below 2^31.
 */
static uint64_t gaps_to_docs(uint32_t *docs, uint32_t n, unsigned width,
                             uint64_t first)
{
	uint64_t doc = first;
	uint32_t i = 0;

#ifdef __SSE2__
	if (width <= 24 && first < ((uint64_t)1 << 31) && n >= 4) {
		__m128i carry = _mm_set1_epi32((int)(uint32_t)first);
		const __m128i one = _mm_set1_epi32(1);
		for (; i + 4 <= n; i += 4) {
			__m128i v = _mm_loadu_si128((const __m128i *)(docs + i));
			v = _mm_add_epi32(v, one);
			v = _mm_add_epi32(v, _mm_slli_si128(v, 4));
			v = _mm_add_epi32(v, _mm_slli_si128(v, 8));
			v = _mm_add_epi32(v, carry);
			/* Lane k is first + the gaps up to k: the document after
			 * it, as doc below counts. */
			_mm_storeu_si128((__m128i *)(docs + i),
			                 _mm_sub_epi32(v, one));
			carry = _mm_shuffle_epi32(v, 0xff);
		}
		doc = (uint64_t)(uint32_t)_mm_cvtsi128_si32(carry);
	}
#else
	(void)width;
#endif
	for (; i < n; i++) {
		doc += docs[i];
		docs[i] = (uint32_t)doc;
		doc++;
	}
	return doc;
}

/* The current block's positions start at pos (its first document's). */
static void set_block_positions(lode_postings *p, const uint8_t *pos)
{
	p->pos_p = pos;
	p->pos_end_bit = (uint64_t)(p->positions_end - pos) * 8;
	p->pos_started = 0;
	p->pos_i = 0;
	p->pos_ready = 0;
}

/* Block b of n documents, decoded into docs[], is the current one: it
 * spans [start, end), its frequencies at freqs (part header header) of
 * width bits at most. */
static void set_block(lode_postings *p, uint32_t b, uint32_t n,
                      const uint8_t *start, const uint8_t *end,
                      const uint8_t *freqs, uint8_t header, unsigned width)
{
	p->block = b;
	p->n = n;
	p->i = 0;
	p->freqs_ready = 0;
	p->block_start = start;
	p->block_end = end;
	p->freq_bits = freqs;
	p->freq_header = header;
	p->freq_width = width;
	p->rice_docs = NULL;
	p->doc = p->docs[0];
}

/* The block of a term of one document: its id, its frequency the term's
 * (init checked both fit). */
static int decode_single(lode_postings *p, lode_error *err)
{
	size_t len = lode_bitpack_size(1, p->seg->doc_width);
	uint32_t doc = 0;

	for (size_t i = len; i-- > 0;)
		doc = doc << 8 | p->blocks[i];
	if (doc >= p->seg->ndocs)
		return corrupt(p, "document id out of range", err);
	p->docs[0] = doc;
	p->freqs[0] = (uint32_t)(p->cf - 1);
	set_block(p, 0, 1, p->blocks, p->blocks + len, p->blocks + len, 0,
	          lode_bits_needed(p->freqs[0]));
	p->freqs_ready = 1;
	set_block_positions(p, p->positions);
	return LODE_OK;
}

/* The block of a term of one block whose documents are Rice codes
 * (FORMAT.md): frequencies first, then the codes, which end the term's
 * postings. */
static int decode_rice(lode_postings *p, uint32_t n, lode_error *err)
{
	const uint8_t *start = p->blocks, *codes;
	unsigned k = start[0] & LODE_DOCS_RICE_K, wf;
	uint64_t hi = (uint64_t)n * k, end_bit;
	size_t fbytes;

	if (p->skips || (start[0] & ~(LODE_DOCS_RICE | LODE_DOCS_RICE_K)))
		return corrupt(p, "bad document header", err);
	fbytes = lode_pfor_size(start + 2, p->end, n, start[1], &wf);
	if (fbytes == SIZE_MAX)
		return corrupt(p, "block larger than its postings", err);
	codes = start + 2 + fbytes;
	end_bit = (uint64_t)(p->end - codes) * 8;
	/* The codes start with their low bits; values must stay below the
	 * document count and increase (as positions do below theirs). */
	if (hi > end_bit ||
	    lode_rice_positions(codes, &hi, end_bit, 0, k, n, p->seg->ndocs,
	                        p->docs))
		return corrupt(p, "block does not decode", err);
	/* The last byte is padded with zero bits. */
	if ((hi & 7) && (codes[hi / 8] >> (hi & 7)) != 0)
		return corrupt(p, "nonzero bits after a block's documents", err);
	set_block(p, 0, n, start, codes + (hi + 7) / 8, start + 2, start[1], wf);
	p->rice_docs = codes;
	set_block_positions(p, p->positions);
	return LODE_OK;
}

/* Decode block b's documents; freqs wait until asked for. */
static int decode_block(lode_postings *p, uint32_t b, lode_error *err)
{
	/* Unpack may read up to the padding at the end of the file. */
	const uint8_t *file_end = p->seg->postings.data + p->seg->postings.size -
	                          LODE_PLAIN_FOOTER_SIZE;
	const uint8_t *start = p->blocks, *pos = p->positions;
	uint32_t n = b + 1 < p->nblocks ? LODE_BLOCK_DOCS
	                                : p->df - b * LODE_BLOCK_DOCS;
	uint64_t doc;
	uint8_t hd, hf;
	unsigned wd, wf;
	size_t dbytes, fbytes;

	if (p->df == 1)
		return decode_single(p, err);
	if (p->skips) {
		uint64_t off = skip_field(p->skip_offs, b, p->skip_ow);
		uint64_t poff = skip_field(p->skip_pos, b, p->skip_pw);
		if (off > (size_t)(p->end - p->blocks) ||
		    poff > (size_t)(p->positions_end - p->positions))
			return corrupt(p, "skip entry out of range", err);
		start += off;
		pos += poff;
	}
	if (p->end - start < 2)
		return corrupt(p, "block out of range", err);
	hd = start[0];
	hf = start[1];
	if (hd & LODE_DOCS_RICE)
		return decode_rice(p, n, err);
	dbytes = lode_pfor_size(start + 2, p->end, n, hd, &wd);
	fbytes = dbytes == SIZE_MAX ? SIZE_MAX
	                            : lode_pfor_size(start + 2 + dbytes, p->end,
	                                             n, hf, &wf);
	if (fbytes == SIZE_MAX)
		return corrupt(p, "block larger than its postings", err);
	if (lode_pfor_decode(start + 2, file_end, p->docs, n, hd))
		return corrupt(p, "block does not decode", err);
	doc = b == 0 ? 0 : (uint64_t)skip_last(p, b - 1) + 1;
	doc = gaps_to_docs(p->docs, n, wd, doc);
	if (doc - 1 >= p->seg->ndocs ||
	    (p->skips && p->docs[n - 1] != skip_last(p, b)))
		return corrupt(p, "document id out of range", err);
	set_block(p, b, n, start, start + 2 + dbytes + fbytes, start + 2 + dbytes,
	          hf, wf);
	set_block_positions(p, pos);
	return LODE_OK;
}

static int exhaust(lode_postings *p)
{
	p->doc = LODE_DOC_END;
	p->n = 0;
	return LODE_OK;
}

/* decode_block, leaving p exhausted if it fails: a caller that went on
 * after the error would otherwise read docs[n - 1] with n = 0. */
static int load_block(lode_postings *p, uint32_t b, lode_error *err)
{
	int rc = decode_block(p, b, err);

	if (rc)
		exhaust(p);
	return rc;
}

int lode_postings_next(lode_postings *p, lode_error *err)
{
	if (!p->started) {
		p->started = 1;
		return load_block(p, 0, err);
	}
	if (p->doc == LODE_DOC_END)
		return LODE_OK;
	if (p->i + 1 < p->n) {
		p->doc = p->docs[++p->i];
		return LODE_OK;
	}
	if (p->block + 1 < p->nblocks)
		return load_block(p, p->block + 1, err);
	return exhaust(p);
}

/* First block at or after b whose last document is >= target, or nblocks. */
static uint32_t find_block(const lode_postings *p, uint32_t b, uint32_t target)
{
	uint32_t lo = b, hi, step = 1;

	if (!p->skips)
		return b;
	/* Gallop, then binary search over the skip entries. */
	while (lo + step < p->nblocks && skip_last(p, lo + step) < target) {
		lo += step;
		step *= 2;
	}
	hi = lo + step < p->nblocks ? lo + step : p->nblocks;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (skip_last(p, mid) < target)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int lode_postings_advance_blocks(lode_postings *p, uint32_t target,
                                 lode_error *err)
{
	uint32_t b;
	int rc;

	if (!p->started) {
		p->started = 1;
		b = 0;
	} else if (p->doc >= target) {
		return LODE_OK; /* also when exhausted */
	} else {
		b = p->block + 1;
	}
	b = find_block(p, b, target);
	if (b >= p->nblocks)
		return exhaust(p);
	if ((rc = load_block(p, b, err)))
		return rc;
	if (p->docs[p->n - 1] < target)
		return exhaust(p);
	/* The target may be anywhere in a new block: a branchless lower
	 * bound, where a scan from its start cost a three-word phrase with a
	 * frequent word 18 % of its instructions. */
	{
		const uint32_t *d = p->docs;
		uint32_t n = p->n;

		while (n > 1) {
			uint32_t half = n / 2;
			d = d[half] < target ? d + half : d;
			n -= half;
		}
		d += *d < target;
		p->i = (uint32_t)(d - p->docs);
		p->doc = *d;
	}
	return LODE_OK;
}

void lode_postings_impact(lode_postings *p, uint32_t target, lode_impact *out)
{
	uint32_t b;
	uint64_t off;

	out->list = NULL;
	out->end = NULL;
	out->max_freq = 0;
	if (p->started && p->doc == LODE_DOC_END) {
		out->last = LODE_DOC_END; /* advanced past everything */
		return;
	}
	if (!p->skips) {
		/* freq - 1 has at most the frequency part's width in bits; init
		 * checked the header is there.  A term of one document has the
		 * term's frequency. */
		unsigned wd, wf = 32;
		size_t dbytes = p->df == 1 ? SIZE_MAX
		                : p->blocks[0] & LODE_DOCS_RICE
		                        ? 0 /* the codes follow the frequencies */
		                        : lode_pfor_size(p->blocks + 2, p->end,
		                                         p->df, p->blocks[0], &wd);
		if (dbytes == SIZE_MAX ||
		    lode_pfor_size(p->blocks + 2 + dbytes, p->end, p->df,
		                   p->blocks[1], &wf) == SIZE_MAX)
			wf = 32;
		out->max_freq = p->df == 1 ? (uint32_t)p->cf
		                : wf < 32  ? (uint32_t)1 << wf
		                           : UINT32_MAX;
		out->last = p->n ? p->docs[p->n - 1] : p->seg->ndocs - 1;
		if (p->n && target > out->last) {
			out->last = LODE_DOC_END;
			out->max_freq = 0;
		}
		return;
	}
	b = p->started && p->block > p->impact_block ? p->block : p->impact_block;
	b = find_block(p, b, target);
	if (b >= p->nblocks) {
		out->last = LODE_DOC_END;
		return;
	}
	p->impact_block = b;
	out->last = skip_last(p, b);
	out->end = p->end;
	/* After the block's packed documents and frequencies.  Out of range:
	 * an empty list, which the reader finds corrupt. */
	out->list = p->end;
	off = skip_field(p->skip_offs, b, p->skip_ow);
	if (off + 2 <= (size_t)(p->end - p->blocks)) {
		const uint8_t *h = p->blocks + off;
		uint32_t n = b + 1 < p->nblocks ? LODE_BLOCK_DOCS
		                                : p->df - b * LODE_BLOCK_DOCS;
		unsigned wd, wf;
		size_t dbytes = lode_pfor_size(h + 2, p->end, n, h[0], &wd);
		size_t fbytes = dbytes == SIZE_MAX
		                        ? SIZE_MAX
		                        : lode_pfor_size(h + 2 + dbytes, p->end, n,
		                                         h[1], &wf);
		if (fbytes != SIZE_MAX && 2 + dbytes + fbytes < (size_t)(p->end - h))
			out->list = h + 2 + dbytes + fbytes;
	}
}

static int ensure_freqs(lode_postings *p, lode_error *err)
{
	const uint8_t *file_end = p->seg->postings.data + p->seg->postings.size -
	                          LODE_PLAIN_FOOTER_SIZE;

	if (p->freqs_ready)
		return LODE_OK;
	if (lode_pfor_decode(p->freq_bits, file_end, p->freqs, p->n,
	                     p->freq_header))
		return corrupt(p, "frequencies do not decode", err);
	/* freqs[] hold freq - 1, as packed; only at width 32 can adding the 1
	 * overflow. */
	for (uint32_t i = 0; p->freq_width == 32 && i < p->n; i++)
		if (p->freqs[i] == UINT32_MAX)
			return corrupt(p, "frequency out of range", err);
	p->freqs_ready = 1;
	return LODE_OK;
}

int lode_postings_freq(lode_postings *p, uint32_t *freq, lode_error *err)
{
	int rc = ensure_freqs(p, err);

	*freq = rc ? 0 : p->freqs[p->i] + 1;
	return rc;
}

int lode_postings_block_freqs(lode_postings *p, const uint32_t **freqs,
                              lode_error *err)
{
	int rc = ensure_freqs(p, err);

	*freqs = p->freqs;
	return rc;
}

/* Read the block's Rice parameter and find where its unary parts begin:
 * after the low bits of all its values, as many as its frequencies add
 * up to. */
static int start_positions(lode_postings *p)
{
	uint64_t values = p->n;
	uint32_t j = 0;

	if (p->pos_end_bit < LODE_RICE_PARAM_BITS)
		return LODE_ECORRUPT;
	p->pos_k = lode_bits_get(p->pos_p, 0, LODE_RICE_PARAM_BITS);
#ifdef __SSE2__
	/* Four lanes at a time where 32 frequencies of freq_width bits cannot
	 * pass 32 bits in a lane. */
	if (p->freq_width <= 24) {
		__m128i sum = _mm_setzero_si128();
		uint32_t lane[4];
		for (; j + 4 <= p->n; j += 4)
			sum = _mm_add_epi32(sum, _mm_loadu_si128(
			                    (const __m128i *)(p->freqs + j)));
		_mm_storeu_si128((__m128i *)lane, sum);
		values += (uint64_t)lane[0] + lane[1] + lane[2] + lane[3];
	}
#endif
	for (; j < p->n; j++)
		values += p->freqs[j]; /* freq - 1 each: the n is counted */
	p->pos_hi = LODE_RICE_PARAM_BITS + values * p->pos_k;
	if (p->pos_hi > p->pos_end_bit)
		return LODE_ECORRUPT;
	p->pos_v = 0;
	p->pos_started = 1;
	return LODE_OK;
}

int lode_postings_positions(lode_postings *p, const uint32_t **out,
                            uint32_t *count, lode_error *err)
{
	uint64_t skip = 0;
	uint32_t freq, dl;
	int rc;

	if ((rc = ensure_freqs(p, err)))
		return rc;
	freq = p->freqs[p->i] + 1;
	if (p->pos_ready && p->pos_i == p->i + 1)
		goto done;
	if (p->pos_i > p->i) {
		return lode_fail(err, LODE_EINVAL,
		                 "positions asked for out of order");
	}
	if (!p->pos_started && start_positions(p))
		goto corrupt;
	/* Pass the earlier documents' values: one 1 bit each in the unary
	 * parts; their low bits are at a known place. */
	for (uint32_t j = p->pos_i; j < p->i; j++)
		skip += (uint64_t)p->freqs[j] + 1;
	p->pos_ready = 0;
	if (skip && lode_ones_skip(p->pos_p, &p->pos_hi, p->pos_end_bit, skip))
		goto corrupt;
	p->pos_v += skip;
	p->pos_i = p->i;
	/* A document has no more occurrences than tokens, and each takes K
	 * low bits and a unary bit at least: a larger count is corrupt, and
	 * must not become a huge allocation (the token count is data too). */
	dl = lode_segment_doc_tokens(p->seg, p->doc);
	if (freq > dl || freq > p->pos_end_bit - p->pos_hi ||
	    (uint64_t)freq * (p->pos_k + 1) > p->pos_end_bit)
		goto corrupt;
	if (freq > p->pos_cap) {
		uint32_t *buf = lode_realloc(p->pos_buf, (size_t)freq * sizeof(uint32_t));
		if (!buf)
			return lode_fail(err, LODE_ENOMEM, "out of memory");
		p->pos_buf = buf;
		p->pos_cap = freq;
	}
	if (lode_rice_positions(p->pos_p, &p->pos_hi, p->pos_end_bit,
	                        LODE_RICE_PARAM_BITS + p->pos_v * p->pos_k,
	                        p->pos_k, freq, dl, p->pos_buf))
		goto corrupt;
	p->pos_v += freq;
	p->pos_i = p->i + 1;
	p->pos_ready = 1;
done:
	*out = p->pos_buf;
	*count = freq;
	return LODE_OK;
corrupt:
	return lode_fail(err, LODE_ECORRUPT, "%s: corrupt: bad position",
	                 p->seg->positions.path);
}

/* Whether the bits of the stream at in from bit from up to the next byte
 * boundary are zero. */
static int zero_to_byte(const uint8_t *in, uint64_t from)
{
	unsigned used = (unsigned)(from % 8);

	return used == 0 || in[from / 8] >> used == 0;
}

const uint8_t *lode_postings_positions_end(const lode_postings *p)
{
	if (p->pos_i == p->n && !zero_to_byte(p->pos_p, p->pos_hi))
		return NULL;
	return p->pos_p + (p->pos_hi + 7) / 8;
}
