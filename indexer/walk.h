/*
 * walk.h -- finding the files to index.
 *
 * lode_walk visits every regular file below root, recursively, in byte order
 * of names within each directory, so that document ids are deterministic.
 * Hidden entries (names starting with '.') are skipped, as is one directory
 * given by device and inode (the index itself) and every directory holding
 * a lode index (a MANIFEST that starts with its magic), silently: their
 * files are no one's text.  Symbolic links are followed;
 * a directory already on the current path (a link loop) is skipped with a
 * warning, as is anything that cannot be read.  A root that is a regular file
 * is visited itself.
 *
 * Paths handed to the callback are root joined with the path below it
 * ("corpus/" + "a.txt" = "corpus/a.txt"), valid only during the call.  An
 * entry its directory reports as a regular file is handed over without a
 * stat (the callback opens it, and must check what it opened); others are
 * stat'ed, following links, and handed over if they are regular files.
 * With the path come the open directory holding the file and its name
 * there: opening name relative to dir resolves one name, where opening
 * path walked every component of it again (3-4 % of indexing Reuters).
 * A root that is a file comes with AT_FDCWD and its path as name.
 */
#ifndef LODE_INDEXER_WALK_H
#define LODE_INDEXER_WALK_H

#include <stdint.h>
#include <sys/stat.h>

#include "lode.h"

typedef struct lode_walk {
	/* Called for each regular file; nonzero stops the walk and is returned. */
	int (*file)(void *ctx, const char *path, int dir, const char *name);
	/* Called with a one-line message for each entry skipped on an error. */
	void (*warning)(void *ctx, const char *message);
	void *ctx;
	dev_t skip_dev;   /* directory never entered, if skip is set */
	ino_t skip_ino;
	int skip;
} lode_walk;

/* Walk root; returns 0, the callback's nonzero value, or LODE_ENOMEM.
 * A root that does not exist or cannot be read is LODE_EIO (err filled). */
int lode_walk_tree(const lode_walk *walk, const char *root, lode_error *err);

/* Walk roots[0, n) as above; stops at the first error, as lode_walk_tree. */
int lode_walk_roots(const lode_walk *walk, const char *const *roots, size_t n,
                    lode_error *err);

#endif
