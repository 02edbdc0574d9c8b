/*
 * test_quality.c -- the ranking metrics of lode eval against values worked
 * out by hand, and qrels parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "quality.h"
#include "support.h"

#define EPS 1e-9

/* Ranking R N R N N ... with 3 relevant documents in all (one never found).
 * AP@100 = (1/1 + 2/3) / 3 = 0.5555...
 * P@10 = 2/10; Recall@100 = 2/3.
 * DCG@10 = 1/log2(2) + 1/log2(4) = 1.5; IDCG@10 = 1 + 1/log2(3) + 1/log2(4)
 *        = 2.1309297535714578; nDCG@10 = 0.7039180890341347. */
static void test_binary_example(void **state)
{
	int ranked[12] = {1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	int relevant[3] = {1, 1, 1};
	lode_metrics m;

	(void)state;
	lode_metrics_compute(ranked, 12, relevant, 3, &m);
	assert_true(fabs(m.ap100 - (1.0 + 2.0 / 3.0) / 3.0) < EPS);
	assert_true(fabs(m.p10 - 0.2) < EPS);
	assert_true(fabs(m.recall100 - 2.0 / 3.0) < EPS);
	assert_true(fabs(m.ndcg10 - 0.7039180890341347) < EPS);
}

/* Graded: ranking 1 2 0 with relevant grades {2, 1}.
 * DCG = 1/log2(2) + 2/log2(3) = 2.2618595071429146;
 * IDCG = 2/log2(2) + 1/log2(3) = 2.6309297535714578; nDCG = 0.8597186998.
 * AP = (1/1 + 2/2) / 2 = 1. */
static void test_graded_example(void **state)
{
	int ranked[3] = {1, 2, 0};
	int relevant[2] = {1, 2};
	lode_metrics m;

	(void)state;
	lode_metrics_compute(ranked, 3, relevant, 2, &m);
	assert_true(fabs(m.ndcg10 - 2.2618595071429146 / 2.6309297535714578) < EPS);
	assert_true(fabs(m.ap100 - 1.0) < EPS);
	assert_true(fabs(m.recall100 - 1.0) < EPS);
}

/* A relevant document at rank 101 does not count; none found is all 0. */
static void test_cutoffs_and_empty(void **state)
{
	int ranked[101] = {0};
	int relevant[1] = {1};
	lode_metrics m;

	(void)state;
	ranked[100] = 1;
	lode_metrics_compute(ranked, 101, relevant, 1, &m);
	assert_true(m.ap100 == 0 && m.recall100 == 0 && m.p10 == 0 &&
	            m.ndcg10 == 0);
	ranked[99] = 1;
	lode_metrics_compute(ranked, 101, relevant, 1, &m);
	assert_true(fabs(m.ap100 - 0.01) < EPS);
	assert_true(fabs(m.recall100 - 1.0) < EPS);
	assert_true(m.ndcg10 == 0);
}

/* More than ten relevant documents: the ideal DCG uses the ten best. */
static void test_ideal_takes_best_ten(void **state)
{
	int ranked[10] = {3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
	int relevant[14] = {1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
	lode_metrics m;

	(void)state;
	lode_metrics_compute(ranked, 10, relevant, 14, &m);
	assert_true(fabs(m.ndcg10 - 1.0) < EPS);
	assert_true(fabs(m.p10 - 1.0) < EPS);
}

static void test_qrels_lookup(void **state)
{
	static const char qrels[] = "1 0 017 1\n1 0 abc 2\n\n2 0 017 0\n10 0 x 1\n";
	char *dir = test_tmpdir("qrels"), path[4096];
	int grades[4];
	lode_qrels q;
	lode_error err;

	(void)state;
	test_write_file(dir, "qrels.txt", qrels, strlen(qrels));
	snprintf(path, sizeof(path), "%s/qrels.txt", dir);
	assert_int_equal(lode_qrels_load(&q, path, &err), LODE_OK);
	assert_int_equal(q.n, 4);
	assert_int_equal(lode_qrels_grade(&q, "1", "abc"), 2);
	assert_int_equal(lode_qrels_grade(&q, "1", "zzz"), 0);
	assert_int_equal(lode_qrels_grade(&q, "2", "017"), 0);
	assert_int_equal(lode_qrels_relevant(&q, "1", grades, 4), 2);
	assert_int_equal(lode_qrels_relevant(&q, "2", grades, 4), 0);
	assert_int_equal(lode_qrels_relevant(&q, "10", grades, 4), 1);
	lode_qrels_free(&q);
	/* No judgments at all: nothing is relevant (and no NULL array is
	 * sorted or searched: UBSan). */
	test_write_file(dir, "empty.txt", "", 0);
	snprintf(path, sizeof(path), "%s/empty.txt", dir);
	assert_int_equal(lode_qrels_load(&q, path, &err), LODE_OK);
	assert_int_equal(q.n, 0);
	assert_int_equal(lode_qrels_grade(&q, "1", "abc"), 0);
	assert_int_equal(lode_qrels_relevant(&q, "1", grades, 4), 0);
	lode_qrels_free(&q);
	test_write_file(dir, "bad.txt", "1 0 x\n", 6);
	snprintf(path, sizeof(path), "%s/bad.txt", dir);
	assert_int_equal(lode_qrels_load(&q, path, &err), LODE_EINVAL);
	assert_non_null(strstr(err.message, "bad.txt:1"));
	test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binary_example),
		cmocka_unit_test(test_graded_example),
		cmocka_unit_test(test_cutoffs_and_empty),
		cmocka_unit_test(test_ideal_takes_best_ten),
		cmocka_unit_test(test_qrels_lookup),
	};

	return cmocka_run_group_tests_name("quality", tests, NULL, NULL);
}
