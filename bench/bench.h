/*
 * bench.h -- the query benchmark behind `lode bench`.
 *
 * Calls:  lode_bench_load  lode_bench_run  lode_bench_report  lode_bench_free
 *
 * A query file holds one query per line, optionally "category<TAB>query";
 * blank lines and lines starting with '#' are skipped.  For each query the
 * benchmark runs one warm-up, then `repeat` timed runs, each timed with the
 * monotonic clock around parsing the query and producing the answer of the
 * mode.  Every run's answer (count and a hash of the ids, in order) must
 * equal the warm-up's: a changed answer voids the benchmark.
 *
 * With threads > 1, that many threads run the whole list concurrently over
 * the one open index, each its own repetitions; latencies are then measured
 * under that load and throughput is all runs over the wall time.
 */
#ifndef LODE_BENCH_BENCH_H
#define LODE_BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lode.h"

enum lode_bench_mode {
	LODE_BENCH_COUNT, /* number of matches */
	LODE_BENCH_ALL,   /* every matching id, in order */
	LODE_BENCH_TOP,   /* the BM25 top k, ranked */
};

typedef struct lode_bench_options {
	enum lode_bench_mode mode;
	size_t k;        /* depth for LODE_BENCH_TOP */
	unsigned repeat; /* timed runs per query (>= 1) */
	unsigned threads;/* concurrent threads (>= 1) */
} lode_bench_options;

struct lode_bench_query {
	char *category;
	char *text;
	uint64_t count;      /* answer of the warm-up */
	uint64_t hash;       /* FNV-1a of the answer's ids */
	uint64_t *samples;   /* ns, repeat * threads of them */
	size_t nsamples;
	uint64_t median_ns, min_ns;
};

typedef struct lode_bench {
	struct lode_bench_query *queries;
	size_t nqueries;
	lode_bench_options opt;
	double wall_seconds; /* of the timed phase */
	uint64_t runs;       /* timed runs executed */
} lode_bench;

/* Read a query file (path "-" is standard input). */
int lode_bench_load(lode_bench *b, const char *path, lode_error *err);

/* Run every query as described above. */
int lode_bench_run(lode_bench *b, const lode_index *index,
                   const lode_bench_options *opt, lode_error *err);

/* Print the tables (or, with json, one object per query and a summary). */
void lode_bench_report(const lode_bench *b, const lode_index *index, FILE *out,
                       int json);

void lode_bench_free(lode_bench *b);

#endif
