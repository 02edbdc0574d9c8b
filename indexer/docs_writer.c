/* docs_writer.c -- document table and zlib-compressed stored text. */
#include "docs_writer.h"

#include <pthread.h>
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

/* Where a chunk went in text.z. */
struct chunk_place {
	uint64_t offset;
	uint64_t length;
};

struct lode_docs_writer {
	lode_out text;           /* written by the deflater alone */
	char *table_path;
	z_stream z;
	int z_ready;
	uint8_t *zbuf;           /* DEFLATE_CHUNK bytes of deflate output */
	char *chunk;             /* texts of the documents not yet deflated */
	size_t chunk_used, chunk_cap;
	size_t chunk_first;      /* record offset of the chunk's first document */
	uint64_t nchunks;        /* chunks handed to the deflater */
	/* Records name their chunk by number until finish() knows its place. */
	struct chunk_place *places;
	size_t nplaces, places_cap;

	/* With a deflater thread: one chunk in flight while the next fills. */
	int threaded;
	pthread_t thread;
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	char *flight;            /* the chunk being deflated */
	size_t flight_used, flight_cap;
	int busy;                /* flight holds a chunk not yet deflated */
	int stop;                /* finish or free: the thread should end */
	int worker_rc;           /* first failure of the deflater */
	lode_error worker_err;
	uint8_t *records;        /* LODE_DOC_RECORD_SIZE per document */
	size_t records_used, records_cap;
	char *paths;             /* every path, back to back */
	size_t paths_used, paths_cap;
	uint64_t ndocs, tokens;
};

static void *deflater(void *arg);

int lode_docs_writer_open(const char *dir, int threaded,
                          struct lode_docs_writer **out, lode_error *err)
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
	if (threaded) {
		pthread_mutex_init(&w->mutex, NULL);
		pthread_cond_init(&w->cond, NULL);
		w->threaded = pthread_create(&w->thread, NULL, deflater, w) == 0;
		if (!w->threaded) {
			pthread_mutex_destroy(&w->mutex);
			pthread_cond_destroy(&w->cond);
		}
	}
	*out = w;
	w = NULL;
out_free:
	lode_docs_writer_free(w);
	lode_free(text_path);
	return rc;
}

/* Deflate text into text.z as one complete zlib stream and note where it
 * went as the next chunk.  Only one thread at a time calls this. */
static int deflate_chunk(struct lode_docs_writer *w, const char *text,
                         size_t len, lode_error *err)
{
	uint64_t start = w->text.offset;
	int zrc, rc;

	if (lode_grow(&w->places, &w->places_cap, w->nplaces + 1,
	              sizeof(struct chunk_place)))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
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
	w->places[w->nplaces].offset = start;
	w->places[w->nplaces].length = w->text.offset - start;
	w->nplaces++;
	return LODE_OK;
}

/* The deflater thread: deflate each chunk put in flight, in order. */
static void *deflater(void *arg)
{
	struct lode_docs_writer *w = arg;

	pthread_mutex_lock(&w->mutex);
	for (;;) {
		while (!w->busy && !w->stop)
			pthread_cond_wait(&w->cond, &w->mutex);
		if (!w->busy)
			break;
		pthread_mutex_unlock(&w->mutex);
		if (w->worker_rc == LODE_OK)
			w->worker_rc = deflate_chunk(w, w->flight, w->flight_used,
			                             &w->worker_err);
		pthread_mutex_lock(&w->mutex);
		w->busy = 0;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->mutex);
	return NULL;
}

/* Wait until no chunk is in flight; returns the deflater's first error. */
static int wait_idle(struct lode_docs_writer *w, lode_error *err)
{
	if (!w->threaded)
		return LODE_OK;
	pthread_mutex_lock(&w->mutex);
	while (w->busy)
		pthread_cond_wait(&w->cond, &w->mutex);
	pthread_mutex_unlock(&w->mutex);
	if (w->worker_rc && err)
		*err = w->worker_err;
	return w->worker_rc;
}

/* Hand the gathered texts over as the next chunk. */
static int flush_chunk(struct lode_docs_writer *w, lode_error *err)
{
	char *full = w->chunk;
	size_t cap = w->chunk_cap;
	int rc;

	if (w->chunk_first == w->records_used)
		return LODE_OK;
	w->chunk_first = w->records_used;
	w->nchunks++;
	if (!w->threaded) {
		rc = deflate_chunk(w, w->chunk, w->chunk_used, err);
		w->chunk_used = 0;
		return rc;
	}
	if ((rc = wait_idle(w, err)))
		return rc;
	/* Swap buffers: the full one flies, the idle one fills. */
	pthread_mutex_lock(&w->mutex);
	w->chunk = w->flight;
	w->chunk_cap = w->flight_cap;
	w->flight = full;
	w->flight_cap = cap;
	w->flight_used = w->chunk_used;
	w->busy = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mutex);
	w->chunk_used = 0;
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
	/* The chunk's number for now; finish() writes its offset. */
	lode_put64(r + LODE_DOC_TEXT_OFFSET, w->nchunks);
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
		/* A chunk of its own, deflated here straight from the input
		 * (which is not ours to keep) once the deflater is idle. */
		w->chunk_first = w->records_used;
		w->nchunks++;
		if ((rc = wait_idle(w, err)))
			return rc;
		return deflate_chunk(w, text, len, err);
	}
	memcpy(w->chunk + w->chunk_used, text, len);
	w->chunk_used += len;
	return LODE_OK;
}

/* Stop the deflater thread, if any, after its last chunk. */
static void stop_thread(struct lode_docs_writer *w)
{
	if (!w->threaded)
		return;
	pthread_mutex_lock(&w->mutex);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mutex);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mutex);
	pthread_cond_destroy(&w->cond);
	w->threaded = 0;
}

int lode_docs_writer_finish(struct lode_docs_writer *w, lode_error *err)
{
	lode_out table;
	int rc = flush_chunk(w, err);

	if (rc == LODE_OK)
		rc = wait_idle(w, err);
	stop_thread(w);
	if (rc == LODE_OK && w->nplaces != w->nchunks)
		rc = lode_fail(err, LODE_EIO, "stored text: %zu of %llu chunks "
		               "written", w->nplaces, (unsigned long long)w->nchunks);
	for (size_t r = 0; rc == LODE_OK && r < w->records_used;
	     r += LODE_DOC_RECORD_SIZE) {
		uint8_t *rec = w->records + r;
		const struct chunk_place *c =
			&w->places[lode_get64(rec + LODE_DOC_TEXT_OFFSET)];
		if (c->length > UINT32_MAX) {
			rc = lode_fail(err, LODE_ELIMIT, "a compressed document "
			               "exceeds 4 GB");
			break;
		}
		lode_put64(rec + LODE_DOC_TEXT_OFFSET, c->offset);
		lode_put32(rec + LODE_DOC_TEXT_LENGTH, (uint32_t)c->length);
	}
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
	stop_thread(w);
	lode_out_abort(&w->text);
	if (w->z_ready)
		deflateEnd(&w->z);
	lode_free(w->zbuf);
	lode_free(w->chunk);
	lode_free(w->flight);
	lode_free(w->places);
	lode_free(w->records);
	lode_free(w->paths);
	lode_free(w->table_path);
	lode_free(w);
}
