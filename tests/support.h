/*
 * support.h -- helpers shared by the test programs: temporary directories,
 * files, a seeded random generator, growing buffers, and running a program
 * with its output captured.  Test-only; never linked into lode.
 *
 * A run goes test_run_argv (read the test_run's fields) test_run_release;
 * TEST_RUN_EXPECT and test_run_dump report a run in a failing test.
 */
#ifndef LODE_TESTS_SUPPORT_H
#define LODE_TESTS_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* A fresh empty directory under $TMPDIR (or /tmp); returns a malloc'd path. */
char *test_tmpdir(const char *tag);

/* Remove a directory tree (like rm -rf); ignores errors. */
void test_rmtree(const char *path);

/* Write len bytes to dir/name, creating parent directories. */
void test_write_file(const char *dir, const char *name, const void *data,
                     size_t len);

/* printf into a new malloc'd string; aborts if out of memory. */
char *test_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The whole file at path (malloc'd, NUL-terminated, *len its length), or
 * NULL if it cannot be read. */
char *test_read_file(const char *path, size_t *len);

/* Whether the files at a and b both read and hold the same bytes. */
int test_same_file(const char *a, const char *b);

/* Write len bytes to path, replacing it; aborts with a message on error. */
void test_write_whole(const char *path, const void *data, size_t len);

/* Copy a directory tree of regular files; aborts with a message on error. */
void test_copy_tree(const char *src, const char *dst);

/* Deterministic generator (xorshift64*); seed 0 is replaced by a constant. */
typedef struct test_rng {
	uint64_t state;
} test_rng;

void test_rng_seed(test_rng *rng, uint64_t seed);
uint64_t test_rng_next(test_rng *rng);
/* Uniform in [0, n); n > 0. */
uint32_t test_rng_below(test_rng *rng, uint32_t n);

/* Milliseconds on the monotonic clock, from an arbitrary start. */
double test_now_ms(void);

/*
 * A growing byte buffer.  Start from {0}; p belongs to the buffer, stays
 * valid until the next add, reset or release, and is NUL-terminated once
 * anything (even 0 bytes) has been added.  Out of memory aborts.
 */
typedef struct test_buf {
	char *p;    /* NUL-terminated contents (NULL while nothing was added) */
	size_t len; /* bytes, excluding the NUL */
	size_t cap; /* bytes allocated */
} test_buf;

/* Append n bytes of data (n may be 0). */
void test_buf_add(test_buf *b, const void *data, size_t n);
/* Append the string s, without its NUL. */
void test_buf_adds(test_buf *b, const char *s);
/* Empty b, keeping its memory; p becomes "". */
void test_buf_reset(test_buf *b);
/* Free b's memory and zero it; b may be used again. */
void test_buf_release(test_buf *b);

/* A run still going after this long is killed, and reads as timed out. */
#define TEST_RUN_TIMEOUT_MS 120000

/* One finished run of a program. */
typedef struct test_run {
	char cmd[2048];  /* the command line, quoted, for failure messages */
	int status;      /* wait status (waitpid) */
	int timed_out;   /* killed after TEST_RUN_TIMEOUT_MS */
	double ms;       /* from just before fork to the child's exit */
	test_buf out;    /* captured stdout; "" when it printed nothing */
	test_buf err;    /* captured stderr; "" when it printed nothing */
} test_run;

/* How to run the child.  All zero (or no test_run_opts at all) runs it in
 * our directory, stdin /dev/null, stdout and stderr captured, no limits. */
typedef struct test_run_opts {
	const char *cwd;        /* directory to run in; NULL: ours */
	const char *lode_index; /* LODE_INDEX of the child; NULL: unset */
	const char *stdout_to;  /* file opened as stdout; NULL: captured */
	int limit_fsize;        /* nonzero: apply fsize_limit */
	long long fsize_limit;  /* RLIMIT_FSIZE of the child in bytes, with
	                         * SIGXFSZ ignored: writes past it fail EFBIG */
	int kill;               /* nonzero: SIGKILL the child kill_after_us
	                         * after fork, whether or not it has exited */
	long kill_after_us;     /* microseconds */
	int kill_signal;        /* the signal kill sends instead, if not 0 */
	const char *const *env; /* "NAME=value" strings added to the child's
	                         * environment, NULL-terminated; or NULL */
} test_run_opts;

/*
 * Run the program at path with argv[0] set to name and args after it
 * (NULL-terminated; may be empty), without a shell, and wait for it.  r is
 * overwritten: it holds the quoted command, the wait status, the time taken
 * and both outputs, which r owns until test_run_release.  opts may be NULL.
 * LODE_INDEX is unset in the child unless opts sets it, so the caller's
 * environment never changes what lode reads.  A child that cannot start
 * exits 126 (setup failed) or 127 (exec failed); failing pipes, fork or
 * wait abort the test program.
 */
void test_run_argv(test_run *r, const char *path, const char *name,
                   const char *const *args, const test_run_opts *opts);

/* Free r's outputs; r may be passed to test_run_argv again. */
void test_run_release(test_run *r);

/* Print r's command, how it ended and up to 3000 bytes of each output
 * through print: cmocka's print_error in the tests, which links only there. */
void test_run_dump(const test_run *r, void (*print)(const char *fmt, ...));

/* r exited by itself with exit status code (not timed out, not signalled). */
int test_run_exited(const test_run *r, int code);

/* r's stderr is exactly one line, starting with prefix. */
int test_run_one_error_line(const test_run *r, const char *prefix);

/* lode's error contract: exit 2, nothing on stdout, and one "lode: " line on
 * stderr that contains what. */
int test_run_failed_with(const test_run *r, const char *what);

/* In a cmocka test: if cond is false, dump r and fail, naming cond. */
#define TEST_RUN_EXPECT(r, cond)                            \
	do {                                                \
		if (!(cond)) {                              \
			test_run_dump((r), print_error);    \
			fail_msg("expected %s", #cond);     \
		}                                           \
	} while (0)

#endif
