/*
 * fuzz_query.c -- fuzz target: the query parsers and the query printer.
 *
 * The bytes are a query, parsed twice: by lode_query_parse (the boolean
 * language) and by lode_query_parse_text (free text).  Each must succeed,
 * or fail with LODE_EQUERY or LODE_ELIMIT and a "query error at column N:
 * ..." message whose column lies inside the query.  A tree must keep the
 * shape query.h promises: for free text, one term or an OR of distinct
 * terms whose boosts count the words of the text; lode_qnode_exact_and_stem
 * must turn it into an OR of each term quoted then bare.
 * lode_qnode_format must print every tree whole into a buffer of the size
 * it asks for, and as a NUL-terminated prefix into any shorter one.  Then
 * each parse runs again with the allocator failing after a number of
 * allocations taken from the input: that must give LODE_ENOMEM or the same
 * tree, and leak nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fuzz.h"
#include "lode.h"
#include "query.h"
#include "tokenizer.h"

const char fuzz_target_name[] = "query";

/* FNV-1a of the input: picks buffer sizes and the failing allocation. */
static uint64_t hash(const uint8_t *data, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 0x100000001b3ULL;
	return h;
}

/* Check a one-term-or-more PHRASE leaf. */
static void check_leaf(const struct lode_qnode *node)
{
	FUZZ_CHECK(node->nchild == 0 && node->nterms >= 1 && node->boost > 0);
	for (size_t i = 0; i < node->nterms; i++) {
		FUZZ_CHECK(node->term_len[i] >= 1 &&
		           node->term_len[i] <= LODE_MAX_TOKEN_BYTES);
		FUZZ_CHECK(strlen(node->terms[i]) == node->term_len[i]);
	}
}

/* Check the tree below node (query.h's invariants); returns its terms. */
static size_t check_tree(const struct lode_qnode *node)
{
	size_t terms = 0;

	FUZZ_CHECK(node && node->column >= 1);
	switch (node->kind) {
	case LODE_Q_PHRASE:
		check_leaf(node);
		FUZZ_CHECK(node->boost == 1.0);
		return node->nterms;
	case LODE_Q_AND:
	case LODE_Q_OR:
		FUZZ_CHECK(node->nchild >= 2 && node->nterms == 0);
		for (size_t i = 0; i < node->nchild; i++)
			FUZZ_CHECK(node->child[i]->kind != node->kind);
		break;
	case LODE_Q_ANDNOT:
		FUZZ_CHECK(node->nchild == 2 && node->nterms == 0);
		break;
	case LODE_Q_NOT:
		FUZZ_CHECK(node->nchild == 1 && node->nterms == 0);
		break;
	default:
		abort();
	}
	for (size_t i = 0; i < node->nchild; i++)
		terms += check_tree(node->child[i]);
	return terms;
}

/* The words of a free-text tree: one term (*one, which must live as long
 * as *words), or an OR of them. */
static void text_words(const struct lode_qnode *root,
                       const struct lode_qnode **one,
                       const struct lode_qnode *const **words, size_t *n)
{
	*one = root;
	if (root->kind == LODE_Q_OR) {
		*words = (const struct lode_qnode *const *)root->child;
		*n = root->nchild;
	} else {
		*words = one;
		*n = 1;
	}
}

static int count_token(void *ctx, const char *term, size_t term_len,
                       uint32_t position, size_t start, size_t end)
{
	(void)term;
	(void)term_len;
	(void)position;
	(void)start;
	(void)end;
	++*(size_t *)ctx;
	return 0;
}

/* A free-text tree: distinct one-term leaves whose boosts count the text's
 * tokens. */
static void check_text_tree(const struct lode_qnode *root, const char *text,
                            size_t size)
{
	const struct lode_qnode *one, *const *words;
	size_t n, tokens = 0;
	double boosts = 0;

	FUZZ_CHECK(root->kind == LODE_Q_PHRASE ||
	           (root->kind == LODE_Q_OR && root->nchild >= 2));
	text_words(root, &one, &words, &n);
	for (size_t i = 0; i < n; i++) {
		const struct lode_qnode *w = words[i];
		FUZZ_CHECK(w->kind == LODE_Q_PHRASE && w->nterms == 1);
		check_leaf(w);
		boosts += w->boost;
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(words[j]->term_len[0] != w->term_len[0] ||
			           memcmp(words[j]->terms[0], w->terms[0],
			                  w->term_len[0]) != 0);
	}
	lode_tokenize(text, size, count_token, &tokens);
	FUZZ_CHECK(boosts == (double)tokens);
}

/* lode_qnode_exact_and_stem: each word of root quoted, then bare. */
static void check_exact_and_stem(const struct lode_qnode *root,
                                 const struct lode_qnode *pair)
{
	const struct lode_qnode *one, *const *words;
	size_t n;

	text_words(root, &one, &words, &n);
	FUZZ_CHECK(pair->kind == LODE_Q_OR && pair->nchild == 2 * n);
	for (size_t i = 0; i < 2 * n; i++) {
		const struct lode_qnode *c = pair->child[i];
		const struct lode_qnode *w = words[i / 2];
		FUZZ_CHECK(c->kind == LODE_Q_PHRASE && c->nterms == 1);
		FUZZ_CHECK(c->quoted == (i % 2 == 0) && c->boost == w->boost);
		FUZZ_CHECK(c->term_len[0] == w->term_len[0] &&
		           strcmp(c->terms[0], w->terms[0]) == 0);
	}
}

/* The whole S-expression of root (malloc'd), after checking that every
 * buffer size gives its prefix. */
static char *format(const struct lode_qnode *root, uint64_t h)
{
	size_t need = lode_qnode_format(root, NULL, 0), cap, n;
	char small[16];
	char *buf = malloc(need + 1);

	FUZZ_CHECK(buf);
	FUZZ_CHECK(lode_qnode_format(root, buf, need + 1) == need);
	FUZZ_CHECK(strlen(buf) == need);
	cap = 1 + (size_t)(h % sizeof(small));
	FUZZ_CHECK(lode_qnode_format(root, small, cap) == need);
	n = need < cap - 1 ? need : cap - 1;
	FUZZ_CHECK(strlen(small) == n && memcmp(small, buf, n) == 0);
	return buf;
}

/* A failed parse: the code, and the column in the message. */
static void check_error(int rc, const lode_error *err, size_t size)
{
	static const char prefix[] = "query error at column ";
	unsigned long column;
	char *end;

	FUZZ_CHECK(rc == LODE_EQUERY || rc == LODE_ELIMIT);
	FUZZ_CHECK(err->code == rc);
	FUZZ_CHECK(strncmp(err->message, prefix, sizeof(prefix) - 1) == 0);
	column = strtoul(err->message + sizeof(prefix) - 1, &end, 10);
	FUZZ_CHECK(*end == ':' && column >= 1 && column <= size + 1);
}

typedef int parse_fn(const char *text, size_t len, lode_query **out,
                     lode_error *err);

/* Parse with parse; check, print, and parse again out of memory. */
static void parse_and_check(parse_fn *parse, const char *text, size_t size,
                            uint64_t h)
{
	struct lode_qnode *pair;
	lode_query *query;
	lode_error err;
	char *printed, *again;
	int rc;

	rc = parse(text, size, &query, &err);
	if (rc) {
		FUZZ_CHECK(!query);
		check_error(rc, &err, size);
		return;
	}
	if (parse == lode_query_parse_text) {
		check_text_tree(query->root, text, size);
		FUZZ_CHECK(lode_qnode_exact_and_stem(query->root, &pair) ==
		           LODE_OK);
		check_exact_and_stem(query->root, pair);
		free(format(pair, h));
		lode_qnode_free(pair);
		/* Out of memory on one of its allocations. */
		lode_alloc_fail_after((long)(h % (4 * size + 8)));
		rc = lode_qnode_exact_and_stem(query->root, &pair);
		lode_alloc_fail_after(-1);
		FUZZ_CHECK(rc == LODE_OK || (rc == LODE_ENOMEM && !pair));
		lode_qnode_free(pair);
	} else {
		FUZZ_CHECK(check_tree(query->root) <= LODE_QUERY_MAX_TERMS);
	}
	printed = format(query->root, h);
	lode_query_free(query);

	/* Allocations grow with the query's length: fail one of them. */
	lode_alloc_fail_after((long)(h % (2 * size + 8)));
	rc = parse(text, size, &query, &err);
	lode_alloc_fail_after(-1);
	if (rc) {
		FUZZ_CHECK(rc == LODE_ENOMEM && err.code == LODE_ENOMEM &&
		           !query);
	} else {
		again = format(query->root, h);
		FUZZ_CHECK(strcmp(printed, again) == 0);
		free(again);
		lode_query_free(query);
	}
	free(printed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	uint64_t h = hash(data, size);

	parse_and_check(lode_query_parse, text, size, h);
	parse_and_check(lode_query_parse_text, text, size, h);
	return 0;
}
