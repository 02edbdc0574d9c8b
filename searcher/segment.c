/* segment.c -- mapping a segment's files; dictionary lookup; documents. */
#include "segment.h"

#include <string.h>
#include <zlib.h>

#include "alloc.h"
#include "codec.h"
#include "error.h"
#include "format.h"
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
	    (common_off - seg->index_off) / 8 != seg->nblocks ||
	    (common_off - seg->index_off) % 8 != 0)
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
	const uint8_t *f = m->data + m->size - LODE_DOCS_FOOTER_SIZE;
	uint64_t n = lode_get64(f), paths_off = lode_get64(f + 16);

	seg->tokens = lode_get64(f + 8);
	seg->paths_len = lode_get64(f + 24);
	if (n != ndocs)
		return corrupt(m, "document count differs from the manifest", err);
	if (paths_off != LODE_HEADER_SIZE + n * LODE_DOC_RECORD_SIZE ||
	    paths_off > m->size - LODE_DOCS_FOOTER_SIZE ||
	    seg->paths_len != m->size - LODE_DOCS_FOOTER_SIZE - paths_off)
		return corrupt(m, "document table footer does not match its size",
		               err);
	seg->ndocs = ndocs;
	seg->records = m->data + LODE_HEADER_SIZE;
	seg->paths = m->data + paths_off;
	return LODE_OK;
}

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
	                   LODE_MAGIC_POSITIONS, LODE_PLAIN_FOOTER_SIZE, err)) ||
	    (rc = map_file(&seg->docs, dir, LODE_FILE_DOCS, LODE_MAGIC_DOCS,
	                   LODE_DOCS_FOOTER_SIZE, err)) ||
	    (rc = map_file(&seg->text, dir, LODE_FILE_TEXT, LODE_MAGIC_TEXT,
	                   LODE_PLAIN_FOOTER_SIZE, err)) ||
	    (rc = check_dict(seg, err)) || (rc = check_docs(seg, ndocs, err)))
		lode_segment_close(seg);
	return rc;
}

void lode_segment_close(struct lode_segment *seg)
{
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

/* Compare term with the first term of block b; *cmp < 0 if term sorts
 * before it. */
static int compare_block(const struct lode_segment *seg, uint64_t b,
                         const char *term, size_t len, int *cmp,
                         lode_error *err)
{
	const uint8_t *p, *end;
	uint64_t prefix, suffix;
	int rc;

	if ((rc = block_bounds(seg, b, &p, &end, err)))
		return rc;
	p += 16;
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

/*
 * Decode the entries of dictionary block b, checking each one's bounds, and
 * hand them to fn.  Returns fn's first nonzero value, or 0.
 */
static int scan_block(const struct lode_segment *seg, uint64_t b, entry_fn fn,
                      void *ctx, lode_error *err)
{
	char cur[LODE_MAX_TOKEN_BYTES];
	size_t cur_len = 0;
	size_t pst_max = seg->postings.size - LODE_POSTINGS_PAD -
	                 LODE_PLAIN_FOOTER_SIZE;
	size_t pos_max = seg->positions.size - LODE_PLAIN_FOOTER_SIZE;
	uint64_t pst_off, pos_off;
	const uint8_t *p, *end;
	int rc;

	if ((rc = block_bounds(seg, b, &p, &end, err)))
		return rc;
	pst_off = lode_get64(p);
	pos_off = lode_get64(p + 8);
	p += 16;
	for (unsigned i = 0; i < LODE_DICT_BLOCK_TERMS && p < end; i++) {
		uint64_t prefix, suffix, df, cf, pst_len, pos_len;
		lode_term_info info;
		if (lode_vbyte_get_fast(&p, end, &prefix) || prefix > cur_len ||
		    (i == 0) != (prefix == 0 && cur_len == 0) ||
		    lode_vbyte_get_fast(&p, end, &suffix) ||
		    prefix + suffix > LODE_MAX_TOKEN_BYTES || prefix + suffix == 0 ||
		    suffix > (uint64_t)(end - p))
			goto bad;
		memcpy(cur + prefix, p, (size_t)suffix);
		cur_len = (size_t)(prefix + suffix);
		p += suffix;
		if (lode_vbyte_get_fast(&p, end, &df) || lode_vbyte_get_fast(&p, end, &cf) ||
		    lode_vbyte_get_fast(&p, end, &pst_len) ||
		    lode_vbyte_get_fast(&p, end, &pos_len))
			goto bad;
		if (df == 0 || df > seg->ndocs || cf < df ||
		    pst_off < LODE_HEADER_SIZE || pst_off > pst_max ||
		    pst_len > pst_max - pst_off ||
		    pos_off < LODE_HEADER_SIZE || pos_off > pos_max ||
		    pos_len > pos_max - pos_off)
			goto bad;
		info.df = (uint32_t)df;
		info.cf = cf;
		info.postings = seg->postings.data + pst_off;
		info.postings_len = (size_t)pst_len;
		info.positions = seg->positions.data + pos_off;
		info.positions_len = (size_t)pos_len;
		if ((rc = fn(ctx, cur, cur_len, &info)) != 0)
			return rc;
		pst_off += pst_len;
		pos_off += pos_len;
	}
	return 0;
bad:
	return corrupt(&seg->dict, "bad dictionary entry", err);
}

struct lookup {
	const char *term;
	size_t len;
	lode_term_info *info;
};

static int lookup_entry(void *ctx, const char *term, size_t len,
                        const lode_term_info *info)
{
	struct lookup *l = ctx;
	int cmp = lode_bytes_compare(l->term, l->len, term, len);

	if (cmp < 0)
		return 2; /* passed it: absent */
	if (cmp > 0)
		return 0;
	*l->info = *info;
	return 1;
}

int lode_segment_lookup(const struct lode_segment *seg, const char *term,
                        size_t len, lode_term_info *info, lode_error *err)
{
	struct lookup l = {term, len, info};
	uint64_t lo = 0, hi = seg->nblocks;
	int cmp = 0, rc;

	if (seg->nblocks == 0 || len == 0 || len > LODE_MAX_TOKEN_BYTES)
		return 0;
	/* Last block whose first term <= term. */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if ((rc = compare_block(seg, mid, term, len, &cmp, err)))
			return rc;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid;
	}
	rc = scan_block(seg, lo, lookup_entry, &l, err);
	return rc == 2 ? 0 : rc;
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

int lode_segment_doc(const struct lode_segment *seg, uint32_t doc,
                     lode_doc_info *info, lode_error *err)
{
	const uint8_t *r;
	uint32_t path_off, path_len;

	if (doc >= seg->ndocs)
		return lode_fail(err, LODE_EINVAL, "no document %u", doc);
	r = seg->records + (size_t)doc * LODE_DOC_RECORD_SIZE;
	path_off = lode_get32(r + LODE_DOC_PATH_OFFSET);
	path_len = lode_get32(r + LODE_DOC_PATH_LENGTH);
	if (path_off > seg->paths_len || path_len > seg->paths_len - path_off)
		return corrupt(&seg->docs, "path out of range", err);
	info->path = (const char *)seg->paths + path_off;
	info->path_len = path_len;
	info->byte_length = lode_get64(r + LODE_DOC_BYTES);
	info->mtime = (int64_t)lode_get64(r + LODE_DOC_MTIME);
	info->tokens = lode_get32(r + LODE_DOC_TOKENS);
	return LODE_OK;
}

/* Where document doc's text is: its chunk (off, clen bytes in text.z),
 * its start in the inflated chunk and its size, each checked. */
static int text_chunk(const struct lode_segment *seg, uint32_t doc,
                      uint64_t *off, uint32_t *clen, uint64_t *start,
                      uint64_t *size, lode_error *err)
{
	const uint8_t *r;

	if (doc >= seg->ndocs)
		return lode_fail(err, LODE_EINVAL, "no document %u", doc);
	r = seg->records + (size_t)doc * LODE_DOC_RECORD_SIZE;
	*off = lode_get64(r + LODE_DOC_TEXT_OFFSET);
	*size = lode_get64(r + LODE_DOC_BYTES);
	*clen = lode_get32(r + LODE_DOC_TEXT_LENGTH);
	*start = lode_get32(r + LODE_DOC_CHUNK_START);
	if (*off < LODE_HEADER_SIZE ||
	    *off > seg->text.size - LODE_PLAIN_FOOTER_SIZE ||
	    *clen > seg->text.size - LODE_PLAIN_FOOTER_SIZE - *off)
		return corrupt(&seg->text, "stored text out of range", err);
	/* The chunk is inflated up to the document's end.  Deflate expands at
	 * most ~1032:1; a larger claim is corrupt and must not become a huge
	 * allocation. */
	if (*size > UINT64_MAX - *start ||
	    *start + *size > (uint64_t)*clen * 1032 + 64 ||
	    *start + *size > SIZE_MAX - 1)
		return corrupt(&seg->docs, "stored text length is implausible", err);
	return LODE_OK;
}

/* Inflate the first need bytes of the chunk at off (clen bytes) into buf,
 * or, with buf NULL, through a small window, keeping nothing. */
static int inflate_chunk(const struct lode_segment *seg, uint64_t off,
                         uint32_t clen, uint64_t need, char *buf,
                         lode_error *err)
{
	char window[1 << 16];
	z_stream z;
	int zrc;

	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK)
		return lode_fail(err, LODE_ENOMEM, "zlib: inflateInit failed");
	z.next_in = (Bytef *)(uintptr_t)(seg->text.data + off);
	z.avail_in = clen;
	z.next_out = (Bytef *)(buf ? buf : window);
	/* avail_out is a uInt: give room in pieces for huge documents. */
	do {
		uint64_t left = need - z.total_out;
		uint64_t room = buf ? (1u << 30) : sizeof(window);
		if (!buf)
			z.next_out = (Bytef *)window;
		z.avail_out = (uInt)(left > room ? room : left);
		zrc = inflate(&z, Z_SYNC_FLUSH);
	} while (zrc == Z_OK && z.total_out < need);
	inflateEnd(&z);
	if (z.total_out != need || (zrc != Z_OK && zrc != Z_STREAM_END &&
	                            zrc != Z_BUF_ERROR))
		return corrupt(&seg->text, "stored text does not inflate", err);
	return LODE_OK;
}

int lode_segment_doc_text(const struct lode_segment *seg, uint32_t doc,
                          size_t max, char **text, size_t *len,
                          uint64_t *full, lode_error *err)
{
	uint64_t off, size, start, need;
	uint32_t clen;
	char *buf;
	int rc;

	*text = NULL;
	*len = 0;
	if ((rc = text_chunk(seg, doc, &off, &clen, &start, &size, err)))
		return rc;
	if (full)
		*full = size;
	if (size > max)
		size = max;
	need = start + size;
	buf = lode_malloc((size_t)need + 1);
	if (!buf)
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	if ((rc = inflate_chunk(seg, off, clen, need, buf, err))) {
		lode_free(buf);
		return rc;
	}
	memmove(buf, buf + start, (size_t)size);
	buf[size] = '\0';
	*text = buf;
	*len = (size_t)size;
	return LODE_OK;
}

int lode_segment_doc_verify(const struct lode_segment *seg, uint32_t doc,
                            lode_error *err)
{
	uint64_t off, size, start;
	uint32_t clen;
	int rc;

	if ((rc = text_chunk(seg, doc, &off, &clen, &start, &size, err)))
		return rc;
	return inflate_chunk(seg, off, clen, start + size, NULL, err);
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
