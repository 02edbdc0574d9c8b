/*
 * powerloss.c -- an LD_PRELOAD library that pulls the plug on a process.
 *
 * It stands between the program and the file system calls that change
 * files and directories, counts them as events, and at event number
 * $LODE_POWERLOSS_AT (from 1), before carrying it out, turns the disk into
 * what a power cut at that moment may leave, then _exit()s with status
 * POWERLOSS_EXIT.  What a power cut may leave, after the model of ALICE
 * (Pillai et al., "All File Systems Are Not Created Equal", OSDI 2014):
 *
 *   - a file's data is on disk up to its size at its last fsync() or
 *     fdatasync(); what was written after that is lost (the file is cut
 *     back to that size; a file never synced is left empty);
 *   - with $LODE_POWERLOSS_MODEL "all" (the default), a directory entry
 *     made or changed by open(O_CREAT), mkdir(), rename(), unlink() or
 *     rmdir() is on disk only if its directory (both, for rename) was
 *     fsynced after it; the others are undone, newest first: created files
 *     and directories vanish, renamed entries go back, overwritten and
 *     unlinked files come back;
 *   - with "data", every directory change is kept and only data is lost:
 *     the delayed-allocation outcome of ext4 that made renamed-over files
 *     empty when their data had not been fsynced before the rename.
 *
 * If the program ends before event $LODE_POWERLOSS_AT, the power goes out
 * as it exits: what it finished must have reached the disk by then.
 *
 * Without $LODE_POWERLOSS_AT the calls only pass through; with
 * $LODE_POWERLOSS_COUNT naming a file, the number of events is written to
 * it at exit, so that a test knows the range of crash points.
 *
 * Undoing needs what the calls destroyed: before a rename() replaces a file
 * or an unlink() removes one, the file is hard-linked into the directory
 * $LODE_POWERLOSS_STASH (required; on the same file system, outside the
 * directories the program works in, whose rmdir() would otherwise fail),
 * removed again at exit or when the crash keeps the change; and every
 * file opened for writing is dup()ed so it can be cut back whatever its
 * name has become.  Paths are kept as given, so the program must not
 * chdir(); directory descriptors other than AT_FDCWD are resolved through
 * /proc/self/fd.  For tests only: not thread-safe beyond one lock around
 * the bookkeeping, and nothing here is async-signal-safe.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define POWERLOSS_EXIT 86

enum op_kind { OP_CREATE, OP_MKDIR, OP_RENAME, OP_UNLINK, OP_RMDIR };

struct op {
	enum op_kind kind;
	char *path;       /* the entry made, changed or removed */
	char *from;       /* OP_RENAME: where it came from */
	char *stash;      /* a link to the file the op removed, or NULL */
	dev_t dev[2];     /* directories whose fsync makes the op durable */
	ino_t ino[2];
	int synced[2];
};

struct file {
	int fd;           /* our dup, for cutting the file back */
	dev_t dev;
	ino_t ino;
	off_t durable;    /* size at the last fsync */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long events, crash_at;
static int keep_metadata;
static struct op *ops;
static size_t nops, ops_cap;
static struct file *files;
static size_t nfiles, files_cap;
static const char *stash_dir;
static unsigned long stash_serial;

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_mkdir)(const char *, mode_t);
static int (*real_rmdir)(const char *);

static void *next_symbol(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		fprintf(stderr, "powerloss: no %s\n", name);
		_exit(125);
	}
	return p;
}

/* dlsym's void * into a function pointer, the way ISO C allows. */
#define RESOLVE(var, name)                        \
	do {                                      \
		void *sym_ = next_symbol(name);   \
		memcpy(&(var), &sym_, sizeof(var)); \
	} while (0)

__attribute__((constructor)) static void powerloss_init(void)
{
	const char *at = getenv("LODE_POWERLOSS_AT");
	const char *model = getenv("LODE_POWERLOSS_MODEL");
	struct rlimit rl;

	RESOLVE(real_open, "open");
	RESOLVE(real_openat, "openat");
	RESOLVE(real_write, "write");
	RESOLVE(real_pwrite, "pwrite");
	RESOLVE(real_ftruncate, "ftruncate");
	RESOLVE(real_fsync, "fsync");
	RESOLVE(real_fdatasync, "fdatasync");
	RESOLVE(real_rename, "rename");
	RESOLVE(real_renameat, "renameat");
	RESOLVE(real_unlink, "unlink");
	RESOLVE(real_unlinkat, "unlinkat");
	RESOLVE(real_mkdir, "mkdir");
	RESOLVE(real_rmdir, "rmdir");
	stash_dir = getenv("LODE_POWERLOSS_STASH");
	if (!stash_dir) {
		fprintf(stderr, "powerloss: LODE_POWERLOSS_STASH is not set\n");
		_exit(125);
	}
	crash_at = at ? atol(at) : 0;
	keep_metadata = model && strcmp(model, "data") == 0;
	/* Room for our dups of every file written. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void die(const char *what)
{
	fprintf(stderr, "powerloss: %s: %s\n", what, strerror(errno));
	_exit(125);
}

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	p = realloc(p, *cap * size);
	if (!p)
		die("realloc");
	return p;
}

static char *copy(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("strdup");
	return p;
}

/* dirfd/path as one path (through /proc/self/fd for a directory fd). */
static char *at_path(int dirfd, const char *path)
{
	char link[64], dir[PATH_MAX], *out;
	ssize_t n;

	if (dirfd == AT_FDCWD || path[0] == '/')
		return copy(path);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = readlink(link, dir, sizeof(dir) - 1);
	if (n < 0)
		die("readlink");
	dir[n] = '\0';
	if (asprintf(&out, "%s/%s", dir, path) < 0)
		die("asprintf");
	return out;
}

/* The directory holding path's entry. */
static void parent_of(const char *path, dev_t *dev, ino_t *ino)
{
	char *dir = copy(path), *slash;
	struct stat st;

	while ((slash = strrchr(dir, '/')) && slash[1] == '\0' && slash > dir)
		*slash = '\0';
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) != 0)
		die(dir);
	*dev = st.st_dev;
	*ino = st.st_ino;
	free(dir);
}

static struct op *add_op(enum op_kind kind, const char *path, const char *from)
{
	struct op *op;

	ops = grow(ops, &ops_cap, nops + 1, sizeof(*ops));
	op = &ops[nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->path = copy(path);
	parent_of(path, &op->dev[0], &op->ino[0]);
	if (from) {
		op->from = copy(from);
		parent_of(from, &op->dev[1], &op->ino[1]);
	} else {
		op->dev[1] = op->dev[0];
		op->ino[1] = op->ino[0];
	}
	return op;
}

/* Hard-link path to a fresh stash name beside it, if it is a file. */
static char *stash(const char *path)
{
	struct stat st;
	char *name;

	if (lstat(path, &st) != 0 || S_ISDIR(st.st_mode))
		return NULL;
	if (asprintf(&name, "%s/%lu", stash_dir, ++stash_serial) < 0)
		die("asprintf");
	if (link(path, name) != 0)
		die("link");
	return name;
}

static void track_file(int fd, int created)
{
	struct stat st;
	struct file *f;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	for (size_t i = 0; i < nfiles; i++)
		if (files[i].dev == st.st_dev && files[i].ino == st.st_ino) {
			if (created)
				files[i].durable = 0;
			return;
		}
	files = grow(files, &files_cap, nfiles + 1, sizeof(*files));
	f = &files[nfiles++];
	f->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (f->fd < 0)
		die("dup");
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->durable = created ? 0 : st.st_size;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? real_rmdir(path) : real_unlink(path);
}

/* The power goes out: leave what the model says the disk would hold. */
static void crash(void)
{
	for (size_t i = 0; i < nfiles; i++) {
		struct stat st;
		if (fstat(files[i].fd, &st) == 0 && st.st_size > files[i].durable &&
		    real_ftruncate(files[i].fd, files[i].durable) != 0)
			die("ftruncate");
	}
	for (size_t i = nops; i-- > 0;) {
		struct op *op = &ops[i];
		if (keep_metadata || (op->synced[0] && op->synced[1])) {
			if (op->stash)
				real_unlink(op->stash);
			continue;
		}
		switch (op->kind) {
		case OP_CREATE:
			real_unlink(op->path);
			break;
		case OP_MKDIR:
			nftw(op->path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
			break;
		case OP_RENAME:
			real_rename(op->path, op->from);
			if (op->stash)
				real_rename(op->stash, op->path);
			break;
		case OP_UNLINK:
			real_rename(op->stash, op->path);
			break;
		case OP_RMDIR:
			real_mkdir(op->path, 0755);
			break;
		}
	}
	_exit(POWERLOSS_EXIT);
}

/* Count one event; at the chosen one, crash instead of doing it. */
static void event(void)
{
	pthread_mutex_lock(&lock);
	if (++events == crash_at)
		crash();
	pthread_mutex_unlock(&lock);
}

__attribute__((destructor)) static void powerloss_fini(void)
{
	const char *count = getenv("LODE_POWERLOSS_COUNT");

	if (crash_at > events) {
		pthread_mutex_lock(&lock);
		crash();
	}
	for (size_t i = 0; i < nops; i++)
		if (ops[i].stash)
			real_unlink(ops[i].stash);
	if (count) {
		FILE *f = fopen(count, "w");
		if (f) {
			fprintf(f, "%ld\n", events);
			fclose(f);
		}
	}
}

/* open() and openat() behind one door; path is absolute or cwd-relative. */
static int do_open(int dirfd, const char *path, int flags, mode_t mode)
{
	char *full = NULL;
	int fd, existed = 1, writes = (flags & O_ACCMODE) != O_RDONLY;
	struct stat st;

	if (!writes && !(flags & O_CREAT))
		return real_openat(dirfd, path, flags, mode);
	event();
	pthread_mutex_lock(&lock);
	full = at_path(dirfd, path);
	if (flags & O_CREAT)
		existed = lstat(full, &st) == 0;
	fd = real_openat(dirfd, path, flags, mode);
	if (fd >= 0) {
		if (!existed)
			add_op(OP_CREATE, full, NULL);
		if (writes)
			track_file(fd, !existed || (flags & O_TRUNC));
	}
	pthread_mutex_unlock(&lock);
	free(full);
	return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return do_open(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
	__attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return do_open(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
	__attribute__((alias("openat")));

int creat(const char *path, mode_t mode)
{
	return do_open(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	if (fd > STDERR_FILENO)
		event();
	return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t at)
{
	event();
	return real_pwrite(fd, buf, n, at);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t at)
	__attribute__((alias("pwrite")));

int ftruncate(int fd, off_t len)
{
	int rc;

	event();
	pthread_mutex_lock(&lock);
	rc = real_ftruncate(fd, len);
	if (rc == 0) {
		struct stat st;
		if (fstat(fd, &st) == 0)
			for (size_t i = 0; i < nfiles; i++)
				if (files[i].dev == st.st_dev &&
				    files[i].ino == st.st_ino &&
				    files[i].durable > len)
					files[i].durable = len;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

/* Data of a file, or the entries of a directory, reach the disk. */
static void synced(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return;
	if (S_ISREG(st.st_mode)) {
		for (size_t i = 0; i < nfiles; i++)
			if (files[i].dev == st.st_dev && files[i].ino == st.st_ino)
				files[i].durable = st.st_size;
		return;
	}
	for (size_t i = 0; i < nops; i++)
		for (int k = 0; k < 2; k++)
			if (ops[i].dev[k] == st.st_dev && ops[i].ino[k] == st.st_ino)
				ops[i].synced[k] = 1;
}

int fsync(int fd)
{
	int rc;

	event();
	pthread_mutex_lock(&lock);
	rc = real_fsync(fd);
	if (rc == 0)
		synced(fd);
	pthread_mutex_unlock(&lock);
	return rc;
}

int fdatasync(int fd)
{
	int rc;

	event();
	pthread_mutex_lock(&lock);
	rc = real_fdatasync(fd);
	if (rc == 0)
		synced(fd);
	pthread_mutex_unlock(&lock);
	return rc;
}

static int do_rename(const char *from, const char *to)
{
	char *saved;
	int rc;

	event();
	pthread_mutex_lock(&lock);
	saved = stash(to);
	rc = real_rename(from, to);
	if (rc == 0) {
		add_op(OP_RENAME, to, from)->stash = saved;
	} else if (saved) {
		real_unlink(saved);
		free(saved);
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int rename(const char *from, const char *to)
{
	return do_rename(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
	char *a = at_path(fromfd, from), *b = at_path(tofd, to);
	int rc = do_rename(a, b);

	free(a);
	free(b);
	return rc;
}

static int do_unlink(const char *path, int dir)
{
	char *saved = NULL;
	int rc;

	event();
	pthread_mutex_lock(&lock);
	if (!dir)
		saved = stash(path);
	rc = dir ? real_rmdir(path) : real_unlink(path);
	if (rc == 0) {
		add_op(dir ? OP_RMDIR : OP_UNLINK, path, NULL)->stash = saved;
	} else if (saved) {
		real_unlink(saved);
		free(saved);
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int unlink(const char *path)
{
	return do_unlink(path, 0);
}

int rmdir(const char *path)
{
	return do_unlink(path, 1);
}

int unlinkat(int dirfd, const char *path, int flags)
{
	char *full = at_path(dirfd, path);
	int rc = do_unlink(full, (flags & AT_REMOVEDIR) != 0);

	free(full);
	return rc;
}

int mkdir(const char *path, mode_t mode)
{
	int rc;

	event();
	pthread_mutex_lock(&lock);
	rc = real_mkdir(path, mode);
	if (rc == 0)
		add_op(OP_MKDIR, path, NULL);
	pthread_mutex_unlock(&lock);
	return rc;
}
