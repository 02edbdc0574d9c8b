/*
 * test_walk.c -- the directory walk: byte order, hidden entries, symbolic
 * links and their loops, unreadable files and directories; and the reader
 * thread that walks and reads ahead of the build (prefetch.h).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "prefetch.h"
#include "support.h"
#include "walk.h"

struct seen {
	char files[64][512];
	size_t nfiles, nwarnings;
	char warning[512];
};

static int on_file(void *ctx, const char *path, int dir, const char *name)
{
	struct seen *s = ctx;
	struct stat by_name, by_path;

	/* name in dir is the file path names. */
	assert_int_equal(fstatat(dir, name, &by_name, 0), 0);
	assert_int_equal(stat(path, &by_path), 0);
	assert_true(by_name.st_ino == by_path.st_ino &&
	            by_name.st_dev == by_path.st_dev);

	if (s->nfiles < 64)
		snprintf(s->files[s->nfiles], sizeof(s->files[0]), "%s", path);
	s->nfiles++;
	return 0;
}

static void on_warning(void *ctx, const char *message)
{
	struct seen *s = ctx;

	snprintf(s->warning, sizeof(s->warning), "%s", message);
	s->nwarnings++;
}

static void walk(const char *root, struct seen *s)
{
	lode_walk w = {on_file, on_warning, s, 0, 0, 0};
	lode_error err;

	memset(s, 0, sizeof(*s));
	assert_int_equal(lode_walk_tree(&w, root, &err), 0);
}

static void test_byte_order_and_hidden_entries(void **state)
{
	char *dir = test_tmpdir("walk");
	struct seen s;
	char want[4][512];

	(void)state;
	test_write_file(dir, "b.txt", "b", 1);
	test_write_file(dir, "a/z.txt", "z", 1);
	test_write_file(dir, "B.txt", "B", 1);
	test_write_file(dir, ".hidden", "h", 1);
	test_write_file(dir, ".git/config", "g", 1);
	walk(dir, &s);
	snprintf(want[0], 512, "%s/B.txt", dir);
	snprintf(want[1], 512, "%s/a/z.txt", dir);
	snprintf(want[2], 512, "%s/b.txt", dir);
	assert_int_equal(s.nfiles, 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(s.files[i], want[i]);
	test_rmtree(dir);
	free(dir);
}

/* A directory whose MANIFEST starts with lode's magic is an index, skipped
 * whole and silently; a MANIFEST of text is a file like any other. */
static void test_lode_indexes_are_skipped(void **state)
{
	char *dir = test_tmpdir("walk");
	struct seen s;
	char want[3][512];

	(void)state;
	test_write_file(dir, "idx/MANIFEST", "LODE\0MAN\1\0\0\0", 12);
	test_write_file(dir, "idx/LOCK", "", 0);
	test_write_file(dir, "idx/seg-000001/docs.tab", "d", 1);
	test_write_file(dir, "perl/MANIFEST", "lib/Foo.pm\n", 11);
	test_write_file(dir, "perl/README", "r", 1);
	test_write_file(dir, "short/MANIFEST", "LODE", 4);
	walk(dir, &s);
	snprintf(want[0], 512, "%s/perl/MANIFEST", dir);
	snprintf(want[1], 512, "%s/perl/README", dir);
	snprintf(want[2], 512, "%s/short/MANIFEST", dir);
	assert_int_equal(s.nfiles, 3);
	assert_int_equal(s.nwarnings, 0);
	for (int i = 0; i < 3; i++)
		assert_string_equal(s.files[i], want[i]);
	test_rmtree(dir);
	free(dir);
}

static void test_symlink_loops_are_skipped_with_a_warning(void **state)
{
	char *dir = test_tmpdir("loop"), link[1024], target[1024];
	struct seen s;

	(void)state;
	test_write_file(dir, "d/file.txt", "x", 1);
	snprintf(link, sizeof(link), "%s/d/back", dir);
	snprintf(target, sizeof(target), "%s", dir);
	assert_int_equal(symlink(target, link), 0);      /* d/back -> root */
	snprintf(link, sizeof(link), "%s/d/self", dir);
	assert_int_equal(symlink(".", link), 0);         /* d/self -> d */
	snprintf(link, sizeof(link), "%s/alias.txt", dir);
	assert_int_equal(symlink("d/file.txt", link), 0); /* a file link */
	snprintf(link, sizeof(link), "%s/dangling", dir);
	assert_int_equal(symlink("nowhere", link), 0);
	walk(dir, &s);
	/* alias.txt and d/file.txt; the loops and the dangling link warn. */
	assert_int_equal(s.nfiles, 2);
	assert_int_equal(s.nwarnings, 3);
	test_rmtree(dir);
	free(dir);
}

/* As root, permissions do not stop reads: drop to nobody in a child. */
static void test_unreadable_entries_are_skipped_and_counted(void **state)
{
	char *dir = test_tmpdir("perm"), path[1024];
	int status;
	pid_t pid;

	(void)state;
	test_write_file(dir, "ok.txt", "x", 1);
	test_write_file(dir, "closed/inside.txt", "x", 1);
	test_write_file(dir, "secret.txt", "x", 1);
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/ok.txt", dir);
	chmod(path, 0644);
	snprintf(path, sizeof(path), "%s/closed", dir);
	chmod(path, 0);
	snprintf(path, sizeof(path), "%s/secret.txt", dir);
	chmod(path, 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct seen s;
		lode_walk w = {on_file, on_warning, &s, 0, 0, 0};
		lode_error err;
		memset(&s, 0, sizeof(s));
		if (getuid() == 0 && setuid(65534) != 0)
			_exit(90);
		if (lode_walk_tree(&w, dir, &err) != 0)
			_exit(91);
		/* The walk hands readable-looking files on; the indexer
		 * warns when it cannot open one. */
		_exit(s.nwarnings == 1 && s.nfiles == 2 ? 0 : 92);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	snprintf(path, sizeof(path), "%s/closed", dir);
	chmod(path, 0755);
	test_rmtree(dir);
	free(dir);
}

/* Roots named twice, or inside another root (directories, a file, a
 * link to one), give each file once: a root's files come with its walk. */
static void test_each_file_once_whatever_the_roots(void **state)
{
	char *dir = test_tmpdir("roots"), sub[512], file[512], link[512];
	char elsewhere[512];
	const char *roots[6];
	lode_walk w;
	struct seen s;
	lode_error err;
	char want[5][512];

	(void)state;
	test_write_file(dir, "a/x.txt", "x", 1);
	test_write_file(dir, "a/b/y.txt", "y", 1);
	test_write_file(dir, "a/b/c/z.txt", "z", 1);
	test_write_file(dir, "other/w.txt", "w", 1);
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	snprintf(file, sizeof(file), "%s/a/x.txt", dir);
	snprintf(link, sizeof(link), "%s/a/o", dir);
	snprintf(elsewhere, sizeof(elsewhere), "%s/other", dir);
	assert_int_equal(symlink(elsewhere, link), 0);
	roots[0] = sub;       /* a/b first: a skips it */
	roots[1] = dir;       /* the top: skips a/b, a/x.txt and other */
	roots[2] = file;
	roots[3] = elsewhere; /* also reached as a/o */
	roots[4] = sub;       /* again */
	roots[5] = dir;
	memset(&s, 0, sizeof(s));
	w = (lode_walk){on_file, on_warning, &s, 0, 0, 0};
	assert_int_equal(lode_walk_roots(&w, roots, 6, &err), 0);
	snprintf(want[0], 512, "%s/a/b/c/z.txt", dir);
	snprintf(want[1], 512, "%s/a/b/y.txt", dir);
	snprintf(want[2], 512, "%s/a/x.txt", dir);
	snprintf(want[3], 512, "%s/other/w.txt", dir);
	assert_int_equal(s.nfiles, 4);
	assert_int_equal(s.nwarnings, 0);
	assert_string_equal(s.files[0], want[0]);
	assert_string_equal(s.files[1], want[1]);
	assert_string_equal(s.files[2], want[2]);
	assert_string_equal(s.files[3], want[3]);
	/* Alone, the top holds all four, and the link's file twice. */
	walk(dir, &s);
	assert_int_equal(s.nfiles, 5);
	snprintf(want[4], 512, "%s/a/o/w.txt", dir);
	assert_string_equal(s.files[2], want[4]);
	test_rmtree(dir);
	free(dir);
}

static void test_missing_root_is_an_error(void **state)
{
	lode_walk w = {on_file, on_warning, NULL, 0, 0, 0};
	lode_error err;

	(void)state;
	assert_int_equal(lode_walk_tree(&w, "/nonexistent/lode", &err), LODE_EIO);
	assert_non_null(strstr(err.message, "/nonexistent/lode"));
}

/* A newline or tab in a path cannot split a warning or an error into two
 * lines: control characters show as '?'. */
static void test_control_characters_show_as_question_marks(void **state)
{
	char *dir = test_tmpdir("ctrl"), link[1024], want[1100];
	lode_walk missing = {on_file, on_warning, NULL, 0, 0, 0};
	lode_document d;
	lode_error err;
	struct seen s;

	(void)state;
	snprintf(link, sizeof(link), "%s/bad\nlink\x7f", dir);
	assert_int_equal(symlink("nowhere", link), 0);
	walk(dir, &s);
	assert_int_equal(s.nwarnings, 1);
	snprintf(want, sizeof(want), "%s/bad?link?: ", dir);
	assert_memory_equal(s.warning, want, strlen(want));
	assert_null(strpbrk(s.warning, "\n\x7f"));
	assert_int_equal(lode_walk_tree(&missing, "/nonexistent/a\nb", &err),
	                 LODE_EIO);
	assert_non_null(strstr(err.message, "/nonexistent/a?b: "));
	assert_int_equal(lode_read_document(AT_FDCWD, "/nonexistent/c\td",
	                                    "shown\r\n", &d, &err), LODE_OK);
	assert_non_null(d.warning);
	assert_memory_equal(d.warning, "shown??: ", 9);
	lode_document_release(&d);
	test_rmtree(dir);
	free(dir);
}

/* Every message lode_fail makes is one line: C0 and C1 controls, DEL and
 * the Unicode line separators become '?', other UTF-8 is kept. */
static void test_failure_messages_are_one_line(void **state)
{
	lode_error err;

	(void)state;
	assert_int_equal(lode_fail(&err, LODE_EINVAL, "x %s|",
	                           "a\nb\tc\x7f" "d\xc2\x85" "e\xc2\x9f"
	                           "f\xe2\x80\xa8" "g\xe2\x80\xa9" "h\xc2\xa0"
	                           "i\xe2\x80\xa2" "j\xc2"),
	                 LODE_EINVAL);
	assert_int_equal(err.code, LODE_EINVAL);
	assert_string_equal(err.message, "x a?b?c?d?e?f?g?h\xc2\xa0i\xe2\x80\xa2j\xc2|");
}

/* ---- prefetch -------------------------------------------------------------- */

/* What the walk and lode_read_document give, one line per item ("F path
 * bytes" or "W warning"), into out. */
struct listing {
	char *text;
	size_t len, cap;
};

static void list_add(struct listing *l, const lode_document *d)
{
	char line[8192];
	int n = d->warning ? snprintf(line, sizeof(line), "W %s\n", d->warning)
	                   : snprintf(line, sizeof(line), "F %s %.*s\n", d->path,
	                              (int)d->len, d->data);

	assert_true(n > 0 && (size_t)n < sizeof(line));
	if (l->len + (size_t)n + 1 > l->cap) {
		l->cap = (l->len + (size_t)n + 1) * 2;
		l->text = realloc(l->text, l->cap);
		assert_non_null(l->text);
	}
	memcpy(l->text + l->len, line, (size_t)n + 1);
	l->len += (size_t)n;
}

static int list_file(void *ctx, const char *path, int dir, const char *name)
{
	lode_document d;
	lode_error err;

	assert_int_equal(lode_read_document(dir, name, path, &d, &err), LODE_OK);
	list_add(ctx, &d);
	lode_document_release(&d);
	return 0;
}

static void list_warning(void *ctx, const char *message)
{
	lode_document d = {0};

	d.warning = (char *)message;
	list_add(ctx, &d);
}

/* The reader thread's items for roots, with at most max_bytes queued. */
static void list_prefetched(const char *const *roots, size_t n,
                            size_t max_bytes, struct listing *l)
{
	struct lode_prefetch *pf;
	lode_document d;
	lode_error err;
	int rc;

	assert_int_equal(lode_prefetch_start(roots, n, 0, 0, max_bytes, &pf, &err),
	                 LODE_OK);
	while ((rc = lode_prefetch_next(pf, &d, &err)) == 1) {
		list_add(l, &d);
		lode_document_release(&d);
	}
	assert_int_equal(rc, LODE_OK);
	lode_prefetch_stop(pf);
}

/* Files and warnings come in walk order with their bytes, whatever the
 * queue holds: one file at a time, a few, or all. */
static void test_prefetch_gives_the_walk_in_order(void **state)
{
	char *dir = test_tmpdir("prefetch"), link[1024], name[64], text[64];
	const char *roots[2];
	struct listing want = {0};
	static const size_t limits[] = {1, 40, 1 << 20};

	(void)state;
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "d%d/f%02d.txt", i % 3, i);
		snprintf(text, sizeof(text), "text of file %d", i);
		test_write_file(dir, name, text, strlen(text));
	}
	test_write_file(dir, "empty.txt", "", 0);
	snprintf(link, sizeof(link), "%s/d1/back", dir);
	assert_int_equal(symlink(dir, link), 0);      /* a loop: a warning */
	snprintf(link, sizeof(link), "%s/dangling", dir);
	assert_int_equal(symlink("nowhere", link), 0); /* another */
	roots[0] = dir;
	snprintf(link, sizeof(link), "%s/d2", dir);
	roots[1] = link;                 /* a second root, inside the first */
	{
		lode_walk w = {list_file, list_warning, &want, 0, 0, 0};
		lode_error err;
		assert_int_equal(lode_walk_roots(&w, roots, 2, &err), LODE_OK);
	}
	assert_non_null(strstr(want.text, "W "));
	for (size_t k = 0; k < sizeof(limits) / sizeof(*limits); k++) {
		struct listing got = {0};
		list_prefetched(roots, 2, limits[k], &got);
		assert_string_equal(got.text, want.text);
		free(got.text);
	}
	free(want.text);
	test_rmtree(dir);
	free(dir);
}

/* Stopped after one item, with the reader still walking (or blocked on a
 * full queue): it ends, and nothing leaks (the sanitizer build checks). */
static void test_prefetch_stops_early(void **state)
{
	char *dir = test_tmpdir("prefetch-stop"), name[64];
	const char *roots[1];
	struct lode_prefetch *pf;
	lode_document d;
	lode_error err;

	(void)state;
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "f%03d.txt", i);
		test_write_file(dir, name, "some text", 9);
	}
	roots[0] = dir;
	assert_int_equal(lode_prefetch_start(roots, 1, 0, 0, 64, &pf, &err),
	                 LODE_OK);
	assert_int_equal(lode_prefetch_next(pf, &d, &err), 1);
	assert_non_null(strstr(d.path, "f000.txt"));
	lode_document_release(&d);
	lode_prefetch_stop(pf);
	lode_prefetch_stop(NULL);
	test_rmtree(dir);
	free(dir);
}

/*
 * The files held stay within the limit, the one handed out included, and
 * a file's overhead counts as well as its bytes: with a limit below one
 * small file's cost, the reader may not read the next file before the
 * consumer asks for it.  The test changes that file on disk in between
 * (in place: the reader may have opened it) and must see the change.  A
 * reader that read ahead (as one counting bytes alone, or the queue but
 * not the file handed out, did) returns the old text.
 */
static void test_prefetch_holds_within_its_limit(void **state)
{
	char *dir = test_tmpdir("prefetch-limit"), path[1024];
	const struct timespec pause = {0, 200 * 1000 * 1000};
	const char *roots[1];
	struct lode_prefetch *pf;
	lode_document d;
	lode_error err;
	FILE *f;

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "f%d.txt", i);
		test_write_file(dir, path, "original", 8);
	}
	roots[0] = dir;
	assert_int_equal(lode_prefetch_start(roots, 1, 0, 0, 64, &pf, &err),
	                 LODE_OK);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(lode_prefetch_next(pf, &d, &err), 1);
		assert_int_equal(d.len, 8);
		assert_memory_equal(d.data, i == 0 ? "original" : "modified", 8);
		lode_document_release(&d);
		nanosleep(&pause, NULL); /* time enough to read ahead */
		snprintf(path, sizeof(path), "%s/f%d.txt", dir, i + 1);
		if (i < 3) {
			assert_non_null(f = fopen(path, "r+"));
			assert_int_equal(fwrite("modified", 1, 8, f), 8);
			assert_int_equal(fclose(f), 0);
		}
	}
	assert_int_equal(lode_prefetch_next(pf, &d, &err), 0);
	lode_prefetch_stop(pf);
	test_rmtree(dir);
	free(dir);
}

/* A root that is not there: the walk's error, with its message, after
 * the items before it. */
static void test_prefetch_reports_the_walk_error(void **state)
{
	char *dir = test_tmpdir("prefetch-err");
	const char *roots[2] = {NULL, "/nonexistent/lode"};
	struct lode_prefetch *pf;
	lode_document d;
	lode_error err;

	(void)state;
	test_write_file(dir, "a.txt", "a", 1);
	roots[0] = dir;
	assert_int_equal(lode_prefetch_start(roots, 2, 0, 0, 1 << 20, &pf, &err),
	                 LODE_OK);
	assert_int_equal(lode_prefetch_next(pf, &d, &err), 1);
	assert_memory_equal(d.data, "a", 1);
	lode_document_release(&d);
	assert_int_equal(lode_prefetch_next(pf, &d, &err), LODE_EIO);
	assert_non_null(strstr(err.message, "/nonexistent/lode"));
	lode_prefetch_stop(pf);
	test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_byte_order_and_hidden_entries),
		cmocka_unit_test(test_lode_indexes_are_skipped),
		cmocka_unit_test(test_symlink_loops_are_skipped_with_a_warning),
		cmocka_unit_test(test_control_characters_show_as_question_marks),
		cmocka_unit_test(test_failure_messages_are_one_line),
		cmocka_unit_test(test_unreadable_entries_are_skipped_and_counted),
		cmocka_unit_test(test_missing_root_is_an_error),
		cmocka_unit_test(test_each_file_once_whatever_the_roots),
		cmocka_unit_test(test_prefetch_gives_the_walk_in_order),
		cmocka_unit_test(test_prefetch_stops_early),
		cmocka_unit_test(test_prefetch_holds_within_its_limit),
		cmocka_unit_test(test_prefetch_reports_the_walk_error),
	};

	return cmocka_run_group_tests_name("walk", tests, NULL, NULL);
}
