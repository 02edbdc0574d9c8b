/*
 * support.h -- helpers shared by the test programs: temporary directories,
 * files, a seeded random generator.  Test-only; never linked into lode.
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

/* Deterministic generator (xorshift64*); seed 0 is replaced by a constant. */
typedef struct test_rng {
	uint64_t state;
} test_rng;

void test_rng_seed(test_rng *rng, uint64_t seed);
uint64_t test_rng_next(test_rng *rng);
/* Uniform in [0, n); n > 0. */
uint32_t test_rng_below(test_rng *rng, uint32_t n);

#endif
