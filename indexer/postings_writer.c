/* postings_writer.c -- block-encoded postings, positions and dictionary. */
#include "postings_writer.h"

#include <string.h>

#include "alloc.h"
#include "bytes.h"
#include "codec.h"
#include "error.h"
#include "file.h"
#include "format.h"
#include "stem.h"
#include "tokenizer.h"

/* Bytes of position codes buffered before they are written out, and the
 * most position values of a block kept between the writer's passes. */
#define POSITIONS_DRAIN 65536
#define POSITIONS_BUFFERED 65536

struct lode_postings_writer {
	lode_out dict, postings, positions;
	const uint32_t *lengths; /* token count of each document (borrowed) */
	uint32_t ndocs;

	/* The current term's blocks, buffered to be written after its skip
	 * table. */
	uint8_t *blocks;
	size_t blocks_used, blocks_cap;
	uint8_t *skips;          /* skip entries, LODE_SKIP_ENTRY_SIZE each */
	size_t skips_used, skips_cap;
	uint32_t docs[LODE_BLOCK_DOCS];
	uint32_t freqs[LODE_BLOCK_DOCS];
	uint32_t scratch[LODE_BLOCK_DOCS];
	uint32_t lens[LODE_BLOCK_DOCS];  /* token counts of docs[] */
	/* Where each pending document's VByte positions are, in the term's
	 * chunks (valid while the term is added). */
	const uint8_t *pos_at[LODE_BLOCK_DOCS];
	const uint8_t *pos_end[LODE_BLOCK_DOCS];
	uint8_t impacts[LODE_IMPACTS_MAX_BYTES]; /* the pending block's */
	size_t last_impacts;     /* bytes of the last block's impact list */
	int with_impacts;        /* the term has more than one block */
	uint32_t nblock;         /* documents in docs[] */
	int64_t prev_doc;        /* last document of the previous block, or -1 */
	uint64_t block_doc_off;  /* where the pending block starts in blocks */
	uint64_t block_pos_off;  /* ... and its positions, from the term's start */
	/* The pending block's position codes (codec.h), written out to
	 * positions.pos whenever they pass POSITIONS_DRAIN bytes. */
	lode_bitwriter bits;
	uint8_t *bits_buf;
	size_t bits_cap;
	uint32_t *vals;          /* the pending block's values, if buffered */
	size_t vals_cap;

	/* Dictionary. */
	char prev_term[LODE_MAX_TOKEN_BYTES + 1];
	size_t prev_len;
	uint64_t nterms, npostings;
	uint64_t npairs;            /* pair terms, not in npostings */
	uint64_t *block_offsets; /* file offset of each dictionary block */
	size_t nblocks, block_offsets_cap;
	uint64_t *block_keys;    /* lode_bytes_key of each block's first term */
	size_t block_keys_cap;
};

int lode_postings_writer_open(const char *dir, const uint32_t *lengths,
                              uint32_t ndocs, struct lode_postings_writer **out,
                              lode_error *err)
{
	struct lode_postings_writer *w = lode_calloc(1, sizeof(*w));
	char *dict = lode_path_join(dir, LODE_FILE_DICT);
	char *pst = lode_path_join(dir, LODE_FILE_POSTINGS);
	char *pos = lode_path_join(dir, LODE_FILE_POSITIONS);
	int rc;

	*out = NULL;
	if (w) {
		w->dict.fd = w->postings.fd = w->positions.fd = -1;
		w->lengths = lengths;
		w->ndocs = ndocs;
	}
	if (!w || !dict || !pst || !pos) {
		rc = lode_fail(err, LODE_ENOMEM, "out of memory");
		goto out_free_paths;
	}
	if ((rc = lode_out_open(&w->dict, dict, LODE_MAGIC_DICT, err)) ||
	    (rc = lode_out_open(&w->postings, pst, LODE_MAGIC_POSTINGS, err)) ||
	    (rc = lode_out_open(&w->positions, pos, LODE_MAGIC_POSITIONS, err)))
		goto out_free_paths;
	*out = w;
	w = NULL;
out_free_paths:
	lode_postings_writer_free(w);
	lode_free(dict);
	lode_free(pst);
	lode_free(pos);
	return rc;
}

/* Encode the pending block into w->blocks, followed by its impact list, and
 * note its skip entry. */
static int flush_block(struct lode_postings_writer *w)
{
	uint32_t n = w->nblock;
	uint32_t fminus[LODE_BLOCK_DOCS]; /* freq - 1, as stored */
	uint8_t hd, hf;
	size_t need, nimpacts, dbytes, fbytes;
	uint8_t *p;

	nimpacts = 0;
	if (w->with_impacts) {
		for (uint32_t i = 0; i < n; i++)
			w->lens[i] = w->lengths[w->docs[i]];
		nimpacts = lode_impacts_encode(w->impacts, w->freqs, w->lens, n);
	}
	for (uint32_t i = 0; i < n; i++) {
		int64_t prev = i ? (int64_t)w->docs[i - 1] : w->prev_doc;
		w->scratch[i] = (uint32_t)((int64_t)w->docs[i] - prev - 1);
		fminus[i] = w->freqs[i] - 1;
	}
	/* Every query decodes documents, so they are packed without
	 * exceptions (patching them cost AND and phrase queries 3-5 % more
	 * instructions for postings 6 % smaller); frequencies take the
	 * cheapest width. */
	hd = lode_pfor_plan(w->scratch, n, 0, &dbytes);
	hf = lode_pfor_plan(fminus, n, 1, &fbytes);
	need = nimpacts + 2 + dbytes + fbytes;
	/* A skip entry holds the block's offset in 32 bits. */
	if (w->block_doc_off > UINT32_MAX)
		return LODE_ELIMIT;
	if (lode_grow(&w->blocks, &w->blocks_cap, w->blocks_used + need, 1) ||
	    lode_grow(&w->skips, &w->skips_cap,
	              w->skips_used + LODE_SKIP_ENTRY_SIZE, 1))
		return LODE_ENOMEM;
	p = w->blocks + w->blocks_used;
	p[0] = hd;
	p[1] = hf;
	lode_pfor_encode(p + 2, w->scratch, n, hd);
	lode_pfor_encode(p + 2 + dbytes, fminus, n, hf);
	memcpy(p + need - nimpacts, w->impacts, nimpacts);
	w->blocks_used += need;
	w->last_impacts = nimpacts;

	p = w->skips + w->skips_used;
	lode_put32(p, w->docs[n - 1]);
	lode_put32(p + 4, (uint32_t)w->block_doc_off);
	lode_put64(p + 8, w->block_pos_off);
	w->skips_used += LODE_SKIP_ENTRY_SIZE;

	w->prev_doc = w->docs[n - 1];
	w->nblock = 0;
	return LODE_OK;
}

/* Room for LODE_BITS_MAX_BYTES(q) more bytes of position codes. */
static int bits_room(struct lode_postings_writer *w, uint64_t q)
{
	if (lode_grow(&w->bits_buf, &w->bits_cap,
	              w->bits.bytes + LODE_BITS_MAX_BYTES(q), 1))
		return LODE_ENOMEM;
	w->bits.out = w->bits_buf;
	return LODE_OK;
}

/* Write out the whole bytes of position codes, after padding the last one
 * if last is set. */
static int drain_positions(struct lode_postings_writer *w, int last,
                           lode_error *err)
{
	int rc;

	if (last)
		lode_bitwriter_flush(&w->bits);
	rc = lode_out_write(&w->positions, w->bits_buf, w->bits.bytes, err);
	w->bits.bytes = 0;
	return rc;
}

/* The Rice values of a document's positions, from the VByte positions the
 * inverter wrote (first absolute, then gaps): the first position, then
 * each gap minus one.  Call with *i = 0 first; LODE_ECORRUPT if a gap is
 * zero, the input ends or a position reaches dl. */
static int next_value(const uint8_t **p, const uint8_t *end, uint32_t *i,
                      uint64_t *pos, uint32_t dl, uint32_t *v)
{
	uint32_t gap;

	if (lode_vbyte_get32(p, end, &gap) || (*i && gap == 0))
		return LODE_ECORRUPT;
	*pos = *i ? *pos + gap : gap;
	if (*pos >= dl)
		return LODE_ECORRUPT;
	*v = *i ? gap - 1 : gap;
	(*i)++;
	return LODE_OK;
}

/* Pass over the pending block's position values, decoded again from the
 * inverter's chunks (a block too large to buffer them). */
#define FOR_EACH_DECODED_VALUE(w, v, body)                                    \
	do {                                                                  \
		uint64_t pos_;                                                \
		for (uint32_t d_ = 0; d_ < (w)->nblock; d_++) {               \
			const uint8_t *p_ = (w)->pos_at[d_];                  \
			uint32_t dl_ = (w)->lengths[(w)->docs[d_]], i_ = 0;   \
			while (i_ < (w)->freqs[d_]) {                         \
				uint32_t v;                                   \
				next_value(&p_, (w)->pos_end[d_], &i_, &pos_, \
				           dl_, &v);                          \
				body                                          \
			}                                                     \
		}                                                             \
	} while (0)

/*
 * Write the pending block's positions (FORMAT.md, PositionsBlock): choose
 * the Rice parameter that codes them in the fewest bits, then write it, the
 * low bits and the unary high parts.  The first pass decodes the documents'
 * VByte positions from the inverter's chunks (pos_at[]); a block of up to
 * POSITIONS_BUFFERED values keeps them for the later passes, a larger one
 * decodes them again, so that no buffer grows with a document's frequency
 * but the codes': they are written out every POSITIONS_DRAIN bytes, and the
 * buffer holds that plus one unary code, q / 8 bytes (q < 4 V for the
 * block's V values, as K >= log2(mean) - 2).
 */
static int write_block_positions(struct lode_postings_writer *w,
                                 lode_error *err)
{
	uint64_t values = 0, sum = 0, cost[3] = {0}, pos, at = 0;
	unsigned k0, k, best = 0;
	int buffered, rc;

	for (uint32_t d = 0; d < w->nblock; d++) {
		if (w->freqs[d] > w->lengths[w->docs[d]])
			goto corrupt;
		values += w->freqs[d];
	}
	buffered = values <= POSITIONS_BUFFERED;
	if (buffered && lode_grow(&w->vals, &w->vals_cap, values, sizeof(uint32_t)))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	for (uint32_t d = 0; d < w->nblock; d++) {
		const uint8_t *p = w->pos_at[d];
		uint32_t dl = w->lengths[w->docs[d]], v, i = 0;
		while (i < w->freqs[d]) {
			if (next_value(&p, w->pos_end[d], &i, &pos, dl, &v))
				goto corrupt;
			sum += v;
			if (buffered)
				w->vals[at++] = v;
		}
	}
	/* The best parameter is near log2 of the mean value: try one below
	 * floor(log2(mean)), it and one above. */
	k0 = lode_bits_needed((uint32_t)(sum / values));
	k0 = k0 > 2 ? k0 - 2 : 0;
	if (k0 > 29)
		k0 = 29;
	if (buffered) {
		/* Flat loops over the values: a quarter of the instructions
		 * of the document-by-document passes below. */
		for (uint64_t i = 0; i < values; i++) {
			cost[0] += w->vals[i] >> k0;
			cost[1] += w->vals[i] >> (k0 + 1);
			cost[2] += w->vals[i] >> (k0 + 2);
		}
	} else {
		FOR_EACH_DECODED_VALUE(w, v, {
			cost[0] += v >> k0;
			cost[1] += v >> (k0 + 1);
			cost[2] += v >> (k0 + 2);
		});
	}
	for (unsigned c = 1; c < 3; c++)
		if (cost[c] + values * c < cost[best] + values * best)
			best = c;
	k = k0 + best;
	/* The parameter, the low bits, then the unary parts, padded once.
	 * Buffered, the whole block's codes get their room at once:
	 * 5 + V k + V + sum of v >> k bits. */
	if (buffered ? lode_grow(&w->bits_buf, &w->bits_cap, w->bits.bytes +
	                         (LODE_RICE_PARAM_BITS + values * (k + 1) +
	                          cost[best]) / 8 + 16, 1)
	             : bits_room(w, 0))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	w->bits.out = w->bits_buf;
	lode_bits_put(&w->bits, k, LODE_RICE_PARAM_BITS);
	if (buffered) {
		uint32_t mask = ((uint32_t)1 << k) - 1;
		for (uint64_t i = 0; k && i < values; i++)
			lode_bits_put(&w->bits, w->vals[i] & mask, k);
		for (uint64_t i = 0; i < values; i++)
			lode_unary_put(&w->bits, w->vals[i] >> k);
		return drain_positions(w, 1, err);
	}
	if (k)
		FOR_EACH_DECODED_VALUE(w, v, {
			if (bits_room(w, 0))
				return lode_fail(err, LODE_ENOMEM, "out of memory");
			lode_bits_put(&w->bits, v & (((uint32_t)1 << k) - 1), k);
			if (w->bits.bytes >= POSITIONS_DRAIN &&
			    (rc = drain_positions(w, 0, err)))
				return rc;
		});
	FOR_EACH_DECODED_VALUE(w, v, {
		if (bits_room(w, v >> k))
			return lode_fail(err, LODE_ENOMEM, "out of memory");
		lode_unary_put(&w->bits, v >> k);
		if (w->bits.bytes >= POSITIONS_DRAIN &&
		    (rc = drain_positions(w, 0, err)))
			return rc;
	});
	return drain_positions(w, 1, err);
corrupt:
	return lode_fail(err, LODE_ECORRUPT, "corrupt postings buffer for a term");
}

static int write_dict_entry(struct lode_postings_writer *w,
                            const lode_term_postings *t, uint64_t pst_off,
                            uint64_t pst_len, uint64_t pos_off,
                            uint64_t pos_len, lode_error *err)
{
	size_t prefix = 0;
	int rc;

	if (w->nterms % LODE_DICT_BLOCK_TERMS == 0) {
		if (lode_grow(&w->block_offsets, &w->block_offsets_cap,
		              w->nblocks + 1, sizeof(uint64_t)) ||
		    lode_grow(&w->block_keys, &w->block_keys_cap, w->nblocks + 1,
		              sizeof(uint64_t)))
			return lode_fail(err, LODE_ENOMEM, "out of memory");
		w->block_keys[w->nblocks] = lode_bytes_key(t->term, t->term_len);
		w->block_offsets[w->nblocks++] = w->dict.offset;
		if ((rc = lode_out_put64(&w->dict, pst_off, err)) ||
		    (rc = lode_out_put64(&w->dict, pos_off, err)))
			return rc;
	} else {
		while (prefix < w->prev_len && prefix < t->term_len &&
		       w->prev_term[prefix] == t->term[prefix])
			prefix++;
	}
	if ((rc = lode_out_vbyte(&w->dict, prefix, err)) ||
	    (rc = lode_out_vbyte(&w->dict, t->term_len - prefix, err)) ||
	    (rc = lode_out_write(&w->dict, t->term + prefix,
	                         t->term_len - prefix, err)) ||
	    (rc = lode_out_vbyte(&w->dict, t->df, err)) ||
	    (rc = lode_out_vbyte(&w->dict, t->cf, err)) ||
	    (rc = lode_out_vbyte(&w->dict, pst_len, err)) ||
	    (rc = lode_out_vbyte(&w->dict, pos_len, err)))
		return rc;
	memcpy(w->prev_term, t->term, t->term_len);
	w->prev_len = t->term_len;
	w->nterms++;
	return LODE_OK;
}

int lode_postings_writer_add(struct lode_postings_writer *w,
                             const lode_term_postings *t, lode_error *err)
{
	uint64_t pst_off = w->postings.offset, pos_off = w->positions.offset;
	uint64_t seen = 0;
	int64_t last = -1;
	/* Stem and pair terms keep no positions. */
	int stem = t->term[0] == LODE_STEM_MARK || t->term[0] == LODE_PAIR_MARK;
	int rc;

	if (t->term_len == 0 || t->term_len > LODE_MAX_TOKEN_BYTES || t->df == 0)
		return lode_fail(err, LODE_EINVAL, "bad term given to the writer");
	w->blocks_used = 0;
	w->skips_used = 0;
	w->nblock = 0;
	w->prev_doc = -1;
	/* A single block gets no impact list: not worth computing. */
	w->with_impacts = t->df > LODE_BLOCK_DOCS;
	for (size_t c = 0; c < t->nchunks; c++) {
		const uint8_t *p = t->chunks[c].data;
		const uint8_t *end = p + t->chunks[c].len;
		int first = 1;
		while (p < end) {
			uint32_t gap, freq;
			int64_t doc;
			if (lode_vbyte_get32(&p, end, &gap) ||
			    lode_vbyte_get32(&p, end, &freq) || freq == 0)
				goto corrupt;
			doc = first ? (int64_t)gap : last + gap;
			first = 0;
			if (doc <= last || doc >= w->ndocs)
				goto corrupt;
			last = doc;
			if (w->nblock == 0) {
				w->block_doc_off = w->blocks_used;
				w->block_pos_off = w->positions.offset - pos_off;
			}
			w->pos_at[w->nblock] = p;
			w->pos_end[w->nblock] = end;
			if (!stem && lode_vbyte_skip(&p, end, freq))
				goto corrupt;
			w->docs[w->nblock] = (uint32_t)doc;
			w->freqs[w->nblock] = freq;
			seen++;
			if (++w->nblock < LODE_BLOCK_DOCS)
				continue;
			if (!stem && (rc = write_block_positions(w, err)))
				return rc;
			if ((rc = flush_block(w)))
				goto fail_block;
		}
	}
	if (seen != t->df)
		goto corrupt;
	if (w->nblock && !stem && (rc = write_block_positions(w, err)))
		return rc;
	if (w->nblock && (rc = flush_block(w)))
		goto fail_block;
	/* A single block needs no skip table, nor an impact list: its bounds
	 * are the term's. */
	if (w->skips_used > LODE_SKIP_ENTRY_SIZE) {
		if ((rc = lode_out_write(&w->postings, w->skips, w->skips_used,
		                         err)) ||
		    (rc = lode_out_write(&w->postings, w->blocks, w->blocks_used,
		                         err)))
			return rc;
	} else if ((rc = lode_out_write(&w->postings, w->blocks,
	                                w->blocks_used - w->last_impacts, err))) {
		return rc;
	}
	if (t->term[0] == LODE_PAIR_MARK)
		w->npairs++;
	else
		w->npostings += t->df;
	return write_dict_entry(w, t, pst_off, w->postings.offset - pst_off,
	                        pos_off, w->positions.offset - pos_off, err);
corrupt:
	return lode_fail(err, LODE_ECORRUPT, "corrupt postings buffer for a term");
fail_block:
	if (rc == LODE_ELIMIT)
		return lode_fail(err, rc, "term '%.*s': postings exceed 4 GB",
		                 (int)(t->term_len > 40 ? 40 : t->term_len), t->term);
	return lode_fail(err, LODE_ENOMEM, "out of memory");
}

int lode_postings_writer_finish(struct lode_postings_writer *w,
                                const lode_common_words *common,
                                uint64_t *terms, uint64_t *postings,
                                uint64_t *pairs, lode_error *err)
{
	static const uint8_t pad[LODE_POSTINGS_PAD];
	uint64_t index_off = w->dict.offset, common_off;
	uint8_t count = (uint8_t)common->n;
	int rc = LODE_OK;

	for (size_t i = 0; rc == LODE_OK && i < w->nblocks; i++)
		rc = lode_out_put64(&w->dict, w->block_offsets[i], err);
	for (size_t i = 0; rc == LODE_OK && i < w->nblocks; i++)
		rc = lode_out_put64(&w->dict, w->block_keys[i], err);
	common_off = w->dict.offset;
	if (rc == LODE_OK)
		rc = lode_out_write(&w->dict, &count, 1, err);
	for (size_t i = 0; rc == LODE_OK && i < common->n; i++)
		if (!(rc = lode_out_write(&w->dict, &common->len[i], 1, err)))
			rc = lode_out_write(&w->dict, common->word[i],
			                    common->len[i], err);
	if (rc == LODE_OK &&
	    !(rc = lode_out_put64(&w->dict, w->nterms, err)) &&
	    !(rc = lode_out_put64(&w->dict, w->nblocks, err)) &&
	    !(rc = lode_out_put64(&w->dict, index_off, err)) &&
	    !(rc = lode_out_put64(&w->dict, common_off, err)) &&
	    !(rc = lode_out_finish(&w->dict, err)) &&
	    !(rc = lode_out_write(&w->postings, pad, sizeof(pad), err)) &&
	    !(rc = lode_out_finish(&w->postings, err)) &&
	    !(rc = lode_out_write(&w->positions, pad, LODE_POSITIONS_PAD, err)))
		rc = lode_out_finish(&w->positions, err);
	*terms = w->nterms - w->npairs;
	*postings = w->npostings;
	*pairs = w->npairs;
	lode_postings_writer_free(w);
	return rc;
}

void lode_postings_writer_free(struct lode_postings_writer *w)
{
	if (!w)
		return;
	lode_out_abort(&w->dict);
	lode_out_abort(&w->postings);
	lode_out_abort(&w->positions);
	lode_free(w->blocks);
	lode_free(w->skips);
	lode_free(w->bits_buf);
	lode_free(w->vals);
	lode_free(w->block_offsets);
	lode_free(w->block_keys);
	lode_free(w);
}
