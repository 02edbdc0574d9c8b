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
#include "worker.h"

/* Bytes of position codes buffered before they are written out, and the
 * most position values of a block kept between the writer's passes. */
#define POSITIONS_DRAIN 65536
#define POSITIONS_BUFFERED 65536

size_t lode_writer_batch_input = LODE_WRITER_BATCH_INPUT;
size_t lode_writer_batch_term_max = LODE_WRITER_BATCH_TERM_MAX;

/* Where a term's bytes go: straight into a file, or (in a batch, to be
 * written later in term order) appended to memory. */
struct sink {
	lode_out *file;          /* NULL: into mem */
	uint8_t *mem;
	size_t used, cap;
};

static int sink_write(struct sink *s, const void *p, size_t n, lode_error *err)
{
	if (n == 0)
		return LODE_OK; /* a term of the one document of a segment */
	if (s->file)
		return lode_out_write(s->file, p, n, err);
	if (lode_grow(&s->mem, &s->cap, s->used + n, 1))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	memcpy(s->mem + s->used, p, n);
	s->used += n;
	return LODE_OK;
}

/* The state of one term's encoding: the caller's thread has one, and the
 * helper thread its own. */
struct encoder {
	const uint32_t *lengths; /* token count of each document (borrowed) */
	uint32_t ndocs;
	unsigned doc_width;      /* bits of ndocs - 1 (FORMAT.md, DocWidth) */
	struct sink *pst, *pos;  /* where the term's postings and positions go */
	uint64_t pos_bytes;      /* of the term's positions so far */

	/* The current term's blocks, buffered to be written after its skip
	 * table. */
	uint8_t *blocks;
	size_t blocks_used, blocks_cap;
	/* Each block's skip entry, one column a field (FORMAT.md, SkipTable),
	 * packed once the term's last block is known. */
	uint32_t *skip_last, *skip_off, *skip_pos;
	size_t skip_count, skip_caps[3];
	uint8_t *skip_table;     /* the packed table */
	size_t skip_table_cap;
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
	/* The pending block's position codes (codec.h), handed to the sink
	 * whenever they pass POSITIONS_DRAIN bytes. */
	lode_bitwriter bits;
	uint8_t *bits_buf;
	size_t bits_cap;
	uint32_t *vals;          /* the pending block's values, if buffered */
	size_t vals_cap;
};

/* A term waiting in a batch. */
struct pending {
	char term[LODE_MAX_TOKEN_BYTES];
	size_t term_len;
	uint32_t df;
	uint64_t cf;
	size_t chunk0, nchunks;  /* its chunks in the batch's chunks[] */
	uint64_t pst_len, pos_len; /* its bytes in the batch's sinks */
};

/* Terms encoded together, on either thread, into memory; then written in
 * term order by the caller's thread. */
struct batch {
	struct pending *terms;
	size_t n, cap;
	lode_chunk *chunks;      /* the terms' chunks (inverter.h: their data
	                            stay valid until the inverter is freed) */
	size_t nchunks, chunks_cap;
	size_t input;            /* bytes of the terms' chunks */
	struct sink pst, pos;    /* the encoded terms, one after another */
	int rc;                  /* of the encoding */
	lode_error err;
};

struct lode_postings_writer {
	lode_out dict, postings, positions;
	struct sink pst_file, pos_file; /* into postings and positions */
	struct encoder enc;      /* the caller's thread's */

	/* With a helper thread: batch[0] is filled and handed to the helper,
	 * then batch[1] filled and encoded by the caller; both are written
	 * out once the helper is done, and it starts over. */
	int threaded;
	lode_worker helper;      /* encodes batch[0] with helper_enc */
	struct encoder helper_enc;
	struct batch batch[2];
	int filling;             /* the batch add() fills */

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

static void encode_helper_batch(void *arg);

int lode_postings_writer_open(const char *dir, const uint32_t *lengths,
                              uint32_t ndocs, int threaded,
                              struct lode_postings_writer **out,
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
		w->pst_file.file = &w->postings;
		w->pos_file.file = &w->positions;
		w->enc.lengths = w->helper_enc.lengths = lengths;
		w->enc.ndocs = w->helper_enc.ndocs = ndocs;
		w->enc.doc_width = w->helper_enc.doc_width =
		        lode_bits_needed(ndocs - 1);
	}
	if (!w || !dict || !pst || !pos) {
		rc = lode_fail(err, LODE_ENOMEM, "out of memory");
		goto out_free_paths;
	}
	if ((rc = lode_out_open(&w->dict, dict, LODE_MAGIC_DICT, err)) ||
	    (rc = lode_out_open(&w->postings, pst, LODE_MAGIC_POSTINGS, err)) ||
	    (rc = lode_out_open(&w->positions, pos, LODE_MAGIC_POSITIONS, err)))
		goto out_free_paths;
	/* Without the thread, all on this one. */
	w->threaded = threaded &&
	              lode_worker_start(&w->helper, encode_helper_batch, w) ==
	                      LODE_OK;
	*out = w;
	w = NULL;
out_free_paths:
	lode_postings_writer_free(w);
	lode_free(dict);
	lode_free(pst);
	lode_free(pos);
	return rc;
}

/* Room for one more skip entry in each column. */
static int grow_skips(struct encoder *e)
{
	size_t need = e->skip_count + 1;

	return lode_grow(&e->skip_last, &e->skip_caps[0], need, sizeof(uint32_t)) ||
	       lode_grow(&e->skip_off, &e->skip_caps[1], need, sizeof(uint32_t)) ||
	       lode_grow(&e->skip_pos, &e->skip_caps[2], need, sizeof(uint32_t));
}

/* Pack the term's skip entries (more than one) into e->skip_table; its
 * length in *len. */
static int pack_skips(struct encoder *e, size_t *len)
{
	size_t n = e->skip_count;
	unsigned dw = e->doc_width;
	/* Offsets increase: the last is the widest. */
	unsigned ow = lode_bits_needed(e->skip_off[n - 1]);
	unsigned pw = lode_bits_needed(e->skip_pos[n - 1]);
	size_t db = lode_bitpack_size(n, dw), ob = lode_bitpack_size(n, ow);
	uint8_t *p;

	*len = LODE_SKIP_HEADER_SIZE + db + ob + lode_bitpack_size(n, pw);
	if (lode_grow(&e->skip_table, &e->skip_table_cap, *len, 1))
		return LODE_ENOMEM;
	p = e->skip_table;
	p[0] = (uint8_t)ow;
	p[1] = (uint8_t)pw;
	p += LODE_SKIP_HEADER_SIZE;
	lode_bitpack(p, e->skip_last, n, dw);
	lode_bitpack(p + db, e->skip_off, n, ow);
	lode_bitpack(p + db + ob, e->skip_pos, n, pw);
	return LODE_OK;
}

/* A term of one document: its id alone, in Packed(1, DocWidth). */
static int write_single(struct encoder *e, lode_error *err)
{
	uint8_t b[4];
	size_t n = lode_bitpack_size(1, e->doc_width);

	lode_put32(b, e->docs[0]);
	e->nblock = 0;
	return sink_write(e->pst, b, n, err);
}

/* Encode the pending block into e->blocks, followed by its impact list, and
 * note its skip entry. */
static int flush_block(struct encoder *e)
{
	uint32_t n = e->nblock;
	uint32_t fminus[LODE_BLOCK_DOCS]; /* freq - 1, as stored */
	uint8_t hd, hf;
	size_t need, nimpacts, dbytes, fbytes;
	int rice = 0;
	uint8_t *p;

	nimpacts = 0;
	if (e->with_impacts) {
		for (uint32_t i = 0; i < n; i++)
			e->lens[i] = e->lengths[e->docs[i]];
		nimpacts = lode_impacts_encode(e->impacts, e->freqs, e->lens, n);
	}
	for (uint32_t i = 0; i < n; i++) {
		int64_t prev = i ? (int64_t)e->docs[i - 1] : e->prev_doc;
		e->scratch[i] = (uint32_t)((int64_t)e->docs[i] - prev - 1);
		fminus[i] = e->freqs[i] - 1;
	}
	/* Every query decodes documents, so they are packed without
	 * exceptions (patching them cost AND and phrase queries 3-5 % more
	 * instructions for postings 6 % smaller); frequencies take the
	 * cheapest width.  A term of one block has its documents in Rice
	 * codes if they are shorter: a block decoded at most once a query,
	 * where a term of many blocks is decoded again and again. */
	hd = lode_pfor_plan(e->scratch, n, 0, &dbytes);
	if (!e->with_impacts) {
		uint64_t bits;
		unsigned k = lode_rice_plan(e->scratch, n, &bits);
		if ((bits + 7) / 8 < dbytes) {
			rice = 1;
			hd = (uint8_t)(LODE_DOCS_RICE | k);
			dbytes = (size_t)(bits + 7) / 8;
		}
	}
	hf = lode_pfor_plan(fminus, n, 1, &fbytes);
	need = nimpacts + 2 + dbytes + fbytes;
	/* A skip entry holds the block's offsets in 32 bits each. */
	if (e->block_doc_off > UINT32_MAX || e->block_pos_off > UINT32_MAX)
		return LODE_ELIMIT;
	/* lode_rice_put's room: 8 bytes past its codes. */
	if (lode_grow(&e->blocks, &e->blocks_cap, e->blocks_used + need + 8, 1) ||
	    grow_skips(e))
		return LODE_ENOMEM;
	p = e->blocks + e->blocks_used;
	p[0] = hd;
	p[1] = hf;
	if (rice) {
		/* Frequencies first: the codes end the block. */
		lode_bitwriter bw = {p + 2 + fbytes, 0, 0, 0};
		lode_pfor_encode(p + 2, fminus, n, hf);
		lode_rice_put(&bw, e->scratch, n, hd & LODE_DOCS_RICE_K);
		lode_bitwriter_flush(&bw);
	} else {
		lode_pfor_encode(p + 2, e->scratch, n, hd);
		lode_pfor_encode(p + 2 + dbytes, fminus, n, hf);
	}
	memcpy(p + need - nimpacts, e->impacts, nimpacts);
	e->blocks_used += need;
	e->last_impacts = nimpacts;

	e->skip_last[e->skip_count] = e->docs[n - 1];
	e->skip_off[e->skip_count] = (uint32_t)e->block_doc_off;
	e->skip_pos[e->skip_count] = (uint32_t)e->block_pos_off;
	e->skip_count++;

	e->prev_doc = e->docs[n - 1];
	e->nblock = 0;
	return LODE_OK;
}

/* Room for LODE_BITS_MAX_BYTES(q) more bytes of position codes. */
static int bits_room(struct encoder *e, uint64_t q)
{
	if (lode_grow(&e->bits_buf, &e->bits_cap,
	              e->bits.bytes + LODE_BITS_MAX_BYTES(q), 1))
		return LODE_ENOMEM;
	e->bits.out = e->bits_buf;
	return LODE_OK;
}

/* Write out the whole bytes of position codes, after padding the last one
 * if last is set. */
static int drain_positions(struct encoder *e, int last,
                           lode_error *err)
{
	int rc;

	if (last)
		lode_bitwriter_flush(&e->bits);
	rc = sink_write(e->pos, e->bits_buf, e->bits.bytes, err);
	e->pos_bytes += e->bits.bytes;
	e->bits.bytes = 0;
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

/* The buffered first pass of write_block_positions: the pending block's
 * position values into vals, their sum into *sum, with next_value's checks
 * made once per document (positions only grow, in 64 bits). */
static int decode_block_values(const struct encoder *e, uint32_t *vals,
                               uint64_t *sum)
{
	uint64_t total = 0;

	for (uint32_t d = 0; d < e->nblock; d++) {
		const uint8_t *p = e->pos_at[d], *end = e->pos_end[d];
		uint32_t gap, zero = 0;
		uint64_t pos;

		if (lode_vbyte_get32(&p, end, &gap))
			return LODE_ECORRUPT;
		pos = gap;
		total += gap;
		*vals++ = gap;
		for (uint32_t i = 1; i < e->freqs[d]; i++) {
			if (lode_vbyte_get32(&p, end, &gap))
				return LODE_ECORRUPT;
			zero |= gap == 0;
			pos += gap;
			total += gap - 1;
			*vals++ = gap - 1;
		}
		if (zero || pos >= e->lengths[e->docs[d]])
			return LODE_ECORRUPT;
	}
	*sum = total;
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
static int write_block_positions(struct encoder *e,
                                 lode_error *err)
{
	uint64_t values = 0, sum = 0, cost[3] = {0}, pos;
	unsigned k0, k, best = 0;
	int buffered, rc;

	for (uint32_t d = 0; d < e->nblock; d++) {
		if (e->freqs[d] > e->lengths[e->docs[d]])
			goto corrupt;
		values += e->freqs[d];
	}
	buffered = values <= POSITIONS_BUFFERED;
	if (buffered) {
		if (lode_grow(&e->vals, &e->vals_cap, values, sizeof(uint32_t)))
			return lode_fail(err, LODE_ENOMEM, "out of memory");
		if (decode_block_values(e, e->vals, &sum))
			goto corrupt;
	}
	for (uint32_t d = 0; !buffered && d < e->nblock; d++) {
		const uint8_t *p = e->pos_at[d];
		uint32_t dl = e->lengths[e->docs[d]], v, i = 0;
		while (i < e->freqs[d]) {
			if (next_value(&p, e->pos_end[d], &i, &pos, dl, &v))
				goto corrupt;
			sum += v;
		}
	}
	k0 = lode_rice_param_base(sum, values);
	if (buffered) {
		/* Flat loops over the values: a quarter of the instructions
		 * of the document-by-document passes below. */
		for (uint64_t i = 0; i < values; i++) {
			cost[0] += e->vals[i] >> k0;
			cost[1] += e->vals[i] >> (k0 + 1);
			cost[2] += e->vals[i] >> (k0 + 2);
		}
	} else {
		FOR_EACH_DECODED_VALUE(e, v, {
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
	if (buffered ? lode_grow(&e->bits_buf, &e->bits_cap, e->bits.bytes +
	                         (LODE_RICE_PARAM_BITS + values * (k + 1) +
	                          cost[best]) / 8 + 16, 1)
	             : bits_room(e, 0))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	e->bits.out = e->bits_buf;
	lode_bits_put(&e->bits, k, LODE_RICE_PARAM_BITS);
	if (buffered) {
		lode_rice_put(&e->bits, e->vals, values, k);
		return drain_positions(e, 1, err);
	}
	if (k)
		FOR_EACH_DECODED_VALUE(e, v, {
			if (bits_room(e, 0))
				return lode_fail(err, LODE_ENOMEM, "out of memory");
			lode_bits_put(&e->bits, v & (((uint32_t)1 << k) - 1), k);
			if (e->bits.bytes >= POSITIONS_DRAIN &&
			    (rc = drain_positions(e, 0, err)))
				return rc;
		});
	FOR_EACH_DECODED_VALUE(e, v, {
		if (bits_room(e, v >> k))
			return lode_fail(err, LODE_ENOMEM, "out of memory");
		lode_unary_put(&e->bits, v >> k);
		if (e->bits.bytes >= POSITIONS_DRAIN &&
		    (rc = drain_positions(e, 0, err)))
			return rc;
	});
	return drain_positions(e, 1, err);
corrupt:
	return lode_fail(err, LODE_ECORRUPT, "corrupt postings buffer for a term");
}

/* Stem and pair terms keep no positions. */
static int without_positions(const char *term)
{
	return term[0] == LODE_STEM_MARK || term[0] == LODE_PAIR_MARK;
}

static int write_dict_entry(struct lode_postings_writer *w, const char *term,
                            size_t term_len, uint32_t df, uint64_t cf,
                            uint64_t pst_off, uint64_t pst_len,
                            uint64_t pos_off, uint64_t pos_len,
                            lode_error *err)
{
	size_t prefix = 0;
	int rc;

	if (w->nterms % LODE_DICT_BLOCK_TERMS == 0) {
		if (lode_grow(&w->block_offsets, &w->block_offsets_cap,
		              w->nblocks + 1, sizeof(uint64_t)) ||
		    lode_grow(&w->block_keys, &w->block_keys_cap, w->nblocks + 1,
		              sizeof(uint64_t)))
			return lode_fail(err, LODE_ENOMEM, "out of memory");
		w->block_keys[w->nblocks] = lode_bytes_key(term, term_len);
		w->block_offsets[w->nblocks++] = w->dict.offset;
		if ((rc = lode_out_put64(&w->dict, pst_off, err)) ||
		    (rc = lode_out_put64(&w->dict, pos_off, err)))
			return rc;
	} else {
		while (prefix < w->prev_len && prefix < term_len &&
		       w->prev_term[prefix] == term[prefix])
			prefix++;
	}
	if ((rc = lode_out_vbyte(&w->dict, prefix, err)) ||
	    (rc = lode_out_vbyte(&w->dict, term_len - prefix, err)) ||
	    (rc = lode_out_write(&w->dict, term + prefix,
	                         term_len - prefix, err)) ||
	    (rc = lode_out_vbyte(&w->dict, df, err)) ||
	    (rc = lode_out_vbyte(&w->dict, cf, err)))
		return rc;
	/* A term of one document has its id alone, whose size a reader
	 * knows; stem and pair terms have no positions (FORMAT.md, Entry). */
	if ((df != 1 && (rc = lode_out_vbyte(&w->dict, pst_len, err))) ||
	    (!without_positions(term) &&
	     (rc = lode_out_vbyte(&w->dict, pos_len, err))))
		return rc;
	memcpy(w->prev_term, term, term_len);
	w->prev_len = term_len;
	w->nterms++;
	return LODE_OK;
}


/* Encode term t with e into e->pst and e->pos: its skip table (if it has
 * more than one block), blocks and impact lists, and its positions. */
static int encode_term(struct encoder *e, const lode_term_postings *t,
                       lode_error *err)
{
	uint64_t seen = 0;
	int64_t last = -1;
	int stem = without_positions(t->term);
	int rc;

	e->blocks_used = 0;
	e->skip_count = 0;
	e->nblock = 0;
	e->prev_doc = -1;
	e->pos_bytes = 0;
	/* A single block gets no impact list: not worth computing. */
	e->with_impacts = t->df > LODE_BLOCK_DOCS;
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
			if (doc <= last || doc >= e->ndocs)
				goto corrupt;
			last = doc;
			if (e->nblock == 0) {
				e->block_doc_off = e->blocks_used;
				e->block_pos_off = e->pos_bytes;
			}
			e->pos_at[e->nblock] = p;
			e->pos_end[e->nblock] = end;
			if (!stem && lode_vbyte_skip(&p, end, freq))
				goto corrupt;
			e->docs[e->nblock] = (uint32_t)doc;
			e->freqs[e->nblock] = freq;
			seen++;
			if (++e->nblock < LODE_BLOCK_DOCS)
				continue;
			if (!stem && (rc = write_block_positions(e, err)))
				return rc;
			if ((rc = flush_block(e)))
				goto fail_block;
		}
	}
	if (seen != t->df)
		goto corrupt;
	if (e->nblock && !stem && (rc = write_block_positions(e, err)))
		return rc;
	/* Its frequency is the term's CollectionFreq. */
	if (t->df == 1)
		return write_single(e, err);
	if (e->nblock && (rc = flush_block(e)))
		goto fail_block;
	/* A single block needs no skip table, nor an impact list: its bounds
	 * are the term's. */
	if (e->skip_count > 1) {
		size_t len;
		if (pack_skips(e, &len))
			return lode_fail(err, LODE_ENOMEM, "out of memory");
		return (rc = sink_write(e->pst, e->skip_table, len, err))
		               ? rc
		               : sink_write(e->pst, e->blocks, e->blocks_used, err);
	}
	return sink_write(e->pst, e->blocks, e->blocks_used - e->last_impacts,
	                  err);
corrupt:
	return lode_fail(err, LODE_ECORRUPT, "corrupt postings buffer for a term");
fail_block:
	if (rc == LODE_ELIMIT)
		return lode_fail(err, rc, "term '%.*s': postings or positions "
		                 "exceed 4 GB",
		                 (int)(t->term_len > 40 ? 40 : t->term_len), t->term);
	return lode_fail(err, LODE_ENOMEM, "out of memory");
}

/* The term's dictionary entry and counts, its data written at pst_off and
 * pos_off. */
static int term_written(struct lode_postings_writer *w, const char *term,
                        size_t term_len, uint32_t df, uint64_t cf,
                        uint64_t pst_off, uint64_t pos_off, lode_error *err)
{
	if (term[0] == LODE_PAIR_MARK)
		w->npairs++;
	else
		w->npostings += df;
	return write_dict_entry(w, term, term_len, df, cf, pst_off,
	                        w->postings.offset - pst_off, pos_off,
	                        w->positions.offset - pos_off, err);
}

/* Encode every term of batch b with e into b's sinks. */
static void encode_batch(struct encoder *e, struct batch *b)
{
	e->pst = &b->pst;
	e->pos = &b->pos;
	b->rc = LODE_OK;
	for (size_t i = 0; b->rc == LODE_OK && i < b->n; i++) {
		struct pending *t = &b->terms[i];
		lode_term_postings view = {t->term, t->term_len, t->df, t->cf,
		                           b->chunks + t->chunk0, t->nchunks};
		size_t pst = b->pst.used, pos = b->pos.used;
		b->rc = encode_term(e, &view, &b->err);
		t->pst_len = b->pst.used - pst;
		t->pos_len = b->pos.used - pos;
	}
}

/* Forget batch b's terms, keeping its memory for the next. */
static void empty_batch(struct batch *b)
{
	b->n = b->nchunks = b->input = 0;
	b->pst.used = b->pos.used = 0;
	b->rc = LODE_OK;
}

/* Write batch b's encoded terms out, in order, and empty it. */
static int write_batch(struct lode_postings_writer *w, struct batch *b,
                       lode_error *err)
{
	size_t pst = 0, pos = 0;
	int rc = b->rc;

	if (rc)
		*err = b->err;
	for (size_t i = 0; rc == LODE_OK && i < b->n; i++) {
		const struct pending *t = &b->terms[i];
		uint64_t pst_off = w->postings.offset, pos_off = w->positions.offset;
		if ((rc = lode_out_write(&w->postings, b->pst.mem + pst, t->pst_len,
		                         err)) ||
		    (rc = lode_out_write(&w->positions, b->pos.mem + pos,
		                         t->pos_len, err)))
			break;
		pst += t->pst_len;
		pos += t->pos_len;
		rc = term_written(w, t->term, t->term_len, t->df, t->cf, pst_off,
		                  pos_off, err);
	}
	empty_batch(b);
	return rc;
}

/* The helper's job: batch[0]. */
static void encode_helper_batch(void *arg)
{
	struct lode_postings_writer *w = arg;

	encode_batch(&w->helper_enc, &w->batch[0]);
}

/* Encode and write every batched term: batch[1] (if filling it) on this
 * thread while the helper finishes batch[0], then both in order. */
static int write_batches(struct lode_postings_writer *w, lode_error *err)
{
	int rc;

	if (w->filling == 0) {
		encode_batch(&w->enc, &w->batch[0]);
		return write_batch(w, &w->batch[0], err);
	}
	encode_batch(&w->enc, &w->batch[1]);
	lode_worker_wait(&w->helper);
	w->filling = 0;
	rc = write_batch(w, &w->batch[0], err);
	if (rc == LODE_OK)
		return write_batch(w, &w->batch[1], err);
	empty_batch(&w->batch[1]); /* the build has failed: not written */
	return rc;
}

/* Add t, of input bytes of chunks, to the batch being filled; LODE_ENOMEM
 * if it cannot grow. */
static int batch_add(struct batch *b, const lode_term_postings *t,
                     size_t input)
{
	struct pending *p;

	if (lode_grow(&b->terms, &b->cap, b->n + 1, sizeof(*b->terms)) ||
	    lode_grow(&b->chunks, &b->chunks_cap, b->nchunks + t->nchunks,
	              sizeof(*b->chunks)))
		return LODE_ENOMEM;
	p = &b->terms[b->n++];
	memcpy(p->term, t->term, t->term_len);
	p->term_len = t->term_len;
	p->df = t->df;
	p->cf = t->cf;
	p->chunk0 = b->nchunks;
	p->nchunks = t->nchunks;
	for (size_t c = 0; c < t->nchunks; c++)
		b->chunks[b->nchunks++] = t->chunks[c];
	b->input += input;
	return LODE_OK;
}

int lode_postings_writer_add(struct lode_postings_writer *w,
                             const lode_term_postings *t, lode_error *err)
{
	uint64_t pst_off, pos_off;
	size_t input = 0;
	int rc;

	if (t->term_len == 0 || t->term_len > LODE_MAX_TOKEN_BYTES || t->df == 0)
		return lode_fail(err, LODE_EINVAL, "bad term given to the writer");
	for (size_t c = 0; c < t->nchunks; c++)
		input += t->chunks[c].len;
	if (w->threaded && input <= lode_writer_batch_term_max) {
		struct batch *b = &w->batch[w->filling];
		if (batch_add(b, t, input))
			return lode_fail(err, LODE_ENOMEM, "out of memory");
		if (b->input < lode_writer_batch_input)
			return LODE_OK;
		if (w->filling == 1)
			return write_batches(w, err);
		lode_worker_give(&w->helper);
		w->filling = 1;
		return LODE_OK;
	}
	/* One thread, or a term too large to hold in memory: encoded
	 * straight into the files, after the terms before it. */
	if (w->threaded && (rc = write_batches(w, err)))
		return rc;
	pst_off = w->postings.offset;
	pos_off = w->positions.offset;
	w->enc.pst = &w->pst_file;
	w->enc.pos = &w->pos_file;
	if ((rc = encode_term(&w->enc, t, err)))
		return rc;
	return term_written(w, t->term, t->term_len, t->df, t->cf, pst_off,
	                    pos_off, err);
}

int lode_postings_writer_finish(struct lode_postings_writer *w,
                                const lode_common_words *common,
                                uint64_t *terms, uint64_t *postings,
                                uint64_t *pairs, lode_error *err)
{
	static const uint8_t pad[LODE_POSTINGS_PAD];
	uint64_t index_off = w->dict.offset, common_off;
	uint8_t count = (uint8_t)common->n;
	int rc = w->threaded ? write_batches(w, err) : LODE_OK;

	index_off = w->dict.offset;
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

static void encoder_free(struct encoder *e)
{
	lode_free(e->blocks);
	lode_free(e->skip_last);
	lode_free(e->skip_off);
	lode_free(e->skip_pos);
	lode_free(e->skip_table);
	lode_free(e->bits_buf);
	lode_free(e->vals);
}

void lode_postings_writer_free(struct lode_postings_writer *w)
{
	if (!w)
		return;
	if (w->threaded)
		lode_worker_stop(&w->helper);
	lode_out_abort(&w->dict);
	lode_out_abort(&w->postings);
	lode_out_abort(&w->positions);
	encoder_free(&w->enc);
	encoder_free(&w->helper_enc);
	for (int i = 0; i < 2; i++) {
		lode_free(w->batch[i].terms);
		lode_free(w->batch[i].chunks);
		lode_free(w->batch[i].pst.mem);
		lode_free(w->batch[i].pos.mem);
	}
	lode_free(w->block_offsets);
	lode_free(w->block_keys);
	lode_free(w);
}
