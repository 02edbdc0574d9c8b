/*
 * test_reliability.c -- lode when things go wrong: a build killed at any
 * moment, index files damaged byte by byte, allocations that fail, a full
 * disk, two writers at once.
 *
 * The promises under test (lode.h, indexer/build.c, FORMAT.md):
 *
 *   - A build publishes atomically: a reader sees the old index or the new
 *     one, whole, whatever instant the build dies at; the next build removes
 *     the leftovers (seg-N.tmp/, run-*.tmp, unpublished seg-N/).
 *   - Damaged index files give errors, never a crash or a sanitizer report;
 *     `lode check` finds any damage, since CRCs cover every byte.
 *   - A failed allocation returns LODE_ENOMEM (or another clean error), leaks
 *     nothing, and a build that fails leaves the previous index untouched.
 *   - A write error (here: a file size limit) fails the build with one
 *     "lode: " line naming the file and the error; the old index survives.
 *   - One writer at a time: a build finding the LOCK held fails at once,
 *     while searches go on.
 *
 * The binary under test is $LODE_BIN (default ./lode), run with fork and
 * execv by test_run_argv() (support.h), as test_cli.c runs it.  The
 * out-of-memory cases and most of the damage sweep call the library
 * in-process instead, so that the sanitizer build of this test checks every
 * access and leak directly; the out-of-memory steps run in forked children,
 * so that a crash at one step is reported and the loop goes on with the
 * next.  Seeds are fixed and printed with every failure.  Everything written
 * goes below one test_tmpdir(), removed at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "lode.h"
#include "postings_writer.h"
#include "support.h"

/* LeakSanitizer, when this test is built with AddressSanitizer: checked by
 * each child of the out-of-memory loops after its steps, so that a leak
 * names its loop and the steps it happened in. */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#ifdef HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#define LEAKS_FOUND() (__lsan_do_recoverable_leak_check() != 0)
#else
#define LEAKS_FOUND() 0
#endif

/* Most arguments a test puts in an argument array of its own, terminator
 * included. */
#define MAX_ARGS 16

/* Crash test: files of the old corpus, files the new one adds, kills. */
#define CRASH_FILES 200
#define CRASH_ADDED 30
#define CRASH_KILLS 80
#define CRASH_SEED 20240611u

/* Damage sweep: sampled damages of the medium index, spawned subset. */
#define SWEEP_SEED 7u
#define MEDIUM_DOCS 160
#define MEDIUM_TRUNCATIONS 60  /* per file */
#define MEDIUM_FLIPS 120       /* per file */
#define CLI_DAMAGES_TINY 30
#define CLI_DAMAGES_MEDIUM 12

/* Out of memory: the loops stop here if the operation never succeeds. */
#define OOM_MAX_STEPS 100000

/* ---- paths, files ---------------------------------------------------------- */

static char *xstrdup(const char *s)
{
	return test_asprintf("%s", s);
}

static void write_text(const char *dir, const char *name, const char *text)
{
	test_write_file(dir, name, text, strlen(text));
}

/* Write len bytes at offset at of the existing file path, in place. */
static void put_bytes(const char *path, size_t at, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || pwrite(fd, data, len, (off_t)at) != (ssize_t)len ||
	    close(fd) != 0)
		fail_msg("cannot write %s: %s", path, strerror(errno));
}

/* What an index directory holds besides its live files. */
struct leftovers {
	unsigned tmp;          /* entries named *.tmp (segment dirs, MANIFEST.tmp) */
	unsigned seg_tmp;      /* seg-*.tmp directories */
	unsigned runs;         /* run-* files of a spilling build */
	unsigned segs;         /* published seg-* directories */
	unsigned manifest_tmp; /* MANIFEST.tmp */
	test_buf listing;      /* every entry, for failure messages */
};

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void scan_dir(const char *dir, const char *rel, struct leftovers *lo,
                     int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char *path, *name;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		path = test_asprintf("%s/%s", dir, e->d_name);
		name = test_asprintf("%s%s", rel, e->d_name);
		test_buf_adds(&lo->listing, name);
		test_buf_adds(&lo->listing, " ");
		if (ends_with(e->d_name, ".tmp"))
			lo->tmp++;
		if (strncmp(e->d_name, "run-", 4) == 0)
			lo->runs++;
		if (depth == 0 && strcmp(e->d_name, "MANIFEST.tmp") == 0)
			lo->manifest_tmp++;
		if (depth == 0 && strncmp(e->d_name, "seg-", 4) == 0 &&
		    stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			char *sub = test_asprintf("%s/", name);
			if (ends_with(e->d_name, ".tmp"))
				lo->seg_tmp++;
			else
				lo->segs++;
			scan_dir(path, sub, lo, depth + 1);
			free(sub);
		}
		free(name);
		free(path);
	}
	closedir(d);
}

static void scan_leftovers(const char *index, struct leftovers *lo)
{
	memset(lo, 0, sizeof(*lo));
	test_buf_add(&lo->listing, "", 0);
	scan_dir(index, "", lo, 0);
}

/* After a successful build: one segment, nothing temporary. */
static void expect_clean_index(const char *index)
{
	struct leftovers lo;

	scan_leftovers(index, &lo);
	if (lo.tmp || lo.runs || lo.segs != 1)
		fail_msg("%s after a successful build holds: %s", index,
		         lo.listing.p);
	test_buf_release(&lo.listing);
}

/* ---- running the binary ---------------------------------------------------- */

static char *lode_bin; /* absolute path of the binary under test */
static char *tmp_root; /* everything the tests write is below this */

/* Run the binary under test with the arguments after its name; opts is a
 * const test_run_opts * or NULL. */
#define LODE(r, ...) LODE_OPTS((r), NULL, __VA_ARGS__)
#define LODE_OPTS(r, opts, ...)              \
	test_run_argv((r), lode_bin, "lode", \
	              (const char *const[]){__VA_ARGS__, NULL}, (opts))

/* A sanitizer in the binary under test said something. */
static int sanitizer_report(const test_run *r)
{
	return strstr(r->err.p, "Sanitizer") != NULL ||
	       strstr(r->err.p, "runtime error") != NULL;
}

/*
 * The CLI's contract on any index, damaged or not: no signal, no sanitizer
 * report; exit 0 or 1 with nothing on stderr, or 2 with exactly one "lode: "
 * line (stdout may hold what was printed before the error was met).
 */
static int clean_exit(const test_run *r)
{
	if (r->timed_out || WIFSIGNALED(r->status) || sanitizer_report(r))
		return 0;
	if (test_run_exited(r, 0) || test_run_exited(r, 1))
		return r->err.len == 0;
	return test_run_exited(r, 2) && test_run_one_error_line(r, "lode: ");
}

/* ---- generated text -------------------------------------------------------- */

#define NVOCAB 400
static char vocab[NVOCAB][16];

/* A fixed vocabulary of made-up words of two or three syllables; none of
 * them is one of the marker words the tests search for. */
static void make_vocab(void)
{
	static const char *const syl[] = {
		"ka", "lo", "mi", "ren", "tu", "vos", "zen", "dri", "pha", "qui",
		"bel", "sar", "no", "ti", "gra", "hul", "wex", "yor", "fen", "jup",
	};
	test_rng rng;

	test_rng_seed(&rng, 77);
	for (size_t i = 0; i < NVOCAB; i++) {
		unsigned n = 2 + test_rng_below(&rng, 2);
		vocab[i][0] = '\0';
		for (unsigned k = 0; k < n; k++)
			strcat(vocab[i], syl[test_rng_below(&rng, 20)]);
	}
}

/* nwords words, skewed towards the start of the vocabulary, in lines of
 * about twelve, with some punctuation. */
static void gen_text(test_buf *b, test_rng *rng, size_t nwords)
{
	for (size_t i = 0; i < nwords; i++) {
		uint32_t w = test_rng_below(rng, test_rng_below(rng, NVOCAB) + 1);
		uint32_t r = test_rng_below(rng, 40);

		test_buf_adds(b, vocab[w]);
		test_buf_adds(b, r == 0 ? ". " : r == 1 ? ", " :
		                 i % 12 == 11 ? "\n" : " ");
	}
}

/* ---- fixtures -------------------------------------------------------------- */

static int group_setup(void **state)
{
	const char *bin = getenv("LODE_BIN");
	char resolved[PATH_MAX];

	(void)state;
	if (!bin || !*bin)
		bin = "./lode";
	if (!realpath(bin, resolved) || access(resolved, X_OK) != 0) {
		fprintf(stderr, "test_reliability: no executable lode at %s "
		        "(set LODE_BIN)\n", bin);
		return -1;
	}
	lode_bin = xstrdup(resolved);
	tmp_root = test_tmpdir("reliability");
	make_vocab();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (tmp_root)
		test_rmtree(tmp_root);
	free(tmp_root);
	free(lode_bin);
	return 0;
}

/* A fresh directory tmp_root/name (malloc'd path). */
static char *fresh_dir(const char *name)
{
	char *path = test_asprintf("%s/%s", tmp_root, name);

	test_rmtree(path);
	if (mkdir(path, 0755) != 0)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	return path;
}

/* ---- 1. kill -9 during a build ---------------------------------------------- */

/*
 * Two versions of one corpus at the same path: the new one removes every
 * file whose number ends in 3 (they hold "vanishing"), changes those ending
 * in 7 ("original" becomes "changed") and adds CRASH_ADDED files under new/
 * ("arriving").  Every file holds "lodeall"; every fourth "quick brown".
 */
static void write_crash_corpus(const char *dir, int version)
{
	test_buf b = {0};
	char name[64];

	for (unsigned i = 0; i < CRASH_FILES; i++) {
		test_rng rng;

		if (version == 1 && i % 10 == 3)
			continue;
		test_rng_seed(&rng, 1000 + i);
		test_buf_reset(&b);
		gen_text(&b, &rng, 200 + test_rng_below(&rng, 500));
		test_buf_adds(&b, "\nlodeall");
		if (i % 4 == 0)
			test_buf_adds(&b, " quick brown fox");
		if (i % 10 == 3)
			test_buf_adds(&b, " vanishing");
		if (i % 10 == 7)
			test_buf_adds(&b, version ? " changed" : " original");
		test_buf_adds(&b, "\n");
		snprintf(name, sizeof(name), "d%u/f%03u.txt", i % 10, i);
		test_write_file(dir, name, b.p, b.len);
	}
	for (unsigned j = 0; version == 1 && j < CRASH_ADDED; j++) {
		test_rng rng;

		test_rng_seed(&rng, 5000 + j);
		test_buf_reset(&b);
		gen_text(&b, &rng, 200 + test_rng_below(&rng, 500));
		test_buf_adds(&b, "\nlodeall arriving");
		if (j % 3 == 0)
			test_buf_adds(&b, " quick brown");
		test_buf_adds(&b, "\n");
		snprintf(name, sizeof(name), "new/n%03u.txt", j);
		test_write_file(dir, name, b.p, b.len);
	}
	test_buf_release(&b);
}

/* Each differs between the versions, so each tells which one a reader saw. */
static const char *const crash_queries[][2] = {
	{"-l", "lodeall"},
	{"-l", "vanishing"},
	{"-l", "arriving"},
	{"-l", "original"},
	{"-l", "changed"},
	{"-l", "\"quick brown\" AND NOT vanishing"},
	{"-c", "lodeall OR arriving"},
};
#define NCRASH_QUERIES (sizeof(crash_queries) / sizeof(crash_queries[0]))

struct answer {
	char *out; /* stdout */
	int code;  /* exit status */
};

static void query_answers(const char *index, struct answer *a)
{
	for (size_t q = 0; q < NCRASH_QUERIES; q++) {
		test_run r;

		LODE(&r, "search", crash_queries[q][0], "-i", index,
		     crash_queries[q][1]);
		TEST_RUN_EXPECT(&r, (test_run_exited(&r, 0) || test_run_exited(&r, 1)) &&
		                    r.err.len == 0);
		a[q].out = xstrdup(r.out.p);
		a[q].code = WEXITSTATUS(r.status);
		test_run_release(&r);
	}
}

/* Free both versions' answers and reference index paths. */
static void free_versions(struct answer want[2][NCRASH_QUERIES], char *ref[2])
{
	for (int v = 0; v < 2; v++) {
		for (size_t q = 0; q < NCRASH_QUERIES; q++)
			free(want[v][q].out);
		free(ref[v]);
	}
}

/*
 * The version (0 or 1) whose answers every query gives on index, or -1
 * after printing what came instead: a mix, an error, a crash.
 */
static int which_version(const char *index, struct answer want[2][NCRASH_QUERIES])
{
	int match[2] = {1, 1};
	test_run runs[NCRASH_QUERIES];

	for (size_t q = 0; q < NCRASH_QUERIES; q++) {
		test_run *r = &runs[q];

		LODE(r, "search", crash_queries[q][0], "-i", index,
		     crash_queries[q][1]);
		for (int v = 0; v < 2; v++) {
			if (!test_run_exited(r, want[v][q].code) || r->err.len != 0 ||
			    strcmp(r->out.p, want[v][q].out) != 0)
				match[v] = 0;
		}
	}
	if (!match[0] && !match[1]) {
		for (size_t q = 0; q < NCRASH_QUERIES; q++)
			test_run_dump(&runs[q], print_error);
	}
	for (size_t q = 0; q < NCRASH_QUERIES; q++)
		test_run_release(&runs[q]);
	return match[0] ? 0 : match[1] ? 1 : -1;
}

/* Make dir/corpus hold version want; the other waits in dir/stash-N. */
static void switch_corpus(const char *dir, int *live, int want)
{
	char *corpus, *out, *in;

	if (*live == want)
		return;
	corpus = test_asprintf("%s/corpus", dir);
	out = test_asprintf("%s/stash-%d", dir, *live);
	in = test_asprintf("%s/stash-%d", dir, want);
	if (rename(corpus, out) != 0 || rename(in, corpus) != 0)
		fail_msg("cannot switch corpus versions in %s: %s", dir,
		         strerror(errno));
	*live = want;
	free(in);
	free(out);
	free(corpus);
}

/* The index command of variant v: default, spilling runs, one thread. */
static void index_args(const char **args, int v, const char *index,
                       const char *corpus)
{
	size_t n = 0;

	args[n++] = "index";
	args[n++] = "-q";
	if (v == 1) {
		args[n++] = "-m";
		args[n++] = "64K";
	} else if (v == 2) {
		args[n++] = "-j";
		args[n++] = "1";
	}
	args[n++] = "-i";
	args[n++] = index;
	args[n++] = corpus;
	args[n] = NULL;
}

static void expect_check_ok(const char *index)
{
	test_run r;

	LODE(&r, "check", "-i", index);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0 &&
	                    strstr(r.out.p, ": ok: 1 segment") != NULL);
	test_run_release(&r);
}

/*
 * `lode index` killed with SIGKILL at seeded random moments spread over the
 * whole build: with T the median time of a whole build (fork to exit) of
 * the variant, the first three at once, 0.5 ms and 1 ms, then half uniform
 * over [0, 1.1 T] and half over [0.7 T, 1.5 T], near the end, where the
 * segment is renamed and the manifest replaced.  Variants rotate: default
 * (stored text compressed on a second thread), -m 64K (sorted runs spilled
 * to run-*.tmp files), -j 1.  Afterwards `lode check` passes and every query
 * answers exactly as the old index or exactly as the new one.  The corpus
 * flips between the two versions each time the index catches up, so every
 * kill interrupts a build that changes the answers; leftovers of one killed
 * build are met by the next.  Finally a normal build leaves one segment and
 * nothing temporary.
 */
static void killed_build_leaves_old_or_new_index(void **state)
{
	char *dir = fresh_dir("crash");
	char *corpus = test_asprintf("%s/corpus", dir);
	char *stash = test_asprintf("%s/stash-1", dir);
	char *index = test_asprintf("%s/idx", dir);
	char *ref[2];
	struct answer want[2][NCRASH_QUERIES];
	double times[3][4], full_ms[3], t0 = test_now_ms();
	unsigned finished = 0, kept = 0, flipped = 0, seen_seg_tmp = 0,
	         seen_runs = 0, seen_unpublished = 0, seen_manifest_tmp = 0;
	const char *args[MAX_ARGS];
	int live = 0, version;
	test_rng rng;
	test_run r;

	(void)state;
	test_rng_seed(&rng, CRASH_SEED);
	write_crash_corpus(corpus, 0);
	write_crash_corpus(stash, 1);

	/* The answers of each version, from indexes built elsewhere from the
	 * same path; and how long a whole build of each variant takes. */
	for (int v = 0; v < 2; v++) {
		switch_corpus(dir, &live, v);
		ref[v] = test_asprintf("%s/ref-%d", dir, v);
		for (int k = 0; k < 6; k++) {
			index_args(args, k % 3, ref[v], corpus);
			test_run_argv(&r, lode_bin, "lode", args, NULL);
			TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
			times[k % 3][2 * v + k / 3] = r.ms;
			test_run_release(&r);
		}
		query_answers(ref[v], want[v]);
	}
	/* A build's duration: the median of four. */
	for (int variant = 0; variant < 3; variant++) {
		double *t = times[variant];
		for (int i = 1; i < 4; i++)
			for (int k = i; k > 0 && t[k - 1] > t[k]; k--) {
				double x = t[k];
				t[k] = t[k - 1];
				t[k - 1] = x;
			}
		full_ms[variant] = (t[1] + t[2]) / 2;
	}
	for (size_t q = 0; q < NCRASH_QUERIES; q++) {
		if (strcmp(want[0][q].out, want[1][q].out) == 0)
			fail_msg("query %s answers alike in both versions",
			         crash_queries[q][1]);
	}
	switch_corpus(dir, &live, 0);
	LODE(&r, "index", "-q", "-i", index, corpus);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
	test_run_release(&r);
	version = which_version(index, want);
	assert_int_equal(version, 0);

	for (unsigned i = 0; i < CRASH_KILLS; i++) {
		int variant = (int)(i % 3);
		double t = full_ms[variant], delay_ms;
		test_run_opts opts = {.kill = 1};
		struct leftovers lo;
		int now;

		if (i < 3)
			delay_ms = (double)i * 0.5; /* at once, 0.5 ms, 1 ms */
		else if (test_rng_below(&rng, 2))
			delay_ms = t * 1.1 * (double)test_rng_below(&rng, 1000) / 1000;
		else
			delay_ms = t * (0.7 + 0.8 * (double)test_rng_below(&rng, 1000) /
			                         1000);
		opts.kill_after_us = (long)(delay_ms * 1e3);
		switch_corpus(dir, &live, 1 - version);
		index_args(args, variant, index, corpus);
		test_run_argv(&r, lode_bin, "lode", args, &opts);
		if (WIFSIGNALED(r.status)) {
			TEST_RUN_EXPECT(&r, WTERMSIG(r.status) == SIGKILL);
		} else {
			TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
			finished++;
		}
		test_run_release(&r);

		scan_leftovers(index, &lo);
		seen_seg_tmp += lo.seg_tmp > 0;
		seen_runs += lo.runs > 0;
		seen_unpublished += lo.segs > 1;
		seen_manifest_tmp += lo.manifest_tmp > 0;

		LODE(&r, "check", "-i", index);
		if (!test_run_exited(&r, 0) || r.err.len != 0 ||
		    !strstr(r.out.p, ": ok: 1 segment")) {
			test_run_dump(&r, print_error);
			fail_msg("kill %u (seed %u, variant %d, after %.2f ms): "
			         "check failed; index holds %s", i, CRASH_SEED,
			         variant, delay_ms, lo.listing.p);
		}
		test_run_release(&r);
		now = which_version(index, want);
		if (now < 0)
			fail_msg("kill %u (seed %u, variant %d, after %.2f ms): "
			         "answers are neither the old index's nor the new "
			         "one's; index holds %s", i, CRASH_SEED, variant,
			         delay_ms, lo.listing.p);
		test_buf_release(&lo.listing);
		if (now == version)
			kept++;
		else
			flipped++;
		version = now;
	}

	/* A normal build cleans up whatever the kills left. */
	switch_corpus(dir, &live, 1 - version);
	LODE(&r, "index", "-q", "-i", index, corpus);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0 && r.out.len == 0);
	test_run_release(&r);
	expect_clean_index(index);
	expect_check_ok(index);
	assert_int_equal(which_version(index, want), live);

	print_message("kill -9: %u kills (seed %u; full builds %.0f/%.0f/%.0f ms): "
	              "%u left the old index, %u the new one (%u had finished); "
	              "kills after which the index held seg-*.tmp: %u, run "
	              "files: %u, two seg-*: %u, MANIFEST.tmp: %u; %.1f s\n",
	              CRASH_KILLS, CRASH_SEED, full_ms[0], full_ms[1], full_ms[2],
	              kept, flipped, finished, seen_seg_tmp, seen_runs,
	              seen_unpublished, seen_manifest_tmp,
	              (test_now_ms() - t0) / 1e3);
	free_versions(want, ref);
	free(index);
	free(stash);
	free(corpus);
	free(dir);
}

/*
 * `lode index` sent SIGINT or SIGTERM at moments spread over a whole build
 * (variants as above): a build that sees the signal stops with exit 2 and
 * "indexing stopped by", leaving the old index and nothing temporary; one
 * that was past its last file finishes (exit 0, the new index).  A signal
 * before lode installs its handler ends it as the signal does; the next
 * build cleans up after it.  Some build must have been stopped.
 */
#define STOP_SIGNALS 24

static void stopped_build_leaves_old_index_and_nothing_temporary(void **state)
{
	char *dir = fresh_dir("stop");
	char *corpus = test_asprintf("%s/corpus", dir);
	char *stash = test_asprintf("%s/stash-1", dir);
	char *index = test_asprintf("%s/idx", dir);
	char *ref[2];
	struct answer want[2][NCRASH_QUERIES];
	unsigned stopped = 0, finished = 0, signalled = 0;
	const char *args[MAX_ARGS];
	double full_ms = 0;
	int live = 0, version;
	test_rng rng;
	test_run r;

	(void)state;
	test_rng_seed(&rng, CRASH_SEED + 1);
	write_crash_corpus(corpus, 0);
	write_crash_corpus(stash, 1);
	for (int v = 0; v < 2; v++) {
		switch_corpus(dir, &live, v);
		ref[v] = test_asprintf("%s/ref-%d", dir, v);
		index_args(args, 0, ref[v], corpus);
		test_run_argv(&r, lode_bin, "lode", args, NULL);
		TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
		if (r.ms > full_ms)
			full_ms = r.ms;
		test_run_release(&r);
		query_answers(ref[v], want[v]);
	}
	switch_corpus(dir, &live, 0);
	LODE(&r, "index", "-q", "-i", index, corpus);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
	test_run_release(&r);
	version = 0;
	for (unsigned i = 0; i < STOP_SIGNALS; i++) {
		test_run_opts opts = {.kill = 1, .kill_signal = i % 2 ? SIGTERM
		                                                      : SIGINT};
		struct leftovers lo;
		int now;

		opts.kill_after_us = (long)(full_ms * 1e3 *
		                            (double)test_rng_below(&rng, 1000) / 1000);
		switch_corpus(dir, &live, 1 - version);
		index_args(args, (int)(i % 3), index, corpus);
		test_run_argv(&r, lode_bin, "lode", args, &opts);
		scan_leftovers(index, &lo);
		now = which_version(index, want);
		if (WIFSIGNALED(r.status)) {
			TEST_RUN_EXPECT(&r, WTERMSIG(r.status) == opts.kill_signal);
			signalled++;
		} else if (test_run_exited(&r, 0)) {
			TEST_RUN_EXPECT(&r, r.err.len == 0 && now == 1 - version &&
			                    lo.tmp == 0 && lo.runs == 0);
			finished++;
		} else {
			TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) &&
			                    test_run_one_error_line(
			                            &r, "lode: indexing stopped by "));
			if (now != version || lo.tmp || lo.runs)
				fail_msg("signal %u after %ld us: the index changed or "
				         "kept temporary files: %s", i,
				         opts.kill_after_us, lo.listing.p);
			stopped++;
		}
		test_run_release(&r);
		test_buf_release(&lo.listing);
		expect_check_ok(index);
		if (now < 0)
			fail_msg("signal %u: answers of neither version", i);
		version = now;
	}
	if (stopped == 0)
		fail_msg("no build of %u was stopped (%u finished, %u ended by "
		         "the signal)", STOP_SIGNALS, finished, signalled);
	print_message("stop signals: %u builds stopped cleanly, %u finished, %u "
	              "ended by the signal (full build %.0f ms)\n", stopped,
	              finished, signalled, full_ms);
	free_versions(want, ref);
	free(index);
	free(stash);
	free(corpus);
	free(dir);
}

/* ---- 1b. power loss during a build ----------------------------------------- */

/* tests/powerloss.c: its exit status after pulling the plug. */
#define POWERLOSS_EXIT 86

/* The power-loss library built beside the binary under test (the Makefile
 * puts it in $(BUILD)/tests/, and lode in $(BUILD)/). */
static char *powerloss_library(void)
{
	char *dir = xstrdup(lode_bin), *slash = strrchr(dir, '/'), *lib;

	*slash = '\0';
	lib = test_asprintf("%s/tests/powerloss.so", dir);
	free(dir);
	if (access(lib, R_OK) != 0)
		fail_msg("no %s: build it with make check-run", lib);
	return lib;
}

/* Build index from corpus under the power-loss library: the power goes out
 * at event at (0: never) under model; *events receives the number of
 * events of a whole build when at is 0.  Returns how the run ended. */
static void build_with_power_loss(test_run *r, const char *dir,
                                  const char *index, const char *corpus,
                                  long at, const char *model, long *events)
{
	char *lib = powerloss_library();
	char *stash = test_asprintf("%s/stash", dir);
	char *count = test_asprintf("%s/events", dir);
	char *env[6];
	test_run_opts opts = {.env = (const char *const *)env};
	size_t n = 0;

	test_rmtree(stash);
	if (mkdir(stash, 0755) != 0)
		fail_msg("cannot create %s: %s", stash, strerror(errno));
	env[n++] = test_asprintf("LD_PRELOAD=%s", lib);
	env[n++] = test_asprintf("LODE_POWERLOSS_STASH=%s", stash);
	env[n++] = test_asprintf("LODE_POWERLOSS_MODEL=%s", model);
	env[n++] = at ? test_asprintf("LODE_POWERLOSS_AT=%ld", at)
	              : test_asprintf("LODE_POWERLOSS_COUNT=%s", count);
	/* An ASan build's runtime wants to come first; the library must. */
	env[n++] = xstrdup("ASAN_OPTIONS=verify_asan_link_order=0");
	env[n] = NULL;
	LODE_OPTS(r, &opts, "index", "-q", "-i", index, corpus);
	if (!at) {
		size_t len;
		char *text;
		TEST_RUN_EXPECT(r, test_run_exited(r, 0) && r->err.len == 0);
		text = test_read_file(count, &len);
		*events = atol(text);
		free(text);
	}
	for (size_t i = 0; i < n; i++)
		free(env[i]);
	free(count);
	free(stash);
	free(lib);
}

/*
 * The power goes out during `lode index`, at each of the build's file system
 * events in turn (writes, fsyncs, creates, renames, unlinks: 26 to 32 for
 * this corpus), building either way between the corpus's two versions,
 * under two models of what the disk then holds (tests/powerloss.c): "all"
 * loses every write not fsynced and every directory change whose directory
 * was not fsynced after it; "data" keeps the directory changes and loses
 * the unsynced data.  Each time the index starts as a clean copy of the old
 * version.  Afterwards `lode check` passes and every query answers exactly
 * as the old index or the new one: the old one up to some event, the new
 * one from there on, never back.  Then a normal build over whatever the
 * crash left succeeds, leaves nothing temporary and answers as the new
 * version.  The power also goes out just as a finished build exits: the
 * new index must be on disk then.
 */
static void power_loss_leaves_old_or_new_index(void **state)
{
	static const char *const models[] = {"all", "data"};
	char *dir = fresh_dir("powerloss");
	char *corpus = test_asprintf("%s/corpus", dir);
	char *stash = test_asprintf("%s/stash-1", dir);
	char *index = test_asprintf("%s/idx", dir);
	char *ref[2];
	struct answer want[2][NCRASH_QUERIES];
	long events[2], first_new[2][2];
	unsigned crashes = 0;
	int live = 0;
	double t0 = test_now_ms();
	test_run r;

	(void)state;
	write_crash_corpus(corpus, 0);
	write_crash_corpus(stash, 1);
	for (int v = 0; v < 2; v++) {
		ref[v] = test_asprintf("%s/ref-%d", dir, v);
		switch_corpus(dir, &live, v);
		LODE(&r, "index", "-q", "-i", ref[v], corpus);
		TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
		test_run_release(&r);
		query_answers(ref[v], want[v]);
	}
	/* How many events a build towards each version has. */
	for (int v = 0; v < 2; v++) {
		switch_corpus(dir, &live, v);
		test_rmtree(index);
		test_copy_tree(ref[1 - v], index);
		build_with_power_loss(&r, dir, index, corpus, 0, "all",
		                      &events[v]);
		test_run_release(&r);
		assert_int_equal(which_version(index, want), v);
	}

	for (int m = 0; m < 2; m++) {
		for (int v = 0; v < 2; v++) {
			first_new[m][v] = 0;
			switch_corpus(dir, &live, v);
			for (long at = 1; at <= events[v] + 1; at++) {
				struct leftovers lo;
				int now;

				test_rmtree(index);
				test_copy_tree(ref[1 - v], index);
				build_with_power_loss(&r, dir, index, corpus, at,
				                      models[m], NULL);
				/* At events + 1: as lode exits. */
				TEST_RUN_EXPECT(&r, test_run_exited(&r, POWERLOSS_EXIT));
				crashes++;
				test_run_release(&r);
				scan_leftovers(index, &lo);
				LODE(&r, "check", "-i", index);
				if (!test_run_exited(&r, 0) || r.err.len != 0 ||
				    !strstr(r.out.p, ": ok: 1 segment")) {
					test_run_dump(&r, print_error);
					fail_msg("power lost at event %ld of %ld (model "
					         "%s): check failed; index holds %s",
					         at, events[v], models[m], lo.listing.p);
				}
				test_run_release(&r);
				now = which_version(index, want);
				if (now < 0 || (first_new[m][v] && now != v))
					fail_msg("power lost at event %ld of %ld (model "
					         "%s): answers are %s; index holds %s",
					         at, events[v], models[m],
					         now < 0 ? "neither the old index's nor "
					                   "the new one's"
					                 : "the old index's after an "
					                   "earlier crash gave the new",
					         lo.listing.p);
				test_buf_release(&lo.listing);
				if (now == v && !first_new[m][v])
					first_new[m][v] = at;

				/* The next build cleans up. */
				LODE(&r, "index", "-q", "-i", index, corpus);
				TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
				                    r.err.len == 0);
				test_run_release(&r);
				expect_clean_index(index);
				expect_check_ok(index);
				assert_int_equal(which_version(index, want), v);
			}
			if (!first_new[m][v])
				fail_msg("model %s: a finished build (towards "
				         "version %d) was not on disk as lode "
				         "exited", models[m], v);
			/* The old index survived the early crashes. */
			assert_true(first_new[m][v] > 1);
		}
	}

	print_message("power loss: %u crashes over builds of %ld and %ld "
	              "events; the new index from event %ld/%ld (model all), "
	              "%ld/%ld (model data); %.1f s\n", crashes, events[0],
	              events[1], first_new[0][0], first_new[0][1],
	              first_new[1][0], first_new[1][1],
	              (test_now_ms() - t0) / 1e3);
	free_versions(want, ref);
	free(index);
	free(stash);
	free(corpus);
	free(dir);
}

/* ---- 2. damaged index files -------------------------------------------------- */

static const char *const index_files[] = {
	"MANIFEST", "terms.dic", "postings.pst", "positions.pos", "docs.tab",
	"text.z",
};
#define NINDEX_FILES 6

/* Every structure gets read: terms, phrases, AND, OR, NOT, leading NOT. */
static const char *const sweep_queries[] = {
	"alpha",
	"beta OR zeta OR kalo",
	"\"alpha beta\"",
	"\"theta alpha beta\" AND iota",
	"alpha AND NOT gamma",
	"NOT epsilon",
	"(gamma OR eta) AND \"beta gamma\"",
	"nosuchword OR delta",
};
#define NSWEEP_QUERIES (sizeof(sweep_queries) / sizeof(sweep_queries[0]))

/* Path of file f of the (one-segment) index at index (malloc'd). */
static char *index_file(const char *index, size_t f)
{
	char *found = NULL, *path;
	struct dirent *e;
	DIR *d;

	if (f == 0)
		return test_asprintf("%s/%s", index, index_files[0]);
	d = opendir(index);
	if (!d)
		fail_msg("cannot open %s: %s", index, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "seg-", 4) == 0 && !found)
			found = xstrdup(e->d_name);
	}
	closedir(d);
	if (!found)
		fail_msg("no seg-* directory in %s", index);
	path = test_asprintf("%s/%s/%s", index, found, index_files[f]);
	free(found);
	return path;
}

/* Build an index in-process from docs into index. */
static void build_in_process(const char *index, const char *docs,
                             size_t budget, const char *stemmer,
                             lode_build_stats *stats)
{
	lode_build_options opt = {0};
	lode_error err;
	const char *dirs[1] = {docs};
	int rc;

	opt.threads = 1;
	opt.memory_budget = budget;
	opt.stemmer = stemmer;
	rc = lode_build(index, dirs, 1, &opt, stats, &err);
	if (rc)
		fail_msg("lode_build %s: %s", docs, err.message);
}

/* A handful of documents: three text chunks (the middle document is longer
 * than one), words that also occur as phrases, non-ASCII text; about 1.5 KB
 * of index. */
static void write_tiny_corpus(const char *docs)
{
	test_buf b = {0};
	test_rng rng;

	write_text(docs, "a.txt", "alpha beta gamma\nbeta alpha delta alpha\n");
	write_text(docs, "b/c.txt", "gamma delta alpha epsilon zeta\n");
	test_rng_seed(&rng, 3);
	test_buf_add(&b, "", 0);
	for (int i = 0; i < 40; i++)
		test_buf_adds(&b, i % 17 == 5 ? "beta gamma "
		                              : "theta alpha beta iota ");
	/* Past one 16 KiB text chunk, without many tokens. */
	for (int i = 0; i < 240; i++)
		test_buf_adds(&b, "=================================================="
		                  "=====================\n");
	gen_text(&b, &rng, 60);
	test_write_file(docs, "d.txt", b.p, b.len);
	write_text(docs, "e.txt", "zeta eta theta alpha beta\nBeta Gamma.\n");
	write_text(docs, "f.txt", "\xc3\x84rger \xc3\xbc" "ber Stra\xc3\x9f"
	           "e alpha kalo\n");
	test_buf_release(&b);
}

/* More than one postings block (and a skip table) for alpha, and many
 * dictionary blocks. */
static void write_medium_corpus(const char *docs)
{
	test_buf b = {0};
	char name[64];

	for (unsigned i = 0; i < MEDIUM_DOCS; i++) {
		test_rng rng;

		test_rng_seed(&rng, 9000 + i);
		test_buf_reset(&b);
		gen_text(&b, &rng, 20 + test_rng_below(&rng, 60));
		test_buf_adds(&b, i % 3 ? " alpha beta gamma" : " alpha delta");
		if (i % 5 == 0)
			test_buf_adds(&b, " theta alpha beta iota zeta");
		if (i % 7 == 0)
			test_buf_adds(&b, " epsilon eta");
		test_buf_adds(&b, "\n");
		snprintf(name, sizeof(name), "m%03u.txt", i);
		test_write_file(docs, name, b.p, b.len);
	}
	test_buf_release(&b);
}

struct sweep {
	const char *index;                /* the copy being damaged */
	lode_query *queries[NSWEEP_QUERIES];
	unsigned long probes;             /* damages tried */
	unsigned long open_refused;       /* lode_index_open said no */
	unsigned long query_errors;       /* a query call returned an error */
	unsigned long answered;           /* every call succeeded but check */
	unsigned failures;                /* contract violations */
	unsigned reported;                /* of which printed */
};

/* A failed call: a code the read path may return, err filled to match. */
static int clean_error(int rc, const lode_error *err)
{
	return (rc == LODE_ECORRUPT || rc == LODE_EVERSION) && err->code == rc &&
	       err->message[0] != '\0' && !strchr(err->message, '\n');
}

static int collect_doc(void *ctx, uint32_t doc)
{
	test_buf *b = ctx;

	test_buf_add(b, &doc, sizeof(doc));
	return 0;
}

/* Every read the API offers on the damaged index; NULL if all behaved, or
 * what went wrong (a static string). */
static const char *probe_reads(struct sweep *s, lode_index *ix, int *errors)
{
	lode_index_info info;
	lode_error err;
	int rc;

	lode_index_info_get(ix, &info);
	for (size_t q = 0; q < NSWEEP_QUERIES; q++) {
		const lode_query *query = s->queries[q];
		test_buf docs = {0};
		lode_hit hits[5];
		uint64_t count = 0, total = 0;
		size_t nhits = 0, nmatched;
		const uint32_t *ids;

		rc = lode_count(ix, query, &count, &err);
		if (rc) {
			(*errors)++;
			if (!clean_error(rc, &err))
				return "lode_count: unclean error";
		}
		test_buf_add(&docs, "", 0);
		rc = lode_match(ix, query, collect_doc, &docs, &err);
		nmatched = docs.len / sizeof(uint32_t);
		ids = (const uint32_t *)(void *)docs.p;
		if (rc) {
			(*errors)++;
			if (!clean_error(rc, &err)) {
				test_buf_release(&docs);
				return "lode_match: unclean error";
			}
		} else {
			for (size_t i = 0; i < nmatched; i++) {
				if (ids[i] >= info.documents || (i && ids[i] <= ids[i - 1])) {
					test_buf_release(&docs);
					return "lode_match: ids out of order or range";
				}
			}
		}
		test_buf_release(&docs);
		rc = lode_search(ix, query, 5, hits, &nhits, &total, &err);
		if (rc) {
			(*errors)++;
			if (!clean_error(rc, &err))
				return "lode_search: unclean error";
			continue;
		}
		if (nhits > 5 || nhits > total)
			return "lode_search: more hits than asked or matched";
		for (size_t h = 0; h < nhits; h++) {
			lode_doc_info di = {0};
			lode_snippet snip;

			if (hits[h].doc >= info.documents)
				return "lode_search: hit out of range";
			rc = lode_doc(ix, hits[h].doc, &di, &err);
			lode_doc_info_release(&di);
			if (rc) {
				(*errors)++;
				if (!clean_error(rc, &err))
					return "lode_doc: unclean error";
			}
			rc = lode_snippet_make(ix, query, hits[h].doc, 80, &snip, &err);
			if (rc) {
				(*errors)++;
				if (!clean_error(rc, &err))
					return "lode_snippet_make: unclean error";
				continue;
			}
			for (size_t k = 0; k < snip.nspans; k++) {
				if (snip.spans[k].start > snip.spans[k].end ||
				    snip.spans[k].end > snip.len ||
				    (k && snip.spans[k].start < snip.spans[k - 1].end)) {
					lode_snippet_release(&snip);
					return "lode_snippet_make: spans out of order";
				}
			}
			lode_snippet_release(&snip);
		}
	}
	for (uint32_t d = 0; d < info.documents && d < 8; d++) {
		char *text;
		size_t len;

		rc = lode_doc_text(ix, d, &text, &len, &err);
		if (rc) {
			(*errors)++;
			if (!clean_error(rc, &err))
				return "lode_doc_text: unclean error";
			continue;
		}
		free(text);
	}
	return NULL;
}

/* Open the damaged copy, read everything, check it.  Any damage must be
 * found by the open or by lode_check. */
static void probe(struct sweep *s, const char *what)
{
	lode_index *ix;
	lode_error err;
	const char *wrong = NULL;
	int rc, errors = 0;

	s->probes++;
	rc = lode_index_open(s->index, &ix, &err);
	if (rc) {
		s->open_refused++;
		if (!clean_error(rc, &err))
			wrong = "lode_index_open: unclean error";
	} else {
		wrong = probe_reads(s, ix, &errors);
		if (errors)
			s->query_errors++;
		else
			s->answered++;
		rc = lode_check(ix, &err);
		if (!wrong && rc != LODE_ECORRUPT)
			wrong = rc ? "lode_check: unclean error"
			           : "lode_check: damage not found";
		else if (!wrong && !clean_error(rc, &err))
			wrong = "lode_check: unclean error";
		lode_index_close(ix);
	}
	if (wrong) {
		s->failures++;
		if (s->reported++ < 20)
			print_error("%s: %s (last error: %d %s)\n", what, wrong, rc,
			            err.message);
	}
}

static void sweep_init(struct sweep *s, const char *index)
{
	memset(s, 0, sizeof(*s));
	s->index = index;
	for (size_t q = 0; q < NSWEEP_QUERIES; q++) {
		lode_error err;
		if (lode_query_parse(sweep_queries[q], strlen(sweep_queries[q]),
		                     &s->queries[q], &err))
			fail_msg("query %s: %s", sweep_queries[q], err.message);
	}
}

static void sweep_release(struct sweep *s)
{
	for (size_t q = 0; q < NSWEEP_QUERIES; q++)
		lode_query_free(s->queries[q]);
}

/* Sanity: the undamaged copy opens, answers and checks. */
static void expect_sound(struct sweep *s)
{
	lode_index *ix;
	lode_error err;
	const char *wrong;
	int errors = 0;

	if (lode_index_open(s->index, &ix, &err))
		fail_msg("%s: %s", s->index, err.message);
	wrong = probe_reads(s, ix, &errors);
	if (wrong || errors)
		fail_msg("%s undamaged: %s", s->index, wrong ? wrong : "errors");
	if (lode_check(ix, &err))
		fail_msg("%s undamaged: %s", s->index, err.message);
	lode_index_close(ix);
}

/*
 * Damage each file of the copy: truncate at offsets, flip bytes at
 * positions.  every: each offset and byte (xor 0xff, then a single bit);
 * otherwise a seeded sample of truncations and flips with random masks.
 */
static void damage_files(struct sweep *s, int every, test_rng *rng,
                         unsigned long *truncations, unsigned long *flips)
{
	char what[512];

	for (size_t f = 0; f < NINDEX_FILES; f++) {
		char *path = index_file(s->index, f);
		size_t len;
		char *orig = test_read_file(path, &len);
		size_t ntrunc = every ? len : MEDIUM_TRUNCATIONS;
		size_t nflip = every ? 2 * len : MEDIUM_FLIPS;

		assert_non_null(orig);
		for (size_t i = 0; i < ntrunc; i++) {
			size_t at = every ? i : test_rng_below(rng, (uint32_t)len);
			if (truncate(path, (off_t)at) != 0)
				fail_msg("truncate %s: %s", path, strerror(errno));
			snprintf(what, sizeof(what), "%s truncated to %zu of %zu bytes",
			         index_files[f], at, len);
			probe(s, what);
			put_bytes(path, at, orig + at, len - at);
			(*truncations)++;
		}
		for (size_t i = 0; i < nflip; i++) {
			size_t at = every ? i % len : test_rng_below(rng, (uint32_t)len);
			unsigned mask = every ? (i < len ? 0xffu : 1u << (i % 8))
			                      : 1 + test_rng_below(rng, 255);
			char bad = (char)(orig[at] ^ mask);
			put_bytes(path, at, &bad, 1);
			snprintf(what, sizeof(what), "%s byte %zu of %zu xor 0x%02x",
			         index_files[f], at, len, mask);
			probe(s, what);
			put_bytes(path, at, orig + at, 1);
			(*flips)++;
		}
		free(orig);
		free(path);
	}
}

/*
 * In-process sweep: a tiny index (5 documents) damaged at every offset and
 * every byte, the same built with the english stemmer (a stemmer name in
 * MANIFEST, stems in the dictionary) likewise, and a medium one
 * (MEDIUM_DOCS documents, skip tables, many dictionary blocks) at a seeded
 * sample.  After each damage every read the API has is run (count, match,
 * ranked search, snippets, stored text); each returns success or a clean
 * ECORRUPT / EVERSION, and the open or lode_check reports the damage.
 */
static void damaged_files_fail_cleanly_in_process(void **state)
{
	static const struct {
		const char *name;
		int medium;          /* the medium corpus, sampled damage */
		const char *stemmer;
	} kinds[] = {
		{"tiny", 0, NULL},
		{"tiny stemmed", 0, "english"},
		{"medium", 1, NULL},
	};
	char *dir = fresh_dir("sweep");
	unsigned failures = 0;
	double t0 = test_now_ms();
	test_rng rng;

	(void)state;
	test_rng_seed(&rng, SWEEP_SEED);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		char *docs = test_asprintf("%s/docs-%zu", dir, k);
		char *pristine = test_asprintf("%s/idx-%zu", dir, k);
		char *copy = test_asprintf("%s/copy-%zu", dir, k);
		unsigned long truncations = 0, flips = 0;
		struct sweep s;

		if (kinds[k].medium)
			write_medium_corpus(docs);
		else
			write_tiny_corpus(docs);
		build_in_process(pristine, docs, 0, kinds[k].stemmer, NULL);
		test_copy_tree(pristine, copy);
		sweep_init(&s, copy);
		expect_sound(&s);
		damage_files(&s, !kinds[k].medium, &rng, &truncations, &flips);
		expect_sound(&s);
		print_message("damage, in-process, %s index: %lu truncations, "
		              "%lu flips; open refused %lu, a read failed on %lu, "
		              "all reads answered on %lu; %u contract violations\n",
		              kinds[k].name, truncations, flips, s.open_refused,
		              s.query_errors, s.answered, s.failures);
		failures += s.failures;
		sweep_release(&s);
		free(copy);
		free(pristine);
		free(docs);
	}
	print_message("damage, in-process: %.1f s (seed %u)\n",
	              (test_now_ms() - t0) / 1e3, SWEEP_SEED);
	free(dir);
	if (failures)
		fail_msg("%u damages mishandled (seed %u)", failures, SWEEP_SEED);
}

/* The binary on one damaged copy: four searches that answer or fail
 * cleanly, and a check that fails.  Returns the number of violations. */
static unsigned cli_on_damage(const char *index, const char *what)
{
	test_run r[5];
	unsigned bad = 0;

	LODE(&r[0], "search", "-c", "-i", index, "alpha OR zeta");
	LODE(&r[1], "search", "-l", "-i", index, "alpha");
	LODE(&r[2], "search", "-i", index, "beta gamma");
	LODE(&r[3], "search", "-n", "3", "-i", index, "\"alpha beta\"");
	LODE(&r[4], "check", "-i", index);
	for (int i = 0; i < 5; i++) {
		int ok = clean_exit(&r[i]);

		if (ok && i == 0 && !test_run_exited(&r[i], 2)) {
			/* A count, nonzero exactly when exit is 0. */
			char *end;
			unsigned long n = strtoul(r[i].out.p, &end, 10);
			ok = end != r[i].out.p && strcmp(end, "\n") == 0 &&
			     (n > 0) == test_run_exited(&r[i], 0);
		} else if (ok && i == 1 && test_run_exited(&r[i], 1)) {
			ok = r[i].out.len == 0;
		} else if (ok && (i == 2 || i == 3) && !test_run_exited(&r[i], 2)) {
			ok = strstr(r[i].out.p, "matching document") != NULL;
		} else if (ok && i == 4) {
			ok = test_run_exited(&r[i], 2) && r[i].out.len == 0;
		}
		if (!ok) {
			print_error("%s:\n", what);
			test_run_dump(&r[i], print_error);
			bad++;
		}
		test_run_release(&r[i]);
	}
	return bad;
}

/*
 * The command-line contract on a seeded sample of damages of two indexes
 * (the tiny corpus with the english stemmer, the medium one without):
 * `search -c`, `search -l`, ranked search with snippets and a phrase never
 * crash, never trip a sanitizer, and exit 0/1 with their output or 2 with
 * one "lode: " line; `lode check` exits 2 on every damage.
 */
static void damaged_files_fail_cleanly_in_the_cli(void **state)
{
	char *dir = fresh_dir("cli-sweep");
	unsigned failures = 0, damages = 0, truncs = 0;
	double t0 = test_now_ms();
	test_rng rng;

	(void)state;
	test_rng_seed(&rng, SWEEP_SEED + 1);
	for (int k = 0; k < 2; k++) {
		char *docs = test_asprintf("%s/docs-%d", dir, k);
		char *index = test_asprintf("%s/idx-%d", dir, k);
		unsigned n = k ? CLI_DAMAGES_MEDIUM : CLI_DAMAGES_TINY;
		test_run r;

		if (k == 0) {
			write_tiny_corpus(docs);
			LODE(&r, "index", "-q", "--stem", "english", "-i", index,
			     docs);
		} else {
			write_medium_corpus(docs);
			LODE(&r, "index", "-q", "-i", index, docs);
		}
		TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
		test_run_release(&r);
		expect_check_ok(index);
		for (unsigned i = 0; i < n; i++) {
			/* Every file in turn, each damaged both ways. */
			size_t f = i % NINDEX_FILES;
			char *path = index_file(index, f), what[512];
			size_t len;
			char *orig = test_read_file(path, &len);
			uint32_t at;

			assert_non_null(orig);
			at = test_rng_below(&rng, (uint32_t)len);
			if ((i / NINDEX_FILES) % 2 == 0) {
				test_write_whole(path, orig, at);
				snprintf(what, sizeof(what), "%s truncated to %u of %zu "
				         "bytes", index_files[f], at, len);
				truncs++;
			} else {
				unsigned mask = 1 + test_rng_below(&rng, 255);
				orig[at] = (char)(orig[at] ^ mask);
				test_write_whole(path, orig, len);
				orig[at] = (char)(orig[at] ^ mask);
				snprintf(what, sizeof(what), "%s byte %u of %zu xor 0x%02x",
				         index_files[f], at, len, mask);
			}
			failures += cli_on_damage(index, what);
			damages++;
			test_write_whole(path, orig, len);
			free(orig);
			free(path);
		}
		expect_check_ok(index);
		free(index);
		free(docs);
	}
	print_message("damage, CLI: %u damaged copies (%u truncations), 5 runs "
	              "each; %.1f s (seed %u)\n", damages, truncs,
	              (test_now_ms() - t0) / 1e3, SWEEP_SEED + 1);
	if (failures)
		fail_msg("%u runs broke the contract (seed %u)", failures,
		         SWEEP_SEED + 1);
	free(dir);
}

/* ---- 3. out of memory --------------------------------------------------------- */

/* The paths of every match of each sweep query, joined, and the index
 * checked (malloc'd); NULL with why filled if something failed.  Calls
 * nothing of cmocka's, so that a forked child may use it. */
static char *answers_try(const char *index, test_buf *why)
{
	test_buf b = {0};
	lode_index *ix;
	lode_error err;

	if (lode_index_open(index, &ix, &err)) {
		test_buf_adds(why, err.message);
		return NULL;
	}
	test_buf_add(&b, "", 0);
	for (size_t q = 0; q < NSWEEP_QUERIES && b.p; q++) {
		test_buf ids = {0};
		lode_query *query = NULL;

		test_buf_add(&ids, "", 0);
		if (lode_query_parse(sweep_queries[q], strlen(sweep_queries[q]),
		                     &query, &err) ||
		    lode_match(ix, query, collect_doc, &ids, &err)) {
			test_buf_adds(why, err.message);
			test_buf_release(&b);
		}
		if (b.p) {
			test_buf_adds(&b, sweep_queries[q]);
			test_buf_adds(&b, ":");
		}
		for (size_t i = 0; b.p && i < ids.len / sizeof(uint32_t); i++) {
			lode_doc_info di = {0};
			uint32_t doc;

			memcpy(&doc, ids.p + i * sizeof(uint32_t), sizeof(doc));
			if (lode_doc(ix, doc, &di, &err)) {
				test_buf_adds(why, err.message);
				test_buf_release(&b);
				lode_doc_info_release(&di);
				break;
			}
			test_buf_adds(&b, " ");
			test_buf_add(&b, di.path, di.path_len);
			lode_doc_info_release(&di);
		}
		if (b.p)
			test_buf_adds(&b, "\n");
		test_buf_release(&ids);
		lode_query_free(query);
	}
	if (b.p && lode_check(ix, &err)) {
		test_buf_adds(why, err.message);
		test_buf_release(&b);
	}
	lode_index_close(ix);
	return b.p;
}

static char *answers_of(const char *index)
{
	test_buf why = {0};
	char *answers;

	test_buf_add(&why, "", 0);
	answers = answers_try(index, &why);
	if (!answers)
		fail_msg("%s: %s", index, why.p);
	test_buf_release(&why);
	return answers;
}

/* Two small corpora whose answers differ. */
static void write_oom_corpus(const char *docs, int version)
{
	test_buf b = {0};
	char name[64];

	for (unsigned i = 0; i < 12; i++) {
		test_rng rng;

		if (version == 1 && i % 4 == 1)
			continue;
		test_rng_seed(&rng, 300 + i + 1000 * (unsigned)version);
		test_buf_reset(&b);
		gen_text(&b, &rng, 50 + test_rng_below(&rng, 150));
		test_buf_adds(&b, i % 2 ? " alpha beta gamma\n"
		                        : " theta alpha beta iota\n");
		if (version == 1 && i % 3 == 0)
			test_buf_adds(&b, "zeta eta epsilon delta\n");
		snprintf(name, sizeof(name), "s%u/o%02u.txt", i % 3, i);
		test_write_file(docs, name, b.p, b.len);
	}
	test_buf_release(&b);
}

/* In a forked child of a test: a crash must end the child, not be caught
 * by cmocka's handlers and go on running the tests there. */
static void default_crash_signals(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
	                           SIGSYS};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
}

/*
 * An out-of-memory loop: op is run with the allocation after the first n
 * failing (and every later one), for n = 0, 1, ... until it succeeds; after
 * each step, after (may be NULL) looks at the result without the hook:
 * check gets what it saw, extra a count.  Both run in a forked child, so
 * that a crash ends only the step it happens in; neither may call cmocka.
 */
struct oom_loop {
	int (*op)(const void *ctx, test_buf *out, lode_error *err);
	void (*after)(const void *ctx, int rc, test_buf *check, int *extra);
	const void *ctx;
};

/* One step, as the child reports it; out_len then check_len bytes follow. */
struct oom_record {
	long n;           /* allocations that succeeded before the failures */
	int rc;           /* what op returned */
	int extra;        /* from after */
	lode_error err;   /* op's error */
	size_t out_len;   /* op's output */
	size_t check_len; /* after's */
};

/* How a child ended, beyond its records. */
enum { CHILD_CLEAN = 0, CHILD_LEAKED = 20, CHILD_LEAKS_BEFORE = 21 };

static int read_all(int fd, void *p, size_t n)
{
	char *c = p;

	while (n > 0) {
		ssize_t got = read(fd, c, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		c += got;
		n -= (size_t)got;
	}
	return 0;
}

static void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t put = write(fd, c, n);
		if (put < 0 && errno == EINTR)
			continue;
		if (put <= 0)
			_exit(125);
		c += put;
		n -= (size_t)put;
	}
}

/* Leaks already there (a failed test's locals): checked quietly. */
static int leaks_before(void)
{
	int saved = dup(STDERR_FILENO), quiet = open("/dev/null", O_WRONLY);
	int found;

	if (saved < 0 || quiet < 0 || dup2(quiet, STDERR_FILENO) < 0)
		_exit(126);
	found = LEAKS_FOUND();
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(quiet);
	return found;
}

static void oom_child(const struct oom_loop *loop, long start, int fd)
{
	test_buf out = {0}, check = {0};
	int before = leaks_before(), rc = -1;

	for (long n = start; n <= OOM_MAX_STEPS && rc != LODE_OK; n++) {
		struct oom_record rec;

		memset(&rec, 0, sizeof(rec));
		test_buf_reset(&out);
		test_buf_reset(&check);
		lode_alloc_fail_after(n);
		rc = loop->op(loop->ctx, &out, &rec.err);
		lode_alloc_fail_after(-1);
		if (loop->after)
			loop->after(loop->ctx, rc, &check, &rec.extra);
		rec.n = n;
		rec.rc = rc;
		rec.out_len = out.len;
		rec.check_len = check.len;
		write_all(fd, &rec, sizeof(rec));
		write_all(fd, out.p, out.len);
		write_all(fd, check.p, check.len);
	}
	test_buf_release(&out);
	test_buf_release(&check);
	close(fd);
	if (before)
		_exit(CHILD_LEAKS_BEFORE);
	_exit(LEAKS_FOUND() ? CHILD_LEAKED : CHILD_CLEAN);
}

/* Problems of the OOM loops: printed as they come, counted, failed at the
 * end so that one run shows every broken step. */
struct oom_tally {
	unsigned problems;
	unsigned printed;
	test_buf first;   /* the first few, for the failure message */
	unsigned children;  /* processes the loops took */
	unsigned unchecked; /* of which could not check for leaks */
};

static void oom_problem(struct oom_tally *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void oom_problem(struct oom_tally *t, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	t->problems++;
	if (t->printed++ < 12) {
		print_error("%s\n", line);
		test_buf_adds(&t->first, line);
		test_buf_adds(&t->first, "\n");
	}
}

/* Release the tally and fail if it holds problems; the caller has released
 * everything else, so that a failure leaks nothing for the leak checks of
 * later tests to find. */
static void oom_verdict(struct oom_tally *t, const char *what)
{
	static char message[4096];

	snprintf(message, sizeof(message), "%u failing allocations mishandled "
	         "in %s; the first:\n%s", t->problems, what, t->first.p);
	test_buf_release(&t->first);
	if (t->problems)
		fail_msg("%s", message);
}

/*
 * Run loop to its first success, calling on_step in this process for each
 * step's record.  A child that dies is a problem at the step it was in
 * (name says which loop); the next child goes on from the step after.
 */
static void oom_drive(const struct oom_loop *loop, const char *name,
                      struct oom_tally *tally,
                      void (*on_step)(void *ctx, const struct oom_record *rec,
                                      const char *out, const char *check),
                      void *step_ctx)
{
	long start = 0;
	int done = 0;

	while (!done) {
		test_buf out = {0}, check = {0};
		struct oom_record rec;
		long next = start;
		int fds[2], status;
		pid_t pid;

		fflush(NULL);
		if (pipe(fds) != 0)
			abort();
		pid = fork();
		if (pid < 0)
			abort();
		if (pid == 0) {
			default_crash_signals();
			close(fds[0]);
			oom_child(loop, start, fds[1]);
		}
		close(fds[1]);
		tally->children++;
		while (read_all(fds[0], &rec, sizeof(rec)) == 0) {
			test_buf_reset(&out);
			test_buf_reset(&check);
			if (rec.out_len) {
				char *p = malloc(rec.out_len);
				if (!p || read_all(fds[0], p, rec.out_len))
					abort();
				test_buf_add(&out, p, rec.out_len);
				free(p);
			}
			if (rec.check_len) {
				char *p = malloc(rec.check_len);
				if (!p || read_all(fds[0], p, rec.check_len))
					abort();
				test_buf_add(&check, p, rec.check_len);
				free(p);
			}
			on_step(step_ctx, &rec, out.p, check.p);
			next = rec.n + 1;
			if (rec.rc == LODE_OK)
				done = 1;
		}
		close(fds[0]);
		test_buf_release(&out);
		test_buf_release(&check);
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR)
				abort();
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_LEAKED) {
			oom_problem(tally, "%s, allocations %ld to %ld failing in "
			            "turn: memory leaked (LeakSanitizer report above)",
			            name, start, next - 1);
		} else if (WIFEXITED(status) &&
		           WEXITSTATUS(status) == CHILD_LEAKS_BEFORE) {
			tally->unchecked++;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != CHILD_CLEAN) {
			if (WIFSIGNALED(status))
				oom_problem(tally, "%s, allocation %ld failing: killed by "
				            "signal %d", name, next, WTERMSIG(status));
			else
				oom_problem(tally, "%s, allocation %ld failing: exit %d "
				            "(a sanitizer report above?)", name, next,
				            WEXITSTATUS(status));
			next++;
		} else if (!done) {
			fail_msg("%s: still failing after %d allocations", name,
			         OOM_MAX_STEPS);
		}
		start = next;
	}
}

struct build_ctx {
	const char *index;
	const char *docs;
	size_t budget;
	const char *stemmer;
	unsigned threads;
	int no_text;
};

static int build_op(const void *ctx, test_buf *out, lode_error *err)
{
	const struct build_ctx *c = ctx;
	const char *dirs[1] = {c->docs};
	lode_build_options opt = {0};
	int rc;

	(void)out;
	opt.threads = c->threads;
	opt.memory_budget = c->budget;
	opt.stemmer = c->stemmer;
	opt.no_text = c->no_text;
	/* With threads, small batches: the writer's helper encodes some and
	 * fails on some, and large terms go straight to the files. */
	if (c->threads > 1) {
		lode_writer_batch_input = 300;
		lode_writer_batch_term_max = 2000;
	}
	rc = lode_build(c->index, dirs, 1, &opt, NULL, err);
	lode_writer_batch_input = LODE_WRITER_BATCH_INPUT;
	lode_writer_batch_term_max = LODE_WRITER_BATCH_TERM_MAX;
	return rc;
}

/* After a build step: the index's answers, and whether *.tmp was left. */
static void build_after(const void *ctx, int rc, test_buf *check, int *extra)
{
	const struct build_ctx *c = ctx;
	test_buf why = {0};
	struct leftovers lo;
	char *answers;

	(void)rc;
	scan_leftovers(c->index, &lo);
	*extra = lo.seg_tmp > 0 || lo.manifest_tmp > 0;
	test_buf_release(&lo.listing);
	test_buf_add(&why, "", 0);
	answers = answers_try(c->index, &why);
	test_buf_adds(check, answers ? answers : "error: ");
	if (!answers)
		test_buf_adds(check, why.p);
	free(answers);
	test_buf_release(&why);
}

struct build_tally {
	struct oom_tally *tally;
	const char *name;                 /* the variant, for messages */
	const char *want_old, *want_new;
	unsigned long steps, not_nomem, left_tmp;
};

static void build_step(void *ctx, const struct oom_record *rec,
                       const char *out, const char *check)
{
	struct build_tally *t = ctx;

	(void)out;
	if (rec->rc == LODE_OK) {
		if (strcmp(check, t->want_new) != 0)
			oom_problem(t->tally, "%s succeeding at allocation %ld "
			            "answers\n%s\ninstead of\n%s", t->name, rec->n, check,
			            t->want_new);
		return;
	}
	t->steps++;
	t->left_tmp += rec->extra != 0;
	if (rec->rc > 0 || rec->err.code != rec->rc || !rec->err.message[0] ||
	    strchr(rec->err.message, '\n'))
		oom_problem(t->tally, "%s, allocation %ld failing: returned %d, "
		            "error %d '%s'", t->name, rec->n, rec->rc, rec->err.code,
		            rec->err.message);
	else if (rec->rc != LODE_ENOMEM && t->not_nomem++ < 5)
		print_message("%s, allocation %ld failing: %s (%d)\n", t->name,
		              rec->n, rec->err.message, rec->rc);
	if (strcmp(check, t->want_old) != 0)
		oom_problem(t->tally, "after %s failed at allocation %ld, the old "
		            "index answers\n%s\ninstead of\n%s", t->name, rec->n,
		            check, t->want_old);
}

/*
 * lode_build with the Nth allocation failing, N = 0, 1, 2, ... until it
 * succeeds, over an index that holds an older build: each failure returns an
 * error code with a one-line message, without crashing or leaking, and the
 * old index still opens, answers as before and checks; the build that
 * succeeds answers as a reference build does and leaves no leftovers.  With
 * the default memory budget, with a small one (sorted runs spilled and
 * merged), with the english stemmer and without stored text (its answers
 * those of the reference, which keeps it), on one thread; and with the
 * reader, compressor and writer threads, whose allocations the hook counts
 * too (in an order that varies from run to run, so each N tests some
 * failure of the threads and of the caller's paths).
 */
static void failed_allocations_in_build_are_clean(void **state)
{
	static const struct {
		size_t budget;       /* 40 KB spills a run every few documents */
		const char *stemmer;
		unsigned threads;
		int no_text;
	} variants[] = {
		{0, NULL, 1, 0},
		{40 << 10, NULL, 1, 0},
		{0, "english", 1, 0},
		{0, NULL, 1, 1},
		{40 << 10, NULL, 2, 0},
	};
	char *dir = fresh_dir("oom-build");
	char *docs[2];
	struct oom_tally tally = {0};
	double t0 = test_now_ms();

	(void)state;
	test_buf_add(&tally.first, "", 0);
	for (int v = 0; v < 2; v++) {
		docs[v] = test_asprintf("%s/docs-%d", dir, v);
		write_oom_corpus(docs[v], v);
	}
	for (size_t k = 0; k < sizeof(variants) / sizeof(variants[0]); k++) {
		char *index = test_asprintf("%s/idx-%zu", dir, k);
		char *ref = test_asprintf("%s/ref-%zu", dir, k);
		struct build_ctx ctx = {index, docs[1], variants[k].budget,
		                        variants[k].stemmer, variants[k].threads,
		                        variants[k].no_text};
		struct oom_loop loop = {build_op, build_after, &ctx};
		struct build_tally bt = {&tally, NULL, NULL, NULL, 0, 0, 0};
		unsigned problems = tally.problems;
		lode_build_stats stats;
		char *want_old, *want_new, name[96];

		build_in_process(ref, docs[1], 0, variants[k].stemmer, NULL);
		want_new = answers_of(ref);
		build_in_process(index, docs[0], variants[k].budget,
		                 variants[k].stemmer, &stats);
		want_old = answers_of(index);
		assert_string_not_equal(want_old, want_new);
		snprintf(name, sizeof(name), "lode_build (budget %zu, stemmer %s, "
		         "%u thread%s%s)", variants[k].budget,
		         variants[k].stemmer ? variants[k].stemmer : "none",
		         variants[k].threads, variants[k].threads > 1 ? "s" : "",
		         variants[k].no_text ? ", no text" : "");
		bt.name = name;
		bt.want_old = want_old;
		bt.want_new = want_new;
		oom_drive(&loop, name, &tally, build_step, &bt);
		expect_clean_index(index);
		print_message("out of memory, %s, %" PRIu64 " runs: %lu failing "
		              "allocations, %u mishandled, %lu not ENOMEM, %lu left "
		              "*.tmp behind\n", name, stats.runs, bt.steps,
		              tally.problems - problems, bt.not_nomem, bt.left_tmp);
		free(want_old);
		free(want_new);
		free(ref);
		free(index);
	}
	print_message("out of memory, lode_build: %u processes%s; %.1f s\n",
	              tally.children, tally.unchecked ? " (leaks unchecked: "
	              "earlier leaks)" : "", (test_now_ms() - t0) / 1e3);
	for (int v = 0; v < 2; v++)
		free(docs[v]);
	free(dir);
	oom_verdict(&tally, "lode_build");
}

struct search_ctx {
	const char *index;
	const char *query;
};

/* Open, parse, count, match, rank, snippet each hit, close; everything a
 * search does, into out.  Returns the first failure. */
static int search_op(const void *ctx, test_buf *out, lode_error *err)
{
	const struct search_ctx *c = ctx;
	lode_index *ix = NULL;
	lode_query *q = NULL;
	test_buf ids = {0};
	lode_hit hits[4];
	uint64_t count, total;
	size_t nhits;
	char line[128];
	int rc;

	test_buf_reset(out);
	test_buf_add(&ids, "", 0);
	if ((rc = lode_index_open(c->index, &ix, err)) ||
	    (rc = lode_query_parse(c->query, strlen(c->query), &q, err)) ||
	    (rc = lode_count(ix, q, &count, err)) ||
	    (rc = lode_match(ix, q, collect_doc, &ids, err)) ||
	    (rc = lode_search(ix, q, 4, hits, &nhits, &total, err)))
		goto out_close;
	snprintf(line, sizeof(line), "count %" PRIu64 " matched %zu total %"
	         PRIu64 "\n", count, ids.len / sizeof(uint32_t), total);
	test_buf_adds(out, line);
	for (size_t h = 0; h < nhits; h++) {
		lode_snippet s;

		snprintf(line, sizeof(line), "%u %.17g ", hits[h].doc, hits[h].score);
		test_buf_adds(out, line);
		if ((rc = lode_snippet_make(ix, q, hits[h].doc, 60, &s, err)))
			goto out_close;
		test_buf_add(out, s.text, s.len);
		for (size_t k = 0; k < s.nspans; k++) {
			snprintf(line, sizeof(line), " [%zu,%zu]", s.spans[k].start,
			         s.spans[k].end);
			test_buf_adds(out, line);
		}
		test_buf_adds(out, "\n");
		lode_snippet_release(&s);
	}
out_close:
	test_buf_release(&ids);
	lode_query_free(q);
	lode_index_close(ix);
	return rc;
}

struct search_tally {
	struct oom_tally *tally;
	const char *query;
	const char *want;
	unsigned long steps;
};

static void search_step(void *ctx, const struct oom_record *rec,
                        const char *out, const char *check)
{
	struct search_tally *t = ctx;

	(void)check;
	if (rec->rc == LODE_OK) {
		if (strcmp(out, t->want) != 0)
			oom_problem(t->tally, "search %s succeeding at allocation %ld "
			            "answers\n%s\ninstead of\n%s", t->query, rec->n, out,
			            t->want);
		return;
	}
	t->steps++;
	if (rec->rc != LODE_ENOMEM || rec->err.code != rec->rc ||
	    !rec->err.message[0] || strchr(rec->err.message, '\n'))
		oom_problem(t->tally, "search %s, allocation %ld failing: returned "
		            "%d, error %d '%s'", t->query, rec->n, rec->rc,
		            rec->err.code, rec->err.message);
}

/*
 * Searching with the Nth allocation failing, N = 0, 1, ... until it
 * succeeds, for queries of every kind, on an index built without and one
 * built with a stemmer (queries stemmed too): each failure is LODE_ENOMEM
 * with a message, without crashing or leaking, and the run that succeeds
 * gives exactly the answer of a run without the hook.
 */
static void failed_allocations_in_search_are_clean(void **state)
{
	static const char *const queries[] = {
		"alpha",
		"\"theta alpha beta\"",
		"alpha AND NOT gamma",
		"alpha AND beta NOT gamma",
		"(beta OR zeta) AND alpha",
		"NOT delta",
		"epsilon OR eta OR kalo OR \"alpha beta\" OR nosuchword",
		"gamma iota",
		/* Wide: a window of documents at a time (eval.c). */
		"alpha OR beta OR gamma OR delta OR theta OR iota OR zeta OR "
		"epsilon OR eta OR (alpha AND delta) OR \"theta alpha\" OR "
		"\"alpha beta\" OR \"beta gamma\" OR (alpha AND beta) OR "
		"(gamma AND beta) OR \"iota zeta\" OR (epsilon AND alpha)",
	};
	static const char *const stemmers[] = {NULL, "english"};
	char *dir = fresh_dir("oom-search");
	char *docs = test_asprintf("%s/docs", dir);
	char *index[2];
	struct oom_tally tally = {0};
	unsigned long steps = 0;
	size_t nqueries = sizeof(queries) / sizeof(queries[0]);
	double t0 = test_now_ms();

	(void)state;
	test_buf_add(&tally.first, "", 0);
	write_medium_corpus(docs);
	for (size_t k = 0; k < 2; k++) {
		index[k] = test_asprintf("%s/idx-%zu", dir, k);
		build_in_process(index[k], docs, 0, stemmers[k], NULL);
	}
	for (size_t i = 0; i < 2 * nqueries; i++) {
		struct search_ctx ctx = {index[i / nqueries], queries[i % nqueries]};
		struct oom_loop loop = {search_op, NULL, &ctx};
		test_buf want = {0};
		struct search_tally st = {&tally, ctx.query, NULL, 0};
		lode_error err;
		char name[160];

		if (search_op(&ctx, &want, &err))
			fail_msg("%s: %s", ctx.query, err.message);
		st.want = want.p;
		snprintf(name, sizeof(name), "search %s (%s)", ctx.query,
		         i < nqueries ? "no stemmer" : "english stemmer");
		oom_drive(&loop, name, &tally, search_step, &st);
		steps += st.steps;
		test_buf_release(&want);
	}
	print_message("out of memory, search: %zu queries on an index without "
	              "and with a stemmer, %lu failing allocations, %u "
	              "mishandled; %u processes%s; %.1f s\n", nqueries, steps,
	              tally.problems, tally.children, tally.unchecked ? " (leaks "
	              "unchecked: earlier leaks)" : "", (test_now_ms() - t0) / 1e3);
	free(index[0]);
	free(index[1]);
	free(docs);
	free(dir);
	oom_verdict(&tally, "search");
}

/* ---- 4. disk full -------------------------------------------------------------- */

/* 150 files of ordinary words, some 800 KB: index files up to ~300 KB. */
static void write_large_corpus(const char *docs)
{
	test_buf b = {0};
	char name[64];

	for (unsigned i = 0; i < 150; i++) {
		test_rng rng;

		test_rng_seed(&rng, 40000 + i);
		test_buf_reset(&b);
		gen_text(&b, &rng, 600 + test_rng_below(&rng, 600));
		test_buf_adds(&b, i % 2 ? " alpha beta\n" : " gamma delta zeta\n");
		snprintf(name, sizeof(name), "p%u/big%03u.txt", i % 4, i);
		test_write_file(docs, name, b.p, b.len);
	}
	test_buf_release(&b);
}

/* About 2 MB of random letters that compress poorly, so that text.z passes
 * its 1 MB write buffer, and is written, while files are still being read. */
static void write_noisy_corpus(const char *docs)
{
	enum { WORDS = 20000 };
	static char words[WORDS][10];
	test_buf b = {0};
	test_rng rng;
	char name[64];

	test_rng_seed(&rng, 41);
	for (size_t i = 0; i < WORDS; i++) {
		unsigned n = 3 + test_rng_below(&rng, 7);
		for (unsigned k = 0; k < n; k++)
			words[i][k] = (char)('a' + test_rng_below(&rng, 26));
		words[i][n] = '\0';
	}
	for (unsigned i = 0; i < 100; i++) {
		test_buf_reset(&b);
		for (unsigned w = 0; w < 3000; w++) {
			test_buf_adds(&b, words[test_rng_below(&rng, WORDS)]);
			test_buf_adds(&b, w % 12 == 11 ? "\n" : " ");
		}
		snprintf(name, sizeof(name), "n%03u.txt", i);
		test_write_file(docs, name, b.p, b.len);
	}
	test_buf_release(&b);
}

/* The file a "lode: PATH: write: ..." message names, without its directory. */
static void note_failed_file(test_buf *seen, const char *message)
{
	const char *end = strstr(message, ": write:"), *start = end;
	char name[64];

	if (!end)
		return;
	while (start > message && start[-1] != '/')
		start--;
	snprintf(name, sizeof(name), " %.*s", (int)(end - start), start);
	/* Run files are all alike. */
	if (strncmp(name, " run-", 5) == 0)
		snprintf(name, sizeof(name), " run-*");
	if (!strstr(seen->p, name))
		test_buf_adds(seen, name);
}

/*
 * `lode index` of a larger corpus, over an index holding an older build,
 * with the file size limited (RLIMIT_FSIZE, SIGXFSZ ignored, so writes past
 * it fail with EFBIG): at limits from 0 bytes to more than the old index's
 * largest file, with and without spilled runs, and on a corpus whose stored
 * text is written (by the compressor thread, or not) while files are still
 * read, the build exits 2 with one "lode: " line naming a file of the index
 * and the error; the old index still checks and answers as before; the next
 * unlimited build succeeds and leaves no leftovers.  The failures must
 * between them hit text.z, run files, and the files written last (the
 * dictionary, postings and positions, written together).
 */
static void full_disk_fails_the_build_cleanly(void **state)
{
	static const struct {
		int noisy;            /* the corpus of random letters */
		long long limit;      /* bytes */
		const char *opt[2];   /* extra options of lode index */
	} cases[] = {
		{0, 0, {NULL, NULL}},           {0, 0, {"-m", "64K"}},
		{0, 1, {NULL, NULL}},           {0, 1, {"-m", "64K"}},
		{0, 16, {NULL, NULL}},          {0, 16, {"-m", "64K"}},
		{0, 100, {NULL, NULL}},         {0, 1000, {"-m", "64K"}},
		{0, 4096, {NULL, NULL}},        {0, 20000, {"-m", "64K"}},
		{0, 20000, {NULL, NULL}},       {0, 65536, {"-m", "64K"}},
		{0, 65536, {NULL, NULL}},       {0, 200000, {"-m", "64K"}},
		{0, 200000, {NULL, NULL}},      {0, 185000, {NULL, NULL}},
		{1, 100000, {NULL, NULL}},
		{1, 100000, {"-j", "1"}},       {1, 600000, {NULL, NULL}},
		{1, 600000, {"-j", "1"}},
	};
	char *dir = fresh_dir("full");
	char *old_docs = test_asprintf("%s/old", dir);
	char *new_docs[2];
	char *index = test_asprintf("%s/idx", dir);
	char *efbig = xstrdup(strerror(EFBIG));
	test_buf seen = {0};
	char *want_old, *want_new;
	unsigned failures = 0, left_tmp = 0;
	double t0 = test_now_ms();
	test_run r;

	(void)state;
	test_buf_add(&seen, "", 0);
	write_tiny_corpus(old_docs);
	new_docs[0] = test_asprintf("%s/new", dir);
	new_docs[1] = test_asprintf("%s/noisy", dir);
	write_large_corpus(new_docs[0]);
	write_noisy_corpus(new_docs[1]);
	{
		char *ref = test_asprintf("%s/ref", dir);
		LODE(&r, "index", "-q", "-i", ref, new_docs[0]);
		TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
		test_run_release(&r);
		want_new = answers_of(ref);
		free(ref);
	}
	LODE(&r, "index", "-q", "-i", index, old_docs);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
	test_run_release(&r);
	want_old = answers_of(index);
	assert_string_not_equal(want_old, want_new);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_run_opts opts = {.limit_fsize = 1, .fsize_limit = cases[i].limit};
		const char *args[MAX_ARGS];
		struct leftovers lo;
		size_t n = 0;
		char *got;

		args[n++] = "index";
		args[n++] = "-q";
		if (cases[i].opt[0]) {
			args[n++] = cases[i].opt[0];
			args[n++] = cases[i].opt[1];
		}
		args[n++] = "-i";
		args[n++] = index;
		args[n++] = new_docs[cases[i].noisy];
		args[n] = NULL;
		test_run_argv(&r, lode_bin, "lode", args, &opts);
		if (!test_run_failed_with(&r, efbig) ||
		    strstr(r.err.p, index) == NULL || sanitizer_report(&r)) {
			print_error("file size limit %lld:\n", cases[i].limit);
			test_run_dump(&r, print_error);
			failures++;
		}
		note_failed_file(&seen, r.err.p);
		test_run_release(&r);
		scan_leftovers(index, &lo);
		left_tmp += lo.tmp > 0;
		test_buf_release(&lo.listing);
		expect_check_ok(index);
		got = answers_of(index);
		if (strcmp(got, want_old) != 0)
			fail_msg("after a build failed at file size limit %lld, the "
			         "old index answers\n%s\ninstead of\n%s",
			         cases[i].limit, got, want_old);
		free(got);
	}
	if (failures)
		fail_msg("%u builds on a full disk did not fail cleanly", failures);
	/* The segment's dictionary, postings and positions are written
	 * together, term by term: whichever is largest fails first. */
	if (!strstr(seen.p, " text.z") || !strstr(seen.p, " run-*") ||
	    !(strstr(seen.p, " terms.dic") || strstr(seen.p, " postings.pst") ||
	      strstr(seen.p, " positions.pos")))
		fail_msg("the failures named only%s", seen.p);
	LODE(&r, "index", "-q", "-i", index, new_docs[0]);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	test_run_release(&r);
	expect_clean_index(index);
	expect_check_ok(index);
	{
		char *got = answers_of(index);
		assert_string_equal(got, want_new);
		free(got);
	}
	print_message("full disk: %zu builds at file size limits of 0 B to 600 "
	              "KB all exit 2 naming the file (failed writing:%s); %u "
	              "left *.tmp behind until the next build; %.1f s\n",
	              sizeof(cases) / sizeof(cases[0]), seen.p, left_tmp,
	              (test_now_ms() - t0) / 1e3);
	test_buf_release(&seen);
	free(want_old);
	free(want_new);
	free(efbig);
	free(index);
	free(new_docs[0]);
	free(new_docs[1]);
	free(old_docs);
	free(dir);
}

/* ---- 5. two writers ------------------------------------------------------------ */

/*
 * While this process holds the LOCK, `lode index` fails at once (exit 2,
 * "another lode index is writing"), searches and check go on, and the
 * index is untouched; once the lock is released, a build succeeds.
 */
static void held_lock_refuses_a_second_writer(void **state)
{
	char *dir = fresh_dir("lock");
	char *docs = test_asprintf("%s/docs", dir);
	char *other = test_asprintf("%s/other", dir);
	char *index = test_asprintf("%s/idx", dir);
	char *lock = test_asprintf("%s/LOCK", index);
	char *want, *got;
	test_run r;
	int fd;

	(void)state;
	write_tiny_corpus(docs);
	write_oom_corpus(other, 0);
	LODE(&r, "index", "-q", "-i", index, docs);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
	test_run_release(&r);
	want = answers_of(index);
	fd = open(lock, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	for (int i = 0; i < 3; i++) {
		LODE(&r, "index", "-i", index, other);
		TEST_RUN_EXPECT(&r, test_run_failed_with(&r, "another lode index is "
		                                             "writing"));
		TEST_RUN_EXPECT(&r, strstr(r.err.p, index) != NULL);
		/* At once: no waiting for the lock (generous for sanitizers). */
		TEST_RUN_EXPECT(&r, r.ms < 5000);
		test_run_release(&r);
		LODE(&r, "search", "-c", "-i", index, "alpha");
		TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
		                    strcmp(r.out.p, "5\n") == 0 && r.err.len == 0);
		test_run_release(&r);
		LODE(&r, "search", "-i", index, "\"alpha beta\"");
		TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
		test_run_release(&r);
	}
	expect_check_ok(index);
	expect_clean_index(index);
	got = answers_of(index);
	assert_string_equal(got, want);
	free(got);
	close(fd);
	LODE(&r, "index", "-q", "-i", index, other);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	test_run_release(&r);
	got = answers_of(index);
	assert_string_not_equal(got, want);
	free(got);
	expect_clean_index(index);
	free(want);
	free(lock);
	free(index);
	free(other);
	free(docs);
	free(dir);
}

/*
 * Several `lode index` started together on one index, rounds of them: each
 * succeeds or fails at once with the busy message, at least one of each
 * round succeeds, and the index ends whole, checked and clean.
 */
static void concurrent_builds_take_turns(void **state)
{
	enum { WRITERS = 4, ROUNDS = 5 };
	char *dir = fresh_dir("writers");
	char *docs = test_asprintf("%s/docs", dir);
	char *index = test_asprintf("%s/idx", dir);
	char *want;
	unsigned busy = 0, built = 0;

	(void)state;
	write_oom_corpus(docs, 1);
	{
		char *ref = test_asprintf("%s/ref", dir);
		test_run r;
		LODE(&r, "index", "-q", "-i", ref, docs);
		TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
		test_run_release(&r);
		want = answers_of(ref);
		free(ref);
	}
	for (int round = 0; round < ROUNDS; round++) {
		pid_t pids[WRITERS];
		unsigned ok = 0;

		for (int w = 0; w < WRITERS; w++) {
			pids[w] = fork();
			assert_true(pids[w] >= 0);
			if (pids[w] == 0) {
				test_run r;
				int good;

				default_crash_signals();
				LODE(&r, "index", "-q", "-i", index, docs);
				good = test_run_exited(&r, 0) && r.err.len == 0;
				if (!good &&
				    !test_run_failed_with(&r, "another lode index is "
				                              "writing")) {
					test_run_dump(&r, print_error);
					_exit(3);
				}
				test_run_release(&r);
				_exit(good ? 0 : 1);
			}
		}
		for (int w = 0; w < WRITERS; w++) {
			int status;

			while (waitpid(pids[w], &status, 0) < 0)
				assert_int_equal(errno, EINTR);
			if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
				fail_msg("round %d: a writer broke the contract", round);
			if (WEXITSTATUS(status) == 0)
				ok++;
			else
				busy++;
		}
		if (ok == 0)
			fail_msg("round %d: no writer succeeded", round);
		built += ok;
		expect_check_ok(index);
	}
	expect_clean_index(index);
	{
		char *got = answers_of(index);
		assert_string_equal(got, want);
		free(got);
	}
	print_message("two writers: %d rounds of %d concurrent builds: %u "
	              "built, %u refused as busy\n", ROUNDS, WRITERS, built, busy);
	free(want);
	free(index);
	free(docs);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(killed_build_leaves_old_or_new_index),
		cmocka_unit_test(stopped_build_leaves_old_index_and_nothing_temporary),
		cmocka_unit_test(power_loss_leaves_old_or_new_index),
		cmocka_unit_test(damaged_files_fail_cleanly_in_process),
		cmocka_unit_test(damaged_files_fail_cleanly_in_the_cli),
		cmocka_unit_test(failed_allocations_in_build_are_clean),
		cmocka_unit_test(failed_allocations_in_search_are_clean),
		cmocka_unit_test(full_disk_fails_the_build_cleanly),
		cmocka_unit_test(held_lock_refuses_a_second_writer),
		cmocka_unit_test(concurrent_builds_take_turns),
	};

	/* TEST_FILTER=power_loss* runs only the tests matching it. */
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
