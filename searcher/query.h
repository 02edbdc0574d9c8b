/*
 * query.h -- the query language: parsing text into a tree.
 *
 * Grammar, lowest precedence first:
 *
 *     query   := or
 *     or      := and ( 'OR' and )*
 *     and     := not ( ['AND'] not )*      adjacent operands are ANDed
 *     not     := unary ( 'NOT' unary )*    a NOT b = matches a but not b
 *     unary   := 'NOT' unary | primary     leading NOT = all documents but
 *     primary := '(' or ')' | '"' words '"' | word
 *
 * Operators are the uppercase words AND, OR and NOT; any other spelling is an
 * ordinary word.  A word is a maximal run of characters other than white
 * space, '(', ')' and '"'.  Words and phrase contents are tokenized by the
 * document tokenizer: a word that yields several tokens ("Iran's", "U.N.")
 * is a phrase of them.  A word or phrase that yields no token is an error.
 *
 * The tree: AND and OR are n-ary and flattened (a AND b AND c is one node of
 * three children); `a NOT b NOT c` is ANDNOT(a, OR(b, c)), the same
 * documents as ((a NOT b) NOT c) but flat, so that no chain nests deeply;
 * a leading NOT is a NOT node of one child.  A single-token word is a PHRASE of one term.
 *
 * Errors are LODE_EQUERY with "query error at column N: <what>", N the
 * 1-based character (not byte) column where the problem was seen.  Nesting of
 * parentheses and NOT deeper than LODE_QUERY_MAX_DEPTH is an error too, so
 * that no input can exhaust the stack.
 */
#ifndef LODE_SEARCHER_QUERY_H
#define LODE_SEARCHER_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "lode.h"

#define LODE_QUERY_MAX_DEPTH 100
#define LODE_QUERY_MAX_TERMS 10000 /* terms in one query, all phrases counted */

enum lode_qkind {
	LODE_Q_PHRASE, /* nterms >= 1 consecutive terms; one term is a term */
	LODE_Q_AND,    /* all children match (nchild >= 2) */
	LODE_Q_OR,     /* any child matches (nchild >= 2) */
	LODE_Q_ANDNOT, /* child[0] matches and child[1] does not */
	LODE_Q_NOT,    /* child[0] does not match (leading NOT) */
};

struct lode_qnode {
	enum lode_qkind kind;
	uint32_t column;            /* 1-based character column in the query */
	size_t nchild;
	struct lode_qnode **child;  /* AND, OR, ANDNOT, NOT */
	size_t nterms;
	char **terms;               /* PHRASE: folded terms, NUL-terminated
	                               (in the node's own allocation) */
	size_t *term_len;           /* PHRASE: byte length of each term */
	int quoted;                 /* PHRASE: written in quotes: exact words */
	double boost;               /* PHRASE: its BM25 weight is multiplied by
	                               this (1, or a word's count in free text) */
};

/* The public handle: the tree and how its words match. */
struct lode_query {
	struct lode_qnode *root;
	int exact;     /* never match stems, even in a stemmed index */
	int free_text; /* from lode_query_parse_text: ranks exact and stem */
	double k1, b;  /* BM25 parameters, LODE_BM25_K1 and LODE_BM25_B unless
	                  lode_query_set_bm25 changed them */
	int dfr;       /* rank by DFR In_expB2 instead (lode_query_set_dfr) */
	double c;      /* DFR's length normalisation, LODE_DFR_C by default */
};

/* Parse text[0, len) into *root; on error *root is NULL. */
int lode_qnode_parse(const char *text, size_t len, struct lode_qnode **root,
                     lode_error *err);

/* Free text: every distinct token of text[0, len) as a term, all ORed, in
 * order of first appearance (one term alone is just that term).  No
 * operators, no phrases; LODE_EQUERY if the text has no token. */
int lode_qnode_from_text(const char *text, size_t len, struct lode_qnode **root,
                         lode_error *err);

/*
 * For ranking free text in a stemmed index: a new tree in which each word of
 * root (a free-text tree: one term or an OR of terms) appears twice, as its
 * exact word (quoted) and as a bare word (its stem), so that documents with
 * the very word score above those with only a variant of it.  On TIME this
 * ranks better than stems alone (MAP@100 0.6500 against 0.6280) and than no
 * stemming (0.6479).
 */
int lode_qnode_exact_and_stem(const struct lode_qnode *root,
                              struct lode_qnode **out);

/* Free a tree; NULL is allowed. */
void lode_qnode_free(struct lode_qnode *node);

/*
 * Write the tree as an S-expression into buf (cap bytes, NUL-terminated,
 * truncated if short); returns the length it needs, excluding the NUL.
 * Terms print bare, phrases of several terms in double quotes:
 *     (OR (AND iran "supreme national") (ANDNOT a b) (NOT c))
 */
size_t lode_qnode_format(const struct lode_qnode *node, char *buf, size_t cap);

#endif
