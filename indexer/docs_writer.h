/*
 * docs_writer.h -- writing a segment's document table and stored text.
 *
 * Calls:  lode_docs_writer_open  lode_docs_writer_add*
 *         lode_docs_writer_finish | lode_docs_writer_free
 *
 * Documents' texts are gathered into chunks of about LODE_TEXT_CHUNK bytes,
 * each compressed into text.z as one zstd frame, optionally on a thread of
 * its own; a longer document is compressed straight from its input as a
 * chunk of its own.  The document table (FORMAT.md, docs.tab) is encoded in
 * memory as documents come, some 12 bytes each (paths coded against the
 * previous one), and written at finish, when every chunk's place in text.z
 * is known.  A segment may keep no text: its text.z then holds no chunk, and
 * only the table is written (snippets read the files themselves).
 */
#ifndef LODE_INDEXER_DOCS_WRITER_H
#define LODE_INDEXER_DOCS_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "lode.h"

/* zstd level for stored text: level 1 compresses Reuters-21578's 16 KiB
 * chunks at 285 MB/s (libdeflate's deflate level 1: 199 MB/s) to 1 % more
 * bytes, and they inflate twice as fast; the text is read only for
 * snippets. */
#define LODE_TEXT_ZSTD_LEVEL 1
/* Bytes of compressed output written at a time. */
#define LODE_TEXT_OUT (256u << 10)

struct lode_docs_writer;

/* With store_text clear, no text is kept.  With threaded set, a second
 * thread compresses chunks while the next fill; otherwise the caller's
 * thread compresses. */
int lode_docs_writer_open(const char *dir, int store_text, int threaded,
                          struct lode_docs_writer **out, lode_error *err);

/* Append the next document: its path, text and metadata. */
int lode_docs_writer_add(struct lode_docs_writer *w, const char *path,
                         size_t path_len, const char *text, size_t len,
                         int64_t mtime, uint32_t tokens, lode_error *err);

/* Bytes w holds now: the document table so far and the text buffers. */
size_t lode_docs_writer_memory(const struct lode_docs_writer *w);

/* Write docs.tab, finish text.z; frees w whatever the outcome. */
int lode_docs_writer_finish(struct lode_docs_writer *w, lode_error *err);

void lode_docs_writer_free(struct lode_docs_writer *w);

#endif
