/*
 * test_walk.c -- the directory walk: byte order, hidden entries, symbolic
 * links and their loops, unreadable files and directories.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "support.h"
#include "walk.h"

struct seen {
	char files[64][512];
	size_t nfiles, nwarnings;
	char warning[512];
};

static int on_file(void *ctx, const char *path)
{
	struct seen *s = ctx;

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

static void test_missing_root_is_an_error(void **state)
{
	lode_walk w = {on_file, on_warning, NULL, 0, 0, 0};
	lode_error err;

	(void)state;
	assert_int_equal(lode_walk_tree(&w, "/nonexistent/lode", &err), LODE_EIO);
	assert_non_null(strstr(err.message, "/nonexistent/lode"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_byte_order_and_hidden_entries),
		cmocka_unit_test(test_symlink_loops_are_skipped_with_a_warning),
		cmocka_unit_test(test_unreadable_entries_are_skipped_and_counted),
		cmocka_unit_test(test_missing_root_is_an_error),
	};

	return cmocka_run_group_tests_name("walk", tests, NULL, NULL);
}
