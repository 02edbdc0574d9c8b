/*
 * test_bench.c -- the query benchmark (bench/bench.h): reading query files,
 * the answers it times (against lode_count, lode_match and lode_search on
 * the same index), errors naming the file and line, and its JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench.h"
#include "json.h"
#include "lode.h"
#include "support.h"

static const char *const doc_names[] = {"a.txt", "b.txt", "c.txt", "d.txt"};
static const char *const doc_texts[] = {
	"oil prices rose in tehran as the council met",
	"the council of ministers cut oil output",
	"wheat and corn prices fell",
	"oil oil oil: prices, prices",
};

struct fixture {
	char *root;
	char *queries; /* path of the query file the test writes */
	lode_index *ix;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *docs, *index;
	const char *dirs[1];
	lode_build_options opt = {.threads = 1};
	lode_error err;

	assert_non_null(f);
	f->root = test_tmpdir("bench");
	docs = test_asprintf("%s/docs", f->root);
	index = test_asprintf("%s/index", f->root);
	for (size_t i = 0; i < 4; i++)
		test_write_file(docs, doc_names[i], doc_texts[i],
		                strlen(doc_texts[i]));
	dirs[0] = docs;
	assert_int_equal(lode_build(index, dirs, 1, &opt, NULL, &err), LODE_OK);
	assert_int_equal(lode_index_open(index, &f->ix, &err), LODE_OK);
	f->queries = test_asprintf("%s/queries.tsv", f->root);
	free(docs);
	free(index);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	lode_index_close(f->ix);
	test_rmtree(f->root);
	free(f->root);
	free(f->queries);
	free(f);
	return 0;
}

static void write_queries(const struct fixture *f, const char *text)
{
	test_write_whole(f->queries, text, strlen(text));
}

/* A byte order mark, comments, lines of white space, CRLF endings and
 * queries with and without a category. */
static void load_reads_categories_and_skips_blank_lines(void **state)
{
	static const struct {
		const char *category, *text;
		size_t line;
	} want[] = {
		{"term", "oil", 1},
		{"term", "council", 5},
		{LODE_BENCH_NO_CATEGORY, "\"oil prices\"", 6},
		{"and", "oil AND prices", 8},
		{LODE_BENCH_NO_CATEGORY, "wheat", 9},
	};
	struct fixture *f = *state;
	lode_bench b;
	lode_error err;

	write_queries(f, "\xef\xbb\xbfterm\toil\n# a comment\n   \n\t \n"
	                 "term\tcouncil\r\n\"oil prices\"\n\nand\toil AND prices\n"
	                 "\twheat\n");
	assert_int_equal(lode_bench_load(&b, f->queries, &err), LODE_OK);
	assert_int_equal(b.nqueries, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < b.nqueries; i++) {
		assert_string_equal(b.queries[i].category, want[i].category);
		assert_string_equal(b.queries[i].text, want[i].text);
		assert_int_equal(b.queries[i].line, want[i].line);
	}
	lode_bench_free(&b);
}

/* A category without a query, a file without queries, a missing file and
 * a query that does not parse: errors that say where. */
static void errors_name_the_file_and_line(void **state)
{
	struct fixture *f = *state;
	lode_bench_options opt = {LODE_BENCH_ALL, 10, 2, 1};
	lode_bench b;
	lode_error err;
	char *want;

	write_queries(f, "oil\n# x\nterm\t  \n");
	assert_int_equal(lode_bench_load(&b, f->queries, &err), LODE_EINVAL);
	want = test_asprintf("%s:3: category 'term' has no query", f->queries);
	assert_string_equal(err.message, want);
	free(want);

	write_queries(f, "# only a comment\n\n");
	assert_int_equal(lode_bench_load(&b, f->queries, &err), LODE_EINVAL);
	assert_non_null(strstr(err.message, "no queries"));

	assert_int_not_equal(lode_bench_load(&b, "/nonexistent/q.tsv", &err),
	                     LODE_OK);
	assert_non_null(strstr(err.message, "/nonexistent/q.tsv"));

	write_queries(f, "# header\noil\n\n(oil OR\n");
	assert_int_equal(lode_bench_load(&b, f->queries, &err), LODE_OK);
	assert_int_not_equal(lode_bench_run(&b, f->ix, &opt, &err), LODE_OK);
	want = test_asprintf("%s:4: ", f->queries);
	assert_true(strncmp(err.message, want, strlen(want)) == 0);
	free(want);
	lode_bench_free(&b);
}

struct ids {
	uint64_t count, hash;
};

/* The benchmark's answer hash: FNV-1a over the ids, in order. */
static void add_id(struct ids *a, uint32_t doc)
{
	a->count++;
	a->hash = (a->hash ^ doc) * 0x100000001b3ULL;
}

static int on_doc(void *ctx, uint32_t doc)
{
	add_id(ctx, doc);
	return 0;
}

/* In every mode, on one thread and three, each query's answer is what the
 * library gives for it, and every query has repeat * threads samples. */
static void answers_are_the_library_answers(void **state)
{
	static const char *const texts[] = {
		"oil", "prices", "\"oil prices\"", "oil AND council",
		"wheat OR tehran", "oil NOT council", "zebra",
	};
	static const enum lode_bench_mode modes[] = {
		LODE_BENCH_COUNT, LODE_BENCH_ALL, LODE_BENCH_TOP,
	};
	struct fixture *f = *state;
	test_buf file = {0};
	lode_error err;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		test_buf_adds(&file, texts[i]);
		test_buf_adds(&file, "\n");
	}
	write_queries(f, file.p);
	for (size_t m = 0; m < 3; m++) {
		for (unsigned threads = 1; threads <= 3; threads += 2) {
			lode_bench_options opt = {modes[m], 2, 3, threads};
			lode_bench b;
			assert_int_equal(lode_bench_load(&b, f->queries, &err), LODE_OK);
			assert_int_equal(lode_bench_run(&b, f->ix, &opt, &err), LODE_OK);
			assert_int_equal(b.runs, b.nqueries * 3 * threads);
			for (size_t i = 0; i < b.nqueries; i++) {
				const struct lode_bench_query *q = &b.queries[i];
				struct ids want = {0, 0xcbf29ce484222325ULL};
				lode_query *query;
				lode_hit hits[2];
				size_t n;
				assert_int_equal(lode_query_parse(q->text, strlen(q->text),
				                                  &query, &err), LODE_OK);
				if (modes[m] == LODE_BENCH_TOP) {
					assert_int_equal(lode_search(f->ix, query, 2, hits, &n,
					                             NULL, &err), LODE_OK);
					for (size_t h = 0; h < n; h++)
						add_id(&want, hits[h].doc);
				} else {
					assert_int_equal(lode_match(f->ix, query, on_doc, &want,
					                            &err), LODE_OK);
				}
				lode_query_free(query);
				assert_int_equal(q->count, want.count);
				if (modes[m] != LODE_BENCH_COUNT)
					assert_true(q->hash == want.hash);
				assert_int_equal(q->nsamples, 3 * threads);
				assert_true(q->min_ns <= q->median_ns);
			}
			lode_bench_free(&b);
		}
	}
	test_buf_release(&file);
}

/* The JSON report is UTF-8 whatever the file's bytes, names the mode as
 * --mode does (top2), and holds one line per query and a summary. */
static void json_report_is_utf8(void **state)
{
	struct fixture *f = *state;
	lode_bench_options opt = {LODE_BENCH_TOP, 2, 1, 1};
	lode_bench b;
	lode_error err;
	char *out, *path = test_asprintf("%s/report.json", f->root);
	size_t len, lines = 0;
	FILE *fp;

	write_queries(f, "cat\xff\toil\nq\"uo\\te\t\"oil prices\"\n");
	assert_int_equal(lode_bench_load(&b, f->queries, &err), LODE_OK);
	assert_int_equal(lode_bench_run(&b, f->ix, &opt, &err), LODE_OK);
	fp = fopen(path, "w");
	assert_non_null(fp);
	lode_bench_report(&b, f->ix, fp, 1);
	fclose(fp);
	out = test_read_file(path, &len);
	assert_non_null(out);
	assert_null(strchr(out, '\xff'));
	assert_non_null(strstr(out, "\"category\":\"cat\\ufffd\""));
	assert_non_null(strstr(out, "\"category\":\"q\\\"uo\\\\te\""));
	assert_non_null(strstr(out, "\"query\":\"\\\"oil prices\\\"\""));
	assert_non_null(strstr(out, "\"mode\":\"top2\""));
	for (size_t i = 0; i < len; i++)
		lines += out[i] == '\n';
	assert_int_equal(lines, 3);
	free(out);
	free(path);
	lode_bench_free(&b);
}

/* The table and the JSON summary name each mode as --mode does. */
static void reports_name_every_mode(void **state)
{
	static const struct {
		enum lode_bench_mode mode;
		const char *table, *json;
	} cases[] = {
		{LODE_BENCH_COUNT, "lode bench: mode count", "\"mode\":\"count\""},
		{LODE_BENCH_ALL, "lode bench: mode all", "\"mode\":\"all\""},
		{LODE_BENCH_TOP, "lode bench: mode top7", "\"mode\":\"top7\""},
	};
	struct fixture *f = *state;
	char *path = test_asprintf("%s/report.txt", f->root);

	write_queries(f, "oil\n");
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (int json = 0; json <= 1; json++) {
			lode_bench_options opt = {cases[c].mode, 7, 1, 1};
			lode_bench b;
			lode_error err;
			size_t len;
			char *out;
			FILE *fp;
			assert_int_equal(lode_bench_load(&b, f->queries, &err), LODE_OK);
			assert_int_equal(lode_bench_run(&b, f->ix, &opt, &err), LODE_OK);
			assert_non_null(fp = fopen(path, "w"));
			lode_bench_report(&b, f->ix, fp, json);
			fclose(fp);
			out = test_read_file(path, &len);
			assert_non_null(out);
			assert_non_null(strstr(out, json ? cases[c].json
			                                 : cases[c].table));
			free(out);
			lode_bench_free(&b);
		}
	}
	free(path);
}

/* JSON numbers (search's scores) read back as the very double printed, in
 * as few digits as that takes. */
static void json_numbers_read_back_exactly(void **state)
{
	static const struct {
		double v;
		const char *want; /* NULL: any digits that read back */
	} cases[] = {
		{0.1, "0.1"}, {0, "0"}, {13.755, "13.755"}, {1e-300, "1e-300"},
		{1.0 / 3, NULL}, {0.17674339799037966, "0.17674339799037966"},
		{2.5e15 + 0.5, NULL}, {-7.25, "-7.25"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		assert_non_null(f);
		lode_json_number(f, cases[i].v);
		fclose(f);
		assert_true(strtod(buf, NULL) == cases[i].v);
		if (cases[i].want)
			assert_string_equal(buf, cases[i].want);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(load_reads_categories_and_skips_blank_lines),
		cmocka_unit_test(errors_name_the_file_and_line),
		cmocka_unit_test(answers_are_the_library_answers),
		cmocka_unit_test(json_report_is_utf8),
		cmocka_unit_test(reports_name_every_mode),
		cmocka_unit_test(json_numbers_read_back_exactly),
	};

	return cmocka_run_group_tests_name("bench", tests, setup, teardown);
}
