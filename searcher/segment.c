/* segment.c -- mapping a segment's files; dictionary lookup; documents. */
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "alloc.h"
#include "codec.h"
#include "error.h"
#include "format.h"
#include "stem.h"
#include "tokenizer.h"

static int corrupt(const lode_map *map, const char *what, lode_error *err)
{
	return lode_fail(err, LODE_ECORRUPT, "%s: corrupt: %s", map->path, what);
}

static int map_file(lode_map *map, const char *dir, const char *name,
                    const char *magic, size_t footer, lode_error *err)
{
	char *path = lode_path_join(dir, name);
	int rc;

	if (!path)
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	rc = lode_map_open(map, path, magic, footer, err);
	if (rc == LODE_ENOTFOUND)
		rc = lode_fail(err, LODE_ECORRUPT, "%s: corrupt: file is missing",
		               path);
	lode_free(path);
	return rc;
}

static int check_dict(struct lode_segment *seg, lode_error *err)
{
	const lode_map *m = &seg->dict;
	const uint8_t *f = m->data + m->size - LODE_DICT_FOOTER_SIZE;
	const uint8_t *p, *end = f;
	uint64_t common_off;
	lode_common_words *cw = &seg->common;
	size_t count;

	seg->nterms = lode_get64(f);
	seg->nblocks = lode_get64(f + 8);
	seg->index_off = lode_get64(f + 16);
	common_off = lode_get64(f + 24);
	if (seg->nblocks != (seg->nterms + LODE_DICT_BLOCK_TERMS - 1) /
	                    LODE_DICT_BLOCK_TERMS ||
	    seg->index_off < LODE_HEADER_SIZE ||
	    common_off > m->size - LODE_DICT_FOOTER_SIZE ||
	    seg->index_off > common_off ||
	    (common_off - seg->index_off) / 16 != seg->nblocks ||
	    (common_off - seg->index_off) % 16 != 0)
		return corrupt(m, "dictionary footer does not match its size", err);
	/* The common words: a count, then length and bytes of each, in
	 * strictly increasing order, filling the space to the footer. */
	p = m->data + common_off;
	if (p >= end || *p > LODE_PAIR_WORDS_MAX)
		goto bad_common;
	count = *p++;
	for (size_t i = 0; i < count; i++) {
		size_t n;
		if (p >= end || *p == 0 || *p > LODE_PAIR_WORD_MAX ||
		    *p > (size_t)(end - p - 1))
			goto bad_common;
		n = *p++;
		if (i > 0 && lode_bytes_compare(cw->word[i - 1], cw->len[i - 1],
		                                (const char *)p, n) >= 0)
			goto bad_common;
		cw->len[i] = (uint8_t)n;
		memcpy(cw->word[i], p, n);
		p += n;
	}
	cw->n = count;
	if (p != end)
		goto bad_common;
	return LODE_OK;
bad_common:
	cw->n = 0;
	return corrupt(m, "bad list of common words", err);
}

static int check_docs(struct lode_segment *seg, uint32_t ndocs, lode_error *err)
{
	const lode_map *m = &seg->docs;
	uint64_t footer = m->size - LODE_DOCS_FOOTER_SIZE;
	const uint8_t *f = m->data + footer;
	uint64_t n = lode_get64(f);
	uint64_t nblocks = (n + LODE_DOC_BLOCK_DOCS - 1) / LODE_DOC_BLOCK_DOCS;

	seg->tokens = lode_get64(f + 8);
	seg->nchunks = lode_get64(f + 16);
	seg->doc_index_off = lode_get64(f + 24);
	if (n != ndocs)
		return corrupt(m, "document count differs from the manifest", err);
	/* Every chunk holds a document: at most n chunks; none if the
	 * segment keeps no text. */
	if (seg->nchunks > n)
		goto bad;
	seg->doc_blocks_off = LODE_HEADER_SIZE + n * 4 + (seg->nchunks + 1) * 8;
	if (seg->doc_blocks_off > seg->doc_index_off ||
	    seg->doc_index_off > footer ||
	    footer - seg->doc_index_off != nblocks * 8)
		goto bad;
	seg->ndocs = ndocs;
	seg->doc_width = lode_bits_needed(ndocs - 1);
	seg->doc_tokens = m->data + LODE_HEADER_SIZE;
	seg->chunks = seg->doc_tokens + n * 4;
	return LODE_OK;
bad:
	return corrupt(m, "document table footer does not match its size", err);
}

/* The decompression context a segment keeps.  A context is about 96 KB
 * (ZSTD_sizeof_DCtx), made and freed again for every snippet's text: that
 * made zstd's decompression no faster than libdeflate's in `lode search`
 * (0.70 against 0.69 ms with ten snippets; kept, 0.54 ms).  Taken and
 * given back by atomic exchange, so that threads sharing the index never
 * share one. */
struct dctx_slot {
	_Atomic(ZSTD_DCtx *) spare;
};

int lode_segment_open(struct lode_segment *seg, const char *dir, uint32_t ndocs,
                      lode_error *err)
{
	int rc;

	memset(seg, 0, sizeof(*seg));
	if ((rc = map_file(&seg->dict, dir, LODE_FILE_DICT, LODE_MAGIC_DICT,
	                   LODE_DICT_FOOTER_SIZE, err)) ||
	    (rc = map_file(&seg->postings, dir, LODE_FILE_POSTINGS,
	                   LODE_MAGIC_POSTINGS,
	                   LODE_POSTINGS_PAD + LODE_PLAIN_FOOTER_SIZE, err)) ||
	    (rc = map_file(&seg->positions, dir, LODE_FILE_POSITIONS,
	                   LODE_MAGIC_POSITIONS,
	                   LODE_POSITIONS_PAD + LODE_PLAIN_FOOTER_SIZE, err)) ||
	    (rc = map_file(&seg->docs, dir, LODE_FILE_DOCS, LODE_MAGIC_DOCS,
	                   LODE_DOCS_FOOTER_SIZE, err)) ||
	    /* The paths shown and the token counts scored with: a flipped
	     * byte would pass for data.  A few bytes a document, checked in
	     * microseconds (libdeflate's CRC runs at gigabytes a second). */
	    (rc = lode_map_verify_crc(&seg->docs, err)) ||
	    (rc = map_file(&seg->text, dir, LODE_FILE_TEXT, LODE_MAGIC_TEXT,
	                   LODE_PLAIN_FOOTER_SIZE, err)) ||
	    (rc = check_dict(seg, err)) || (rc = check_docs(seg, ndocs, err)))
		lode_segment_close(seg);
	else if ((seg->dctx = lode_malloc(sizeof(*seg->dctx))))
		atomic_init(&seg->dctx->spare, NULL);
	return rc;
}

void lode_segment_close(struct lode_segment *seg)
{
	if (seg->dctx) {
		ZSTD_freeDCtx(atomic_load(&seg->dctx->spare));
		lode_free(seg->dctx);
		seg->dctx = NULL;
	}
	lode_map_close(&seg->dict);
	lode_map_close(&seg->postings);
	lode_map_close(&seg->positions);
	lode_map_close(&seg->docs);
	lode_map_close(&seg->text);
}

/* The bytes of dictionary block b: [*start, *end). */
static int block_bounds(const struct lode_segment *seg, uint64_t b,
                        const uint8_t **start, const uint8_t **end,
                        lode_error *err)
{
	const uint8_t *index = seg->dict.data + seg->index_off;
	uint64_t off = lode_get64(index + b * 8);
	uint64_t next = b + 1 < seg->nblocks ? lode_get64(index + (b + 1) * 8)
	                                     : seg->index_off;

	if (off < LODE_HEADER_SIZE || off > next || next > seg->index_off ||
	    next - off < 16)
		return corrupt(&seg->dict, "dictionary block offset out of range",
		               err);
	*start = seg->dict.data + off;
	*end = seg->dict.data + next;
	return LODE_OK;
}

/* Block b's key (FORMAT.md, BlockKeys). */
static inline uint64_t block_key(const struct lode_segment *seg, uint64_t b)
{
	return lode_get64(seg->dict.data + seg->index_off + (seg->nblocks + b) * 8);
}

/* Compare term with the first term of block b; *cmp < 0 if term sorts
 * before it.  The binary search's step: only the bytes it reads are
 * checked (block_bounds' full test waits for the block scanned). */
static int compare_block(const struct lode_segment *seg, uint64_t b,
                         const char *term, size_t len, int *cmp,
                         lode_error *err)
{
	const uint8_t *index = seg->dict.data + seg->index_off;
	const uint8_t *end = index, *p;
	uint64_t off = lode_get64(index + b * 8), prefix, suffix;

	if (off < LODE_HEADER_SIZE || off > seg->index_off - 16)
		return corrupt(&seg->dict, "dictionary block offset out of range",
		               err);
	p = seg->dict.data + off + 16;
	if (lode_vbyte_get_fast(&p, end, &prefix) || prefix != 0 ||
	    lode_vbyte_get_fast(&p, end, &suffix) || suffix == 0 ||
	    suffix > LODE_MAX_TOKEN_BYTES || suffix > (uint64_t)(end - p))
		return corrupt(&seg->dict, "bad dictionary entry", err);
	*cmp = lode_bytes_compare(term, len, (const char *)p, (size_t)suffix);
	return LODE_OK;
}

/* Called with each entry of a block, in order; return 0 to go on, 1 to stop
 * (found), or an error. */
typedef int (*entry_fn)(void *ctx, const char *term, size_t len,
                        const lode_term_info *info);

/* Block b's first entry [*p, *end), and where its first term's postings
 * and positions begin. */
static int open_block(const struct lode_segment *seg, uint64_t b,
                      const uint8_t **p, const uint8_t **end,
                      uint64_t *pst_off, uint64_t *pos_off, lode_error *err)
{
	int rc;

	if ((rc = block_bounds(seg, b, p, end, err)))
		return rc;
	*pst_off = lode_get64(*p);
	*pos_off = lode_get64(*p + 8);
	*p += 16;
	return LODE_OK;
}

/* One dictionary entry, as read by read_term and read_fields (the scan of
 * lode check, and the entry a lookup finds). */
struct entry {
	size_t prefix;             /* bytes shared with the previous term */
	const uint8_t *suffix;     /* the rest of the term ... */
	size_t suffix_len;         /* ... of this many bytes */
	lode_term_info info;
	uint64_t pst_len, pos_len;
};

/* Read the term part of entry i of a block at *p (before end); *cur_len is
 * the previous term's length and becomes this one's.  -1 if out of bounds. */
static int read_term(const uint8_t **p, const uint8_t *end, unsigned i,
                     size_t *cur_len, struct entry *e)
{
	uint64_t prefix, suffix;

	if (lode_vbyte_get_fast(p, end, &prefix) || prefix > *cur_len ||
	    (i == 0) != (prefix == 0 && *cur_len == 0) ||
	    lode_vbyte_get_fast(p, end, &suffix) ||
	    prefix + suffix > LODE_MAX_TOKEN_BYTES || prefix + suffix == 0 ||
	    suffix > (uint64_t)(end - *p))
		return -1;
	e->prefix = (size_t)prefix;
	e->suffix = *p;
	e->suffix_len = (size_t)suffix;
	*p += suffix;
	*cur_len = (size_t)(prefix + suffix);
	return 0;
}

/* The lengths an entry of a term whose first byte is first and whose
 * DocFreq is df leaves out (FORMAT.md, Entry): a term of one document
 * has its id alone, of known size, and stem and pair terms no positions.
 * *p moves past the lengths it holds; -1 if they pass end. */
static LODE_ALWAYS_INLINE int
read_lengths(const struct lode_segment *seg, const uint8_t **p,
             const uint8_t *end, uint8_t first, uint64_t df,
             uint64_t *pst_len, uint64_t *pos_len)
{
	*pos_len = 0;
	if (df == 1)
		*pst_len = lode_bitpack_size(1, seg->doc_width);
	else if (lode_vbyte_get_fast(p, end, pst_len))
		return -1;
	if (first != LODE_STEM_MARK && first != LODE_PAIR_MARK &&
	    lode_vbyte_get_fast(p, end, pos_len))
		return -1;
	return 0;
}

/* What read_fields found wrong, so that the message names the file that
 * is short of what the dictionary says (a truncated postings.pst or
 * positions.pos, more likely than a dictionary that passes their end). */
enum entry_fault {
	ENTRY_OK,
	ENTRY_BAD,           /* the entry itself */
	ENTRY_PAST_POSTINGS, /* its postings pass postings.pst's end */
	ENTRY_PAST_POSITIONS /* its positions pass positions.pos's end */
};

static int entry_corrupt(const struct lode_segment *seg,
                         enum entry_fault fault, lode_error *err)
{
	if (fault == ENTRY_PAST_POSTINGS)
		return corrupt(&seg->postings, "shorter than the dictionary says",
		               err);
	if (fault == ENTRY_PAST_POSITIONS)
		return corrupt(&seg->positions,
		               "shorter than the dictionary says", err);
	return corrupt(&seg->dict, "bad dictionary entry", err);
}

/* Read the rest of the entry of a term whose first byte is first, whose
 * data start at pst_off and pos_off, checking every field's bounds. */
static enum entry_fault read_fields(const struct lode_segment *seg,
                                    const uint8_t **p, const uint8_t *end,
                                    uint8_t first, uint64_t pst_off,
                                    uint64_t pos_off, struct entry *e)
{
	size_t pst_max = seg->postings.size - LODE_POSTINGS_PAD -
	                 LODE_PLAIN_FOOTER_SIZE;
	size_t pos_max = seg->positions.size - LODE_POSITIONS_PAD -
	                 LODE_PLAIN_FOOTER_SIZE;
	uint64_t df, cf;

	if (lode_vbyte_get_fast(p, end, &df) || lode_vbyte_get_fast(p, end, &cf) ||
	    read_lengths(seg, p, end, first, df, &e->pst_len, &e->pos_len) ||
	    df == 0 || df > seg->ndocs || cf < df ||
	    pst_off < LODE_HEADER_SIZE || pos_off < LODE_HEADER_SIZE)
		return ENTRY_BAD;
	if (pst_off > pst_max || e->pst_len > pst_max - pst_off)
		return ENTRY_PAST_POSTINGS;
	if (pos_off > pos_max || e->pos_len > pos_max - pos_off)
		return ENTRY_PAST_POSITIONS;
	e->info.df = (uint32_t)df;
	e->info.cf = cf;
	e->info.postings = seg->postings.data + pst_off;
	e->info.postings_len = (size_t)e->pst_len;
	e->info.positions = seg->positions.data + pos_off;
	e->info.positions_len = (size_t)e->pos_len;
	return ENTRY_OK;
}

/*
 * Decode the entries of dictionary block b, checking each one's bounds, and
 * hand them to fn.  Returns fn's first nonzero value, or 0.
 */
static int scan_block(const struct lode_segment *seg, uint64_t b, entry_fn fn,
                      void *ctx, lode_error *err)
{
	char cur[LODE_MAX_TOKEN_BYTES];
	size_t cur_len = 0;
	uint64_t pst_off, pos_off;
	const uint8_t *p, *end;
	int rc;

	if ((rc = open_block(seg, b, &p, &end, &pst_off, &pos_off, err)))
		return rc;
	for (unsigned i = 0; i < LODE_DICT_BLOCK_TERMS && p < end; i++) {
		size_t prev_len = cur_len;
		enum entry_fault fault;
		struct entry e;
		if (read_term(&p, end, i, &cur_len, &e))
			goto bad;
		if ((fault = read_fields(seg, &p, end,
		                         e.prefix ? (uint8_t)cur[0] : e.suffix[0],
		                         pst_off, pos_off, &e)))
			return entry_corrupt(seg, fault, err);
		/* The writer's prefix is the longest shared one, which
		 * find_in_block relies on: a longer one was possible if the
		 * suffix begins with the previous term's next byte. */
		if (e.prefix < prev_len && e.suffix_len > 0 &&
		    e.suffix[0] == (uint8_t)cur[e.prefix])
			goto bad;
		memcpy(cur + e.prefix, e.suffix, e.suffix_len);
		if (i == 0 && block_key(seg, b) != lode_bytes_key(cur, cur_len))
			goto bad;
		if ((rc = fn(ctx, cur, cur_len, &e.info)) != 0)
			return rc;
		pst_off += e.pst_len;
		pos_off += e.pos_len;
	}
	return 0;
bad:
	return corrupt(&seg->dict, "bad dictionary entry", err);
}

/*
 * Look term up in dictionary block b: 1 and *info if found, 0 if not.
 *
 * Front coding saves most comparisons.  Let m be the length of the prefix
 * term shares with the last entry passed, which sorts before it.  As an
 * entry's Prefix is the longest it shares with the entry before (FORMAT.md),
 * an entry sharing more than m bytes with it still sorts before term (its
 * byte at m is the previous entry's), one sharing fewer sorts after term
 * (term is absent), and only one sharing exactly m bytes needs its suffix
 * compared with the rest of term.  No entry is copied.
 */
static int find_in_block(const struct lode_segment *seg, uint64_t b,
                         const char *term, size_t len, lode_term_info *info,
                         lode_error *err)
{
	const uint8_t *t = (const uint8_t *)term;
	size_t m = 0;
	uint64_t pst_off, pos_off;
	const uint8_t *start, *p, *end;
	int rc;

	if ((rc = open_block(seg, b, &start, &end, &pst_off, &pos_off, err)))
		return rc;
	/* p goes to no out-of-line function (read_fields gets a copy): GCC
	 * keeps it in a register through the scan. */
	p = start;
	/* Only what the search needs is read from the entries passed, and
	 * only the suffix's extent is checked: a damaged entry can mislead
	 * the search (lode check finds it), never make it read outside the
	 * block, and read_fields checks the entry found in full. */
	uint8_t first = 0; /* the entry's first byte */

	for (unsigned i = 0; i < LODE_DICT_BLOCK_TERMS && p < end; i++) {
		uint64_t prefix, suffix, df, pst_len, pos_len;
		const uint8_t *sfx;
		if (lode_vbyte_get_fast(&p, end, &prefix) ||
		    lode_vbyte_get_fast(&p, end, &suffix) ||
		    suffix > (uint64_t)(end - p))
			goto bad;
		sfx = p;
		p += suffix;
		if (prefix == 0 && suffix > 0)
			first = sfx[0];
		if (prefix < m)
			return 0;
		if (prefix == m) {
			size_t rest = len - m, k = 0;
			size_t n = rest < suffix ? rest : (size_t)suffix;
			while (k < n && t[m + k] == sfx[k])
				k++;
			if (k == n) {
				enum entry_fault fault;
				struct entry e;
				const uint8_t *fields = p;
				if (rest < suffix)
					return 0; /* term is a prefix of the entry */
				if (rest == suffix) {
					if ((fault = read_fields(seg, &fields, end,
					                         first, pst_off,
					                         pos_off, &e)))
						return entry_corrupt(seg, fault,
						                     err);
					*info = e.info;
					return 1;
				}
			} else if (t[m + k] < sfx[k]) {
				return 0;
			}
			m += k;
		}
		/* DocFreq read, CollectionFreq passed, the lengths summed. */
		if (lode_vbyte_get_fast(&p, end, &df))
			goto bad;
		while (p < end && *p >= 0x80)
			p++;
		if (++p > end ||
		    read_lengths(seg, &p, end, first, df, &pst_len, &pos_len))
			goto bad;
		pst_off += pst_len;
		pos_off += pos_len;
	}
	return 0;
bad:
	return corrupt(&seg->dict, "bad dictionary entry", err);
}

/* The dictionary's block keys sent the search to a wrong block. */
static int keys_disagree(const struct lode_segment *seg, lode_error *err)
{
	return corrupt(&seg->dict, "dictionary block keys disagree with its terms",
	               err);
}

/* term is not in block b, which the keys chose: that is an answer only if
 * b's first term sorts below term and b + 1's above it.  Otherwise a key
 * is damaged (lode check finds it too), and the search says so rather
 * than miss a term that may be in another block.  Out of line and cold:
 * the lookups of terms that are there keep their code as it was (inlined,
 * this made rare-term queries 7 % slower at equal instructions). */
#if defined(__GNUC__)
__attribute__((noinline, cold))
#endif
static int absent_from(const struct lode_segment *seg, uint64_t b,
                       const char *term, size_t len, lode_error *err)
{
	int cmp, rc;

	if ((rc = compare_block(seg, b, term, len, &cmp, err)))
		return rc;
	if (cmp <= 0)
		goto bad;
	if (b + 1 < seg->nblocks) {
		if ((rc = compare_block(seg, b + 1, term, len, &cmp, err)))
			return rc;
		if (cmp >= 0)
			goto bad;
	}
	return 0;
bad:
	return keys_disagree(seg, err);
}

/* find_in_block in block b, with an absent answer checked (absent_from). */
static int find_checked(const struct lode_segment *seg, uint64_t b,
                        const char *term, size_t len, lode_term_info *info,
                        lode_error *err)
{
	int rc = find_in_block(seg, b, term, len, info, err);

	return rc == 0 ? absent_from(seg, b, term, len, err) : rc;
}

int lode_segment_lookup(const struct lode_segment *seg, const char *term,
                        size_t len, lode_term_info *info, lode_error *err)
{
	uint64_t key = lode_bytes_key(term, len), lo = 0, hi = seg->nblocks;
	int cmp = 0, rc;

	if (seg->nblocks == 0 || len == 0 || len > LODE_MAX_TOKEN_BYTES)
		return 0;
	/* A block whose key is below term's starts below term, one whose key
	 * is above it above it: the binary search runs on the keys, one array
	 * of 8-byte numbers, and compares terms in full only when the last
	 * block of a key at most term's has term's key (its first term shares
	 * term's first 8 bytes). */
	while (lo < hi) { /* first block whose key > key */
		uint64_t mid = lo + (hi - lo) / 2;
		if (block_key(seg, mid) <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0) { /* term sorts before the first term, if key 0 is right */
		if ((rc = compare_block(seg, 0, term, len, &cmp, err)))
			return rc;
		return cmp < 0 ? 0 : keys_disagree(seg, err);
	}
	if (block_key(seg, lo - 1) < key)
		return find_checked(seg, lo - 1, term, len, info, err);
	/* Rare: the last block in [0, hi) whose first term <= term, by full
	 * comparisons (block hi, if any, starts above term).  There may be
	 * none: term may share the first term's 8 bytes and sort before it. */
	hi = lo;
	lo = 0;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if ((rc = compare_block(seg, mid, term, len, &cmp, err)))
			return rc;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid;
	}
	if (lo == 0) {
		if ((rc = compare_block(seg, 0, term, len, &cmp, err)))
			return rc;
		if (cmp < 0)
			return 0;
	}
	return find_checked(seg, lo, term, len, info, err);
}

int lode_segment_terms(const struct lode_segment *seg, lode_term_fn fn,
                       void *ctx, lode_error *err)
{
	int rc;

	for (uint64_t b = 0; b < seg->nblocks; b++)
		if ((rc = scan_block(seg, b, fn, ctx, err)) != 0)
			return rc;
	return LODE_OK;
}

/* A document's entry in the document table. */
struct doc_entry {
	uint64_t chunk;     /* its chunk of text.z */
	uint64_t start;     /* its first byte in the decompressed chunk */
	uint64_t bytes;     /* ByteLength */
	uint64_t mtime;     /* MTime, two's complement */
	size_t path_len;    /* bytes of its path */
};

/* The bytes of document block b: [*start, *end). */
static int doc_block(const struct lode_segment *seg, uint64_t b,
                     const uint8_t **start, const uint8_t **end,
                     lode_error *err)
{
	const uint8_t *index = seg->docs.data + seg->doc_index_off;
	uint64_t last = (seg->ndocs - 1) / LODE_DOC_BLOCK_DOCS;
	uint64_t off = lode_get64(index + b * 8);
	uint64_t next = b < last ? lode_get64(index + (b + 1) * 8)
	                         : seg->doc_index_off;

	if (off < seg->doc_blocks_off || off > next || next > seg->doc_index_off)
		return corrupt(&seg->docs, "document block offset out of range",
		               err);
	*start = seg->docs.data + off;
	*end = seg->docs.data + next;
	return LODE_OK;
}

/*
 * Decode the next entry of a block at *p (before end) into e, which holds
 * the previous entry's (first: the chunk and start from the block's head,
 * the rest zero).  With path non-NULL the path is rebuilt in *path (*cap
 * bytes, grown as needed), NUL-terminated.
 */
static int doc_next(const struct lode_segment *seg, const uint8_t **p,
                    const uint8_t *end, int first, struct doc_entry *e,
                    char **path, size_t *cap, lode_error *err)
{
	uint64_t head, tail, middle, bytes, delta;
	size_t prefix;

	if (lode_vbyte_get_fast(p, end, &head) ||
	    lode_vbyte_get_fast(p, end, &tail) ||
	    lode_vbyte_get_fast(p, end, &middle) ||
	    (first && head != 0) || head >> 1 > e->path_len ||
	    tail > head >> 1 || middle > (uint64_t)(end - *p))
		return corrupt(&seg->docs, "bad document entry", err);
	/* The previous path's first prefix bytes, Middle, then the previous
	 * path's last tail bytes (taken from the part dropped). */
	prefix = e->path_len - (size_t)(head >> 1);
	if (path) {
		size_t len = prefix + (size_t)middle + (size_t)tail;
		if (lode_grow(path, cap, len + 1, 1))
			return lode_fail(err, LODE_ENOMEM, "out of memory");
		memmove(*path + prefix + middle, *path + e->path_len - tail,
		        (size_t)tail);
		memcpy(*path + prefix, *p, (size_t)middle);
		(*path)[len] = '\0';
	}
	e->path_len = prefix + (size_t)middle + (size_t)tail;
	*p += middle;
	/* The document starts a chunk, or follows the previous in its own. */
	if (head & 1) {
		e->chunk++;
		e->start = 0;
	} else if (e->bytes > UINT64_MAX - e->start) {
		return corrupt(&seg->docs, "bad document entry", err);
	} else {
		e->start += e->bytes;
	}
	/* Without stored text, every document is in chunk 0, which is not. */
	if (e->chunk >= (seg->nchunks ? seg->nchunks : 1) ||
	    lode_vbyte_get_fast(p, end, &bytes) ||
	    lode_vbyte_get_fast(p, end, &delta))
		return corrupt(&seg->docs, "bad document entry", err);
	e->bytes = bytes;
	e->mtime += (delta >> 1) ^ (0 - (delta & 1));
	return LODE_OK;
}

/* Document doc's entry (doc < ndocs), decoding its block up to it; with
 * path non-NULL, its path as doc_next does. */
static int doc_entry(const struct lode_segment *seg, uint32_t doc,
                     struct doc_entry *e, char **path, size_t *cap,
                     lode_error *err)
{
	const uint8_t *p, *end;
	int rc;

	memset(e, 0, sizeof(*e));
	if ((rc = doc_block(seg, doc / LODE_DOC_BLOCK_DOCS, &p, &end, err)))
		return rc;
	if (lode_vbyte_get_fast(&p, end, &e->chunk) ||
	    lode_vbyte_get_fast(&p, end, &e->start))
		return corrupt(&seg->docs, "bad document block", err);
	for (uint32_t i = 0; i <= doc % LODE_DOC_BLOCK_DOCS; i++)
		if ((rc = doc_next(seg, &p, end, i == 0, e, path, cap, err)))
			return rc;
	return LODE_OK;
}

int lode_segment_doc(const struct lode_segment *seg, uint32_t doc,
                     lode_doc_info *info, lode_error *err)
{
	struct doc_entry e;
	int rc;

	if (doc >= seg->ndocs)
		return lode_fail(err, LODE_EINVAL, "no document %u", doc);
	if ((rc = doc_entry(seg, doc, &e, &info->buf, &info->buf_cap, err)))
		return rc;
	info->path = info->buf;
	info->path_len = e.path_len;
	info->byte_length = e.bytes;
	info->mtime = (int64_t)e.mtime;
	info->tokens = lode_segment_doc_tokens(seg, doc);
	return LODE_OK;
}

/* Chunk c's place in text.z: [*off, *off + *clen), checked. */
static int chunk_place(const struct lode_segment *seg, uint64_t c,
                       uint64_t *off, uint32_t *clen, lode_error *err)
{
	uint64_t next = lode_get64(seg->chunks + (c + 1) * 8);

	*off = lode_get64(seg->chunks + c * 8);
	if (*off < LODE_HEADER_SIZE || *off > next || next - *off > UINT32_MAX)
		return corrupt(&seg->docs, "text chunk out of range", err);
	if (next > seg->text.size - LODE_PLAIN_FOOTER_SIZE)
		return corrupt(&seg->text, "shorter than docs.tab says", err);
	*clen = (uint32_t)(next - *off);
	return LODE_OK;
}

/* The bytes the frame at off (clen bytes) says it holds, or 0 if it says
 * nothing plausible (no size, or more than zstd can expand clen bytes to). */
static uint64_t frame_size(const struct lode_segment *seg, uint64_t off,
                           uint32_t clen)
{
	unsigned long long n = ZSTD_getFrameContentSize(seg->text.data + off, clen);

	if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR ||
	    n > (uint64_t)clen * 32768 + 64)
		return 0;
	return (uint64_t)n;
}

/* A decompression context that refuses frames whose window passes the
 * format's (LODE_TEXT_WINDOW_LOG): a damaged header must not make
 * the reader allocate a huge window.  NULL if out of memory. */
static ZSTD_DCtx *new_dctx(void)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();

	if (d && ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax,
	                                             LODE_TEXT_WINDOW_LOG))) {
		ZSTD_freeDCtx(d);
		d = NULL;
	}
	return d;
}

/* A context for seg's text: the one it keeps, if free, or a new one. */
static ZSTD_DCtx *take_dctx(const struct lode_segment *seg)
{
	ZSTD_DCtx *d = seg->dctx ? atomic_exchange(&seg->dctx->spare, NULL) : NULL;

	if (d) {
		ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
		return d;
	}
	return new_dctx();
}

/* Give d back to seg to keep, or free it if seg keeps one already. */
static void give_dctx(const struct lode_segment *seg, ZSTD_DCtx *d)
{
	ZSTD_DCtx *none = NULL;

	if (!seg->dctx ||
	    !atomic_compare_exchange_strong(&seg->dctx->spare, &none, d))
		ZSTD_freeDCtx(d);
}

/* Where document doc's text is: its chunk (off, clen bytes in text.z), the
 * bytes its frame holds, its start in them and its size, each checked (all
 * zero on failure). */
static int text_chunk(const struct lode_segment *seg, uint32_t doc,
                      uint64_t *off, uint32_t *clen, uint64_t *fsize,
                      uint64_t *start, uint64_t *size, lode_error *err)
{
	struct doc_entry e;
	int rc;

	*off = *fsize = *start = *size = 0;
	*clen = 0;
	if (doc >= seg->ndocs)
		return lode_fail(err, LODE_EINVAL, "no document %u", doc);
	if ((rc = doc_entry(seg, doc, &e, NULL, NULL, err)) ||
	    (rc = chunk_place(seg, e.chunk, off, clen, err)))
		return rc;
	*start = e.start;
	*size = e.bytes;
	*fsize = frame_size(seg, *off, *clen);
	/* The frame says how many bytes it holds (the writer always records
	 * it); a document that does not fit them is corrupt, and no buffer
	 * grows past them, so a corrupt length cannot become a huge
	 * allocation.  zstd expands at most 2^17 : 4 (one byte repeated for a
	 * block of 128 KiB, behind its 3-byte header), so a frame claiming
	 * more is corrupt too. */
	if (*size > UINT64_MAX - *start || *start + *size > SIZE_MAX - 1)
		return corrupt(&seg->docs, "stored text length is implausible", err);
	if (*fsize < *start + *size)
		return corrupt(&seg->text, "a chunk holds less than docs.tab says",
		               err);
	return LODE_OK;
}

/* Decompress the first need bytes of the chunk at off (clen bytes) into
 * buf, or, with buf NULL, through a small window, keeping nothing; with
 * exact (and buf NULL), the chunk must be one frame holding exactly need
 * bytes, its checksum right, and nothing after it. */
static int decompress_chunk(const struct lode_segment *seg, uint64_t off,
                         uint32_t clen, uint64_t need, char *buf, int exact,
                         lode_error *err)
{
	char window[1 << 16];
	ZSTD_inBuffer in = {seg->text.data + off, clen, 0};
	ZSTD_DCtx *d = take_dctx(seg);
	uint64_t got = 0;
	size_t left = 1;
	int rc = LODE_OK;

	if (!d)
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	/* Until need bytes are out (exact: until the frame ends, to see an
	 * excess), or the input ends. */
	while (left != 0 && (exact || got < need)) {
		ZSTD_outBuffer out = {buf ? buf + got : window,
		                      buf ? (size_t)(need - got) : sizeof(window), 0};
		size_t before = in.pos;
		left = ZSTD_decompressStream(d, &out, &in);
		if (ZSTD_isError(left)) {
			rc = corrupt(&seg->text, "stored text does not decompress", err);
			goto out;
		}
		got += out.pos;
		if (exact && got > need) {
			rc = corrupt(&seg->text, "a text chunk longer than its documents",
			             err);
			goto out;
		}
		if (left != 0 && out.pos == 0 && in.pos == before &&
		    in.pos == in.size) {
			rc = corrupt(&seg->text, exact ? "a text chunk ends early"
			                               : "stored text does not decompress",
			             err);
			goto out;
		}
	}
	if (got < need)
		rc = corrupt(&seg->text, "stored text does not decompress", err);
	else if (exact && in.pos != in.size)
		rc = corrupt(&seg->text, "bytes after the end of a text chunk", err);
out:
	give_dctx(seg, d);
	return rc;
}

/* Frames of at most this many bytes are decompressed whole, in one call;
 * larger ones, where a prefix may be all that is wanted, stream. */
#define WHOLE_CHUNK_MAX ((uint64_t)256 << 10)

/* Decompress the whole frame at off (clen bytes), of fsize bytes, into buf
 * (room for fsize): 1 if done, 0 if decompress_chunk is to decide (damaged
 * data, bytes after the frame, no memory for a context: its messages, and
 * its acceptance of a chunk damaged only past the document, stay the
 * rule). */
static int decompress_whole_chunk(const struct lode_segment *seg, uint64_t off,
                               uint32_t clen, uint64_t fsize, char *buf)
{
	ZSTD_DCtx *d = take_dctx(seg);
	size_t n;

	if (!d)
		return 0;
	n = ZSTD_decompressDCtx(d, buf, (size_t)fsize, seg->text.data + off, clen);
	give_dctx(seg, d);
	return !ZSTD_isError(n) && n == fsize;
}

/* LODE_ESTALE: the file at path cannot stand for a document's text. */
static int stale(const char *path, const char *why, lode_error *err)
{
	return lode_fail(err, LODE_ESTALE, "%s: %s (the index keeps no text)",
	                 path, why);
}

/* The first max bytes of document doc's file, read at its path, in a
 * buffer of file_text's own (a segment without stored text). */
static int file_text(const struct lode_segment *seg, uint32_t doc, size_t max,
                     char **text, size_t *len, uint64_t *full,
                     lode_error *err)
{
	struct doc_entry e;
	struct stat st;
	char *path = NULL, *buf = NULL;
	size_t cap = 0, got = 0, want;
	int fd = -1, rc;

	if (doc >= seg->ndocs)
		return lode_fail(err, LODE_EINVAL, "no document %u", doc);
	if ((rc = doc_entry(seg, doc, &e, &path, &cap, err)))
		goto out;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0 ||
	    fstat(fd, &st) != 0) {
		rc = stale(path, strerror(errno), err);
		goto out;
	}
	/* The size and time the build saw, as make and rsync decide that a
	 * file is unchanged; a same-sized rewrite within the same second
	 * passes, and gives the snippet of what the file holds now. */
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != e.bytes ||
	    (int64_t)st.st_mtime != (int64_t)e.mtime) {
		rc = stale(path, "changed since it was indexed", err);
		goto out;
	}
	want = e.bytes < max ? (size_t)e.bytes : max;
	if (want == SIZE_MAX || !(buf = lode_malloc(want + 1))) {
		rc = lode_fail(err, LODE_ENOMEM, "out of memory");
		goto out;
	}
	if (lode_read_full(fd, buf, want, &got) != 0) {
		rc = lode_fail_errno(err, "%s", path);
		goto out;
	}
	if (got < want) {
		rc = stale(path, "changed since it was indexed", err);
		goto out;
	}
	buf[got] = '\0';
	*text = buf;
	*len = got;
	if (full)
		*full = e.bytes;
	buf = NULL;
out:
	if (fd >= 0)
		close(fd);
	lode_free(buf);
	lode_free(path);
	return rc;
}

int lode_segment_doc_text(const struct lode_segment *seg, uint32_t doc,
                          size_t max, char **text, size_t *len,
                          uint64_t *full, lode_error *err)
{
	uint64_t off, size, start, need, fsize;
	uint32_t clen;
	char *buf;
	int whole, rc;

	*text = NULL;
	*len = 0;
	if (seg->nchunks == 0)
		return file_text(seg, doc, max, text, len, full, err);
	if ((rc = text_chunk(seg, doc, &off, &clen, &fsize, &start, &size, err)))
		return rc;
	if (full)
		*full = size;
	if (size > max)
		size = max;
	need = start + size;
	whole = fsize <= WHOLE_CHUNK_MAX;
	buf = lode_malloc((size_t)(whole ? fsize : need) + 1);
	if (!buf)
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	if (!(whole && decompress_whole_chunk(seg, off, clen, fsize, buf)) &&
	    (rc = decompress_chunk(seg, off, clen, need, buf, 0, err))) {
		lode_free(buf);
		return rc;
	}
	memmove(buf, buf + start, (size_t)size);
	buf[size] = '\0';
	*text = buf;
	*len = (size_t)size;
	return LODE_OK;
}

/* Chunk c decompresses to exactly where the entry e of its last document
 * ends, and says so in its frame header. */
static int chunk_verify(const struct lode_segment *seg, uint64_t c,
                        const struct doc_entry *e, lode_error *err)
{
	uint64_t off;
	uint32_t clen;
	int rc;

	if ((rc = chunk_place(seg, c, &off, &clen, err)))
		return rc;
	if (e->bytes > UINT64_MAX - e->start)
		return corrupt(&seg->docs, "stored text length is implausible", err);
	if (frame_size(seg, off, clen) != e->start + e->bytes)
		return corrupt(&seg->text, "a chunk holds other than docs.tab says",
		               err);
	return decompress_chunk(seg, off, clen, e->start + e->bytes, NULL, 1, err);
}

int lode_segment_docs_verify(const struct lode_segment *seg, lode_error *err)
{
	const uint8_t *p = NULL, *end = seg->docs.data + seg->doc_blocks_off;
	struct doc_entry e = {0}, prev = {0};
	uint64_t off, text_end = seg->text.size - LODE_PLAIN_FOOTER_SIZE;
	uint32_t clen;
	int rc;

	/* Chunks follow one another through text.z. */
	for (uint64_t c = 0; c < seg->nchunks; c++) {
		if ((rc = chunk_place(seg, c, &off, &clen, err)))
			return rc;
		if ((c == 0 && off != LODE_HEADER_SIZE) || clen == 0)
			return corrupt(&seg->docs, "text chunks out of order", err);
	}
	if (lode_get64(seg->chunks + seg->nchunks * 8) != text_end ||
	    (seg->nchunks == 0 && text_end != LODE_HEADER_SIZE))
		return corrupt(&seg->docs, "text chunks do not end where text.z "
		               "does", err);
	for (uint32_t d = 0; d < seg->ndocs; d++) {
		uint32_t i = d % LODE_DOC_BLOCK_DOCS;
		if (i == 0) {
			const uint8_t *prev_end = end;
			if ((rc = doc_block(seg, d / LODE_DOC_BLOCK_DOCS, &p, &end,
			                    err)))
				return rc;
			if (p != prev_end)
				return corrupt(&seg->docs, "a gap between document "
				               "blocks", err);
			memset(&e, 0, sizeof(e));
			if (lode_vbyte_get_fast(&p, end, &e.chunk) ||
			    lode_vbyte_get_fast(&p, end, &e.start) ||
			    (seg->nchunks == 0 && e.start != 0))
				return corrupt(&seg->docs, "bad document block", err);
		}
		if ((rc = doc_next(seg, &p, end, i == 0, &e, NULL, NULL, err)))
			return rc;
		/* Document 0 starts chunk 0; each later one starts the next
		 * chunk or follows the previous document in its chunk.  (With
		 * no stored text, doc_next has kept every one in chunk 0.) */
		if (seg->nchunks > 0 &&
		    (d == 0 ? e.chunk != 0 || e.start != 0
		            : !(e.chunk == prev.chunk + 1 && e.start == 0) &&
		              !(e.chunk == prev.chunk &&
		                prev.bytes <= UINT64_MAX - prev.start &&
		                e.start == prev.start + prev.bytes)))
			return corrupt(&seg->docs, "a document out of its chunk's "
			               "order", err);
		/* A chunk ends with the document before the next chunk's. */
		if (d > 0 && e.chunk != prev.chunk &&
		    (rc = chunk_verify(seg, prev.chunk, &prev, err)))
			return rc;
		if ((i + 1 == LODE_DOC_BLOCK_DOCS || d + 1 == seg->ndocs) &&
		    p != end)
			return corrupt(&seg->docs, "a document block longer than its "
			               "documents", err);
		prev = e;
	}
	if (seg->nchunks == 0)
		return LODE_OK;
	if (prev.chunk != seg->nchunks - 1)
		return corrupt(&seg->docs, "a text chunk without documents", err);
	return chunk_verify(seg, prev.chunk, &prev, err);
}

int lode_segment_verify(const struct lode_segment *seg, lode_error *err)
{
	const lode_map *maps[] = {&seg->dict, &seg->postings, &seg->positions,
	                          &seg->docs, &seg->text};
	int rc;

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if ((rc = lode_map_verify_crc(maps[i], err)))
			return rc;
	return LODE_OK;
}
