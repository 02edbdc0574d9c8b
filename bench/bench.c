/* bench.c -- timed, answer-checked query runs and their percentiles. */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "buildinfo.h"
#include "error.h"
#include "json.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *dup_range(const char *p, size_t n)
{
	char *s = lode_malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* Whether s holds nothing but spaces and tabs. */
static int blank(const char *s)
{
	return s[strspn(s, " \t")] == '\0';
}

int lode_bench_load(lode_bench *b, const char *path, lode_error *err)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	size_t cap = 0, line_cap = 0, lineno = 0;
	char *line = NULL;
	ssize_t n;
	int rc = LODE_OK;

	memset(b, 0, sizeof(*b));
	if (!f)
		return lode_fail_errno(err, "%s", path);
	if (!(b->path = dup_range(path, strlen(path))))
		rc = lode_fail(err, LODE_ENOMEM, "out of memory");
	while (rc == LODE_OK && (n = getline(&line, &line_cap, f)) >= 0) {
		struct lode_bench_query *q;
		char *tab, *text = line;
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (lineno == 1 && strncmp(text, "\xef\xbb\xbf", 3) == 0)
			text += 3; /* a byte order mark */
		if (blank(text) || text[0] == '#')
			continue;
		if (lode_grow(&b->queries, &cap, b->nqueries + 1, sizeof(*q))) {
			rc = lode_fail(err, LODE_ENOMEM, "out of memory");
			break;
		}
		q = &b->queries[b->nqueries];
		memset(q, 0, sizeof(*q));
		q->line = lineno;
		tab = strchr(text, '\t');
		/* An empty category is no category: a blank row otherwise. */
		q->category = tab && tab > text
		                      ? dup_range(text, (size_t)(tab - text))
		                      : dup_range(LODE_BENCH_NO_CATEGORY,
		                                  strlen(LODE_BENCH_NO_CATEGORY));
		if (tab)
			text = tab + 1;
		q->text = dup_range(text, strlen(text));
		b->nqueries++;
		if (!q->category || !q->text)
			rc = lode_fail(err, LODE_ENOMEM, "out of memory");
		else if (blank(q->text))
			rc = lode_fail(err, LODE_EINVAL, "%s:%zu: category '%s' has "
			               "no query", path, lineno, q->category);
	}
	if (rc == LODE_OK && ferror(f))
		rc = lode_fail_errno(err, "%s: read", path);
	if (rc == LODE_OK && b->nqueries == 0)
		rc = lode_fail(err, LODE_EINVAL, "%s: no queries", path);
	free(line);
	if (f != stdin)
		fclose(f);
	if (rc)
		lode_bench_free(b);
	return rc;
}

struct answer {
	uint64_t count, hash;
};

static int on_match(void *ctx, uint32_t doc)
{
	struct answer *a = ctx;

	a->count++;
	a->hash = (a->hash ^ doc) * FNV_PRIME;
	return 0;
}

/* Fill err with where query q is and why it failed, err's message. */
static int fail_at(const lode_bench *b, const struct lode_bench_query *q,
                   int rc, lode_error *err)
{
	if (err) {
		char why[sizeof(err->message)];
		memcpy(why, err->message, sizeof(why));
		lode_fail(err, rc, "%s:%zu: %s", b->path, q->line, why);
	}
	return rc;
}

/* One run of q: parse, answer, into *a. */
static int run_once(const lode_index *ix, const lode_bench_options *opt,
                    const char *text, lode_hit *hits, struct answer *a,
                    lode_error *err)
{
	lode_query *q;
	size_t n = 0;
	int rc;

	a->count = 0;
	a->hash = FNV_OFFSET;
	if ((rc = lode_query_parse(text, strlen(text), &q, err)))
		return rc;
	switch (opt->mode) {
	case LODE_BENCH_COUNT:
		rc = lode_count(ix, q, &a->count, err);
		break;
	case LODE_BENCH_ALL:
		rc = lode_match(ix, q, on_match, a, err);
		break;
	case LODE_BENCH_TOP:
		rc = lode_search(ix, q, opt->k, hits, &n, NULL, err);
		for (size_t i = 0; rc == LODE_OK && i < n; i++)
			on_match(a, hits[i].doc);
		break;
	}
	lode_query_free(q);
	return rc;
}

struct worker {
	lode_bench *b;
	const lode_index *ix;
	unsigned id;
	pthread_t thread;
	int rc;
	lode_error err;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	lode_bench *b = w->b;
	lode_hit *hits = lode_malloc((b->opt.k ? b->opt.k : 1) * sizeof(lode_hit));

	if (!hits) {
		w->rc = lode_fail(&w->err, LODE_ENOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < b->nqueries && w->rc == LODE_OK; i++) {
		struct lode_bench_query *q = &b->queries[i];
		/* Run 0 warms up, untimed; then the timed ones. */
		for (unsigned r = 0; r <= b->opt.repeat; r++) {
			struct answer a;
			uint64_t t0 = now_ns();
			if ((w->rc = run_once(w->ix, &b->opt, q->text, hits, &a,
			                      &w->err))) {
				fail_at(b, q, w->rc, &w->err);
				break;
			}
			if (r > 0)
				q->samples[(size_t)w->id * b->opt.repeat + r - 1] =
				        now_ns() - t0;
			if (a.count != q->count || a.hash != q->hash) {
				w->rc = lode_fail(&w->err, LODE_EINVAL,
				                  "%s:%zu: the query changed its answer "
				                  "between runs (%" PRIu64 " then %" PRIu64
				                  " results): benchmark void", b->path,
				                  q->line, q->count, a.count);
				break;
			}
		}
	}
	lode_free(hits);
	return NULL;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values. */
static uint64_t percentile(const uint64_t *v, size_t n, double p)
{
	size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);

	if (rank < 1)
		rank = 1;
	return v[(rank > n ? n : rank) - 1];
}

int lode_bench_run(lode_bench *b, const lode_index *ix,
                   const lode_bench_options *opt, lode_error *err)
{
	struct worker *workers;
	lode_hit *hits;
	uint64_t t0;
	int rc = LODE_OK;

	b->opt = *opt;
	if (b->opt.repeat == 0)
		b->opt.repeat = 1;
	if (b->opt.threads == 0)
		b->opt.threads = 1;
	hits = lode_malloc((b->opt.k ? b->opt.k : 1) * sizeof(lode_hit));
	workers = lode_calloc(b->opt.threads, sizeof(*workers));
	if (!hits || !workers) {
		rc = lode_fail(err, LODE_ENOMEM, "out of memory");
		goto out_free;
	}
	/* Every query parses, and the answer every run must give again. */
	for (size_t i = 0; i < b->nqueries; i++) {
		struct lode_bench_query *q = &b->queries[i];
		struct answer a;
		if ((rc = run_once(ix, &b->opt, q->text, hits, &a, err))) {
			fail_at(b, q, rc, err);
			goto out_free;
		}
		q->count = a.count;
		q->hash = a.hash;
		q->nsamples = (size_t)b->opt.repeat * b->opt.threads;
		q->samples = lode_calloc(q->nsamples, sizeof(uint64_t));
		if (!q->samples) {
			rc = lode_fail(err, LODE_ENOMEM, "out of memory");
			goto out_free;
		}
	}
	t0 = now_ns();
	if (b->opt.threads == 1) {
		workers[0] = (struct worker){.b = b, .ix = ix, .id = 0};
		work(&workers[0]);
	} else {
		unsigned started = 0;
		for (; started < b->opt.threads; started++) {
			workers[started] = (struct worker){.b = b, .ix = ix,
			                                   .id = started};
			if (pthread_create(&workers[started].thread, NULL, work,
			                   &workers[started]) != 0) {
				rc = lode_fail(err, LODE_EIO, "cannot start a thread");
				break;
			}
		}
		/* Those started run to their end before anything is freed. */
		for (unsigned t = 0; t < started; t++)
			pthread_join(workers[t].thread, NULL);
	}
	b->wall_seconds = (double)(now_ns() - t0) / 1e9;
	for (unsigned t = 0; rc == LODE_OK && t < b->opt.threads; t++) {
		if (workers[t].rc) {
			rc = workers[t].rc;
			if (err)
				*err = workers[t].err;
		}
	}
	if (rc == LODE_OK) {
		b->runs = (uint64_t)b->nqueries * b->opt.repeat * b->opt.threads;
		for (size_t i = 0; i < b->nqueries; i++) {
			struct lode_bench_query *q = &b->queries[i];
			uint64_t *s = lode_malloc(q->nsamples * sizeof(uint64_t));
			if (!s) {
				rc = lode_fail(err, LODE_ENOMEM, "out of memory");
				break;
			}
			memcpy(s, q->samples, q->nsamples * sizeof(uint64_t));
			qsort(s, q->nsamples, sizeof(uint64_t), compare_u64);
			q->min_ns = s[0];
			q->median_ns = percentile(s, q->nsamples, 50);
			lode_free(s);
		}
	}
out_free:
	lode_free(hits);
	lode_free(workers);
	return rc;
}

struct row {
	const char *category;
	size_t queries;
	uint64_t median_count;
	uint64_t p50, p95, p99, max; /* ns */
	double qps;
};

/* Summarise the queries whose category is cat (NULL: all of them). */
static int summarise(const lode_bench *b, const char *cat, struct row *row)
{
	uint64_t *lat = NULL, *counts = NULL, total = 0;
	size_t n = 0, nq = 0;

	for (size_t i = 0; i < b->nqueries; i++) {
		if (cat && strcmp(b->queries[i].category, cat))
			continue;
		n += b->queries[i].nsamples;
		nq++;
	}
	lat = lode_malloc((n ? n : 1) * sizeof(uint64_t));
	counts = lode_malloc((nq ? nq : 1) * sizeof(uint64_t));
	if (!lat || !counts) {
		lode_free(lat);
		lode_free(counts);
		return LODE_ENOMEM;
	}
	n = nq = 0;
	for (size_t i = 0; i < b->nqueries; i++) {
		const struct lode_bench_query *q = &b->queries[i];
		if (cat && strcmp(q->category, cat))
			continue;
		for (size_t s = 0; s < q->nsamples; s++) {
			lat[n++] = q->samples[s];
			total += q->samples[s];
		}
		counts[nq++] = q->count;
	}
	qsort(lat, n, sizeof(uint64_t), compare_u64);
	qsort(counts, nq, sizeof(uint64_t), compare_u64);
	row->category = cat ? cat : "all";
	row->queries = nq;
	row->median_count = nq ? counts[nq / 2] : 0;
	row->p50 = n ? percentile(lat, n, 50) : 0;
	row->p95 = n ? percentile(lat, n, 95) : 0;
	row->p99 = n ? percentile(lat, n, 99) : 0;
	row->max = n ? lat[n - 1] : 0;
	/* Per thread: runs over the time spent in them. */
	row->qps = total ? (double)n / ((double)total / 1e9) : 0;
	lode_free(lat);
	lode_free(counts);
	return LODE_OK;
}

/* The mode as --mode names it: count, all, top10 (topK). */
static const char *mode_name(const lode_bench_options *opt, char *buf,
                             size_t size)
{
	if (opt->mode == LODE_BENCH_COUNT)
		return "count";
	if (opt->mode == LODE_BENCH_ALL)
		return "all";
	snprintf(buf, size, "top%zu", opt->k);
	return buf;
}

static void print_cpu(FILE *out)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *colon = strchr(line, ':');
			if (strncmp(line, "model name", 10) == 0 && colon) {
				colon[strcspn(colon, "\n")] = '\0';
				fputs(colon + 2, out);
				fclose(f);
				return;
			}
		}
		fclose(f);
	}
	fputs("unknown", out);
}

void lode_bench_report(const lode_bench *b, const lode_index *ix, FILE *out,
                       int json)
{
	lode_index_info info;
	struct row row;
	char buf[32];
	const char *mode = mode_name(&b->opt, buf, sizeof(buf));

	lode_index_info_get(ix, &info);
	if (json) {
		for (size_t i = 0; i < b->nqueries; i++) {
			const struct lode_bench_query *q = &b->queries[i];
			fprintf(out, "{\"n\":%zu,\"category\":", i + 1);
			lode_json_string(out, q->category, strlen(q->category));
			fputs(",\"query\":", out);
			lode_json_string(out, q->text, strlen(q->text));
			fprintf(out, ",\"count\":%" PRIu64 ",\"hash\":\"%016" PRIx64
			        "\",\"median_ns\":%" PRIu64 ",\"min_ns\":%" PRIu64 "}\n",
			        q->count, q->hash, q->median_ns, q->min_ns);
		}
		if (summarise(b, NULL, &row) == LODE_OK)
			fprintf(out, "{\"summary\":true,\"engine\":\"lode\",\"mode\":\"%s\","
			        "\"k\":%zu,\"repeat\":%u,\"threads\":%u,\"queries\":%zu,"
			        "\"p50_ns\":%" PRIu64 ",\"p95_ns\":%" PRIu64 ",\"p99_ns\":%"
			        PRIu64 ",\"max_ns\":%" PRIu64 ",\"qps\":%.1f,"
			        "\"throughput_qps\":%.1f,\"documents\":%" PRIu64
			        ",\"index_bytes\":%" PRIu64 ",\"revision\":\"%s\"}\n",
			        mode, b->opt.k, b->opt.repeat,
			        b->opt.threads, row.queries, row.p50, row.p95, row.p99,
			        row.max, row.qps, (double)b->runs / b->wall_seconds,
			        info.documents, info.index_bytes, lode_build_revision);
		return;
	}
	fprintf(out, "lode bench: mode %s", mode);
	fprintf(out, ", %u timed runs per query after 1 warm-up, %u thread%s\n",
	        b->opt.repeat, b->opt.threads, b->opt.threads == 1 ? "" : "s");
	fprintf(out, "build: %s, flags %s, revision %s\ncpu: ", lode_build_compiler,
	        lode_build_flags, lode_build_revision);
	print_cpu(out);
	fprintf(out, "\nindex: %" PRIu64 " documents, %.2f MB, %" PRIu32
	        " segment%s\n\n", info.documents, (double)info.index_bytes / 1e6,
	        info.segments, info.segments == 1 ? "" : "s");
	/* Runs over the time spent in them: under load, a thread's rate. */
	fprintf(out, "%-16s %7s %9s %10s %10s %10s %10s %10s\n", "category",
	        "queries", "med.count", "p50 us", "p95 us", "p99 us", "max us",
	        b->opt.threads == 1 ? "QPS" : "QPS/thread");
	for (size_t i = 0; i <= b->nqueries; i++) {
		const char *cat = i < b->nqueries ? b->queries[i].category : NULL;
		size_t j;
		/* Each category once, in order of first appearance. */
		for (j = 0; cat && j < i; j++)
			if (strcmp(b->queries[j].category, cat) == 0)
				break;
		if (cat && j < i)
			continue;
		if (summarise(b, cat, &row) != LODE_OK)
			return;
		fprintf(out, "%-16s %7zu %9" PRIu64 " %10.1f %10.1f %10.1f %10.1f "
		        "%10.0f\n", row.category, row.queries, row.median_count,
		        (double)row.p50 / 1e3, (double)row.p95 / 1e3,
		        (double)row.p99 / 1e3, (double)row.max / 1e3, row.qps);
	}
	fprintf(out, "\nthroughput: %.0f queries/s (%" PRIu64 " runs in %.2f s on "
	        "%u thread%s)\n", (double)b->runs / b->wall_seconds, b->runs,
	        b->wall_seconds, b->opt.threads, b->opt.threads == 1 ? "" : "s");
}

void lode_bench_free(lode_bench *b)
{
	for (size_t i = 0; i < b->nqueries; i++) {
		lode_free(b->queries[i].category);
		lode_free(b->queries[i].text);
		lode_free(b->queries[i].samples);
	}
	lode_free(b->queries);
	lode_free(b->path);
	memset(b, 0, sizeof(*b));
}
