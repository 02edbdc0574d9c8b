/* support.c -- test helpers. */
#include "support.h"

#include <errno.h>
#include <stdarg.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char *test_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *path = malloc(4096);

	if (!path)
		abort();
	snprintf(path, 4096, "%s/lode-test-%s-XXXXXX", base ? base : "/tmp", tag);
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		abort();
	}
	return path;
}

void test_rmtree(const char *path)
{
	char cmd[8192];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
}

static void make_parents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(path, 0755) != 0 && errno != EEXIST) {
				perror(path);
				abort();
			}
			*p = '/';
		}
	}
}

void test_write_file(const char *dir, const char *name, const void *data,
                     size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	make_parents(path);
	f = fopen(path, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

void test_rng_seed(test_rng *rng, uint64_t seed)
{
	rng->state = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

uint64_t test_rng_next(test_rng *rng)
{
	uint64_t x = rng->state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng->state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

uint32_t test_rng_below(test_rng *rng, uint32_t n)
{
	return (uint32_t)((test_rng_next(rng) >> 32) % n);
}

double test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void test_buf_add(test_buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			abort();
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void test_buf_adds(test_buf *b, const char *s)
{
	test_buf_add(b, s, strlen(s));
}

void test_buf_reset(test_buf *b)
{
	b->len = 0;
	test_buf_add(b, "", 0);
}

void test_buf_release(test_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* r->cmd: each of argv single-quoted, space-separated, cut to fit. */
static void describe(test_run *r, const char *const *argv)
{
	size_t at = 0;

	r->cmd[0] = '\0';
	for (size_t i = 0; argv[i] && at < sizeof(r->cmd); i++) {
		int n = snprintf(r->cmd + at, sizeof(r->cmd) - at, "%s'%s'",
		                 i ? " " : "", argv[i]);
		if (n < 0)
			break;
		at += (size_t)n;
	}
}

static void set_cloexec(int fd)
{
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
		abort();
}

/* In the child: a file size limit, with SIGXFSZ ignored so that a write past
 * it fails with EFBIG instead of killing the process. */
static void limit_file_size(long long limit)
{
	struct rlimit rl;

	signal(SIGXFSZ, SIG_IGN);
	if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
		_exit(126);
	rl.rlim_cur = (rlim_t)limit;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
		rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		_exit(126);
}

/* In the child, between fork and exec: stdin from /dev/null, stdout and
 * stderr into the pipes (or stdout into opts->stdout_to), then opts. */
static void child_setup(const int out_pipe[2], const int err_pipe[2],
                        const test_run_opts *opts)
{
	int devnull = open("/dev/null", O_RDONLY);

	if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
	    dup2(out_pipe[1], STDOUT_FILENO) < 0 ||
	    dup2(err_pipe[1], STDERR_FILENO) < 0)
		_exit(126);
	close(devnull);
	close(out_pipe[1]);
	close(err_pipe[1]);
	if (opts && opts->stdout_to) {
		int fd = open(opts->stdout_to, O_WRONLY);

		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
			_exit(126);
		close(fd);
	}
	if (opts && opts->cwd && chdir(opts->cwd) != 0)
		_exit(126);
	if (opts && opts->limit_fsize)
		limit_file_size(opts->fsize_limit);
	if (opts && opts->lode_index)
		setenv("LODE_INDEX", opts->lode_index, 1);
	else
		unsetenv("LODE_INDEX");
	for (size_t i = 0; opts && opts->env && opts->env[i]; i++)
		if (putenv((char *)(uintptr_t)opts->env[i]) != 0)
			_exit(126);
}

/* Sleep until start + after_us on the monotonic clock, then SIGKILL pid. */
static void kill_at(pid_t pid, double start, long after_us, int sig)
{
	double at = start + (double)after_us / 1e3, left;

	while ((left = at - test_now_ms()) > 0) {
		struct timespec ts;
		ts.tv_sec = (time_t)(left / 1e3);
		ts.tv_nsec = (long)((left - (double)ts.tv_sec * 1e3) * 1e6);
		nanosleep(&ts, NULL);
	}
	/* Not reaped yet: pid is still ours even if it has exited. */
	kill(pid, sig ? sig : SIGKILL);
}

/* Read both pipes into r until both close or the deadline passes, when the
 * child is killed and r->timed_out set.  Closes the pipes. */
static void capture(test_run *r, pid_t pid, int out_fd, int err_fd,
                    double deadline)
{
	struct pollfd pf[2];
	int open_fds = 2;

	pf[0].fd = out_fd;
	pf[1].fd = err_fd;
	pf[0].events = pf[1].events = POLLIN;
	while (open_fds > 0) {
		int ready = poll(pf, 2, 1000);

		if (ready < 0 && errno != EINTR)
			abort();
		if (test_now_ms() > deadline) {
			kill(pid, SIGKILL);
			r->timed_out = 1;
			break;
		}
		for (int i = 0; ready > 0 && i < 2; i++) {
			char chunk[65536];
			ssize_t got;

			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			got = read(pf[i].fd, chunk, sizeof(chunk));
			if (got > 0) {
				test_buf_add(i ? &r->err : &r->out, chunk,
				             (size_t)got);
			} else if (got == 0 || errno != EINTR) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
}

void test_run_argv(test_run *r, const char *path, const char *name,
                   const char *const *args, const test_run_opts *opts)
{
	const char **argv;
	int out_pipe[2], err_pipe[2];
	double start = test_now_ms(), deadline = start + TEST_RUN_TIMEOUT_MS;
	size_t n = 0;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	while (args[n])
		n++;
	argv = malloc((n + 2) * sizeof(*argv));
	if (!argv)
		abort();
	argv[0] = name;
	memcpy(argv + 1, args, (n + 1) * sizeof(*argv));
	describe(r, argv);
	if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0)
		abort();
	set_cloexec(out_pipe[0]);
	set_cloexec(err_pipe[0]);
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		child_setup(out_pipe, err_pipe, opts);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	free(argv);
	close(out_pipe[1]);
	close(err_pipe[1]);
	if (opts && opts->kill)
		kill_at(pid, start, opts->kill_after_us, opts->kill_signal);
	capture(r, pid, out_pipe[0], err_pipe[0], deadline);
	while (waitpid(pid, &r->status, 0) < 0) {
		if (errno != EINTR)
			abort();
	}
	r->ms = test_now_ms() - start;
	/* Empty captures read as "", never NULL. */
	test_buf_add(&r->out, "", 0);
	test_buf_add(&r->err, "", 0);
}

void test_run_release(test_run *r)
{
	test_buf_release(&r->out);
	test_buf_release(&r->err);
}

void test_run_dump(const test_run *r, void (*print)(const char *fmt, ...))
{
	if (r->timed_out)
		print("command: %s\nstatus: killed after %d ms\n", r->cmd,
		      TEST_RUN_TIMEOUT_MS);
	else if (WIFSIGNALED(r->status))
		print("command: %s\nstatus: killed by signal %d\n", r->cmd,
		      WTERMSIG(r->status));
	else
		print("command: %s\nstatus: exit %d\n", r->cmd,
		      WEXITSTATUS(r->status));
	print("--- stdout (%zu bytes) ---\n%.*s\n--- stderr (%zu bytes) ---\n"
	      "%.*s\n---\n", r->out.len,
	      (int)(r->out.len < 3000 ? r->out.len : 3000), r->out.p,
	      r->err.len, (int)(r->err.len < 3000 ? r->err.len : 3000),
	      r->err.p);
}

int test_run_exited(const test_run *r, int code)
{
	return !r->timed_out && WIFEXITED(r->status) &&
	       WEXITSTATUS(r->status) == code;
}

int test_run_one_error_line(const test_run *r, const char *prefix)
{
	const char *nl = memchr(r->err.p, '\n', r->err.len);

	return r->err.len > 0 && nl == r->err.p + r->err.len - 1 &&
	       strncmp(r->err.p, prefix, strlen(prefix)) == 0;
}

int test_run_failed_with(const test_run *r, const char *what)
{
	return test_run_exited(r, 2) && r->out.len == 0 &&
	       test_run_one_error_line(r, "lode: ") &&
	       strstr(r->err.p, what) != NULL;
}

char *test_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(s = malloc((size_t)n + 1)))
		abort();
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

char *test_read_file(const char *path, size_t *len)
{
	test_buf b = {0};
	char chunk[8192];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		test_buf_add(&b, chunk, n);
	fclose(f);
	if (!b.p)
		test_buf_add(&b, "", 0);
	*len = b.len;
	return b.p;
}

int test_same_file(const char *a, const char *b)
{
	size_t na, nb;
	char *da = test_read_file(a, &na), *db = test_read_file(b, &nb);
	int same = da && db && na == nb && memcmp(da, db, na) == 0;

	free(da);
	free(db);
	return same;
}

static void die_on(const char *what, const char *path)
{
	fprintf(stderr, "test: cannot %s %s: %s\n", what, path, strerror(errno));
	abort();
}

void test_write_whole(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		die_on("write", path);
}

void test_copy_tree(const char *src, const char *dst)
{
	DIR *d = opendir(src);
	struct dirent *e;

	if (!d)
		die_on("copy", src);
	if (mkdir(dst, 0755) != 0 && errno != EEXIST)
		die_on("create", dst);
	while ((e = readdir(d)) != NULL) {
		char *from, *to, *data;
		struct stat st;
		size_t len;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		from = test_asprintf("%s/%s", src, e->d_name);
		to = test_asprintf("%s/%s", dst, e->d_name);
		if (stat(from, &st) != 0)
			die_on("stat", from);
		if (S_ISDIR(st.st_mode)) {
			test_copy_tree(from, to);
		} else {
			if (!(data = test_read_file(from, &len)))
				die_on("read", from);
			test_write_whole(to, data, len);
			free(data);
		}
		free(from);
		free(to);
	}
	closedir(d);
}
