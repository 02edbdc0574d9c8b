/*
 * replay.c -- a plain main() for a fuzz target, so that it builds without
 * libFuzzer and replays saved inputs as a regression test (see fuzz.h).
 *
 *     replay_<name> [FILE|DIR]...
 *
 * Each FILE, and each regular file of each DIR (names in byte order, hidden
 * names skipped), is read into a buffer of exactly its size, so that a
 * sanitizer sees any read past the end, and passed to the target.  With no
 * arguments: fuzz/corpus/<name> and fuzz/regressions/<name>, which must
 * exist (run from the repository root).  Each input is named on stdout
 * before it runs, so a crash shows which one it was.  Exits 0 after the last
 * input, 1 if a file or directory cannot be read.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

const char *__asan_default_options(void);

/*
 * Under AddressSanitizer (make SANITIZE=address), an allocation larger than
 * libFuzzer's default -malloc_limit_mb fails the replay as it fails the
 * fuzzer: corrupt data must not ask for gigabytes.  Unused otherwise.
 */
const char *__asan_default_options(void)
{
	return "max_allocation_size_mb=2048:allocator_may_return_null=0";
}

/* Feed the file at path to the target; returns 0 or -1 (message printed). */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;
	int rc = -1;

	if (!f)
		goto out_error;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out_close;
	/* malloc(0) may return NULL: keep one byte, pass size 0. */
	buf = malloc(size ? (size_t)size : 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size)
		goto out_free;
	/* Named before the run: a crash must show which input it was. */
	printf("replay %s\n", path);
	fflush(stdout);
	LLVMFuzzerTestOneInput(buf, (size_t)size);
	rc = 0;
out_free:
	free(buf);
out_close:
	fclose(f);
out_error:
	if (rc)
		fprintf(stderr, "replay: %s: %s\n", path,
		        errno ? strerror(errno) : "cannot read");
	return rc;
}

static int skip_hidden(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Feed a file, or every file of a directory; adds to *count. */
static int replay_path(const char *path, size_t *count)
{
	struct dirent **names;
	struct stat st;
	int n, rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = replay_file(path);
		*count += rc == 0;
		return rc;
	}
	n = scandir(path, &names, skip_hidden, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char file[4096];
		snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name);
		if (rc == 0 && stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
			rc = replay_file(file);
			*count += rc == 0;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	char corpus[256], regressions[256];
	size_t count = 0;
	int rc = 0;

	if (argc > 1) {
		for (int i = 1; i < argc && rc == 0; i++)
			rc = replay_path(argv[i], &count);
	} else {
		snprintf(corpus, sizeof(corpus), "fuzz/corpus/%s",
		         fuzz_target_name);
		snprintf(regressions, sizeof(regressions), "fuzz/regressions/%s",
		         fuzz_target_name);
		rc = replay_path(corpus, &count);
		if (rc == 0)
			rc = replay_path(regressions, &count);
	}
	printf("fuzz %s: %zu inputs replayed%s\n", fuzz_target_name, count,
	       rc ? ", FAILED" : "");
	return rc ? 1 : 0;
}
