/* docs_writer.c -- document table and zstd-compressed stored text. */
#include "docs_writer.h"

#include <string.h>
#include <zstd.h>

#include "alloc.h"
#include "codec.h"
#include "error.h"
#include "file.h"
#include "format.h"
#include "worker.h"

#define TEXT_OUT_BYTES LODE_TEXT_OUT

/* Chunks handed to the compressor thread at once.  One at a time, its
 * wake-up for every 16 KiB made the two threads preempt each other: 3,600
 * context switches in a 0.37 s build of Reuters. */
#define FLIGHT_CHUNKS 4

/* Where a chunk went in text.z. */
struct chunk_place {
	uint64_t offset;
	uint64_t length;
};

struct lode_docs_writer {
	int store_text;          /* 0: text.z holds no chunk (FORMAT.md) */
	lode_out text;           /* written by the compressor alone */
	char *table_path;
	ZSTD_CCtx *zc;           /* compresses every chunk */
	uint8_t *zbuf;           /* TEXT_OUT_BYTES bytes of compressed output */
	char *chunk;             /* texts of the documents not yet compressed:
	                            closed chunks, then the open one */
	size_t chunk_base;       /* where the open chunk starts in chunk */
	size_t chunk_used, chunk_cap; /* bytes of the open chunk; of chunk */
	size_t closed[FLIGHT_CHUNKS]; /* lengths of the closed chunks */
	size_t nclosed;
	uint64_t chunk_first;    /* the chunk's first document */
	uint64_t nchunks;        /* chunks handed to the compressor */
	/* Where each chunk went, for the chunk table written at finish(). */
	struct chunk_place *places;
	size_t nplaces, places_cap;

	/* With a compressor thread: chunks in flight while the next ones fill. */
	int threaded;
	lode_worker compressor;  /* compresses flight */
	char *flight;            /* the chunks being compressed, back to back */
	size_t flight_len[FLIGHT_CHUNKS], flight_n, flight_cap;
	int worker_rc;           /* first failure of the compressor */
	lode_error worker_err;
	/* The document table's parts (FORMAT.md, docs.tab), encoded as the
	 * documents come: */
	uint8_t *tokens;         /* Tokens: u32 per document */
	size_t tokens_cap;
	uint8_t *blocks;         /* the document blocks, back to back */
	size_t blocks_used, blocks_cap;
	uint64_t *block_offs;    /* each block's offset within blocks */
	size_t block_offs_cap;
	char *prev_path;         /* the previous document's path */
	size_t prev_len, prev_cap;
	uint64_t prev_chunk;     /* the previous document's chunk */
	uint64_t prev_mtime;     /* the previous document's MTime, or 0 */
	uint64_t ndocs, total_tokens;
};

static void compress_flight(void *arg);

int lode_docs_writer_open(const char *dir, int store_text, int threaded,
                          struct lode_docs_writer **out, lode_error *err)
{
	struct lode_docs_writer *w = lode_calloc(1, sizeof(*w));
	char *text_path = lode_path_join(dir, LODE_FILE_TEXT);
	int rc;

	*out = NULL;
	if (w)
		w->text.fd = -1;
	if (!w || !text_path || !(w->table_path = lode_path_join(dir, LODE_FILE_DOCS))) {
		rc = lode_fail(err, LODE_ENOMEM, "out of memory");
		goto out_free;
	}
	w->store_text = store_text;
	/* Each frame records its size (readers bound their buffers by it)
	 * and a checksum of its content (as format 9's zlib streams had).
	 * Without stored text, text.z is a header and a CRC. */
	if (store_text &&
	    (!(w->zbuf = lode_malloc(TEXT_OUT_BYTES)) ||
	     !(w->zc = ZSTD_createCCtx()) ||
	     ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel,
	                                         LODE_TEXT_ZSTD_LEVEL)) ||
	     ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_windowLog,
	                                         LODE_TEXT_WINDOW_LOG)) ||
	     ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1)) ||
	     ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_contentSizeFlag,
	                                         1)))) {
		rc = lode_fail(err, LODE_ENOMEM, "out of memory");
		goto out_free;
	}
	if ((rc = lode_out_open(&w->text, text_path, LODE_MAGIC_TEXT, err)))
		goto out_free;
	w->threaded = store_text && threaded &&
	              lode_worker_start(&w->compressor, compress_flight, w) == LODE_OK;
	*out = w;
	w = NULL;
out_free:
	lode_docs_writer_free(w);
	lode_free(text_path);
	return rc;
}

/* Compress text into text.z as one complete zstd frame and note where it
 * went as the next chunk.  Only one thread at a time calls this. */
static int compress_chunk(struct lode_docs_writer *w, const char *text,
                         size_t len, lode_error *err)
{
	uint64_t start = w->text.offset;
	ZSTD_inBuffer in = {text, len, 0};
	size_t left;
	int rc;

	if (lode_grow(&w->places, &w->places_cap, w->nplaces + 1,
	              sizeof(struct chunk_place)))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	/* In one call whatever fits the output buffer at worst: every chunk
	 * of many documents, and single documents up to about its size;
	 * a larger one streams through it. */
	if (ZSTD_compressBound(len) <= TEXT_OUT_BYTES) {
		size_t n = ZSTD_compress2(w->zc, w->zbuf, TEXT_OUT_BYTES, text, len);
		if (ZSTD_isError(n))
			return lode_fail(err, LODE_EIO, "zstd: %s", ZSTD_getErrorName(n));
		if ((rc = lode_out_write(&w->text, w->zbuf, n, err)))
			return rc;
		goto out_place;
	}
	if (ZSTD_isError(left = ZSTD_CCtx_setPledgedSrcSize(w->zc, len)))
		return lode_fail(err, LODE_EIO, "zstd: %s", ZSTD_getErrorName(left));
	do {
		ZSTD_outBuffer out = {w->zbuf, TEXT_OUT_BYTES, 0};
		left = ZSTD_compressStream2(w->zc, &out, &in, ZSTD_e_end);
		if (ZSTD_isError(left)) {
			ZSTD_CCtx_reset(w->zc, ZSTD_reset_session_only);
			return lode_fail(err, LODE_EIO, "zstd: %s",
			                 ZSTD_getErrorName(left));
		}
		if ((rc = lode_out_write(&w->text, w->zbuf, out.pos, err))) {
			ZSTD_CCtx_reset(w->zc, ZSTD_reset_session_only);
			return rc;
		}
	} while (left != 0);
out_place:
	w->places[w->nplaces].offset = start;
	w->places[w->nplaces].length = w->text.offset - start;
	w->nplaces++;
	return LODE_OK;
}

/* The compressor's job: the chunks in flight. */
static void compress_flight(void *arg)
{
	struct lode_docs_writer *w = arg;
	size_t at = 0;

	for (size_t i = 0; i < w->flight_n && w->worker_rc == LODE_OK; i++) {
		w->worker_rc = compress_chunk(w, w->flight + at, w->flight_len[i],
		                             &w->worker_err);
		at += w->flight_len[i];
	}
}

/* Wait until no chunk is in flight; returns the compressor's first error. */
static int wait_idle(struct lode_docs_writer *w, lode_error *err)
{
	if (!w->threaded)
		return LODE_OK;
	lode_worker_wait(&w->compressor);
	if (w->worker_rc && err)
		*err = w->worker_err;
	return w->worker_rc;
}

/* Hand the closed chunks over to the compressor, once it is idle. */
static int hand_off(struct lode_docs_writer *w, lode_error *err)
{
	char *full = w->chunk;
	size_t cap = w->chunk_cap;
	int rc;

	if (w->nclosed == 0)
		return LODE_OK;
	if ((rc = wait_idle(w, err)))
		return rc;
	/* Swap buffers: the full one flies, the idle one fills. */
	w->chunk = w->flight;
	w->chunk_cap = w->flight_cap;
	w->flight = full;
	w->flight_cap = cap;
	memcpy(w->flight_len, w->closed, w->nclosed * sizeof(*w->closed));
	w->flight_n = w->nclosed;
	lode_worker_give(&w->compressor);
	w->nclosed = 0;
	w->chunk_base = 0;
	return LODE_OK;
}

/* Close the open chunk, if it has documents: compress it here, or with a
 * compressor, keep it for the next hand_off (made when FLIGHT_CHUNKS are
 * closed). */
static int flush_chunk(struct lode_docs_writer *w, lode_error *err)
{
	int rc;

	if (w->chunk_first == w->ndocs)
		return LODE_OK;
	w->chunk_first = w->ndocs;
	w->nchunks++;
	if (!w->threaded) {
		rc = compress_chunk(w, w->chunk, w->chunk_used, err);
		w->chunk_used = 0;
		return rc;
	}
	w->closed[w->nclosed++] = w->chunk_used;
	w->chunk_base += w->chunk_used;
	w->chunk_used = 0;
	return w->nclosed == FLIGHT_CHUNKS ? hand_off(w, err) : LODE_OK;
}

/* Append document ndocs's entry to its block (FORMAT.md, DocEntry),
 * starting a block every LODE_DOC_BLOCK_DOCS documents; its text is in
 * chunk nchunks from byte chunk_used. */
static int add_entry(struct lode_docs_writer *w, const char *path,
                     size_t path_len, uint64_t len, int64_t mtime,
                     uint32_t tokens, lode_error *err)
{
	size_t b = (size_t)(w->ndocs / LODE_DOC_BLOCK_DOCS);
	int first = w->ndocs % LODE_DOC_BLOCK_DOCS == 0;
	size_t prefix = 0, tail = 0, middle;
	uint64_t delta, head;
	uint8_t *out;

	if (lode_grow(&w->tokens, &w->tokens_cap, (size_t)(w->ndocs + 1) * 4, 1) ||
	    lode_grow(&w->block_offs, &w->block_offs_cap, b + 1,
	              sizeof(uint64_t)) ||
	    lode_grow(&w->blocks, &w->blocks_cap,
	              w->blocks_used + 6 * LODE_VBYTE_MAX + path_len, 1) ||
	    lode_grow(&w->prev_path, &w->prev_cap, path_len + 1, 1))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	lode_put32(w->tokens + w->ndocs * 4, tokens);
	out = w->blocks + w->blocks_used;
	if (first) {
		w->prev_len = 0;
		w->block_offs[b] = w->blocks_used;
		out += lode_vbyte_put(out, w->nchunks);
		out += lode_vbyte_put(out, w->chunk_used);
		w->prev_mtime = 0;
	} else {
		/* The path: the previous one's longest common prefix and,
		 * from what follows it, longest common tail around what
		 * differs ("0000" "17" ".txt" after "0000" "09" ".txt"). */
		while (prefix < path_len && prefix < w->prev_len &&
		       path[prefix] == w->prev_path[prefix])
			prefix++;
		while (tail < path_len - prefix && tail < w->prev_len - prefix &&
		       path[path_len - 1 - tail] ==
		       w->prev_path[w->prev_len - 1 - tail])
			tail++;
	}
	middle = path_len - prefix - tail;
	head = (uint64_t)(w->prev_len - prefix) << 1 |
	       (!first && w->nchunks != w->prev_chunk);
	/* MTime as a zigzag difference from the previous document's. */
	delta = (uint64_t)mtime - w->prev_mtime;
	out += lode_vbyte_put(out, head);
	out += lode_vbyte_put(out, tail);
	out += lode_vbyte_put(out, middle);
	memcpy(out, path + prefix, middle);
	out += middle;
	out += lode_vbyte_put(out, len);
	out += lode_vbyte_put(out, delta << 1 ^ (0 - (delta >> 63)));
	w->blocks_used = (size_t)(out - w->blocks);
	memcpy(w->prev_path + prefix, path + prefix, path_len - prefix);
	w->prev_len = path_len;
	w->prev_chunk = w->nchunks;
	w->prev_mtime = (uint64_t)mtime;
	w->ndocs++;
	w->total_tokens += tokens;
	return LODE_OK;
}

int lode_docs_writer_add(struct lode_docs_writer *w, const char *path,
                         size_t path_len, const char *text, size_t len,
                         int64_t mtime, uint32_t tokens, lode_error *err)
{
	int rc;

	if (!w->store_text)
		return add_entry(w, path, path_len, len, mtime, tokens, err);
	if ((len > LODE_TEXT_CHUNK || w->chunk_used + len > LODE_TEXT_CHUNK) &&
	    (rc = flush_chunk(w, err)))
		return rc;
	if (len <= LODE_TEXT_CHUNK &&
	    lode_grow(&w->chunk, &w->chunk_cap,
	              w->chunk_base + w->chunk_used + len, 1))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	if ((rc = add_entry(w, path, path_len, len, mtime, tokens, err)))
		return rc;
	if (len > LODE_TEXT_CHUNK) {
		/* A chunk of its own, compressed here straight from the input
		 * (which is not ours to keep) once the compressor is idle. */
		w->chunk_first = w->ndocs;
		w->nchunks++;
		if ((rc = hand_off(w, err)) || (rc = wait_idle(w, err)))
			return rc;
		return compress_chunk(w, text, len, err);
	}
	if (len > 0) /* the chunk is NULL until a document has bytes */
		memcpy(w->chunk + w->chunk_base + w->chunk_used, text, len);
	w->chunk_used += len;
	return LODE_OK;
}

/* Stop the compressor thread, if any, after its last chunk. */
static void stop_thread(struct lode_docs_writer *w)
{
	if (!w->threaded)
		return;
	lode_worker_stop(&w->compressor);
	w->threaded = 0;
}

/* docs.tab: Tokens, the chunk table, the blocks, their index, the footer. */
static int write_table(struct lode_docs_writer *w, uint64_t text_end,
                       lode_error *err)
{
	uint64_t nblocks = (w->ndocs + LODE_DOC_BLOCK_DOCS - 1) /
	                   LODE_DOC_BLOCK_DOCS;
	uint64_t blocks_off = LODE_HEADER_SIZE + w->ndocs * 4 +
	                      (w->nplaces + 1) * 8;
	lode_out table;
	int rc;

	if ((rc = lode_out_open(&table, w->table_path, LODE_MAGIC_DOCS, err)))
		return rc;
	if ((rc = lode_out_write(&table, w->tokens, (size_t)w->ndocs * 4, err)))
		goto out_abort;
	for (size_t c = 0; c < w->nplaces; c++)
		if ((rc = lode_out_put64(&table, w->places[c].offset, err)))
			goto out_abort;
	if ((rc = lode_out_put64(&table, text_end, err)) ||
	    (rc = lode_out_write(&table, w->blocks, w->blocks_used, err)))
		goto out_abort;
	for (size_t b = 0; b < nblocks; b++)
		if ((rc = lode_out_put64(&table, blocks_off + w->block_offs[b], err)))
			goto out_abort;
	if ((rc = lode_out_put64(&table, w->ndocs, err)) ||
	    (rc = lode_out_put64(&table, w->total_tokens, err)) ||
	    (rc = lode_out_put64(&table, w->nplaces, err)) ||
	    (rc = lode_out_put64(&table, blocks_off + w->blocks_used, err)))
		goto out_abort;
	return lode_out_finish(&table, err);
out_abort:
	lode_out_abort(&table);
	return rc;
}

size_t lode_docs_writer_memory(const struct lode_docs_writer *w)
{
	/* zstd's context at level 1 with a 512 KiB window: 218 KB after a
	 * 16 KiB chunk, 1.37 MB once it has streamed a large document
	 * (ZSTD_sizeof_CCtx, zstd 1.5.4), counted as 1.5 MiB. */
	size_t zstd_state = w->store_text ? (size_t)3 << 19 : 0;

	/* Only what this thread writes: the compressor grows places (to
	 * nchunks, which this thread counts) while we read. */
	return w->tokens_cap + w->blocks_cap +
	       w->block_offs_cap * sizeof(uint64_t) +
	       w->nchunks * sizeof(struct chunk_place) + w->chunk_cap +
	       w->flight_cap + w->prev_cap + (w->store_text ? TEXT_OUT_BYTES : 0) +
	       zstd_state;
}

int lode_docs_writer_finish(struct lode_docs_writer *w, lode_error *err)
{
	uint64_t text_end;
	int rc = w->store_text ? flush_chunk(w, err) : LODE_OK;

	if (rc == LODE_OK)
		rc = hand_off(w, err);
	if (rc == LODE_OK)
		rc = wait_idle(w, err);
	stop_thread(w);
	if (rc == LODE_OK && w->nplaces != w->nchunks)
		rc = lode_fail(err, LODE_EIO, "stored text: %zu of %llu chunks "
		               "written", w->nplaces, (unsigned long long)w->nchunks);
	/* The reader decompresses a chunk through a 32-bit length. */
	for (size_t c = 0; rc == LODE_OK && c < w->nplaces; c++)
		if (w->places[c].length > UINT32_MAX)
			rc = lode_fail(err, LODE_ELIMIT, "a compressed document "
			               "exceeds 4 GB");
	text_end = w->text.offset;
	if (rc == LODE_OK)
		rc = lode_out_finish(&w->text, err);
	if (rc == LODE_OK)
		rc = write_table(w, text_end, err);
	lode_docs_writer_free(w);
	return rc;
}

void lode_docs_writer_free(struct lode_docs_writer *w)
{
	if (!w)
		return;
	stop_thread(w);
	lode_out_abort(&w->text);
	ZSTD_freeCCtx(w->zc);
	lode_free(w->zbuf);
	lode_free(w->chunk);
	lode_free(w->flight);
	lode_free(w->places);
	lode_free(w->tokens);
	lode_free(w->blocks);
	lode_free(w->block_offs);
	lode_free(w->prev_path);
	lode_free(w->table_path);
	lode_free(w);
}
