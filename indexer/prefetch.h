/*
 * prefetch.h -- the files to index, walked and read ahead on a thread of
 * their own.
 *
 * Calls:  lode_prefetch_start  lode_prefetch_next*  lode_prefetch_stop
 *         (or lode_read_document alone, on the caller's thread)
 *
 * Reading a corpus of small files is mostly system calls (open, fstat,
 * read, close: a fifth of a build's time on 20 Newsgroups), which a thread
 * of their own overlaps with the indexing of the files before.  The reader
 * walks the roots in order (walk.h) and reads each file whole with
 * lode_read_document; the items come out in walk order, each a document or
 * a warning (an entry skipped), then the walk's end or its error.
 *
 * Memory: every item costs its file's size, its strings and some overhead,
 * from before its file is read until the consumer asks for the next item.
 * The costs held at once stay within max_bytes, but for a single item that
 * passes it alone, which is then read only when nothing else is held: one
 * huge file at a time, as without the thread.  A reader that has to wait
 * waits until half the limit is free, so that the threads do not wake
 * each other for every file.
 */
#ifndef LODE_INDEXER_PREFETCH_H
#define LODE_INDEXER_PREFETCH_H

#include <stddef.h>
#include <sys/stat.h>

#include "lode.h"

/* One file read, or an entry skipped. */
typedef struct lode_document {
	char *path;     /* lode_malloc'd, NUL-terminated */
	char *data;     /* len bytes (and a NUL), lode_malloc'd; NULL when
	                   warning is set */
	size_t len;
	struct stat st; /* of the file as opened */
	char *warning;  /* lode_malloc'd one-line message, or NULL */
} lode_document;

/* Free what doc holds and clear it. */
void lode_document_release(lode_document *doc);

/* Open, check and read the regular file name in directory dir (an open
 * descriptor or AT_FDCWD), known as path, into doc: LODE_OK with doc->data
 * set, or with doc->warning set if it is to be skipped (it vanished, is no
 * longer a regular file, cannot be read); LODE_ENOMEM (err filled) if its
 * bytes do not fit in memory. */
int lode_read_document(int dir, const char *name, const char *path,
                       lode_document *doc, lode_error *err);

struct lode_prefetch;

/* Start the reader thread on roots[0, nroots), skipping the directory of
 * device skip_dev and inode skip_ino (the index).  *out is NULL if no
 * thread could be started: the caller then walks on its own. */
int lode_prefetch_start(const char *const *roots, size_t nroots,
                        dev_t skip_dev, ino_t skip_ino, size_t max_bytes,
                        struct lode_prefetch **out, lode_error *err);

/* The next item, in walk order: 1 and *doc filled (the caller releases
 * it, and is done with it at the next call), 0 at the end of the walk, or
 * the walk's error (err filled). */
int lode_prefetch_next(struct lode_prefetch *pf, lode_document *doc,
                       lode_error *err);

/* Stop the reader (early, if the walk has not ended), wait for it and free
 * everything; NULL is allowed. */
void lode_prefetch_stop(struct lode_prefetch *pf);

#endif
