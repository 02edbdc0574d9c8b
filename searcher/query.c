/*
 * query.c -- the query parser: text to a tree of lode_qnode (spec in query.h).
 *
 * A recursive-descent parser, one function per rule of the grammar, over a
 * lexer that produces one token of lookahead at a time, so errors come out in
 * the order a reader of the query meets them.
 *
 * Decisions the header leaves open:
 *
 *   - White space is Unicode's White_Space set (ASCII blanks, NBSP, U+2000
 *     to U+200A, U+3000, ...), so a query pasted with no-break spaces splits
 *     as it reads.  Only the ASCII '"' quotes a phrase; curly quotes are
 *     ordinary characters, which the tokenizer treats as separators.
 *   - A column counts code points, as the tokenizer does: each byte of
 *     invalid UTF-8 is one character.  The end of the query is the column
 *     just past its last character, trailing white space included.
 *   - Flattening is total: no AND node has an AND child and no OR node an OR
 *     child, parentheses or not, so "(a AND b) AND c" is (AND a b c).
 *   - A node's column is where its text starts: the word, the opening
 *     quote, the leading NOT, or the first operand of AND, OR and ANDNOT.
 *   - Depth counts '(' and leading NOT, checked before recursing.  A chain
 *     "a NOT b NOT c ..." nests no deeper in the grammar but is left-deep in
 *     the tree; each link costs a term, so the term limit bounds it, and
 *     lode_qnode_free() walks child[0] in a loop rather than recursing.
 */
#include "query.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "bytes.h"
#include "error.h"
#include "tokenizer.h"

/* Characters of a word or phrase quoted in an error message. */
#define SHOW_CHARS 40

enum tkind {
	T_NONE,   /* no token consumed yet */
	T_END,    /* end of the query */
	T_LPAREN,
	T_RPAREN,
	T_WORD,
	T_PHRASE, /* a whole quoted phrase, quotes included */
	T_AND,
	T_OR,
	T_NOT,
};

struct token {
	enum tkind kind;
	size_t start, end; /* bytes of the word, or of the phrase inside its quotes */
	size_t column;     /* character column of the first character (the quote) */
};

struct parser {
	const char *text;
	size_t len;         /* bytes of text */
	size_t pos;         /* byte offset of the first character not yet lexed */
	size_t column;      /* character column of text[pos] */
	struct token next;  /* the lookahead, valid when have_next */
	bool have_next;
	enum tkind prev;    /* kind of the last token consumed */
	size_t nterms;      /* terms in all phrases so far */
	lode_error *err;
};

/* ---- characters -------------------------------------------------------- */

/*
 * Decode the character at s (n >= 1 bytes available) into *cp; returns its
 * length.  Invalid UTF-8 (Unicode table 3-7) decodes one byte as U+FFFD.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t more, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		more = 1;
		c &= 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		more = 2;
		lo = c == 0xE0 ? 0xA0 : 0x80;
		hi = c == 0xED ? 0x9F : 0xBF;
		c &= 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		more = 3;
		lo = c == 0xF0 ? 0x90 : 0x80;
		hi = c == 0xF4 ? 0x8F : 0xBF;
		c &= 0x07;
	} else {
		goto invalid;
	}
	if (n <= more)
		goto invalid;
	for (i = 1; i <= more; i++) {
		if (s[i] < lo || s[i] > hi)
			goto invalid;
		c = c << 6 | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = c;
	return more + 1;
invalid:
	*cp = 0xFFFD;
	return 1;
}

/* Unicode's White_Space property. */
static bool is_space(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 ||
	       cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
	       cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
	       cp == 0x3000;
}

/* The character at byte pos of the query: *cp and its length in bytes. */
static size_t char_at(const struct parser *p, size_t pos, uint32_t *cp)
{
	return utf8_decode((const unsigned char *)p->text + pos, p->len - pos, cp);
}

/* True if text[0, len) is nothing but white space. */
static bool is_blank(const char *text, size_t len)
{
	uint32_t cp;
	size_t pos = 0;

	while (pos < len) {
		pos += utf8_decode((const unsigned char *)text + pos, len - pos, &cp);
		if (!is_space(cp))
			return false;
	}
	return true;
}

/*
 * Copy text[0, len) into buf (cap bytes) for quoting in a one-line message:
 * at most SHOW_CHARS characters then "...", white space as ' ', control
 * characters and invalid UTF-8 as '?'.
 */
static void show(const char *text, size_t len, char *buf, size_t cap)
{
	size_t pos = 0, out = 0, chars = 0, n;
	uint32_t cp;

	assert(cap >= SHOW_CHARS * 4 + 4);
	while (pos < len && chars < SHOW_CHARS) {
		n = utf8_decode((const unsigned char *)text + pos, len - pos, &cp);
		if (is_space(cp)) {
			buf[out++] = ' ';
		} else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||
		           (cp == 0xFFFD && n == 1)) {
			buf[out++] = '?';
		} else {
			memcpy(buf + out, text + pos, n);
			out += n;
		}
		pos += n;
		chars++;
	}
	if (pos < len) {
		memcpy(buf + out, "...", 3);
		out += 3;
	}
	buf[out] = '\0';
}

/* ---- errors ------------------------------------------------------------ */

static int query_error(struct parser *p, int code, size_t column,
                       const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Fail with code and "query error at column N: <fmt>"; returns code. */
static int query_error(struct parser *p, int code, size_t column,
                       const char *fmt, ...)
{
	char what[sizeof(p->err->message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return lode_fail(p->err, code, "query error at column %zu: %s", column,
	                 what);
}

static int too_deep(struct parser *p, size_t column)
{
	return query_error(p, LODE_EQUERY, column,
	                   "nesting deeper than %d levels",
	                   LODE_QUERY_MAX_DEPTH);
}

static const char *operator_name(enum tkind kind)
{
	switch (kind) {
	case T_AND: return "AND";
	case T_OR: return "OR";
	case T_NOT: return "NOT";
	default: return NULL;
	}
}

/* ---- lexer ------------------------------------------------------------- */

static enum tkind word_kind(const char *word, size_t len)
{
	if (len == 3 && memcmp(word, "AND", 3) == 0)
		return T_AND;
	if (len == 2 && memcmp(word, "OR", 2) == 0)
		return T_OR;
	if (len == 3 && memcmp(word, "NOT", 3) == 0)
		return T_NOT;
	return T_WORD;
}

/* Read the token at p->pos into *tok; fails only on an unclosed quote. */
static int lex(struct parser *p, struct token *tok)
{
	uint32_t cp = 0;
	size_t n;

	while (p->pos < p->len) {
		n = char_at(p, p->pos, &cp);
		if (!is_space(cp))
			break;
		p->pos += n;
		p->column++;
	}
	tok->start = p->pos;
	tok->column = p->column;
	if (p->pos == p->len) {
		tok->kind = T_END;
	} else if (cp == '(' || cp == ')') {
		tok->kind = cp == '(' ? T_LPAREN : T_RPAREN;
		p->pos++;
		p->column++;
	} else if (cp == '"') {
		/* '"' is never part of a multibyte character: scan bytes. */
		tok->kind = T_PHRASE;
		tok->start = ++p->pos;
		p->column++;
		while (p->pos < p->len && p->text[p->pos] != '"') {
			p->pos += char_at(p, p->pos, &cp);
			p->column++;
		}
		if (p->pos == p->len)
			return query_error(p, LODE_EQUERY, tok->column,
			                   "unterminated phrase");
		tok->end = p->pos++;
		p->column++;
		return LODE_OK;
	} else {
		while (p->pos < p->len) {
			n = char_at(p, p->pos, &cp);
			if (is_space(cp) || cp == '(' || cp == ')' || cp == '"')
				break;
			p->pos += n;
			p->column++;
		}
		tok->kind = word_kind(p->text + tok->start, p->pos - tok->start);
	}
	tok->end = p->pos;
	return LODE_OK;
}

/* The next token, lexed if not yet; *tok lives until the next consume(). */
static int peek(struct parser *p, const struct token **tok)
{
	int rc;

	if (!p->have_next) {
		rc = lex(p, &p->next);
		if (rc)
			return rc;
		p->have_next = true;
	}
	*tok = &p->next;
	return LODE_OK;
}

static void consume(struct parser *p)
{
	assert(p->have_next);
	p->prev = p->next.kind;
	p->have_next = false;
}

/* ---- nodes ------------------------------------------------------------- */

/* A node of size bytes (at least the node's; phrase_new puts its terms
 * after it), the node's fields zero but these. */
static struct lode_qnode *node_alloc(enum lode_qkind kind, size_t column,
                                     size_t size)
{
	struct lode_qnode *node = lode_malloc(size);

	if (node) {
		memset(node, 0, sizeof(*node));
		node->kind = kind;
		node->column = column > UINT32_MAX ? UINT32_MAX : (uint32_t)column;
		node->boost = 1.0;
	}
	return node;
}

static struct lode_qnode *node_new(enum lode_qkind kind, size_t column)
{
	return node_alloc(kind, column, sizeof(struct lode_qnode));
}

/* A NOT node over a (b NULL) or an ANDNOT over a and b; NULL if out of
 * memory, leaving a and b to the caller. */
static struct lode_qnode *node_wrap(enum lode_qkind kind, size_t column,
                                    struct lode_qnode *a, struct lode_qnode *b)
{
	struct lode_qnode *node = node_new(kind, column);
	size_t n = b ? 2 : 1;

	if (!node)
		return NULL;
	node->child = lode_malloc(n * sizeof(*node->child));
	if (!node->child) {
		lode_free(node);
		return NULL;
	}
	node->child[0] = a;
	if (b)
		node->child[1] = b;
	node->nchild = n;
	return node;
}

/*
 * Add right as an operand of the n-ary node *left of kind: *left becomes
 * such a node if it is not one, and right's children are spliced in if it is
 * one too.  *cap is the capacity of (*left)->child as far as known (0 for
 * unknown).  Takes right in all cases: on failure it is freed, and *left
 * still holds a valid tree for the caller to free.
 */
static int join(enum lode_qkind kind, struct lode_qnode **left, size_t *cap,
                struct lode_qnode *right)
{
	struct lode_qnode *node = *left;
	size_t add = right->kind == kind ? right->nchild : 1;

	if (node->kind != kind) {
		node = node_new(kind, (*left)->column);
		if (!node)
			goto out_free_right;
		*cap = 0;
		if (lode_grow(&node->child, cap, 1 + add, sizeof(*node->child))) {
			lode_free(node);
			goto out_free_right;
		}
		node->child[node->nchild++] = *left;
		*left = node;
	}
	if (lode_grow(&node->child, cap, node->nchild + add,
	              sizeof(*node->child)))
		goto out_free_right;
	if (right->kind == kind) {
		memcpy(node->child + node->nchild, right->child,
		       add * sizeof(*node->child));
		node->nchild += add;
		lode_free(right->child);
		lode_free(right);
	} else {
		node->child[node->nchild++] = right;
	}
	return LODE_OK;
out_free_right:
	lode_qnode_free(right);
	return LODE_ENOMEM;
}

/*
 * A PHRASE node of the n terms terms[i] (lens[i] bytes each), in one
 * allocation: the node, then its terms and term_len arrays, then the
 * NUL-terminated copies.  Every PHRASE node is made here, so freeing a
 * node frees its terms with it.  n is at most LODE_QUERY_MAX_TERMS (the
 * tokenizer's callbacks stop there), so the arrays' size cannot overflow.
 */
static struct lode_qnode *phrase_new(size_t column, size_t n,
                                     char *const *terms, const size_t *lens)
{
	size_t size = sizeof(struct lode_qnode) +
	              n * (sizeof(char *) + sizeof(size_t));
	struct lode_qnode *node;
	char *copy;

	assert(n <= LODE_QUERY_MAX_TERMS);
	for (size_t i = 0; i < n; i++) {
		if (lens[i] >= SIZE_MAX - size)
			return NULL;
		size += lens[i] + 1;
	}
	if (!(node = node_alloc(LODE_Q_PHRASE, column, size)))
		return NULL;
	node->terms = (char **)(node + 1);
	node->term_len = (size_t *)(node->terms + n);
	copy = (char *)(node->term_len + n);
	for (size_t i = 0; i < n; i++) {
		memcpy(copy, terms[i], lens[i]);
		copy[lens[i]] = '\0';
		node->terms[i] = copy;
		node->term_len[i] = lens[i];
		copy += lens[i] + 1;
	}
	node->nterms = n;
	return node;
}

void lode_qnode_free(struct lode_qnode *node)
{
	struct lode_qnode *first;

	while (node) {
		first = node->nchild ? node->child[0] : NULL;
		for (size_t i = 1; i < node->nchild; i++)
			lode_qnode_free(node->child[i]);
		lode_free(node->child);
		lode_free(node); /* and a PHRASE's terms (phrase_new) */
		node = first;
	}
}

/* ---- parser ------------------------------------------------------------ */

/* The tokens of a word, a phrase or free text, gathered in an arena whose
 * first block is on the caller's stack (a query's words are short). */
struct phrase_build {
	lode_arena arena;
	char **terms;       /* in the arena, NUL-terminated */
	size_t *term_len;
	size_t n, terms_cap, lens_cap;
	size_t *nterms;     /* terms in the whole query */
	unsigned char stack[512];
};

static void phrase_build_init(struct phrase_build *b, size_t *nterms)
{
	b->terms = NULL;
	b->term_len = NULL;
	b->n = b->terms_cap = b->lens_cap = 0;
	b->nterms = nterms;
	lode_arena_init(&b->arena, b->stack, sizeof(b->stack));
}

static int add_term(void *ctx, const char *term, size_t term_len,
                    uint32_t position, size_t start, size_t end)
{
	struct phrase_build *b = ctx;
	char *copy;

	(void)position;
	(void)start;
	(void)end;
	if (*b->nterms >= LODE_QUERY_MAX_TERMS)
		return LODE_ELIMIT;
	if (lode_arena_grow(&b->arena, &b->terms, &b->terms_cap, b->n + 1,
	                    sizeof(*b->terms)) ||
	    lode_arena_grow(&b->arena, &b->term_len, &b->lens_cap, b->n + 1,
	                    sizeof(*b->term_len)) ||
	    !(copy = lode_arena_alloc(&b->arena, term_len + 1)))
		return LODE_ENOMEM;
	memcpy(copy, term, term_len);
	copy[term_len] = '\0';
	b->terms[b->n] = copy;
	b->term_len[b->n] = term_len;
	b->n++;
	(*b->nterms)++;
	return LODE_OK;
}

/* The PHRASE node of a word or quoted phrase token. */
static int parse_text(struct parser *p, const struct token *tok,
                      struct lode_qnode **out)
{
	struct phrase_build b;
	const char *text = p->text + tok->start;
	size_t len = tok->end - tok->start;
	char shown[SHOW_CHARS * 4 + 4];
	int rc;

	if (tok->kind == T_PHRASE && is_blank(text, len))
		return query_error(p, LODE_EQUERY, tok->column, "empty phrase");
	phrase_build_init(&b, &p->nterms);
	rc = lode_tokenize(text, len, add_term, &b);
	if (rc == LODE_ELIMIT) {
		rc = query_error(p, rc, tok->column, "more than %d terms",
		                 LODE_QUERY_MAX_TERMS);
	} else if (rc == LODE_OK && b.n == 0) {
		show(text, len, shown, sizeof(shown));
		rc = tok->kind == T_PHRASE
			? query_error(p, LODE_EQUERY, tok->column,
			              "\"%s\" has no searchable characters", shown)
			: query_error(p, LODE_EQUERY, tok->column,
			              "'%s' has no searchable characters", shown);
	} else if (rc == LODE_OK &&
	           !(*out = phrase_new(tok->column, b.n, b.terms, b.term_len))) {
		rc = LODE_ENOMEM;
	}
	lode_arena_free(&b.arena);
	if (rc == LODE_OK)
		(*out)->quoted = tok->kind == T_PHRASE;
	return rc;
}

/* The error for a token that cannot start an operand, told by context. */
static int unexpected(struct parser *p, const struct token *tok)
{
	const char *prev = operator_name(p->prev);

	if (prev)
		return query_error(p, LODE_EQUERY, tok->column,
		                   "expected a word, phrase or '(' after '%s'",
		                   prev);
	switch (tok->kind) {
	case T_RPAREN:
		return query_error(p, LODE_EQUERY, tok->column,
		                   p->prev == T_LPAREN ? "empty parentheses"
		                                       : "unexpected ')'");
	case T_AND:
	case T_OR:
		return query_error(p, LODE_EQUERY, tok->column,
		                   "expected a word, phrase or '(' before '%s'",
		                   operator_name(tok->kind));
	default:
		assert(tok->kind == T_END);
		return query_error(p, LODE_EQUERY, tok->column,
		                   p->prev == T_LPAREN
		                   ? "expected a word, phrase or '(' after '('"
		                   : "empty query");
	}
}

static int parse_or(struct parser *p, unsigned depth, struct lode_qnode **out);

/* primary := '(' or ')' | '"' words '"' | word */
static int parse_primary(struct parser *p, unsigned depth,
                         struct lode_qnode **out)
{
	const struct token *next;
	struct lode_qnode *inner;
	struct token tok;
	int rc;

	rc = peek(p, &next);
	if (rc)
		return rc;
	tok = *next;
	switch (tok.kind) {
	case T_WORD:
	case T_PHRASE:
		consume(p);
		return parse_text(p, &tok, out);
	case T_LPAREN:
		if (depth >= LODE_QUERY_MAX_DEPTH)
			return too_deep(p, tok.column);
		consume(p);
		rc = parse_or(p, depth + 1, &inner);
		if (rc)
			return rc;
		rc = peek(p, &next);
		if (rc == LODE_OK && next->kind != T_RPAREN)
			rc = query_error(p, LODE_EQUERY, next->column,
			                 "expected ')' to match '(' at column %zu",
			                 tok.column);
		if (rc) {
			lode_qnode_free(inner);
			return rc;
		}
		consume(p);
		*out = inner;
		return LODE_OK;
	default:
		return unexpected(p, &tok);
	}
}

/* unary := 'NOT' unary | primary */
static int parse_unary(struct parser *p, unsigned depth,
                       struct lode_qnode **out)
{
	const struct token *tok;
	struct lode_qnode *child, *node;
	size_t column;
	int rc;

	rc = peek(p, &tok);
	if (rc)
		return rc;
	if (tok->kind != T_NOT)
		return parse_primary(p, depth, out);
	column = tok->column;
	if (depth >= LODE_QUERY_MAX_DEPTH)
		return too_deep(p, column);
	consume(p);
	rc = parse_unary(p, depth + 1, &child);
	if (rc)
		return rc;
	node = node_wrap(LODE_Q_NOT, column, child, NULL);
	if (!node) {
		lode_qnode_free(child);
		return LODE_ENOMEM;
	}
	*out = node;
	return LODE_OK;
}

/* not := unary ( 'NOT' unary )* */
static int parse_not(struct parser *p, unsigned depth, struct lode_qnode **out)
{
	const struct token *tok;
	struct lode_qnode *left, *right, *node;
	size_t cap = 0; /* of the excluded side's children, 0 if unknown */
	int rc;

	rc = parse_unary(p, depth, &left);
	if (rc)
		return rc;
	for (;;) {
		rc = peek(p, &tok);
		if (rc || tok->kind != T_NOT)
			break;
		consume(p);
		rc = parse_unary(p, depth, &right);
		if (rc)
			break;
		if (left->kind == LODE_Q_ANDNOT) {
			/* x NOT y NOT z is x NOT (y OR z): one flat node, so that a
			 * long chain cannot nest deeply. */
			rc = join(LODE_Q_OR, &left->child[1], &cap, right);
			if (rc)
				break;
			continue;
		}
		node = node_wrap(LODE_Q_ANDNOT, left->column, left, right);
		if (!node) {
			lode_qnode_free(right);
			rc = LODE_ENOMEM;
			break;
		}
		cap = 0;
		left = node;
	}
	if (rc) {
		lode_qnode_free(left);
		return rc;
	}
	*out = left;
	return LODE_OK;
}

/* and := not ( ['AND'] not )* */
static int parse_and(struct parser *p, unsigned depth, struct lode_qnode **out)
{
	const struct token *tok;
	struct lode_qnode *left, *right;
	size_t cap = 0;
	int rc;

	rc = parse_not(p, depth, &left);
	if (rc)
		return rc;
	for (;;) {
		rc = peek(p, &tok);
		if (rc)
			break;
		if (tok->kind == T_AND)
			consume(p);
		else if (tok->kind != T_WORD && tok->kind != T_PHRASE &&
		         tok->kind != T_LPAREN)
			break;
		rc = parse_not(p, depth, &right);
		if (rc)
			break;
		rc = join(LODE_Q_AND, &left, &cap, right);
		if (rc)
			break;
	}
	if (rc) {
		lode_qnode_free(left);
		return rc;
	}
	*out = left;
	return LODE_OK;
}

/* or := and ( 'OR' and )* */
static int parse_or(struct parser *p, unsigned depth, struct lode_qnode **out)
{
	const struct token *tok;
	struct lode_qnode *left, *right;
	size_t cap = 0;
	int rc;

	rc = parse_and(p, depth, &left);
	if (rc)
		return rc;
	for (;;) {
		rc = peek(p, &tok);
		if (rc || tok->kind != T_OR)
			break;
		consume(p);
		rc = parse_and(p, depth, &right);
		if (rc)
			break;
		rc = join(LODE_Q_OR, &left, &cap, right);
		if (rc)
			break;
	}
	if (rc) {
		lode_qnode_free(left);
		return rc;
	}
	*out = left;
	return LODE_OK;
}

int lode_qnode_parse(const char *text, size_t len, struct lode_qnode **root,
                     lode_error *err)
{
	struct parser p = {
		.text = text ? text : "",
		.len = len,
		.column = 1,
		.prev = T_NONE,
		.err = err,
	};
	const struct token *tok;
	struct lode_qnode *tree = NULL;
	int rc;

	assert(root);
	assert(text || len == 0);
	*root = NULL;
	rc = parse_or(&p, 0, &tree);
	if (rc == LODE_OK) {
		/* Anything left is a ')': all else would continue the or. */
		rc = peek(&p, &tok);
		if (rc == LODE_OK && tok->kind != T_END) {
			assert(tok->kind == T_RPAREN);
			rc = query_error(&p, LODE_EQUERY, tok->column,
			                 "unexpected ')'");
		}
	}
	if (rc == LODE_ENOMEM)
		lode_fail(err, rc, "out of memory parsing the query");
	if (rc) {
		lode_qnode_free(tree);
		return rc;
	}
	*root = tree;
	return LODE_OK;
}

/* ---- free text --------------------------------------------------------- */

/* Free text's distinct words as they come: their count in the text, and
 * an open-addressing table (index + 1, 0 empty) to find a repeat, so that
 * the term limit counts distinct words and a long text costs linear time. */
struct text_build {
	struct phrase_build b;
	double *qtf;       /* per distinct word, its count */
	size_t qtf_cap;
	uint32_t *slot;
	size_t slot_cap;   /* a power of two, or 0 */
};

static size_t text_slot(const struct text_build *t, const char *term,
                        size_t len)
{
	size_t mask = t->slot_cap - 1, at = lode_bytes_hash(term, len) & mask;

	for (uint32_t e; (e = t->slot[at]) != 0; at = (at + 1) & mask)
		if (t->b.term_len[e - 1] == len &&
		    !memcmp(t->b.terms[e - 1], term, len))
			break;
	return at;
}

/* Double the table (or make the first one) and place every word again. */
static int text_rehash(struct text_build *t)
{
	size_t cap = t->slot_cap ? 2 * t->slot_cap : 64;
	uint32_t *old = t->slot;

	if (!(t->slot = lode_calloc(cap, sizeof(*t->slot)))) {
		t->slot = old;
		return LODE_ENOMEM;
	}
	lode_free(old);
	t->slot_cap = cap;
	for (size_t i = 0; i < t->b.n; i++)
		t->slot[text_slot(t, t->b.terms[i], t->b.term_len[i])] =
		        (uint32_t)i + 1;
	return LODE_OK;
}

static int add_text_word(void *ctx, const char *term, size_t term_len,
                         uint32_t position, size_t start, size_t end)
{
	struct text_build *t = ctx;
	size_t at;
	int rc;

	if ((t->b.n + 1) * 2 > t->slot_cap && (rc = text_rehash(t)))
		return rc;
	at = text_slot(t, term, term_len);
	if (t->slot[at]) {
		t->qtf[t->slot[at] - 1] += 1;
		return LODE_OK;
	}
	if (lode_grow(&t->qtf, &t->qtf_cap, t->b.n + 1, sizeof(*t->qtf)))
		return LODE_ENOMEM;
	if ((rc = add_term(&t->b, term, term_len, position, start, end)))
		return rc;
	t->qtf[t->b.n - 1] = 1;
	t->slot[at] = (uint32_t)t->b.n;
	return LODE_OK;
}

int lode_qnode_from_text(const char *text, size_t len,
                         struct lode_qnode **root, lode_error *err)
{
	size_t nterms = 0, cap = 0;
	struct text_build t = {0};
	struct lode_qnode *tree = NULL;
	int rc;

	*root = NULL;
	phrase_build_init(&t.b, &nterms);
	/* Each distinct word once, weighted by its count in the text (BM25's
	 * query term frequency, as if k3 were infinite). */
	rc = lode_tokenize(text ? text : "", len, add_text_word, &t);
	if (rc == LODE_ELIMIT) {
		rc = lode_fail(err, rc, "query error at column 1: more than %d "
		               "distinct words", LODE_QUERY_MAX_TERMS);
		goto out_free;
	}
	if (rc == LODE_OK && t.b.n == 0) {
		rc = lode_fail(err, LODE_EQUERY, "query error at column 1: the "
		               "text has no searchable words");
		goto out_free;
	}
	for (size_t i = 0; rc == LODE_OK && i < t.b.n; i++) {
		struct lode_qnode *leaf =
		        phrase_new(1, 1, &t.b.terms[i], &t.b.term_len[i]);
		if (!leaf) {
			rc = LODE_ENOMEM;
			break;
		}
		leaf->boost = t.qtf[i];
		if (!tree)
			tree = leaf;
		else
			rc = join(LODE_Q_OR, &tree, &cap, leaf);
	}
	if (rc == LODE_ENOMEM)
		lode_fail(err, rc, "out of memory parsing the query");
out_free:
	lode_free(t.qtf);
	lode_free(t.slot);
	lode_arena_free(&t.b.arena);
	if (rc) {
		lode_qnode_free(tree);
		return rc;
	}
	*root = tree;
	return LODE_OK;
}

/* A one-term PHRASE node holding a copy of term t of src. */
static struct lode_qnode *copy_term(const struct lode_qnode *src, size_t t,
                                    int quoted)
{
	struct lode_qnode *node =
		phrase_new(src->column, 1, &src->terms[t], &src->term_len[t]);

	if (!node)
		return NULL;
	node->quoted = quoted;
	node->boost = src->boost;
	return node;
}

int lode_qnode_exact_and_stem(const struct lode_qnode *root,
                              struct lode_qnode **out)
{
	const struct lode_qnode *const *words =
		root->kind == LODE_Q_OR ? (const struct lode_qnode *const *)root->child
		                        : &root;
	size_t n = root->kind == LODE_Q_OR ? root->nchild : 1;
	struct lode_qnode *tree = node_new(LODE_Q_OR, root->column);

	*out = NULL;
	if (!tree || !(tree->child = lode_calloc(2 * n, sizeof(*tree->child)))) {
		lode_qnode_free(tree);
		return LODE_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		for (int quoted = 1; quoted >= 0; quoted--) {
			struct lode_qnode *leaf = copy_term(words[i], 0, quoted);
			if (!leaf) {
				lode_qnode_free(tree);
				return LODE_ENOMEM;
			}
			tree->child[tree->nchild++] = leaf;
		}
	}
	*out = tree;
	return LODE_OK;
}

/* ---- formatting -------------------------------------------------------- */

/* Output of lode_qnode_format: buf of cap bytes, len bytes wanted so far. */
struct sink {
	char *buf;
	size_t cap;
	size_t len;
};

static void put(struct sink *s, const char *str, size_t n)
{
	size_t room;

	if (s->len + 1 < s->cap) {
		room = s->cap - 1 - s->len;
		memcpy(s->buf + s->len, str, n < room ? n : room);
	}
	s->len += n;
}

static void put_str(struct sink *s, const char *str)
{
	put(s, str, strlen(str));
}

static void format_node(struct sink *s, const struct lode_qnode *node)
{
	static const char *const names[] = {
		[LODE_Q_AND] = "(AND",
		[LODE_Q_OR] = "(OR",
		[LODE_Q_ANDNOT] = "(ANDNOT",
		[LODE_Q_NOT] = "(NOT",
	};
	size_t i;

	if (node->kind == LODE_Q_PHRASE) {
		if (node->nterms > 1)
			put_str(s, "\"");
		for (i = 0; i < node->nterms; i++) {
			if (i)
				put_str(s, " ");
			put(s, node->terms[i], node->term_len[i]);
		}
		if (node->nterms > 1)
			put_str(s, "\"");
		return;
	}
	put_str(s, names[node->kind]);
	for (i = 0; i < node->nchild; i++) {
		put_str(s, " ");
		format_node(s, node->child[i]);
	}
	put_str(s, ")");
}

size_t lode_qnode_format(const struct lode_qnode *node, char *buf, size_t cap)
{
	struct sink s = { .buf = buf, .cap = cap };

	assert(node);
	assert(buf || cap == 0);
	format_node(&s, node);
	if (cap)
		buf[s.len < cap ? s.len : cap - 1] = '\0';
	return s.len;
}

/* ---- public API -------------------------------------------------------- */

int lode_query_parse(const char *text, size_t len, lode_query **out,
                     lode_error *err)
{
	struct lode_query *query;
	int rc;

	assert(out);
	*out = NULL;
	lode_error_clear(err);
	query = lode_calloc(1, sizeof(*query));
	if (!query)
		return lode_fail(err, LODE_ENOMEM,
		                 "out of memory parsing the query");
	query->k1 = LODE_BM25_K1;
	query->b = LODE_BM25_B;
	query->c = LODE_DFR_C;
	rc = lode_qnode_parse(text, len, &query->root, err);
	if (rc) {
		lode_free(query);
		return rc;
	}
	*out = query;
	return LODE_OK;
}

int lode_query_parse_text(const char *text, size_t len, lode_query **out,
                          lode_error *err)
{
	struct lode_query *query;
	int rc;

	*out = NULL;
	lode_error_clear(err);
	query = lode_calloc(1, sizeof(*query));
	if (!query)
		return lode_fail(err, LODE_ENOMEM,
		                 "out of memory parsing the query");
	query->free_text = 1;
	query->k1 = LODE_BM25_K1;
	query->b = LODE_BM25_B;
	query->c = LODE_DFR_C;
	rc = lode_qnode_from_text(text, len, &query->root, err);
	if (rc) {
		lode_free(query);
		return rc;
	}
	*out = query;
	return LODE_OK;
}

void lode_query_set_exact(lode_query *query, int exact)
{
	query->exact = exact != 0;
}

int lode_query_set_bm25(lode_query *query, double k1, double b,
                        lode_error *err)
{
	/* Written so that NaN fails every test.  k1 is bounded so that
	 * tf * (k1 + 1) and k1 * dl / avgdl stay finite (tf, dl < 2^32): an
	 * infinite score would make every document tie, or be NaN. */
	if (!(k1 >= 0 && k1 <= LODE_BM25_K1_MAX))
		/* All the digits when six would show the bound itself. */
		return lode_fail(err, LODE_EINVAL, "BM25 k1 must be a number from 0 "
		                 "to %g, not %.*g", LODE_BM25_K1_MAX,
		                 k1 > LODE_BM25_K1_MAX && k1 < LODE_BM25_K1_MAX * 1.00001
		                         ? 17 : 6, k1);
	if (!(b >= 0 && b <= 1))
		return lode_fail(err, LODE_EINVAL, "BM25 b must be a number from 0"
		                 " to 1, not %g", b);
	query->k1 = k1;
	query->b = b;
	query->dfr = 0;
	lode_error_clear(err);
	return LODE_OK;
}

int lode_query_set_dfr(lode_query *query, double c, lode_error *err)
{
	/* Bounded so that c * avgdl stays finite (avgdl < 2^32). */
	if (!(c > 0 && c <= LODE_DFR_C_MAX))
		return lode_fail(err, LODE_EINVAL, "DFR c must be a number > 0 "
		                 "and at most %g, not %g", LODE_DFR_C_MAX, c);
	query->c = c;
	query->dfr = 1;
	lode_error_clear(err);
	return LODE_OK;
}

void lode_query_free(lode_query *query)
{
	if (query) {
		lode_qnode_free(query->root);
		lode_free(query);
	}
}
