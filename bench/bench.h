/*
 * bench.h -- the query benchmark behind `lode bench`.
 *
 * Calls:  lode_bench_load  lode_bench_run  lode_bench_report  lode_bench_free
 *
 * A query file holds one query per line, optionally "category<TAB>query"
 * (queries without one, or with an empty one, are in
 * LODE_BENCH_NO_CATEGORY); lines of white space only and lines starting
 * with '#' are skipped, a UTF-8 byte order mark is ignored, and a category
 * without a query is an error naming its line.
 *
 * Every query is first run once to check that it parses and to take its
 * answer (count and a hash of the ids, in order).  Then, for each query, one
 * warm-up and `repeat` timed runs, each timed with the monotonic clock
 * around parsing the query and producing the answer of the mode; every run
 * must give that answer again: a changed answer voids the benchmark.
 *
 * With threads > 1, that many threads run the whole list concurrently over
 * the one open index, each its own warm-ups and repetitions; latencies are
 * then measured under that load and throughput is all runs over the wall
 * time.  A query's median is the lower middle of its runs when they are
 * even in number (the nearest-rank p50, as the summaries').
 */
#ifndef LODE_BENCH_BENCH_H
#define LODE_BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lode.h"

#define LODE_BENCH_NO_CATEGORY "-"

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
	size_t line;         /* in the query file, from 1 */
	uint64_t count;      /* answer of the warm-up */
	uint64_t hash;       /* FNV-1a of the answer's ids */
	uint64_t *samples;   /* ns, repeat * threads of them */
	size_t nsamples;
	uint64_t median_ns, min_ns;
};

typedef struct lode_bench {
	char *path;          /* of the query file, for messages */
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
