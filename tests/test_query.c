/*
 * test_query.c -- the query parser against the grammar in query.h.
 *
 * Table-driven: queries with the S-expression of their tree, and broken
 * queries with their exact error message, column included.  Every tree a
 * test sees is checked for the invariants query.h promises (arity, total
 * flattening, folded NUL-terminated terms).  Then the limits (nesting, term
 * count), out-of-memory injection on every allocation, and a seeded fuzz that
 * also prints each parsed tree back as a query and parses it again.  Last,
 * the arena the trees live in.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <utf8proc.h>

#include "alloc.h"
#include "query.h"
#include "support.h"

/* Seed of the fuzz; printed with any failing query. */
#define FUZZ_SEED 20240611u
#define FUZZ_ROUNDS 20000

/* ---- helpers ----------------------------------------------------------- */

/* The invariants query.h promises of every tree. */
static void check_tree(const struct lode_qnode *node)
{
	size_t i;

	assert_non_null(node);
	assert_true(node->column >= 1);
	switch (node->kind) {
	case LODE_Q_PHRASE:
		assert_int_equal(node->nchild, 0);
		assert_true(node->nterms >= 1);
		for (i = 0; i < node->nterms; i++) {
			assert_true(node->term_len[i] >= 1);
			assert_int_equal(strlen(node->terms[i]),
			                 node->term_len[i]);
		}
		return;
	case LODE_Q_AND:
	case LODE_Q_OR:
		assert_true(node->nchild >= 2);
		break;
	case LODE_Q_ANDNOT:
		assert_int_equal(node->nchild, 2);
		break;
	case LODE_Q_NOT:
		assert_int_equal(node->nchild, 1);
		break;
	default:
		fail_msg("bad node kind %d", (int)node->kind);
	}
	assert_int_equal(node->nterms, 0);
	for (i = 0; i < node->nchild; i++) {
		/* Flattening is total: no AND under AND, no OR under OR. */
		if (node->kind == LODE_Q_AND || node->kind == LODE_Q_OR)
			assert_int_not_equal(node->child[i]->kind, node->kind);
		check_tree(node->child[i]);
	}
}

/* Parse query (NUL-terminated) and return its S-expression (malloc'd). */
static char *parse_format(const char *query)
{
	struct lode_qnode *root = NULL;
	lode_error err = { 0 };
	size_t need;
	char *out;
	int rc;

	rc = lode_qnode_parse(query, strlen(query), &root, &err);
	if (rc != LODE_OK)
		fail_msg("query <%s>: error %d: %s", query, rc, err.message);
	check_tree(root);
	need = lode_qnode_format(root, NULL, 0);
	out = malloc(need + 1);
	assert_non_null(out);
	assert_int_equal(lode_qnode_format(root, out, need + 1), need);
	assert_int_equal(strlen(out), need);
	lode_qnode_free(root);
	return out;
}

static void expect_tree(const char *query, const char *want)
{
	char *got = parse_format(query);

	if (strcmp(got, want) != 0)
		fail_msg("query <%s>: got %s, want %s", query, got, want);
	free(got);
}

static void expect_error(const char *query, size_t len, int code,
                         const char *want)
{
	struct lode_qnode *root = (struct lode_qnode *)&root;
	lode_error err = { 0 };
	int rc;

	rc = lode_qnode_parse(query, len, &root, &err);
	if (rc != code || err.code != code || strcmp(err.message, want) != 0)
		fail_msg("query <%s>: got %d <%s>, want %d <%s>", query, rc,
		         err.message, code, want);
	assert_null(root);
}

/* A string of n copies of piece, then tail; malloc'd. */
static char *repeat(const char *piece, size_t n, const char *tail)
{
	size_t plen = strlen(piece), tlen = strlen(tail), i;
	char *s = malloc(plen * n + tlen + 1);

	assert_non_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * plen, piece, plen);
	memcpy(s + n * plen, tail, tlen + 1);
	return s;
}

/* ---- trees ------------------------------------------------------------- */

static const struct {
	const char *query;
	const char *tree;
} parses[] = {
	/* terms, case folding, implicit AND */
	{ "iran", "iran" },
	{ "IRAN", "iran" },
	{ "a b", "(AND a b)" },
	{ "a b c", "(AND a b c)" },
	{ "a AND b", "(AND a b)" },
	{ "a AND b AND c", "(AND a b c)" },
	{ "a AND b c", "(AND a b c)" },
	{ "  a   b  ", "(AND a b)" },
	{ "a\tOR\nb", "(OR a b)" },
	{ "a\xc2\xa0" "AND\xc2\xa0" "b", "(AND a b)" },         /* NBSP */
	{ "a\xe3\x80\x80OR\xe3\x80\x80" "b", "(OR a b)" },      /* U+3000 */
	/* precedence: NOT over AND over OR */
	{ "a OR b", "(OR a b)" },
	{ "a OR b OR c", "(OR a b c)" },
	{ "a b OR c", "(OR (AND a b) c)" },
	{ "a OR b c", "(OR a (AND b c))" },
	{ "a OR b AND c", "(OR a (AND b c))" },
	{ "a AND b OR c AND d", "(OR (AND a b) (AND c d))" },
	{ "a NOT b OR c", "(OR (ANDNOT a b) c)" },
	{ "a NOT b c", "(AND (ANDNOT a b) c)" },
	{ "a b NOT c", "(AND a (ANDNOT b c))" },
	{ "(a OR b) c", "(AND (OR a b) c)" },
	{ "(a OR b) (c OR d)", "(AND (OR a b) (OR c d))" },
	/* flattening through parentheses */
	{ "(a AND b) AND c", "(AND a b c)" },
	{ "a AND (b AND c)", "(AND a b c)" },
	{ "(a b) (c d)", "(AND a b c d)" },
	{ "(a OR b) OR (c OR d)", "(OR a b c d)" },
	{ "((a OR b)) OR c", "(OR a b c)" },
	{ "(a (b (c OR d)))", "(AND a b (OR c d))" },
	{ "((((a))))", "a" },
	{ "(a NOT b) NOT c", "(ANDNOT a (OR b c))" },
	/* NOT forms */
	{ "a NOT b", "(ANDNOT a b)" },
	{ "a NOT b NOT c", "(ANDNOT a (OR b c))" },
	{ "a NOT b NOT c NOT d", "(ANDNOT a (OR b c d))" },
	{ "a NOT (b OR c) NOT d", "(ANDNOT a (OR b c d))" },
	{ "NOT a", "(NOT a)" },
	{ "NOT NOT a", "(NOT (NOT a))" },
	{ "NOT a b", "(AND (NOT a) b)" },
	{ "NOT a NOT b", "(ANDNOT (NOT a) b)" },
	{ "a AND NOT b", "(AND a (NOT b))" },
	{ "a OR NOT b", "(OR a (NOT b))" },
	{ "a NOT NOT b", "(ANDNOT a (NOT b))" },
	{ "a NOT (b OR c)", "(ANDNOT a (OR b c))" },
	{ "NOT (a b)", "(NOT (AND a b))" },
	{ "NOT(a)", "(NOT a)" },
	{ "(iran \"supreme national\") OR (a NOT b) OR NOT c",
	  "(OR (AND iran \"supreme national\") (ANDNOT a b) (NOT c))" },
	/* operators are uppercase only; other spellings are words */
	{ "a and b", "(AND a and b)" },
	{ "a or b", "(AND a or b)" },
	{ "not a", "(AND not a)" },
	{ "And Or Not", "(AND and or not)" },
	{ "ANDROID ORE NOTE", "(AND android ore note)" },
	/* delimiters end words without white space */
	{ "a(b)c", "(AND a b c)" },
	{ "(a)OR(b)", "(OR a b)" },
	{ "x\"y z\"w", "(AND x \"y z\" w)" },
	/* phrases */
	{ "\"supreme national\"", "\"supreme national\"" },
	{ "\"Supreme National Security Council\" AND retaliation",
	  "(AND \"supreme national security council\" retaliation)" },
	{ "\"iran\"", "iran" },
	{ "\"  iran  \"", "iran" },
	{ "\"a AND b\"", "\"a and b\"" },
	{ "\"NOT a OR (b)\"", "\"not a or b\"" },
	{ "(iran OR israel) NOT \"ceasefire talks\"",
	  "(ANDNOT (OR iran israel) \"ceasefire talks\")" },
	/* words that tokenize into several terms are phrases */
	{ "Iran's", "\"iran s\"" },
	{ "U.N.", "\"u n\"" },
	{ "Iran's AND U.N.", "(AND \"iran s\" \"u n\")" },
	{ "a-b", "\"a b\"" },
	{ "'a'", "a" },
	{ "don't stop", "(AND \"don t\" stop)" },
	/* curly quotes are not phrase quotes, only separators in words */
	{ "Iran\xe2\x80\x99s", "\"iran s\"" },
	{ "\xe2\x80\x9cSupreme National\xe2\x80\x9d",
	  "(AND supreme national)" },
	/* diacritics, precomposed or not, and other scripts */
	{ "P\xc3\xa9zeshkian", "pezeshkian" },
	{ "Pe\xcc\x81zeshkian", "pezeshkian" },
	{ "na\xc3\xafve OR caf\xc3\xa9", "(OR naive cafe)" },
	{ "\"Caf\xc3\xa9 M\xc3\xbcller\"", "\"cafe muller\"" },
	{ "\xe6\x9d\xb1\xe4\xba\xac OR \xe5\xa4\xa7\xe9\x98\xaa",
	  "(OR \xe6\x9d\xb1\xe4\xba\xac \xe5\xa4\xa7\xe9\x98\xaa)" },
};

static void parses_to_expected_trees(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parses) / sizeof(parses[0]); i++)
		expect_tree(parses[i].query, parses[i].tree);
}

static void nodes_record_their_columns(void **state)
{
	/* é is one column: columns count characters, not bytes. */
	const char *q = "\xc3\xa9 \"ab cd\" NOT x OR NOT y";
	struct lode_qnode *root, *and, *andnot, *not;
	lode_error err;

	(void)state;
	assert_int_equal(lode_qnode_parse(q, strlen(q), &root, &err), LODE_OK);
	/* (OR (AND e (ANDNOT "ab cd" x)) (NOT y)) */
	assert_int_equal(root->kind, LODE_Q_OR);
	assert_int_equal(root->column, 1);
	and = root->child[0];
	assert_int_equal(and->kind, LODE_Q_AND);
	assert_int_equal(and->column, 1);
	assert_int_equal(and->child[0]->column, 1);
	andnot = and->child[1];
	assert_int_equal(andnot->kind, LODE_Q_ANDNOT);
	assert_int_equal(andnot->column, 3);
	assert_int_equal(andnot->child[0]->column, 3);
	assert_int_equal(andnot->child[1]->column, 15);
	not = root->child[1];
	assert_int_equal(not->kind, LODE_Q_NOT);
	assert_int_equal(not->column, 20);
	assert_int_equal(not->child[0]->column, 24);
	lode_qnode_free(root);
}

static void phrase_terms_are_folded_strings(void **state)
{
	const char *q = "\"Supreme  NATIONAL\"";
	struct lode_qnode *root;

	(void)state;
	assert_int_equal(lode_qnode_parse(q, strlen(q), &root, NULL), LODE_OK);
	assert_int_equal(root->kind, LODE_Q_PHRASE);
	assert_int_equal(root->nterms, 2);
	assert_string_equal(root->terms[0], "supreme");
	assert_int_equal(root->term_len[0], 7);
	assert_string_equal(root->terms[1], "national");
	assert_int_equal(root->term_len[1], 8);
	assert_null(root->child);
	lode_qnode_free(root);
}

static void length_bounds_the_text(void **state)
{
	const char unterminated[3] = { 'a', ' ', 'b' };
	struct lode_qnode *root;
	char buf[64];

	(void)state;
	assert_int_equal(lode_qnode_parse("a OR b", 1, &root, NULL), LODE_OK);
	lode_qnode_format(root, buf, sizeof(buf));
	assert_string_equal(buf, "a");
	lode_qnode_free(root);
	assert_int_equal(lode_qnode_parse(unterminated, 3, &root, NULL),
	                 LODE_OK);
	lode_qnode_format(root, buf, sizeof(buf));
	assert_string_equal(buf, "(AND a b)");
	lode_qnode_free(root);
	expect_error(NULL, 0, LODE_EQUERY, "query error at column 1: empty query");
}

/* ---- errors ------------------------------------------------------------ */

static const struct {
	const char *query;
	const char *message;
} errors[] = {
	{ "", "query error at column 1: empty query" },
	{ "   ", "query error at column 4: empty query" },
	/* operators without operands */
	{ "a AND", "query error at column 6: expected a word, phrase or '(' after 'AND'" },
	{ "a AND ", "query error at column 7: expected a word, phrase or '(' after 'AND'" },
	{ "a OR", "query error at column 5: expected a word, phrase or '(' after 'OR'" },
	{ "a NOT", "query error at column 6: expected a word, phrase or '(' after 'NOT'" },
	{ "NOT", "query error at column 4: expected a word, phrase or '(' after 'NOT'" },
	{ "a NOT NOT", "query error at column 10: expected a word, phrase or '(' after 'NOT'" },
	{ "AND a", "query error at column 1: expected a word, phrase or '(' before 'AND'" },
	{ "OR a", "query error at column 1: expected a word, phrase or '(' before 'OR'" },
	{ "(OR a)", "query error at column 2: expected a word, phrase or '(' before 'OR'" },
	{ "a AND OR b", "query error at column 7: expected a word, phrase or '(' after 'AND'" },
	{ "a AND AND b", "query error at column 7: expected a word, phrase or '(' after 'AND'" },
	{ "a OR AND b", "query error at column 6: expected a word, phrase or '(' after 'OR'" },
	{ "a NOT OR b", "query error at column 7: expected a word, phrase or '(' after 'NOT'" },
	{ "a AND )", "query error at column 7: expected a word, phrase or '(' after 'AND'" },
	{ "(a OR)", "query error at column 6: expected a word, phrase or '(' after 'OR'" },
	/* parentheses */
	{ "(a", "query error at column 3: expected ')' to match '(' at column 1" },
	{ "(a OR (b c)", "query error at column 12: expected ')' to match '(' at column 1" },
	{ "((a)", "query error at column 5: expected ')' to match '(' at column 1" },
	{ "a (b (c)", "query error at column 9: expected ')' to match '(' at column 3" },
	{ "(", "query error at column 2: expected a word, phrase or '(' after '('" },
	{ "a)", "query error at column 2: unexpected ')'" },
	{ "a ) b", "query error at column 3: unexpected ')'" },
	{ ")", "query error at column 1: unexpected ')'" },
	{ "(a))", "query error at column 4: unexpected ')'" },
	{ "()", "query error at column 2: empty parentheses" },
	{ "( )", "query error at column 3: empty parentheses" },
	{ "a ()", "query error at column 4: empty parentheses" },
	/* phrases */
	{ "\"abc", "query error at column 1: unterminated phrase" },
	{ "a \"b c", "query error at column 3: unterminated phrase" },
	{ "\"a\" \"", "query error at column 5: unterminated phrase" },
	{ "\"\"", "query error at column 1: empty phrase" },
	{ "a \"  \"", "query error at column 3: empty phrase" },
	{ "\"- &\"", "query error at column 1: \"- &\" has no searchable characters" },
	/* words with no token */
	{ "-", "query error at column 1: '-' has no searchable characters" },
	{ "a & b", "query error at column 3: '&' has no searchable characters" },
	{ "a AND --", "query error at column 7: '--' has no searchable characters" },
	{ "\xe2\x80\x94", "query error at column 1: '\xe2\x80\x94' has no searchable characters" },
	{ "\x01", "query error at column 1: '?' has no searchable characters" },
	{ "------------------------------------------------------------",
	  "query error at column 1: '----------------------------------------...' has no searchable characters" },
	/* columns count characters, not bytes */
	{ "\xc3\xa9 AND )", "query error at column 7: expected a word, phrase or '(' after 'AND'" },
	{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e AND", "query error at column 8: expected a word, phrase or '(' after 'AND'" },
	{ "P\xc3\xa9zeshkian )", "query error at column 12: unexpected ')'" },
	{ "Pe\xcc\x81zeshkian )", "query error at column 13: unexpected ')'" },
	{ "\xe2\x80\x9cquoted\xe2\x80\x9d &", "query error at column 10: '&' has no searchable characters" },
	{ "na\xc3\xafve \"caf\xc3\xa9", "query error at column 7: unterminated phrase" },
	{ "\"\xc3\xa9\xc3\xa9\" (", "query error at column 7: expected a word, phrase or '(' after '('" },
	/* invalid UTF-8: each bad byte is one character */
	{ "\xff\xfe", "query error at column 1: '?" "?' has no searchable characters" },
	{ "a \xff )", "query error at column 3: '?' has no searchable characters" },
	{ "\xc3\xa9\xff )", "query error at column 4: unexpected ')'" },
	{ "a\xe2\x82 )", "query error at column 5: unexpected ')'" },
};

static void errors_name_the_column(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		expect_error(errors[i].query, strlen(errors[i].query),
		             LODE_EQUERY, errors[i].message);
}

/* ---- limits ------------------------------------------------------------ */

static void nesting_at_the_limit_parses(void **state)
{
	char *q;

	(void)state;
	q = repeat("(", LODE_QUERY_MAX_DEPTH, "a");
	q = realloc(q, strlen(q) + LODE_QUERY_MAX_DEPTH + 1);
	assert_non_null(q);
	memset(q + strlen(q), ')', LODE_QUERY_MAX_DEPTH);
	q[2 * LODE_QUERY_MAX_DEPTH + 1] = '\0';
	expect_tree(q, "a");
	free(q);

	q = repeat("NOT ", LODE_QUERY_MAX_DEPTH, "a");
	free(parse_format(q));
	free(q);

	q = repeat("(", LODE_QUERY_MAX_DEPTH + 1, "a");
	expect_error(q, strlen(q), LODE_EQUERY,
	             "query error at column 101: nesting deeper than 100 levels");
	free(q);

	q = repeat("NOT ", LODE_QUERY_MAX_DEPTH + 1, "a");
	expect_error(q, strlen(q), LODE_EQUERY,
	             "query error at column 401: nesting deeper than 100 levels");
	free(q);
}

static void ten_thousand_parens_fail_cleanly(void **state)
{
	char *q = repeat("(", 10000, "a");

	(void)state;
	expect_error(q, strlen(q), LODE_EQUERY,
	             "query error at column 101: nesting deeper than 100 levels");
	free(q);
}

static void ten_thousand_nots_fail_cleanly(void **state)
{
	char *q = repeat("NOT ", 10000, "a");

	(void)state;
	expect_error(q, strlen(q), LODE_EQUERY,
	             "query error at column 401: nesting deeper than 100 levels");
	free(q);
	/* Parentheses and NOT count together: level 101 is the 51st '('. */
	q = repeat("(NOT ", 5000, "a");
	expect_error(q, strlen(q), LODE_EQUERY,
	             "query error at column 251: nesting deeper than 100 levels");
	free(q);
}

static void term_limit_is_enforced(void **state)
{
	struct lode_qnode *root;
	char *q;

	(void)state;
	q = repeat("a ", LODE_QUERY_MAX_TERMS, "");
	assert_int_equal(lode_qnode_parse(q, strlen(q), &root, NULL), LODE_OK);
	assert_int_equal(root->kind, LODE_Q_AND);
	assert_int_equal(root->nchild, LODE_QUERY_MAX_TERMS);
	lode_qnode_free(root);
	free(q);

	q = repeat("a ", LODE_QUERY_MAX_TERMS + 1, "");
	expect_error(q, strlen(q), LODE_ELIMIT,
	             "query error at column 20001: more than 10000 terms");
	free(q);

	q = repeat("a ", LODE_QUERY_MAX_TERMS - 1, "\"b c\"");
	expect_error(q, strlen(q), LODE_ELIMIT,
	             "query error at column 19999: more than 10000 terms");
	free(q);

	q = repeat("a.", LODE_QUERY_MAX_TERMS + 1, "");
	expect_error(q, strlen(q), LODE_ELIMIT,
	             "query error at column 1: more than 10000 terms");
	free(q);
}

/* Free text: each distinct word once, in order of first appearance,
 * boosted by its count; the term limit counts distinct words; every
 * allocation failure is clean. */
static void free_text_counts_distinct_words(void **state)
{
	char *q = repeat("Oil ", 2 * LODE_QUERY_MAX_TERMS, "prices oil");
	lode_query *query;
	lode_error err;
	size_t len = 0;
	long n;
	int rc;

	(void)state;
	assert_int_equal(lode_query_parse_text(q, strlen(q), &query, &err),
	                 LODE_OK);
	assert_int_equal(query->root->kind, LODE_Q_OR);
	assert_int_equal(query->root->nchild, 2);
	assert_string_equal(query->root->child[0]->terms[0], "oil");
	assert_true(query->root->child[0]->boost == 2 * LODE_QUERY_MAX_TERMS + 1);
	assert_string_equal(query->root->child[1]->terms[0], "prices");
	assert_true(query->root->child[1]->boost == 1);
	lode_query_free(query);
	free(q);

	q = malloc(16 * (LODE_QUERY_MAX_TERMS + 1) + 1);
	assert_non_null(q);
	for (int i = 0; i <= LODE_QUERY_MAX_TERMS; i++)
		len += (size_t)sprintf(q + len, "w%d w0 ", i);
	assert_int_equal(lode_query_parse_text(q, len, &query, &err),
	                 LODE_ELIMIT);
	assert_string_equal(err.message, "query error at column 1: more than "
	                                 "10000 distinct words");
	/* One distinct word fewer parses. */
	len = 0;
	for (int i = 0; i < LODE_QUERY_MAX_TERMS; i++)
		len += (size_t)sprintf(q + len, "w%d w0 ", i);
	assert_int_equal(lode_query_parse_text(q, len, &query, &err), LODE_OK);
	assert_int_equal(query->root->nchild, LODE_QUERY_MAX_TERMS);
	assert_true(query->root->child[0]->boost == LODE_QUERY_MAX_TERMS + 1);
	lode_query_free(query);
	free(q);

	for (n = 0;; n++) {
		lode_alloc_fail_after(n);
		rc = lode_query_parse_text("a b a c d e f g h i j k l m n o p q r s"
		                           " t u v w x y z aa bb cc dd ee ff gg hh",
		                           77, &query, &err);
		lode_alloc_fail_after(-1);
		if (rc != LODE_ENOMEM)
			break;
		assert_null(query);
		assert_string_equal(err.message, "out of memory parsing the query");
	}
	assert_int_equal(rc, LODE_OK);
	assert_true(n > 0);
	assert_int_equal(query->root->nchild, 34);
	lode_query_free(query);
}

/* The longest NOT chain the term limit allows is one flat node, not a tree
 * 10,000 deep: a NOT a NOT ... NOT b = (ANDNOT a (OR a ... a b)). */
static void longest_not_chain_formats_and_frees(void **state)
{
	char *q = repeat("a NOT ", LODE_QUERY_MAX_TERMS - 1, "b");
	struct lode_qnode *root;
	size_t need;
	char *out;

	(void)state;
	assert_int_equal(lode_qnode_parse(q, strlen(q), &root, NULL), LODE_OK);
	assert_int_equal(root->kind, LODE_Q_ANDNOT);
	assert_int_equal(root->child[0]->kind, LODE_Q_PHRASE);
	assert_int_equal(root->child[1]->kind, LODE_Q_OR);
	assert_int_equal(root->child[1]->nchild, LODE_QUERY_MAX_TERMS - 1);
	need = lode_qnode_format(root, NULL, 0);
	/* "(ANDNOT a (OR", " a" for each middle term, " b", "))". */
	assert_int_equal(need, 13 + 2 * (LODE_QUERY_MAX_TERMS - 2) + 2 + 2);
	out = malloc(need + 1);
	assert_non_null(out);
	lode_qnode_format(root, out, need + 1);
	assert_memory_equal(out, "(ANDNOT a (OR a a", 17);
	assert_string_equal(out + need - 6, " a b))");
	free(out);
	lode_qnode_free(root);
	free(q);
}

/* ---- format ------------------------------------------------------------ */

static void format_truncates_and_reports_length(void **state)
{
	struct lode_qnode *root;
	char buf[32];

	(void)state;
	assert_int_equal(lode_qnode_parse("(a OR b) \"c d\"", 14, &root, NULL),
	                 LODE_OK);
	/* (AND (OR a b) "c d") */
	assert_int_equal(lode_qnode_format(root, NULL, 0), 20);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(lode_qnode_format(root, buf, 1), 20);
	assert_string_equal(buf, "");
	assert_int_equal(lode_qnode_format(root, buf, 5), 20);
	assert_string_equal(buf, "(AND");
	assert_int_equal(lode_qnode_format(root, buf, 20), 20);
	assert_string_equal(buf, "(AND (OR a b) \"c d\"");
	assert_int_equal(lode_qnode_format(root, buf, 21), 20);
	assert_string_equal(buf, "(AND (OR a b) \"c d\")");
	lode_qnode_free(root);
}

/* ---- public API -------------------------------------------------------- */

static void public_parse_wraps_the_tree(void **state)
{
	lode_query *query = (lode_query *)&query;
	lode_error err = { 0 };
	char buf[64];

	(void)state;
	assert_int_equal(lode_query_parse("a OR b", 6, &query, &err), LODE_OK);
	assert_non_null(query);
	lode_qnode_format(query->root, buf, sizeof(buf));
	assert_string_equal(buf, "(OR a b)");
	lode_query_free(query);

	assert_int_equal(lode_query_parse("a OR", 4, &query, &err),
	                 LODE_EQUERY);
	assert_null(query);
	assert_int_equal(err.code, LODE_EQUERY);
	assert_string_equal(err.message, "query error at column 5: "
	                    "expected a word, phrase or '(' after 'OR'");
	assert_int_equal(lode_query_parse(")", 1, &query, NULL), LODE_EQUERY);
	assert_null(query);
	lode_query_free(NULL);
	lode_qnode_free(NULL);
}

/* Both parsers start from the default BM25 parameters; out-of-range values
 * are refused and leave the query as it was. */
static void bm25_parameters_are_checked(void **state)
{
	static const double bad[][2] = {
		{-0.1, 0.75}, {1.2, -0.1}, {1.2, 1.01}, {NAN, 0.75}, {1.2, NAN},
		{INFINITY, 0.75}, {-INFINITY, 0.5}, {DBL_MAX, 0.75},
		{LODE_BM25_K1_MAX * (1 + DBL_EPSILON), 0.75},
	};
	lode_query *query;
	lode_error err = { 0 };

	(void)state;
	assert_int_equal(lode_query_parse_text("a b", 3, &query, &err), LODE_OK);
	assert_true(query->k1 == LODE_BM25_K1 && query->b == LODE_BM25_B);
	assert_int_equal(lode_query_set_bm25(query, 0, 1, &err), LODE_OK);
	assert_true(query->k1 == 0 && query->b == 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lode_query_set_bm25(query, bad[i][0], bad[i][1],
		                                     &err), LODE_EINVAL);
		assert_int_equal(err.code, LODE_EINVAL);
		assert_true(query->k1 == 0 && query->b == 1);
	}
	/* Just above the bound: enough digits to tell it from the bound. */
	assert_string_equal(err.message, "BM25 k1 must be a number from 0 to 1e+06,"
	                    " not 1000000.0000000002");
	/* Success clears the error a failure left. */
	assert_int_equal(lode_query_set_bm25(query, 0.5, 0.5, &err), LODE_OK);
	assert_true(err.code == LODE_OK && err.message[0] == '\0');
	assert_int_equal(lode_query_set_dfr(query, 0, &err), LODE_EINVAL);
	assert_int_equal(lode_query_set_dfr(query, 2, &err), LODE_OK);
	assert_true(err.code == LODE_OK && err.message[0] == '\0');
	lode_query_free(query);
	assert_int_equal(lode_query_parse("(", 1, &query, &err), LODE_EQUERY);
	assert_int_equal(lode_query_parse_text("a", 1, &query, &err), LODE_OK);
	assert_true(err.code == LODE_OK && err.message[0] == '\0');
	lode_query_free(query);
	assert_int_equal(lode_query_parse("(", 1, &query, &err), LODE_EQUERY);
	assert_int_equal(lode_query_parse("a", 1, &query, &err), LODE_OK);
	assert_true(err.code == LODE_OK && err.message[0] == '\0');
	assert_true(query->k1 == LODE_BM25_K1 && query->b == LODE_BM25_B);
	assert_int_equal(lode_query_set_bm25(query, 1000, 0, NULL), LODE_OK);
	assert_int_equal(lode_query_set_bm25(query, LODE_BM25_K1_MAX, 0, NULL),
	                 LODE_OK);
	assert_int_equal(lode_query_set_bm25(query, 1, 2, NULL), LODE_EINVAL);
	lode_query_free(query);
}

/* ---- out of memory ----------------------------------------------------- */

/*
 * Parse query with the nth allocation failing, for n = 0, 1, ... until it
 * gets through: each run must fail with LODE_ENOMEM and free everything (the
 * sanitizer build checks leaks) until one ends with want_code, whose tree
 * must equal an unhindered parse.
 */
static void parse_under_oom(const char *query, int want_code)
{
	char *want = want_code == LODE_OK ? parse_format(query) : NULL;
	lode_query *q;
	lode_error err;
	char got[1024];
	long n;
	int rc;

	for (n = 0;; n++) {
		lode_alloc_fail_after(n);
		rc = lode_query_parse(query, strlen(query), &q, &err);
		lode_alloc_fail_after(-1);
		if (rc != LODE_ENOMEM)
			break;
		assert_null(q);
		assert_string_equal(err.message,
		                    "out of memory parsing the query");
	}
	if (rc != want_code)
		fail_msg("query <%s>: got %d <%s> after %ld allocations",
		         query, rc, err.message, n);
	assert_true(n > 0);
	if (want) {
		lode_qnode_format(q->root, got, sizeof(got));
		assert_string_equal(got, want);
		lode_query_free(q);
		free(want);
	} else {
		assert_null(q);
	}
}

static void every_allocation_failure_is_clean(void **state)
{
	lode_query *q;
	char *many;

	(void)state;
	parse_under_oom("a", LODE_OK);
	parse_under_oom("\"Supreme National Security Council\" AND "
	                "(retaliation OR Iran's OR U.N.) NOT ceasefire",
	                LODE_OK);
	parse_under_oom("(a b) (c d) OR (e OR f) OR NOT NOT g NOT h NOT i",
	                LODE_OK);
	/* past the 16 slots lode_grow starts with, in children and terms */
	many = repeat("w ", 40, "\"a b c d e f g h i j k l m n o p q r s t\"");
	parse_under_oom(many, LODE_OK);
	free(many);
	many = repeat("w OR ", 40, "(x y) OR (z OR v)");
	parse_under_oom(many, LODE_OK);
	free(many);
	/* errors found after allocating must free what was built */
	parse_under_oom("a b (c OR d NOT e", LODE_EQUERY);
	parse_under_oom("a b NOT c OR d &", LODE_EQUERY);
	parse_under_oom("(a OR b) (c AND", LODE_EQUERY);
	/* one failure deep inside a long chain (a loop would be too slow) */
	many = repeat("a ", LODE_QUERY_MAX_TERMS + 1, "");
	lode_alloc_fail_after(5000);
	assert_int_equal(lode_query_parse(many, strlen(many), &q, NULL),
	                 LODE_ENOMEM);
	lode_alloc_fail_after(-1);
	assert_null(q);
	free(many);
}

/* ---- fuzz -------------------------------------------------------------- */

/* A growing string for rendering trees back into queries. */
struct str {
	char *s;
	size_t len, cap;
};

static void str_add(struct str *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void str_put(struct str *b, const char *s)
{
	str_add(b, s, strlen(s));
}

/* Write node as a query that must parse back to the same tree. */
static void render(struct str *b, const struct lode_qnode *node)
{
	static const char *const ops[] = {
		[LODE_Q_AND] = " AND ",
		[LODE_Q_OR] = " OR ",
		[LODE_Q_ANDNOT] = " NOT ",
	};
	size_t i;

	switch (node->kind) {
	case LODE_Q_PHRASE:
		str_put(b, "\"");
		for (i = 0; i < node->nterms; i++) {
			if (i)
				str_put(b, " ");
			str_add(b, node->terms[i], node->term_len[i]);
		}
		str_put(b, "\"");
		break;
	case LODE_Q_NOT:
		str_put(b, "(NOT ");
		render(b, node->child[0]);
		str_put(b, ")");
		break;
	default:
		str_put(b, "(");
		for (i = 0; i < node->nchild; i++) {
			if (i)
				str_put(b, ops[node->kind]);
			render(b, node->child[i]);
		}
		str_put(b, ")");
		break;
	}
}

/* Characters in s as the parser counts them: code points, and each byte of
 * invalid UTF-8 one character (decoded here by utf8proc, independently). */
static size_t count_chars(const char *s)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_ssize_t left = (utf8proc_ssize_t)strlen(s), n;
	utf8proc_int32_t cp;
	size_t chars = 0;

	while (left > 0) {
		n = utf8proc_iterate(p, left, &cp);
		if (n <= 0)
			n = 1;
		p += n;
		left -= n;
		chars++;
	}
	return chars;
}

/*
 * Parse q: either it fails with LODE_EQUERY and a column inside the query, or
 * it succeeds with a well-formed tree that, rendered back into a query,
 * parses to the same tree.  Returns whether it parsed.
 */
static int fuzz_one(const char *q, const char *what, unsigned round)
{
	struct lode_qnode *root = NULL, *again = NULL;
	struct str text = { 0 };
	lode_error err = { 0 };
	char want[8192], got[8192];
	unsigned long column;
	int rc, used = 0;

	rc = lode_qnode_parse(q, strlen(q), &root, &err);
	if (rc == LODE_EQUERY) {
		if (root || sscanf(err.message, "query error at column %lu: %n",
		                   &column, &used) != 1 || used == 0 ||
		    column < 1 || column > count_chars(q) + 1)
			fail_msg("%s seed %u round %u <%s>: bad error <%s>", what,
			         FUZZ_SEED, round, q, err.message);
		return 0;
	}
	if (rc != LODE_OK)
		fail_msg("%s seed %u round %u <%s>: code %d <%s>", what,
		         FUZZ_SEED, round, q, rc, err.message);
	check_tree(root);
	render(&text, root);
	rc = lode_qnode_parse(text.s, text.len, &again, &err);
	if (rc != LODE_OK)
		fail_msg("%s seed %u round %u <%s>: rendered <%s> fails: %s",
		         what, FUZZ_SEED, round, q, text.s, err.message);
	assert_true(lode_qnode_format(root, want, sizeof(want)) < sizeof(want));
	lode_qnode_format(again, got, sizeof(got));
	if (strcmp(want, got) != 0)
		fail_msg("%s seed %u round %u <%s>: %s, rendered <%s>: %s", what,
		         FUZZ_SEED, round, q, want, text.s, got);
	lode_qnode_free(again);
	lode_qnode_free(root);
	free(text.s);
	return 1;
}

/* Token soup: pieces in random order, mostly space-separated. */
static void random_token_soup_parses_or_fails_cleanly(void **state)
{
	/* The first NCLEAN pieces are well-formed alone; the rest are not. */
	static const char *const pieces[] = {
		"a", "b", "c", "Iran's", "U.N.", "\xc3\xa9t\xc3\xa9", "and",
		"\"a b\"", "AND", "OR", "NOT", "(", ")",
		"\"", "-", "\xe2\x80\x9c", "\xff",
	};
	enum { NCLEAN = 13, NPIECES = sizeof(pieces) / sizeof(pieces[0]) };
	char q[512];
	size_t len, n, i, npieces;
	unsigned round, parsed = 0;
	test_rng rng;

	(void)state;
	test_rng_seed(&rng, FUZZ_SEED);
	for (round = 0; round < FUZZ_ROUNDS; round++) {
		npieces = round & 1 ? NPIECES : NCLEAN;
		len = 0;
		n = 1 + test_rng_below(&rng, 24);
		for (i = 0; i < n; i++) {
			const char *piece =
				pieces[test_rng_below(&rng, (uint32_t)npieces)];

			if (i && test_rng_below(&rng, 4))
				q[len++] = ' ';
			memcpy(q + len, piece, strlen(piece));
			len += strlen(piece);
		}
		q[len] = '\0';
		parsed += fuzz_one(q, "soup", round);
	}
	/* Enough of the soup parses for the round trip to mean something. */
	assert_true(parsed > FUZZ_ROUNDS / 20);
}

/* White space between tokens, of every kind the lexer knows. */
static void gen_space(struct str *b, test_rng *rng)
{
	static const char *const spaces[] = {
		" ", " ", " ", "  ", "\t", "\n", "\xc2\xa0", "\xe3\x80\x80",
	};

	str_put(b, spaces[test_rng_below(rng, sizeof(spaces) /
	                                      sizeof(spaces[0]))]);
}

static void gen_or(struct str *b, test_rng *rng, unsigned depth);

/* primary, then maybe a NOT prefix chain around it (unary and not). */
static void gen_primary(struct str *b, test_rng *rng, unsigned depth)
{
	static const char *const words[] = {
		"a", "b", "c", "Iran", "Iran's", "U.N.", "P\xc3\xa9zeshkian",
		"and", "or", "not", "x-y", "Iran\xe2\x80\x99s", "42",
	};
	static const char *const phrases[] = {
		"\"a b\"", "\"Supreme National\"", "\"a AND b\"", "\" c \"",
		"\"NOT (x)\"", "\"\xc3\xa9t\xc3\xa9\"",
	};
	uint32_t pick = test_rng_below(rng, 8);

	if (pick == 0 && depth < 6) {
		str_put(b, "(");
		if (test_rng_below(rng, 2))
			gen_space(b, rng);
		gen_or(b, rng, depth + 1);
		if (test_rng_below(rng, 2))
			gen_space(b, rng);
		str_put(b, ")");
	} else if (pick == 1) {
		str_put(b, phrases[test_rng_below(rng, sizeof(phrases) /
		                                       sizeof(phrases[0]))]);
	} else {
		str_put(b, words[test_rng_below(rng, sizeof(words) /
		                                     sizeof(words[0]))]);
	}
}

static void gen_unary(struct str *b, test_rng *rng, unsigned depth)
{
	while (test_rng_below(rng, 6) == 0) {
		str_put(b, "NOT");
		gen_space(b, rng);
	}
	gen_primary(b, rng, depth);
}

static void gen_not(struct str *b, test_rng *rng, unsigned depth)
{
	gen_unary(b, rng, depth);
	while (test_rng_below(rng, 4) == 0) {
		gen_space(b, rng);
		str_put(b, "NOT");
		gen_space(b, rng);
		gen_unary(b, rng, depth);
	}
}

static void gen_and(struct str *b, test_rng *rng, unsigned depth)
{
	gen_not(b, rng, depth);
	while (test_rng_below(rng, 3) == 0) {
		gen_space(b, rng);
		if (test_rng_below(rng, 2)) {
			str_put(b, "AND");
			gen_space(b, rng);
		}
		gen_not(b, rng, depth);
	}
}

static void gen_or(struct str *b, test_rng *rng, unsigned depth)
{
	gen_and(b, rng, depth);
	while (test_rng_below(rng, 3) == 0) {
		gen_space(b, rng);
		str_put(b, "OR");
		gen_space(b, rng);
		gen_and(b, rng, depth);
	}
}

/*
 * Queries generated from the grammar must parse; the same queries with a
 * few bytes deleted, duplicated or overwritten must parse or fail cleanly.
 */
static void grammar_queries_parse_and_mutants_fail_cleanly(void **state)
{
	static const char junk[] = "()\" ANDORT-\xff\xc3\xa9";
	struct str q = { 0 };
	unsigned round, edits;
	size_t at;
	test_rng rng;

	(void)state;
	test_rng_seed(&rng, FUZZ_SEED + 1);
	for (round = 0; round < FUZZ_ROUNDS; round++) {
		q.len = 0;
		gen_or(&q, &rng, 0);
		if (!fuzz_one(q.s, "grammar", round))
			fail_msg("grammar round %u <%s> does not parse", round,
			         q.s);
		for (edits = 1 + test_rng_below(&rng, 3); edits; edits--) {
			at = test_rng_below(&rng, (uint32_t)q.len + 1);
			switch (test_rng_below(&rng, 3)) {
			case 0: /* delete a byte */
				if (at < q.len) {
					memmove(q.s + at, q.s + at + 1, q.len - at);
					q.len--;
				}
				break;
			case 1: /* insert a byte */
				str_put(&q, "?");
				memmove(q.s + at + 1, q.s + at, q.len - at - 1);
				q.s[at] = junk[test_rng_below(&rng,
				                              sizeof(junk) - 1)];
				break;
			default: /* overwrite a byte */
				if (at < q.len)
					q.s[at] = junk[test_rng_below(&rng,
					                              sizeof(junk) - 1)];
				break;
			}
		}
		fuzz_one(q.s, "mutant", round);
	}
	free(q.s);
}

/* ---- the arena the parser and evaluator allocate from ------------------ */

/* Blocks from an arena with growing chunks, a caller's buffer and blocks
 * larger than any chunk: each aligned, none overlapping another (every block
 * is filled with its own byte and checked after all are allocated), and the
 * arena usable again after lode_arena_free. */
static void arena_blocks_are_aligned_and_disjoint(void **state)
{
	enum { N = 600 };
	static unsigned char *block[N];
	static size_t size[N];
	_Alignas(max_align_t) unsigned char buf[256];
	lode_arena a;
	size_t i, j;

	(void)state;
	lode_arena_init(&a, buf, sizeof(buf));
	lode_arena_chunks(&a, 1024, 16384);
	/* The second round reuses the freed arena as it is (no init). */
	for (int round = 0; round < 2; round++) {
		for (i = 0; i < N; i++) {
			/* Mostly small, every 97th larger than the largest chunk. */
			size[i] = i % 97 == 96 ? 40000 : 1 + (i * 37) % 700;
			block[i] = lode_arena_alloc(&a, size[i]);
			assert_non_null(block[i]);
			assert_int_equal((uintptr_t)block[i] % alignof(max_align_t),
			                 0);
			memset(block[i], (int)(i & 0xff), size[i]);
		}
		for (i = 0; i < N; i++)
			for (j = 0; j < size[i]; j++)
				assert_int_equal(block[i][j], i & 0xff);
		/* The chunk size doubled up to its limit and stopped there. */
		assert_int_equal(a.chunk, 16384);
		lode_arena_free(&a);
		assert_null(a.chunks);
		assert_int_equal(a.chunk, 1024);
	}
}

/* A limit below the first size is the first size; a chunk that cannot be
 * allocated leaves the next chunk's size as it was. */
static void arena_chunk_sizes_clamp_and_survive_failure(void **state)
{
	lode_arena a;

	(void)state;
	lode_arena_init(&a, NULL, 0);
	lode_arena_chunks(&a, 4096, 1024);
	assert_int_equal(a.chunk_max, 4096);
	lode_arena_chunks(&a, 1024, 8192);
	lode_alloc_fail_after(0);
	assert_null(lode_arena_alloc(&a, 16));
	lode_alloc_fail_after(-1);
	assert_int_equal(a.chunk, 1024);
	assert_non_null(lode_arena_alloc(&a, 16));
	assert_int_equal(a.chunk, 2048);
	lode_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_to_expected_trees),
		cmocka_unit_test(nodes_record_their_columns),
		cmocka_unit_test(phrase_terms_are_folded_strings),
		cmocka_unit_test(length_bounds_the_text),
		cmocka_unit_test(errors_name_the_column),
		cmocka_unit_test(nesting_at_the_limit_parses),
		cmocka_unit_test(ten_thousand_parens_fail_cleanly),
		cmocka_unit_test(ten_thousand_nots_fail_cleanly),
		cmocka_unit_test(term_limit_is_enforced),
		cmocka_unit_test(free_text_counts_distinct_words),
		cmocka_unit_test(longest_not_chain_formats_and_frees),
		cmocka_unit_test(format_truncates_and_reports_length),
		cmocka_unit_test(public_parse_wraps_the_tree),
		cmocka_unit_test(bm25_parameters_are_checked),
		cmocka_unit_test(every_allocation_failure_is_clean),
		cmocka_unit_test(random_token_soup_parses_or_fails_cleanly),
		cmocka_unit_test(grammar_queries_parse_and_mutants_fail_cleanly),
		cmocka_unit_test(arena_blocks_are_aligned_and_disjoint),
		cmocka_unit_test(arena_chunk_sizes_clamp_and_survive_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
