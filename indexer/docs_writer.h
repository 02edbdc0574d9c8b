/*
 * docs_writer.h -- writing a segment's document table and stored text.
 *
 * Calls:  lode_docs_writer_open  lode_docs_writer_add*
 *         lode_docs_writer_finish | lode_docs_writer_free
 *
 * Each document's text is deflated (zlib) into text.z as it arrives; its
 * record (FORMAT.md, docs.tab) and path are kept in memory, 40 bytes plus the
 * path per document, and written at finish.
 */
#ifndef LODE_INDEXER_DOCS_WRITER_H
#define LODE_INDEXER_DOCS_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "lode.h"

struct lode_docs_writer;

int lode_docs_writer_open(const char *dir, struct lode_docs_writer **out,
                          lode_error *err);

/* Append the next document: its path, text and metadata. */
int lode_docs_writer_add(struct lode_docs_writer *w, const char *path,
                         size_t path_len, const char *text, size_t len,
                         int64_t mtime, uint32_t tokens, lode_error *err);

/* Write docs.tab, finish text.z; frees w whatever the outcome. */
int lode_docs_writer_finish(struct lode_docs_writer *w, lode_error *err);

void lode_docs_writer_free(struct lode_docs_writer *w);

#endif
