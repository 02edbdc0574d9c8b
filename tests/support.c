/* support.c -- test helpers. */
#include "support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
