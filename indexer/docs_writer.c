/* docs_writer.c -- document table and zlib-compressed stored text. */
#include "docs_writer.h"

#include <string.h>
#include <zlib.h>

#include "alloc.h"
#include "error.h"
#include "file.h"
#include "format.h"

#define DEFLATE_CHUNK (256u << 10)
/* zlib level for stored text: level 1 costs 2% more bytes than the default
 * on Reuters-21578 and is read only for snippets. */
#define LODE_TEXT_ZLIB_LEVEL 1

struct lode_docs_writer {
	lode_out text;
	char *table_path;
	z_stream z;
	int z_ready;
	uint8_t *zbuf;           /* DEFLATE_CHUNK bytes of deflate output */
	char *chunk;             /* texts of the documents not yet deflated */
	size_t chunk_used, chunk_cap;
	size_t chunk_first;      /* record offset of the chunk's first document */
	uint8_t *records;        /* LODE_DOC_RECORD_SIZE per document */
	size_t records_used, records_cap;
	char *paths;             /* every path, back to back */
	size_t paths_used, paths_cap;
	uint64_t ndocs, tokens;
};

int lode_docs_writer_open(const char *dir, struct lode_docs_writer **out,
                          lode_error *err)
{
	struct lode_docs_writer *w = lode_calloc(1, sizeof(*w));
	char *text_path = lode_path_join(dir, LODE_FILE_TEXT);
	int rc;

	*out = NULL;
	if (w)
		w->text.fd = -1;
	if (!w || !text_path || !(w->table_path = lode_path_join(dir, LODE_FILE_DOCS)) ||
	    !(w->zbuf = lode_malloc(DEFLATE_CHUNK))) {
		rc = lode_fail(err, LODE_ENOMEM, "out of memory");
		goto out_free;
	}
	if (deflateInit(&w->z, LODE_TEXT_ZLIB_LEVEL) != Z_OK) {
		rc = lode_fail(err, LODE_ENOMEM, "zlib: deflateInit failed");
		goto out_free;
	}
	w->z_ready = 1;
	if ((rc = lode_out_open(&w->text, text_path, LODE_MAGIC_TEXT, err)))
		goto out_free;
	*out = w;
	w = NULL;
out_free:
	lode_docs_writer_free(w);
	lode_free(text_path);
	return rc;
}

/* Deflate text into text.z as one complete zlib stream; *clen its size. */
static int deflate_text(struct lode_docs_writer *w, const char *text,
                        size_t len, uint64_t *clen, lode_error *err)
{
	uint64_t start = w->text.offset;
	int zrc, rc;

	if (deflateReset(&w->z) != Z_OK)
		return lode_fail(err, LODE_ENOMEM, "zlib: deflateReset failed");
	w->z.next_in = (Bytef *)(uintptr_t)text;
	do {
		/* avail_in is a uInt: feed huge documents in pieces. */
		size_t left = len - (size_t)((const char *)w->z.next_in - text);
		w->z.avail_in = left > (1u << 30) ? (1u << 30) : (uInt)left;
		do {
			w->z.next_out = w->zbuf;
			w->z.avail_out = DEFLATE_CHUNK;
			zrc = deflate(&w->z, left > w->z.avail_in ? Z_NO_FLUSH
			                                          : Z_FINISH);
			if (zrc == Z_STREAM_ERROR)
				return lode_fail(err, LODE_EIO, "zlib: deflate failed");
			rc = lode_out_write(&w->text, w->zbuf,
			                    DEFLATE_CHUNK - w->z.avail_out, err);
			if (rc)
				return rc;
		} while (w->z.avail_out == 0);
	} while (zrc != Z_STREAM_END);
	*clen = w->text.offset - start;
	return LODE_OK;
}

/* Deflate the gathered texts as one chunk and point their records at it. */
static int flush_chunk(struct lode_docs_writer *w, lode_error *err)
{
	uint64_t off = w->text.offset, clen = 0;
	int rc;

	if (w->chunk_first == w->records_used)
		return LODE_OK;
	if ((rc = deflate_text(w, w->chunk, w->chunk_used, &clen, err)))
		return rc;
	for (size_t r = w->chunk_first; r < w->records_used;
	     r += LODE_DOC_RECORD_SIZE) {
		lode_put64(w->records + r + LODE_DOC_TEXT_OFFSET, off);
		lode_put32(w->records + r + LODE_DOC_TEXT_LENGTH, (uint32_t)clen);
	}
	w->chunk_used = 0;
	w->chunk_first = w->records_used;
	return LODE_OK;
}

int lode_docs_writer_add(struct lode_docs_writer *w, const char *path,
                         size_t path_len, const char *text, size_t len,
                         int64_t mtime, uint32_t tokens, lode_error *err)
{
	uint8_t *r;
	int rc;

	if (w->paths_used + path_len > UINT32_MAX)
		return lode_fail(err, LODE_ELIMIT, "paths exceed 4 GB in total");
	if ((len > LODE_TEXT_CHUNK || w->chunk_used + len > LODE_TEXT_CHUNK) &&
	    (rc = flush_chunk(w, err)))
		return rc;
	if (lode_grow(&w->records, &w->records_cap,
	              w->records_used + LODE_DOC_RECORD_SIZE, 1) ||
	    lode_grow(&w->paths, &w->paths_cap, w->paths_used + path_len, 1) ||
	    (len <= LODE_TEXT_CHUNK &&
	     lode_grow(&w->chunk, &w->chunk_cap, w->chunk_used + len, 1)))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	r = w->records + w->records_used;
	memset(r, 0, LODE_DOC_RECORD_SIZE);
	lode_put64(r + LODE_DOC_BYTES, len);
	lode_put64(r + LODE_DOC_MTIME, (uint64_t)mtime);
	lode_put32(r + LODE_DOC_CHUNK_START, (uint32_t)w->chunk_used);
	lode_put32(r + LODE_DOC_TOKENS, tokens);
	lode_put32(r + LODE_DOC_PATH_OFFSET, (uint32_t)w->paths_used);
	lode_put32(r + LODE_DOC_PATH_LENGTH, (uint32_t)path_len);
	w->records_used += LODE_DOC_RECORD_SIZE;
	memcpy(w->paths + w->paths_used, path, path_len);
	w->paths_used += path_len;
	w->ndocs++;
	w->tokens += tokens;
	if (len > LODE_TEXT_CHUNK) {
		/* A chunk of its own, deflated straight from the input. */
		uint64_t off = w->text.offset, clen = 0;
		if ((rc = deflate_text(w, text, len, &clen, err)))
			return rc;
		if (clen > UINT32_MAX)
			return lode_fail(err, LODE_ELIMIT,
			                 "%.*s: compressed text exceeds 4 GB",
			                 (int)path_len, path);
		lode_put64(r + LODE_DOC_TEXT_OFFSET, off);
		lode_put32(r + LODE_DOC_TEXT_LENGTH, (uint32_t)clen);
		w->chunk_first = w->records_used;
		return LODE_OK;
	}
	memcpy(w->chunk + w->chunk_used, text, len);
	w->chunk_used += len;
	return LODE_OK;
}

int lode_docs_writer_finish(struct lode_docs_writer *w, lode_error *err)
{
	lode_out table;
	int rc = flush_chunk(w, err);

	if (rc == LODE_OK)
		rc = lode_out_finish(&w->text, err);
	if (rc == LODE_OK)
		rc = lode_out_open(&table, w->table_path, LODE_MAGIC_DOCS, err);
	if (rc == LODE_OK) {
		uint64_t paths_off = LODE_HEADER_SIZE + w->records_used;
		if ((rc = lode_out_write(&table, w->records, w->records_used, err)) ||
		    (rc = lode_out_write(&table, w->paths, w->paths_used, err)) ||
		    (rc = lode_out_put64(&table, w->ndocs, err)) ||
		    (rc = lode_out_put64(&table, w->tokens, err)) ||
		    (rc = lode_out_put64(&table, paths_off, err)) ||
		    (rc = lode_out_put64(&table, w->paths_used, err)))
			lode_out_abort(&table);
		else
			rc = lode_out_finish(&table, err);
	}
	lode_docs_writer_free(w);
	return rc;
}

void lode_docs_writer_free(struct lode_docs_writer *w)
{
	if (!w)
		return;
	lode_out_abort(&w->text);
	if (w->z_ready)
		deflateEnd(&w->z);
	lode_free(w->zbuf);
	lode_free(w->chunk);
	lode_free(w->records);
	lode_free(w->paths);
	lode_free(w->table_path);
	lode_free(w);
}
