/* quality.c -- qrels and trec_eval-style metrics. */
#include "quality.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

static int compare_judgment(const void *a, const void *b)
{
	const lode_judgment *x = a, *y = b;
	int c = strcmp(x->qid, y->qid);

	return c ? c : strcmp(x->doc, y->doc);
}

int lode_qrels_load(lode_qrels *q, const char *path, lode_error *err)
{
	FILE *f = fopen(path, "r");
	char line[4096], qid[256], iter[256], doc[1024];
	size_t cap = 0, lineno = 0;
	int grade, rc = LODE_OK;

	memset(q, 0, sizeof(*q));
	if (!f)
		return lode_fail_errno(err, "%s", path);
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (sscanf(line, "%255s %255s %1023s %d", qid, iter, doc, &grade) != 4) {
			rc = lode_fail(err, LODE_EINVAL, "%s:%zu: expected 'qid iter "
			               "docname relevance'", path, lineno);
			break;
		}
		if (lode_grow(&q->j, &cap, q->n + 1, sizeof(*q->j)) ||
		    !(q->j[q->n].qid = lode_strdup(qid)) ||
		    !(q->j[q->n].doc = lode_strdup(doc))) {
			if (q->n < cap && q->j)
				lode_free(q->j[q->n].qid);
			rc = lode_fail(err, LODE_ENOMEM, "out of memory");
			break;
		}
		q->j[q->n++].grade = grade;
	}
	fclose(f);
	if (rc) {
		lode_qrels_free(q);
		return rc;
	}
	if (q->n > 1)
		qsort(q->j, q->n, sizeof(*q->j), compare_judgment);
	return LODE_OK;
}

void lode_qrels_free(lode_qrels *q)
{
	for (size_t i = 0; i < q->n; i++) {
		lode_free(q->j[i].qid);
		lode_free(q->j[i].doc);
	}
	lode_free(q->j);
	memset(q, 0, sizeof(*q));
}

/* First judgment of qid, or n. */
static size_t first_of(const lode_qrels *q, const char *qid)
{
	size_t lo = 0, hi = q->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(q->j[mid].qid, qid) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int lode_qrels_grade(const lode_qrels *q, const char *qid, const char *doc)
{
	lode_judgment key = {(char *)(uintptr_t)qid, (char *)(uintptr_t)doc, 0};
	const lode_judgment *hit =
		q->n ? bsearch(&key, q->j, q->n, sizeof(*q->j), compare_judgment)
		     : NULL;

	return hit ? hit->grade : 0;
}

size_t lode_qrels_relevant(const lode_qrels *q, const char *qid, int *grades,
                           size_t cap)
{
	size_t n = 0;

	for (size_t i = first_of(q, qid); i < q->n && !strcmp(q->j[i].qid, qid);
	     i++) {
		if (q->j[i].grade <= 0)
			continue;
		if (n < cap)
			grades[n] = q->j[i].grade;
		n++;
	}
	return n;
}

void lode_metrics_compute(const int *ranked, size_t n, const int *relevant,
                          size_t nrel, lode_metrics *out)
{
	int ideal[10];
	size_t nideal, found = 0;
	double ap = 0, dcg = 0, idcg = 0;

	memset(out, 0, sizeof(*out));
	if (nrel == 0)
		return;
	for (size_t i = 0; i < n && i < 100; i++) {
		if (ranked[i] <= 0)
			continue;
		found++;
		ap += (double)found / (double)(i + 1);
		if (i < 10) {
			out->p10 += 0.1;
			dcg += ranked[i] / log2((double)i + 2);
		}
	}
	out->ap100 = ap / (double)nrel;
	out->recall100 = (double)found / (double)nrel;
	/* The ideal ranking's first ten: the highest grades, by insertion. */
	nideal = 0;
	for (size_t r = 0; r < nrel; r++) {
		size_t i = nideal < 10 ? nideal++ : 10;
		while (i > 0 && ideal[i - 1] < relevant[r]) {
			if (i < 10)
				ideal[i] = ideal[i - 1];
			i--;
		}
		if (i < 10)
			ideal[i] = relevant[r];
	}
	for (size_t i = 0; i < nideal; i++)
		idcg += ideal[i] / log2((double)i + 2);
	out->ndcg10 = idcg > 0 ? dcg / idcg : 0;
}

/* The document's name for run files: its path's last component without
 * the extension, into buf (cap bytes). */
static void doc_name(const lode_doc_info *info, char *buf, size_t cap)
{
	const char *p = info->path, *end = p + info->path_len, *base = p, *dot;
	size_t n;

	for (const char *c = p; c < end; c++)
		if (*c == '/')
			base = c + 1;
	dot = end;
	for (const char *c = base; c < end; c++)
		if (*c == '.')
			dot = c;
	if (dot == base)
		dot = end;
	n = (size_t)(dot - base) < cap - 1 ? (size_t)(dot - base) : cap - 1;
	memcpy(buf, base, n);
	buf[n] = '\0';
}

int lode_evaluate(const lode_index *ix, const char *queries_path,
                  const lode_qrels *qrels, const lode_eval_options *opt,
                  FILE *run, lode_eval_summary *sum, lode_error *err)
{
	FILE *f = fopen(queries_path, "r");
	lode_doc_info info = {0};
	lode_hit hits[LODE_EVAL_DEPTH];
	int ranked[LODE_EVAL_DEPTH];
	int *relevant = NULL;
	size_t relevant_cap = 0;
	char *line = NULL;
	size_t line_cap = 0, lineno = 0;
	ssize_t len;
	int rc = LODE_OK;

	memset(sum, 0, sizeof(*sum));
	if (!f)
		return lode_fail_errno(err, "%s", queries_path);
	while (rc == LODE_OK && (len = getline(&line, &line_cap, f)) >= 0) {
		char *tab, name[1024];
		size_t nhits = 0, nrel;
		lode_query *q;
		lode_metrics m;
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		tab = strchr(line, '\t');
		if (!tab) {
			rc = lode_fail(err, LODE_EINVAL, "%s:%zu: expected "
			               "'qid<TAB>text', got '%.40s'", queries_path,
			               lineno, line);
			break;
		}
		*tab = '\0';
		sum->queries++;
		if ((rc = lode_query_parse_text(tab + 1, strlen(tab + 1), &q,
		                                err))) {
			char why[sizeof(err->message)];
			memcpy(why, err->message, sizeof(why));
			lode_fail(err, rc, "%s:%zu: %s", queries_path, lineno, why);
			break;
		}
		lode_query_set_exact(q, opt->exact);
		rc = opt->dfr ? lode_query_set_dfr(q, opt->c, err)
		              : lode_query_set_bm25(q, opt->k1, opt->b, err);
		if (rc == LODE_OK)
			rc = lode_search(ix, q, LODE_EVAL_DEPTH, hits, &nhits, NULL,
			                 err);
		lode_query_free(q);
		for (size_t i = 0; rc == LODE_OK && i < nhits; i++) {
			if ((rc = lode_doc(ix, hits[i].doc, &info, err)))
				break;
			doc_name(&info, name, sizeof(name));
			ranked[i] = lode_qrels_grade(qrels, line, name);
			if (run)
				fprintf(run, "%s Q0 %s %zu %.6f lode\n", line, name, i + 1,
				        hits[i].score);
		}
		if (rc)
			break;
		nrel = lode_qrels_relevant(qrels, line, relevant, relevant_cap);
		if (nrel > relevant_cap) {
			if (lode_grow(&relevant, &relevant_cap, nrel, sizeof(int))) {
				rc = lode_fail(err, LODE_ENOMEM, "out of memory");
				break;
			}
			lode_qrels_relevant(qrels, line, relevant, relevant_cap);
		}
		if (nrel == 0)
			continue;
		lode_metrics_compute(ranked, nhits, relevant, nrel, &m);
		sum->judged++;
		sum->mean.ap100 += m.ap100;
		sum->mean.ndcg10 += m.ndcg10;
		sum->mean.p10 += m.p10;
		sum->mean.recall100 += m.recall100;
	}
	if (rc == LODE_OK && ferror(f))
		rc = lode_fail_errno(err, "%s: read", queries_path);
	if (rc == LODE_OK && sum->judged == 0)
		rc = lode_fail(err, LODE_EINVAL, "%s: no query has a relevant "
		               "document in the judgments", queries_path);
	if (sum->judged) {
		sum->mean.ap100 /= (double)sum->judged;
		sum->mean.ndcg10 /= (double)sum->judged;
		sum->mean.p10 /= (double)sum->judged;
		sum->mean.recall100 /= (double)sum->judged;
	}
	free(line);
	lode_free(relevant);
	lode_doc_info_release(&info);
	fclose(f);
	return rc;
}
