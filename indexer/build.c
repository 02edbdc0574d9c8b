/*
 * build.c -- lode_build: walk, invert, write a segment, publish it.
 *
 * The new segment is written into seg-N.tmp/ inside the index directory,
 * fsynced, renamed to seg-N/, and then published by writing MANIFEST.tmp and
 * renaming it over MANIFEST: readers see the old manifest or the new one.
 * Only then are old segments removed.  A build that fails or is killed
 * leaves the old index as it was; the next build removes its leftovers.
 * A LOCK file held with flock() keeps two builds apart.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "docs_writer.h"
#include "error.h"
#include "file.h"
#include "format.h"
#include "inverter.h"
#include "lode.h"
#include "postings_writer.h"
#include "prefetch.h"
#include "stem.h"
#include "walk.h"

/* Bytes scanned for a NUL to decide that a file is binary, as git does. */
#define BINARY_PROBE 8192
/* Most bytes of files read ahead (prefetch.h).  Files are read, never
 * mapped: a mapped file truncated while being indexed would raise SIGBUS. */
#define PREFETCH_MAX ((size_t)8 << 20)

struct build {
	const lode_build_options *opt;
	lode_build_stats *stats;
	lode_error *err;
	struct lode_inverter *inv;
	struct lode_docs_writer *docs;
	uint32_t ndocs;
	uint32_t *lengths;       /* token count of each document so far */
	size_t lengths_cap;
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned threads(const lode_build_options *opt)
{
	long cpus;

	if (opt->threads)
		return opt->threads;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus > 1 ? (unsigned)cpus : 1;
}

static void on_warning(void *ctx, const char *message)
{
	struct build *b = ctx;

	b->stats->skipped_error++;
	if (b->opt->warning)
		b->opt->warning(b->opt->ctx, message);
}

/*
 * The memory budget covers the whole build: the postings buffers and term
 * table get what the rest leaves, that is the budget less the document
 * table so far (and its text buffers), the document lengths, and an
 * eighth for what is not counted (the file being read, malloc's own
 * overhead, the program and its libraries, the merge's read windows).  At
 * least half of it, so that a budget too small for the rest still spills
 * runs of some size.  Measured on the 1 GB synthetic corpus at 256M: peak
 * resident 244 MB (it was 653 MB when the budget bounded the postings
 * alone and the merge kept its runs resident).
 */
static size_t build_budget(const lode_build_options *opt)
{
	return opt->memory_budget ? opt->memory_budget : LODE_DEFAULT_MEMORY;
}

static size_t postings_budget(const struct build *b)
{
	size_t budget = build_budget(b->opt);
	size_t rest = lode_docs_writer_memory(b->docs) +
	              b->lengths_cap * sizeof(uint32_t) + budget / 8;

	return rest < budget / 2 ? budget - rest : budget - budget / 2;
}

static int add_document(struct build *b, const char *path, const char *text,
                        size_t len, const struct stat *st)
{
	uint32_t tokens = 0;
	int rc;

	if (b->ndocs == UINT32_MAX)
		return lode_fail(b->err, LODE_ELIMIT,
		                 "more than %" PRIu32 " documents", UINT32_MAX - 1);
	if (lode_grow(&b->lengths, &b->lengths_cap, (size_t)b->ndocs + 1,
	              sizeof(uint32_t)))
		return lode_fail(b->err, LODE_ENOMEM, "out of memory");
	lode_inverter_set_budget(b->inv, postings_budget(b));
	if ((rc = lode_inverter_add(b->inv, b->ndocs, text, len, &tokens, b->err)) ||
	    (rc = lode_docs_writer_add(b->docs, path, strlen(path), text, len,
	                               (int64_t)st->st_mtime, tokens, b->err)))
		return rc;
	b->lengths[b->ndocs++] = tokens;
	b->stats->documents++;
	b->stats->tokens += tokens;
	b->stats->input_bytes += len;
	return LODE_OK;
}

/* A file read (lode_read_document): index it, or count it as skipped;
 * then tell the progress callback. */
static int take_document(struct build *b, const lode_document *doc)
{
	int rc = 0;

	if (doc->warning) {
		on_warning(b, doc->warning);
		return 0;
	}
	if (doc->len > 0 &&
	    memchr(doc->data, 0, doc->len < BINARY_PROBE ? doc->len : BINARY_PROBE))
		b->stats->skipped_binary++;
	else
		rc = add_document(b, doc->path, doc->data, doc->len, &doc->st);
	if (rc == 0 && b->opt->progress && b->opt->progress(b->opt->ctx, b->stats))
		rc = lode_fail(b->err, LODE_EINVAL, "indexing interrupted");
	return rc;
}

/* The walk's callback on the caller's thread (one thread). */
static int on_file(void *ctx, const char *path, int dir, const char *name)
{
	struct build *b = ctx;
	lode_document doc;
	int rc = lode_read_document(dir, name, path, &doc, b->err);

	if (rc == LODE_OK)
		rc = take_document(b, &doc);
	lode_document_release(&doc);
	return rc;
}

/* The walk on the caller's thread. */
static int walk_here(struct build *b, const char *const *dirs, size_t ndirs,
                     const struct stat *index_st)
{
	lode_walk w = {on_file, on_warning, b, index_st->st_dev,
	               index_st->st_ino, 1};

	return lode_walk_roots(&w, dirs, ndirs, b->err);
}

/*
 * Index the files below dirs: walked and read on the caller's thread, or
 * with threads, on a reader thread (prefetch.h) a few files ahead.  The
 * files it holds cost up to a sixteenth of the budget (at most 8 MiB, or
 * one larger file alone): a part of the eighth postings_budget() leaves
 * for what it does not count.
 */
static int index_files(struct build *b, const char *const *dirs,
                       size_t ndirs, const struct stat *index_st)
{
	size_t budget = build_budget(b->opt);
	struct lode_prefetch *pf = NULL;
	lode_document doc;
	int rc;

	if (threads(b->opt) >= 2 &&
	    (rc = lode_prefetch_start(dirs, ndirs, index_st->st_dev,
	                              index_st->st_ino,
	                              budget / 16 < PREFETCH_MAX ? budget / 16
	                                                         : PREFETCH_MAX,
	                              &pf, b->err)))
		return rc;
	if (!pf)
		return walk_here(b, dirs, ndirs, index_st);
	while ((rc = lode_prefetch_next(pf, &doc, b->err)) == 1) {
		rc = take_document(b, &doc);
		lode_document_release(&doc);
		if (rc)
			break;
	}
	lode_prefetch_stop(pf);
	return rc;
}

/* Parse "seg-N" or "seg-N.tmp"; returns 1 (final), 2 (tmp) or 0 (other). */
static int segment_name(const char *name, uint64_t *gen)
{
	const char *p = name + strlen(LODE_SEGMENT_PREFIX);
	char *end;

	if (strncmp(name, LODE_SEGMENT_PREFIX, strlen(LODE_SEGMENT_PREFIX)) != 0 ||
	    *p < '0' || *p > '9')
		return 0;
	errno = 0;
	*gen = strtoull(p, &end, 10);
	if (errno)
		return 0;
	if (*end == '\0')
		return 1;
	return strcmp(end, ".tmp") == 0 ? 2 : 0;
}

/* Remove a segment directory: our files, then the directory.  Anything else
 * found in it is left alone (and so is the directory). */
static void remove_segment(const char *index, const char *name)
{
	static const char *const files[] = {
		LODE_FILE_DICT, LODE_FILE_POSTINGS, LODE_FILE_POSITIONS,
		LODE_FILE_DOCS, LODE_FILE_TEXT,
	};
	char path[4096];
	DIR *d;
	struct dirent *e;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", index, name, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%s", index, name);
	d = opendir(path);
	if (d) {
		/* Run files of an interrupted build. */
		while ((e = readdir(d)) != NULL) {
			if (strncmp(e->d_name, "run-", 4) == 0) {
				char run[8192];
				if (snprintf(run, sizeof(run), "%s/%s", path,
				             e->d_name) < (int)sizeof(run))
					unlink(run);
			}
		}
		closedir(d);
	}
	rmdir(path);
}

enum cleanup {
	KEEP_ALL,      /* only look */
	REMOVE_TMP,    /* remove leftovers of interrupted builds */
	REMOVE_OTHERS, /* ... and every segment but the one to keep */
};

/*
 * Check that index is ours to write (absent, empty, or a lode index), find
 * the next free generation, and remove what cleanup says.
 */
static int scan_index(const char *index, uint64_t keep, enum cleanup cleanup,
                      uint64_t *next_gen, lode_error *err)
{
	DIR *d = opendir(index);
	struct dirent *e;
	int foreign = 0, has_manifest = 0;
	uint64_t max = 0;

	if (!d)
		return lode_fail_errno(err, "%s", index);
	while ((e = readdir(d)) != NULL) {
		uint64_t gen;
		int kind = segment_name(e->d_name, &gen);
		if (kind) {
			if (gen > max)
				max = gen;
			if ((cleanup != KEEP_ALL && kind == 2) ||
			    (cleanup == REMOVE_OTHERS && gen != keep))
				remove_segment(index, e->d_name);
		} else if (strcmp(e->d_name, LODE_MANIFEST_NAME) == 0) {
			has_manifest = 1;
		} else if (strcmp(e->d_name, LODE_LOCK_NAME) != 0 &&
		           strcmp(e->d_name, LODE_MANIFEST_NAME ".tmp") != 0 &&
		           strcmp(e->d_name, ".") != 0 &&
		           strcmp(e->d_name, "..") != 0) {
			foreign = 1;
		}
	}
	closedir(d);
	if (foreign && !has_manifest)
		return lode_fail(err, LODE_EINVAL,
		                 "%s: exists and is not a lode index; choose "
		                 "another index path", index);
	if (next_gen)
		*next_gen = max + 1;
	return LODE_OK;
}

static int write_manifest(const char *index, const char *stemmer,
                          uint64_t gen, uint32_t ndocs, lode_error *err)
{
	size_t stemmer_len = stemmer ? strlen(stemmer) : 0;
	char *tmp = lode_path_join(index, LODE_MANIFEST_NAME ".tmp");
	char *final = lode_path_join(index, LODE_MANIFEST_NAME);
	lode_out out;
	int rc;

	if (!tmp || !final) {
		rc = lode_fail(err, LODE_ENOMEM, "out of memory");
		goto out_free;
	}
	if ((rc = lode_out_open(&out, tmp, LODE_MAGIC_MANIFEST, err)))
		goto out_free;
	if ((rc = lode_out_put32(&out, 1, err)) ||
	    (rc = lode_out_put32(&out, (uint32_t)stemmer_len, err)) ||
	    (rc = lode_out_write(&out, stemmer, stemmer_len, err)) ||
	    (rc = lode_out_put64(&out, gen, err)) ||
	    (rc = lode_out_put32(&out, ndocs, err)) ||
	    (rc = lode_out_put32(&out, 0, err))) {
		lode_out_abort(&out);
		goto out_unlink;
	}
	if ((rc = lode_out_finish(&out, err)))
		goto out_unlink;
	if (rename(tmp, final) != 0) {
		rc = lode_fail_errno(err, "%s: rename", tmp);
		goto out_unlink;
	}
	/* Published: a failed directory sync no longer undoes anything. */
	lode_sync_dir(index, NULL);
	goto out_free;
out_unlink:
	unlink(tmp);
out_free:
	lode_free(tmp);
	lode_free(final);
	return rc;
}

static int open_lock(const char *index, int *fd_out, lode_error *err)
{
	char *path = lode_path_join(index, LODE_LOCK_NAME);
	int fd, rc = LODE_OK;

	if (!path)
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = lode_fail_errno(err, "%s", path);
	} else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			rc = lode_fail(err, LODE_EBUSY,
			               "%s: another lode index is writing this "
			               "index", index);
		else
			rc = lode_fail_errno(err, "%s: flock", path);
		close(fd);
		fd = -1;
	}
	lode_free(path);
	*fd_out = fd;
	return rc;
}

/* Sum of the sizes of the segment's files. */
static uint64_t directory_bytes(const char *dir)
{
	uint64_t total = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
	}
	closedir(d);
	return total;
}

/* Drain the inverter into the postings writer. */
static int write_postings(struct build *b, const char *seg_dir)
{
	struct lode_postings_writer *pw;
	lode_term_postings t;
	int rc;

	if ((rc = lode_inverter_finish(b->inv, b->err)) ||
	    (rc = lode_postings_writer_open(seg_dir, b->lengths, b->ndocs,
	                                    threads(b->opt) > 1, &pw, b->err)))
		return rc;
	while ((rc = lode_inverter_next(b->inv, &t, b->err)) == 1) {
		if ((rc = lode_postings_writer_add(pw, &t, b->err))) {
			lode_postings_writer_free(pw);
			return rc;
		}
	}
	if (rc < 0) {
		lode_postings_writer_free(pw);
		return rc;
	}
	b->stats->runs = lode_inverter_runs(b->inv);
	return lode_postings_writer_finish(pw, lode_inverter_common(b->inv),
	                                   &b->stats->terms,
	                                   &b->stats->postings,
	                                   &b->stats->pairs, b->err);
}

int lode_build(const char *index, const char *const *dirs, size_t ndirs,
               const lode_build_options *options, lode_build_stats *stats,
               lode_error *err)
{
	static const lode_build_options defaults;
	lode_build_stats local_stats;
	struct build b = {0};
	char name[64], tmp_name[80], *seg_tmp = NULL, *seg_final = NULL;
	struct lode_stemmer *stemmer = NULL;
	struct stat index_st;
	uint64_t gen;
	double start = now_seconds();
	int lock_fd = -1, rc;

	lode_error_clear(err);
	b.opt = options ? options : &defaults;
	b.stats = stats ? stats : &local_stats;
	b.err = err;
	memset(b.stats, 0, sizeof(*b.stats));

	if (b.opt->stemmer && (strlen(b.opt->stemmer) == 0 ||
	                       strlen(b.opt->stemmer) > LODE_STEMMER_NAME_MAX))
		return lode_fail(err, LODE_EINVAL, "bad stemmer name");
	if (b.opt->stemmer &&
	    (rc = lode_stemmer_new(b.opt->stemmer, &stemmer, err)))
		return rc;
	/* Nothing is created for inputs that are not there. */
	for (size_t i = 0; i < ndirs; i++) {
		struct stat st;
		if (stat(dirs[i], &st) != 0) {
			rc = lode_fail_errno(err, "%s", dirs[i]);
			goto out_free;
		}
	}
	if (mkdir(index, 0755) != 0 && errno != EEXIST) {
		rc = lode_fail_errno(err, "%s: cannot create index directory", index);
		goto out_free;
	}
	if (stat(index, &index_st) != 0 || !S_ISDIR(index_st.st_mode)) {
		rc = lode_fail(err, LODE_EINVAL, "%s: not a directory", index);
		goto out_free;
	}
	if ((rc = scan_index(index, 0, KEEP_ALL, NULL, err)) ||
	    (rc = open_lock(index, &lock_fd, err)))
		goto out_free;
	/* Under the lock: clear leftovers of interrupted builds. */
	if ((rc = scan_index(index, 0, REMOVE_TMP, &gen, err)))
		goto out_free;
	snprintf(name, sizeof(name), LODE_SEGMENT_PREFIX "%06" PRIu64, gen);
	snprintf(tmp_name, sizeof(tmp_name), "%s.tmp", name);
	seg_final = lode_path_join(index, name);
	seg_tmp = lode_path_join(index, tmp_name);
	if (!seg_tmp || !seg_final) {
		rc = lode_fail(err, LODE_ENOMEM, "out of memory");
		goto out_free;
	}
	if (mkdir(seg_tmp, 0755) != 0) {
		rc = lode_fail_errno(err, "%s", seg_tmp);
		goto out_free;
	}
	if ((rc = lode_inverter_new(build_budget(b.opt), seg_tmp, stemmer,
	                            &b.inv, err)) ||
	    (rc = lode_docs_writer_open(seg_tmp, !b.opt->no_text,
	                                threads(b.opt) > 1, &b.docs, err)))
		goto out_remove;

	if ((rc = index_files(&b, dirs, ndirs, &index_st)))
		goto out_remove;
	rc = write_postings(&b, seg_tmp);
	lode_inverter_free(b.inv);
	b.inv = NULL;
	if (rc)
		goto out_remove;
	rc = lode_docs_writer_finish(b.docs, err);
	b.docs = NULL;
	if (rc || (rc = lode_sync_dir(seg_tmp, err)))
		goto out_remove;
	if (rename(seg_tmp, seg_final) != 0) {
		rc = lode_fail_errno(err, "%s: rename", seg_tmp);
		goto out_remove;
	}
	if ((rc = lode_sync_dir(index, err)) ||
	    (rc = write_manifest(index, b.opt->stemmer, gen, b.ndocs, err))) {
		remove_segment(index, name);
		goto out_free;
	}
	/* Published: old segments are garbage now. */
	scan_index(index, gen, REMOVE_OTHERS, NULL, NULL);
	b.stats->index_bytes = directory_bytes(seg_final);
	b.stats->seconds = now_seconds() - start;
	goto out_free;

out_remove:
	lode_inverter_free(b.inv);
	lode_docs_writer_free(b.docs);
	remove_segment(index, tmp_name);
out_free:
	lode_stemmer_free(stemmer);
	lode_free(b.lengths);
	lode_free(seg_tmp);
	lode_free(seg_final);
	if (lock_fd >= 0)
		close(lock_fd);
	return rc;
}
