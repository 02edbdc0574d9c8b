/*
 * quality.h -- ranking quality against relevance judgments (`lode eval`).
 *
 * Calls:  lode_qrels_load  (lode_evaluate | lode_metrics_compute)*
 *         lode_qrels_free
 *
 * Judgments come in TREC qrels format, one per line: "qid iter docname
 * relevance".  Metrics follow trec_eval's definitions, cut at the depths
 * lode eval reports:
 *
 *   AP@100     sum over relevant documents ranked in the top 100 of the
 *              precision at their rank, divided by the number of relevant
 *              documents (R); MAP is its mean over queries
 *   nDCG@10    sum over ranks i <= 10 of gain_i / log2(i + 1), divided by
 *              the same sum for the ideal ranking; gain = relevance grade
 *   P@10       relevant documents in the top 10, divided by 10
 *   Recall@100 relevant documents in the top 100, divided by R
 */
#ifndef LODE_BENCH_QUALITY_H
#define LODE_BENCH_QUALITY_H

#include <stddef.h>
#include <stdio.h>

#include "lode.h"

/* Ranks retrieved per query. */
#define LODE_EVAL_DEPTH 100

typedef struct lode_judgment {
	char *qid;
	char *doc;
	int grade; /* relevance; > 0 is relevant */
} lode_judgment;

typedef struct lode_qrels {
	lode_judgment *j; /* sorted by qid, then doc */
	size_t n;
} lode_qrels;

int lode_qrels_load(lode_qrels *q, const char *path, lode_error *err);
void lode_qrels_free(lode_qrels *q);

/* Relevance grade of doc for qid; 0 if unjudged. */
int lode_qrels_grade(const lode_qrels *q, const char *qid, const char *doc);

/* Grades of qid's relevant documents into grades (room for cap); returns how
 * many relevant documents qid has (possibly more than cap). */
size_t lode_qrels_relevant(const lode_qrels *q, const char *qid, int *grades,
                           size_t cap);

typedef struct lode_metrics {
	double ap100, ndcg10, p10, recall100;
} lode_metrics;

/*
 * Metrics of one ranking: ranked[i] is the grade of the document at rank
 * i + 1 (n of them), relevant[] the grades of all nrel relevant documents
 * (nrel > 0; any order).
 */
void lode_metrics_compute(const int *ranked, size_t n, const int *relevant,
                          size_t nrel, lode_metrics *out);

typedef struct lode_eval_summary {
	size_t queries;    /* queries run */
	size_t judged;     /* of them, with at least one relevant document */
	lode_metrics mean; /* averaged over the judged queries */
} lode_eval_summary;

/*
 * Run every "qid<TAB>text" line of queries_path as free text against index,
 * take the top LODE_EVAL_DEPTH, write a TREC run ("qid Q0 docname rank score
 * lode"; docname = the file name without directory or extension) to run if
 * not NULL, and average the metrics over the judged queries.  A bad line
 * or a query that does not parse fails naming the file and line; no judged
 * query at all is LODE_EINVAL, as there is nothing to average.
 */
typedef struct lode_eval_options {
	int exact;     /* words match exactly even in a stemmed index */
	double k1, b;  /* BM25 parameters (LODE_BM25_K1 and LODE_BM25_B for the
	                  defaults); out of range: LODE_EINVAL */
	int dfr;       /* rank by DFR In_expB2 with c instead (LODE_DFR_C for
	                  the default; out of range: LODE_EINVAL) */
	double c;
} lode_eval_options;

int lode_evaluate(const lode_index *index, const char *queries_path,
                  const lode_qrels *qrels, const lode_eval_options *opt,
                  FILE *run, lode_eval_summary *sum, lode_error *err);

#endif
