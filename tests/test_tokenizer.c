/*
 * test_tokenizer.c -- the tokenizer against the rules in tokenizer.h.
 *
 * Most cases tokenize a string and compare the terms joined by spaces.  The
 * recording callback checks the invariants every token must keep (non-empty,
 * at most LODE_MAX_TOKEN_BYTES, valid UTF-8, consecutive positions, offsets
 * inside the text and never going backwards), so each case checks them too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <utf8proc.h>

#include "support.h"
#include "tokenizer.h"

/* One token as the callback saw it. */
struct rec {
	char term[LODE_MAX_TOKEN_BYTES + 1]; /* NUL-terminated copy */
	size_t len;                          /* bytes in term */
	uint32_t position;
	size_t start, end;                   /* byte range in the text */
};

/* Everything one lode_tokenize() call produced. */
struct recs {
	struct rec *v;
	size_t n, cap;
	size_t text_len;  /* length of the text, to check offsets against */
	size_t stop_at;   /* return stop_value from the stop_at-th call; 0: never */
	int stop_value;
};

/* Strict UTF-8: shortest form, no surrogates, nothing above U+10FFFF. */
static int valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i < n)
			return 0;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
			return 0;
		i += n;
	}
	return 1;
}

/*
 * Which invariant a token breaks, or NULL: the checks the recording callback
 * makes on every token.  prev is the token before it (NULL for the first).
 */
static const char *token_fault(const struct rec *prev, size_t n,
                               size_t text_len, const char *term,
                               size_t term_len, uint32_t position,
                               size_t start, size_t end)
{
	if (term_len == 0)
		return "empty term";
	if (term_len > LODE_MAX_TOKEN_BYTES)
		return "term longer than LODE_MAX_TOKEN_BYTES";
	if (!valid_utf8((const unsigned char *)term, term_len))
		return "term is not valid UTF-8";
	if (position != n)
		return "positions not consecutive from 0";
	if (!(start < end && end <= text_len))
		return "offsets outside the text";
	/* Tokens from one character (U+FDFA gives four) share its range. */
	if (prev && (start < prev->start || end < prev->end))
		return "offsets go backwards";
	return NULL;
}

static int record(void *ctx, const char *term, size_t term_len,
                  uint32_t position, size_t start, size_t end)
{
	struct recs *r = ctx;
	const char *fault;
	struct rec *t;

	fault = token_fault(r->n ? &r->v[r->n - 1] : NULL, r->n, r->text_len,
	                    term, term_len, position, start, end);
	if (fault)
		fail_msg("token %zu: %s", r->n, fault);
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		assert_non_null(r->v);
	}
	t = &r->v[r->n++];
	memcpy(t->term, term, term_len);
	t->term[term_len] = '\0';
	t->len = term_len;
	t->position = position;
	t->start = start;
	t->end = end;
	if (r->stop_at && r->n == r->stop_at)
		return r->stop_value;
	return 0;
}

/* Tokenize text[0, len) into r (reset first); returns lode_tokenize's value. */
static int run(struct recs *r, const char *text, size_t len)
{
	r->n = 0;
	r->text_len = len;
	return lode_tokenize(text, len, record, r);
}

static void recs_free(struct recs *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* The terms of text[0, len) joined by single spaces, into out. */
static void joined_terms(const char *text, size_t len, char *out,
                         size_t out_size)
{
	struct recs r = {0};
	size_t used = 0, k;

	assert_int_equal(run(&r, text, len), 0);
	out[0] = '\0';
	for (k = 0; k < r.n; k++) {
		assert_true(used + r.v[k].len + 2 <= out_size);
		if (k)
			out[used++] = ' ';
		memcpy(out + used, r.v[k].term, r.v[k].len + 1);
		used += r.v[k].len;
	}
	recs_free(&r);
}

static void check_terms_n(const char *text, size_t len, const char *expected)
{
	char got[4096];

	joined_terms(text, len, got, sizeof(got));
	assert_string_equal(got, expected);
}

/* Terms of a NUL-terminated text, joined by spaces, must equal expected. */
static void check_terms(const char *text, const char *expected)
{
	check_terms_n(text, strlen(text), expected);
}

/* ---- splitting ------------------------------------------------------- */

static void test_apostrophes_split_words(void **state)
{
	struct recs r = {0};

	(void)state;
	check_terms("Iran's", "iran s");
	check_terms("Iran\u2019s", "iran s");
	check_terms("don't won\u2019t", "don t won t");
	assert_int_equal(run(&r, "Iran\u2019s", strlen("Iran\u2019s")), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.v[1].start, 7);
	assert_int_equal(r.v[1].end, 8);
	recs_free(&r);
}

static void test_abbreviation_dots_split_letters(void **state)
{
	(void)state;
	check_terms("U.N.", "u n");
	check_terms("the U.S.A. and e.g.", "the u s a and e g");
}

static void test_punctuation_and_whitespace_separate(void **state)
{
	(void)state;
	check_terms("a-b_c/d\\e(f)g[h]i{j}k<l>m", "a b c d e f g h i j k l m");
	check_terms("tab\tnew\nline\r\nend", "tab new line end");
	check_terms("no\u00a0break em\u2014dash \u00abquoted\u00bb",
	            "no break em dash quoted");
	check_terms("soft\u00adhyphen zero\u200bwidth", "soft hyphen zero width");
	check_terms("  ,.;!?  \u2014 \u2026 ", "");
}

/* ---- folding --------------------------------------------------------- */

static void test_diacritics_removed_precomposed(void **state)
{
	(void)state;
	check_terms("P\u00e9zeshkian", "pezeshkian");
	check_terms("na\u00efve caf\u00e9 \u00e5ngstr\u00f6m \u0141\u00f3d\u017a",
	            "naive cafe angstrom \u0142odz");
}

static void test_diacritics_removed_decomposed(void **state)
{
	(void)state;
	check_terms("Pe\u0301zeshkian", "pezeshkian");
	check_terms("cafe\u0301", "cafe");
	/* Several marks in a row, and a mark at the start of the text. */
	check_terms("a\u0301\u0308\u0323b", "ab");
	check_terms("\u0301abc", "abc");
	check_terms("x \u0301 y", "x y");
}

static void test_case_folded_ascii(void **state)
{
	(void)state;
	check_terms("HeLLo WORLD hello", "hello world hello");
}

static void test_case_folded_non_ascii(void **state)
{
	(void)state;
	check_terms("\u00c4\u00d6\u00dc \u00e4\u00f6\u00fc", "aou aou");
	check_terms("\u0391\u0398\u0397\u039d\u0391 \u03b1\u03b8\u03b7\u03bd\u03b1",
	            "\u03b1\u03b8\u03b7\u03bd\u03b1 \u03b1\u03b8\u03b7\u03bd\u03b1");
	/* Final sigma folds to sigma; tonos is a mark. */
	check_terms("\u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3 "
	            "\u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2",
	            "\u03c3\u03b9\u03c3\u03c5\u03c6\u03bf\u03c3 "
	            "\u03c3\u03b9\u03c3\u03c5\u03c6\u03bf\u03c3");
	check_terms("Stra\u00dfe STRASSE \u1e9e", "strasse strasse ss");
	check_terms("\u041c\u041e\u0421\u041a\u0412\u0410", "\u043c\u043e\u0441\u043a\u0432\u0430");
	check_terms("\u0130stanbul", "istanbul");
}

static void test_digits_and_mixed_alnum(void **state)
{
	(void)state;
	check_terms("COVID19 covid-19 3.14 B-52s 1,000,000",
	            "covid19 covid 19 3 14 b 52s 1 000 000");
	/* Numbers of other scripts and other number categories are tokens. */
	check_terms("\u0661\u0662\u0663 \u2167 x\u00b2", "\u0661\u0662\u0663 viii x2");
}

static void test_cjk_letters_are_tokens(void **state)
{
	(void)state;
	/* No word segmentation: a run of ideographs is one token. */
	check_terms("\u6771\u4eac 2024\u5e74", "\u6771\u4eac 2024\u5e74");
	check_terms("\u6771\u4eac\u3001\u5927\u962a\u3002", "\u6771\u4eac \u5927\u962a");
	check_terms("\u30ab\u30bf\u30ab\u30ca", "\u30ab\u30bf\u30ab\u30ca");
	/* Hangul syllables decompose to their jamo. */
	check_terms("\ud55c\uad6d", "\u1112\u1161\u11ab\u1100\u116e\u11a8");
}

static void test_fullwidth_forms_fold(void **state)
{
	(void)state;
	check_terms("\uff21\uff22\uff23", "abc");
	check_terms("\uff21\uff22\uff23\uff11\uff12\uff0c\uff44\uff45", "abc12 de");
	/* Half-width katakana become the full-width ones. */
	check_terms("\uff76\uff80\uff76\uff85", "\u30ab\u30bf\u30ab\u30ca");
}

static void test_ligatures_decompose(void **state)
{
	(void)state;
	check_terms("\ufb01nance", "finance");
	check_terms("o\ufb03ce \u01c4", "office dz");
	check_terms("\u2121 \u2474", "tel 1");
}

static void test_longest_mapping_splits_into_words(void **state)
{
	(void)state;
	/* U+FDFA maps to 18 code points: four Arabic words and three spaces. */
	check_terms("\ufdfa",
	            "\u0635\u0644\u0649 \u0627\u0644\u0644\u0647 "
	            "\u0639\u0644\u064a\u0647 \u0648\u0633\u0644\u0645");
}

/* ---- bytes that are not text ------------------------------------------ */

static void test_invalid_bytes_separate(void **state)
{
	struct recs r = {0};

	(void)state;
	check_terms("ab\xff" "cd", "ab cd");
	check_terms("\xff\xfe\xff", "");
	check_terms("caf\xe9 au lait", "caf au lait");
	/* Lone continuation bytes. */
	check_terms("a\x80\xbf" "b", "a b");
	/* Truncated sequences, in the middle and at the end. */
	check_terms("ab\xc3" "cd", "ab cd");
	check_terms("ab\xe2\x82" "cd", "ab cd");
	check_terms("ab\xf0\x9f\x98" "cd", "ab cd");
	check_terms("ab\xc3", "ab");
	check_terms("ab\xe2\x82", "ab");
	/* Overlong encodings of '/' and 'A' are not decoded. */
	check_terms("a\xc0\xaf" "b", "a b");
	check_terms("x\xc1\x81y", "x y");
	check_terms("x\xe0\x81\x81y", "x y");
	check_terms("x\xf0\x80\x81\x81y", "x y");
	/* Surrogates and code points past U+10FFFF. */
	check_terms("x\xed\xa0\x80y", "x y");
	check_terms("x\xf4\x90\x80\x80y", "x y");
	/* Each invalid byte is one character: the bytes after it still count. */
	check_terms("\xe2\x82\xc3\xa9t\xc3\xa9", "ete");
	assert_int_equal(run(&r, "ab\xff" "cd", 5), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.v[1].start, 3);
	assert_int_equal(r.v[1].end, 5);
	recs_free(&r);
}

static void test_nul_bytes_separate(void **state)
{
	static const char text[] = "foo\0bar\0\0baz";
	struct recs r = {0};

	(void)state;
	check_terms_n(text, sizeof(text) - 1, "foo bar baz");
	assert_int_equal(run(&r, text, sizeof(text) - 1), 0);
	assert_int_equal(r.v[1].start, 4);
	assert_int_equal(r.v[1].end, 7);
	assert_int_equal(r.v[2].start, 9);
	recs_free(&r);
}

static void test_empty_input_gives_no_tokens(void **state)
{
	struct recs r = {0};

	(void)state;
	assert_int_equal(run(&r, "", 0), 0);
	assert_int_equal(r.n, 0);
	/* The length is what counts, not a terminator. */
	assert_int_equal(run(&r, "abc", 0), 0);
	assert_int_equal(r.n, 0);
	check_terms_n("abcdef", 3, "abc");
	recs_free(&r);
}

/* ---- long tokens ----------------------------------------------------- */

static void test_megabyte_token_is_cut_to_one_term(void **state)
{
	size_t n = (size_t)1 << 20, k;
	char *text = malloc(n + 5);
	struct recs r = {0};

	(void)state;
	assert_non_null(text);
	memset(text, 'A', n);
	memcpy(text + n, " next", 5);
	assert_int_equal(run(&r, text, n + 5), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.v[0].len, LODE_MAX_TOKEN_BYTES);
	for (k = 0; k < r.v[0].len; k++)
		assert_int_equal(r.v[0].term[k], 'a');
	assert_int_equal(r.v[0].start, 0);
	assert_int_equal(r.v[0].end, n);
	assert_string_equal(r.v[1].term, "next");
	assert_int_equal(r.v[1].position, 1);
	recs_free(&r);
	free(text);
}

static void test_megabyte_multibyte_token_cut_at_char_boundary(void **state)
{
	/* "a" then U+4E2D: 4 bytes a pair, so 63 pairs and one "a" fit in 255. */
	static const char pair[] = "a\u4e2d";
	size_t n = (size_t)1 << 20, k;
	char *text = malloc(n);
	struct recs r = {0};

	(void)state;
	assert_non_null(text);
	for (k = 0; k < n; k += 4)
		memcpy(text + k, pair, 4);
	assert_int_equal(run(&r, text, n), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.v[0].len, 63 * 4 + 1);
	assert_memory_equal(r.v[0].term, text, 63 * 4 + 1);
	assert_int_equal(r.v[0].end, n);
	recs_free(&r);
	free(text);
}

/* A text of count copies of unit, in a buffer the caller frees. */
static char *repeat(const char *unit, size_t count, size_t *len)
{
	size_t u = strlen(unit), k;
	char *s = malloc(u * count + 1);

	assert_non_null(s);
	for (k = 0; k < count; k++)
		memcpy(s + k * u, unit, u);
	s[u * count] = '\0';
	*len = u * count;
	return s;
}

static void test_long_multibyte_token_cut_at_char_boundary(void **state)
{
	struct recs r = {0};
	size_t len;
	char *text;

	(void)state;
	/* 127 two-byte characters fit in 254 bytes; the 128th does not. */
	text = repeat("\u0436", 200, &len);
	assert_int_equal(run(&r, text, len), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.v[0].len, 254);
	assert_memory_equal(r.v[0].term, text, 254);
	assert_int_equal(r.v[0].end, len);

	/* After the cut nothing is appended, not even a byte that would fit. */
	text = realloc(text, len + 2);
	assert_non_null(text);
	memcpy(text + len, "zz", 2);
	assert_int_equal(run(&r, text, len + 2), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.v[0].len, 254);
	assert_int_equal(r.v[0].end, len + 2);
	free(text);

	/* Uppercase folds to the same length: the cut is on folded bytes. */
	text = repeat("\u0416", 200, &len);
	assert_int_equal(run(&r, text, len), 0);
	assert_int_equal(r.v[0].len, 254);
	free(text);

	/* \u00e9 folds to one byte, so 255 of 300 fit, precomposed or not. */
	text = repeat("\u00e9", 300, &len);
	assert_int_equal(run(&r, text, len), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.v[0].len, 255);
	assert_int_equal(r.v[0].end, len);
	free(text);
	text = repeat("E\u0301", 300, &len);
	assert_int_equal(run(&r, text, len), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.v[0].len, 255);
	assert_int_equal(r.v[0].end, len);
	free(text);

	/* A token of exactly LODE_MAX_TOKEN_BYTES is not cut. */
	text = repeat("\u4e2d", 85, &len);
	assert_int_equal(run(&r, text, len), 0);
	assert_int_equal(r.v[0].len, 255);
	assert_memory_equal(r.v[0].term, text, 255);
	free(text);

	/* A cut term tokenizes to itself: queries are cut the same way. */
	text = repeat("\u4e2d", 100, &len);
	assert_int_equal(run(&r, text, len), 0);
	check_terms_n(text, 255, r.v[0].term);
	free(text);
	recs_free(&r);
}

/* ---- offsets, positions, stopping -------------------------------------- */

static void test_byte_offsets_cover_original_characters(void **state)
{
	/* "  \u00dcn\u00efcode, \ufb01ne!" with its byte offsets:
	 * \u00dc at 2-4, n 4, \u00ef 5-7, "code" 7-11, ',' 11, ' ' 12,
	 * \ufb01 13-16, "ne" 16-18, '!' 18. */
	static const char text[] = "  \u00dcn\u00efcode, \ufb01ne!";
	struct recs r = {0};

	(void)state;
	assert_int_equal(run(&r, text, sizeof(text) - 1), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.v[0].term, "unicode");
	assert_int_equal(r.v[0].start, 2);
	assert_int_equal(r.v[0].end, 11);
	assert_string_equal(r.v[1].term, "fine");
	assert_int_equal(r.v[1].start, 13);
	assert_int_equal(r.v[1].end, 18);

	/* Marks after the last letter belong to the token's range. */
	assert_int_equal(run(&r, "cafe\u0301 x", 8), 0);
	assert_int_equal(r.v[0].start, 0);
	assert_int_equal(r.v[0].end, 6);
	assert_int_equal(r.v[1].start, 7);

	/* A character whose mapping holds a separator: "(1)" from U+2474. */
	assert_int_equal(run(&r, "a\u2474b", 5), 0);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.v[1].term, "1");
	assert_int_equal(r.v[1].start, 1);
	assert_int_equal(r.v[1].end, 4);
	assert_int_equal(r.v[2].start, 4);
	recs_free(&r);
}

static void test_positions_consecutive_from_zero_per_call(void **state)
{
	static const char text[] = "one, two; three\u2014four \u00fcber 6";
	struct recs r = {0};
	size_t k;

	(void)state;
	assert_int_equal(run(&r, text, sizeof(text) - 1), 0);
	assert_int_equal(r.n, 6);
	for (k = 0; k < r.n; k++)
		assert_int_equal(r.v[k].position, k);
	assert_int_equal(run(&r, "again", 5), 0);
	assert_int_equal(r.v[0].position, 0);
	recs_free(&r);
}

static void test_callback_stop_value_propagated(void **state)
{
	static const char text[] = "a b c d e";
	struct recs r = {0};

	(void)state;
	r.stop_at = 3;
	r.stop_value = 42;
	assert_int_equal(run(&r, text, 9), 42);
	assert_int_equal(r.n, 3);
	/* The last token, emitted at the end of the text. */
	r.stop_at = 5;
	r.stop_value = -7;
	assert_int_equal(run(&r, text, 9), -7);
	assert_int_equal(r.n, 5);
	/* A token ended by a non-ASCII separator. */
	r.stop_at = 1;
	r.stop_value = 1;
	assert_int_equal(run(&r, "\u00e9t\u00e9\u2014\u00e9t\u00e9",
	                     strlen("\u00e9t\u00e9\u2014\u00e9t\u00e9")), 1);
	assert_int_equal(r.n, 1);
	recs_free(&r);
}

/* ---- against a reference, and random input ---------------------------- */

/*
 * Every code point on its own, against a reference built here from utf8proc
 * with a buffer large enough for any mapping: the terms must equal the runs
 * of L*, N* and Co code points of the mapping, and must tokenize to
 * themselves.  Checks the ASCII table too.
 */
static void test_every_code_point_matches_reference(void **state)
{
	const utf8proc_option_t options = UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT |
	                                  UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK;
	utf8proc_int32_t map[256];
	unsigned char text[4];
	char expected[1024], got[1024];
	utf8proc_ssize_t n, k, text_len;
	size_t used;
	int boundclass, sep;

	(void)state;
	for (utf8proc_int32_t cp = 0; cp < 0x110000; cp++) {
		if (cp >= 0xd800 && cp < 0xe000)
			continue;
		boundclass = 0;
		n = utf8proc_decompose_char(cp, map, 256, options, &boundclass);
		assert_true(n >= 0 && n <= 256);
		used = 0;
		sep = 0;
		for (k = 0; k < n; k++) {
			switch (utf8proc_category(map[k])) {
			case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
			case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
			case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
			case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
			case UTF8PROC_CATEGORY_CO:
				if (sep && used)
					expected[used++] = ' ';
				sep = 0;
				used += (size_t)utf8proc_encode_char(
					map[k], (utf8proc_uint8_t *)expected + used);
				break;
			case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC:
			case UTF8PROC_CATEGORY_ME:
				break;
			default:
				sep = 1;
			}
		}
		expected[used] = '\0';
		text_len = utf8proc_encode_char(cp, text);
		joined_terms((const char *)text, (size_t)text_len, got,
		             sizeof(got));
		if (strcmp(got, expected) != 0)
			fail_msg("U+%04X: got \"%s\", expected \"%s\"",
			         (unsigned)cp, got, expected);
		/* The terms tokenize to themselves: the mapping is idempotent. */
		joined_terms(expected, used, got, sizeof(got));
		if (strcmp(got, expected) != 0)
			fail_msg("U+%04X: terms \"%s\" tokenize to \"%s\"",
			         (unsigned)cp, expected, got);
	}
}

/* Append the piece p to buf[0, *len) if it fits within want bytes; 0 if
 * it does not. */
static int append_piece(char *buf, size_t *len, size_t want, const char *p)
{
	size_t plen = strlen(p);

	if (*len + plen > want)
		return 0;
	memcpy(buf + *len, p, plen);
	*len += plen;
	return 1;
}

/* A random text: bytes, ASCII words and valid characters of many kinds. */
static size_t random_text(test_rng *rng, char *buf, size_t cap)
{
	static const char *const pieces[] = {
		"a", "Z", "9", " ", ".", "'", "\u2019", "\u00e9", "e\u0301",
		"\u0301", "\u00df", "\u0416", "\u03a3", "\u4e2d", "\ud55c",
		"\uff21", "\ufb01", "\ufdfa", "\u2474", "\U0001F600",
		"\U0001D400", "\ue000", "\u00ad", "\u200d", "\u0663",
	};
	size_t len = 0, want = test_rng_below(rng, (uint32_t)cap);

	while (len < want) {
		uint32_t kind = test_rng_below(rng, 4);

		if (kind == 0) {
			buf[len++] = (char)test_rng_below(rng, 256);
		} else if (kind == 1) {
			/* A long run of one letter, to reach the cut. */
			size_t run_len = test_rng_below(rng, 400);

			while (run_len-- && len < want)
				buf[len++] = 'q';
		} else if (!append_piece(buf, &len, want, pieces[test_rng_below(rng,
		                         sizeof(pieces) / sizeof(pieces[0]))])) {
			break;
		}
	}
	return len;
}

/* State of the non-failing checker used by the random test. */
struct checker {
	struct rec prev;    /* the previous token */
	size_t n;           /* tokens seen */
	size_t text_len;
	const char *fault;  /* the first broken invariant, or NULL */
};

static int retokenize_one(void *ctx, const char *term, size_t term_len,
                          uint32_t position, size_t start, size_t end)
{
	struct rec *r = ctx;

	(void)start;
	(void)end;
	if (position != 0)
		return 1;
	memcpy(r->term, term, term_len);
	r->len = term_len;
	return 0;
}

static int check_token(void *ctx, const char *term, size_t term_len,
                       uint32_t position, size_t start, size_t end)
{
	struct checker *c = ctx;
	struct rec again;

	c->fault = token_fault(c->n ? &c->prev : NULL, c->n, c->text_len,
	                       term, term_len, position, start, end);
	if (!c->fault) {
		again.len = 0;
		if (lode_tokenize(term, term_len, retokenize_one, &again) != 0 ||
		    again.len != term_len ||
		    memcmp(again.term, term, term_len) != 0)
			c->fault = "term does not tokenize to itself";
	}
	if (c->fault)
		return 1;
	c->prev.start = start;
	c->prev.end = end;
	c->n++;
	return 0;
}

static void test_random_bytes_keep_invariants(void **state)
{
	const uint64_t seed = 20240601;
	const size_t cap = 4096;
	char *buf = malloc(cap);
	struct checker c;
	test_rng rng;
	int i, rc;

	(void)state;
	assert_non_null(buf);
	test_rng_seed(&rng, seed);
	for (i = 0; i < 5000; i++) {
		memset(&c, 0, sizeof(c));
		c.text_len = random_text(&rng, buf, cap);
		rc = lode_tokenize(buf, c.text_len, check_token, &c);
		if (rc != 0 || c.fault)
			fail_msg("seed %llu, buffer %d, token %zu: %s",
			         (unsigned long long)seed, i, c.n,
			         c.fault ? c.fault : "unexpected return value");
	}
	free(buf);
}

/*
 * The general path alone, as tokenizer.h specifies it: every character,
 * ASCII or not, decoded and mapped by utf8proc (none through the ASCII
 * table), tokens cut at LODE_MAX_TOKEN_BYTES at a whole character, each
 * token's range from its first token character to the last character that
 * joined it (marks and characters mapping to nothing included).  Appends
 * the tokens to r as record() would.
 */
/* The reference's open token: hand it to record(), if there is one. */
static void reference_flush(struct recs *r, struct rec *tok, size_t *limit)
{
	if (!tok->len)
		return;
	tok->term[tok->len] = '\0';
	assert_int_equal(record(r, tok->term, tok->len, (uint32_t)r->n,
	                        tok->start, tok->end), 0);
	tok->len = 0;
	*limit = LODE_MAX_TOKEN_BYTES;
}

static void reference_tokenize(const char *text, size_t len, struct recs *r)
{
	const utf8proc_option_t options = UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT |
	                                  UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK;
	const unsigned char *s = (const unsigned char *)text;
	struct rec tok = {0};
	size_t i = 0, limit = LODE_MAX_TOKEN_BYTES;
	utf8proc_int32_t map[256], cp;
	utf8proc_ssize_t n, used;
	unsigned char enc[4];
	size_t e;
	int boundclass;

	r->n = 0;
	r->text_len = len;
	while (i < len) {
		used = utf8proc_iterate(s + i, len - i < 4 ? (utf8proc_ssize_t)(len - i)
		                                           : 4, &cp);
		if (used < 0) {
			used = 1;
			cp = 0xFFFD;
		}
		boundclass = 0;
		n = utf8proc_decompose_char(cp, map, 256, options, &boundclass);
		assert_true(n >= 0 && n <= 256);
		for (utf8proc_ssize_t k = 0; k < n; k++) {
			switch (utf8proc_category(map[k])) {
			case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
			case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
			case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
			case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
			case UTF8PROC_CATEGORY_CO:
				e = (size_t)utf8proc_encode_char(map[k], enc);
				if (!tok.len)
					tok.start = i;
				if (tok.len + e <= limit) {
					memcpy(tok.term + tok.len, enc, e);
					tok.len += e;
				} else {
					limit = tok.len; /* cut: nothing more joins */
				}
				tok.end = i + (size_t)used;
				break;
			case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC:
			case UTF8PROC_CATEGORY_ME:
				if (tok.len)
					tok.end = i + (size_t)used;
				break;
			default:
				reference_flush(r, &tok, &limit);
			}
		}
		if (n == 0 && tok.len)
			tok.end = i + (size_t)used;
		i += (size_t)used;
	}
	reference_flush(r, &tok, &limit);
}

/* Random text where ASCII words of every length (mixed case and digits)
 * meet punctuation, control bytes, non-ASCII characters, marks and invalid
 * bytes on either side, with runs long enough to be cut. */
static size_t random_mixed_text(test_rng *rng, char *buf, size_t cap)
{
	static const char alnum[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static const char *const others[] = {
		" ", " ", "\n", ".", "'", "-", "@", "[", "`", "{", "/", ":",
		"\x7f", "\x01", "\x10",
		"\u00e9", "\u00c9", "e\u0301", "\u0301", "\u00df", "\u0130",
		"\u4e2d", "\uff21", "\ufb01", "\u2019", "\u00ad", "\x80",
		"\xc3", "\xff",
	};
	size_t len = 0, want = test_rng_below(rng, (uint32_t)cap);

	while (len < want) {
		uint32_t kind = test_rng_below(rng, 8);
		size_t n = kind == 0 ? 240 + test_rng_below(rng, 40)
		                     : test_rng_below(rng, 20);

		if (kind < 5) {
			while (n-- && len < want)
				buf[len++] = alnum[test_rng_below(rng,
				                                  sizeof(alnum) - 1)];
		} else if (!append_piece(buf, &len, want, others[test_rng_below(rng,
		                         sizeof(others) / sizeof(others[0]))])) {
			break;
		}
	}
	return len;
}

/* ASCII letters and digits take a fast path of their own (16 bytes at a
 * time with SSE2, classified by ranges whose neighbours, '/' ':' '@' '['
 * '`' '{' and control bytes, are among the pieces): on random mixed text,
 * every token (term, position, range) must equal the general path's. */
static void test_ascii_fast_path_matches_general_path(void **state)
{
	const uint64_t seed = 20261201;
	const size_t cap = 2048;
	char *buf = malloc(cap);
	struct recs got = {0}, want = {0};
	test_rng rng;

	(void)state;
	assert_non_null(buf);
	test_rng_seed(&rng, seed);
	for (int i = 0; i < 20000; i++) {
		size_t len = random_mixed_text(&rng, buf, cap);

		assert_int_equal(run(&got, buf, len), 0);
		reference_tokenize(buf, len, &want);
		if (got.n != want.n)
			fail_msg("seed %llu, text %d: %zu tokens, general path "
			         "%zu", (unsigned long long)seed, i, got.n, want.n);
		for (size_t k = 0; k < got.n; k++) {
			const struct rec *g = &got.v[k], *w = &want.v[k];
			if (g->len != w->len || memcmp(g->term, w->term, g->len) ||
			    g->position != w->position || g->start != w->start ||
			    g->end != w->end)
				fail_msg("seed %llu, text %d, token %zu: \"%s\" "
				         "[%zu, %zu), general path \"%s\" [%zu, %zu)",
				         (unsigned long long)seed, i, k, g->term,
				         g->start, g->end, w->term, w->start, w->end);
		}
	}
	recs_free(&got);
	recs_free(&want);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apostrophes_split_words),
		cmocka_unit_test(test_abbreviation_dots_split_letters),
		cmocka_unit_test(test_punctuation_and_whitespace_separate),
		cmocka_unit_test(test_diacritics_removed_precomposed),
		cmocka_unit_test(test_diacritics_removed_decomposed),
		cmocka_unit_test(test_case_folded_ascii),
		cmocka_unit_test(test_case_folded_non_ascii),
		cmocka_unit_test(test_digits_and_mixed_alnum),
		cmocka_unit_test(test_cjk_letters_are_tokens),
		cmocka_unit_test(test_fullwidth_forms_fold),
		cmocka_unit_test(test_ligatures_decompose),
		cmocka_unit_test(test_longest_mapping_splits_into_words),
		cmocka_unit_test(test_invalid_bytes_separate),
		cmocka_unit_test(test_nul_bytes_separate),
		cmocka_unit_test(test_empty_input_gives_no_tokens),
		cmocka_unit_test(test_megabyte_token_is_cut_to_one_term),
		cmocka_unit_test(test_megabyte_multibyte_token_cut_at_char_boundary),
		cmocka_unit_test(test_long_multibyte_token_cut_at_char_boundary),
		cmocka_unit_test(test_byte_offsets_cover_original_characters),
		cmocka_unit_test(test_positions_consecutive_from_zero_per_call),
		cmocka_unit_test(test_callback_stop_value_propagated),
		cmocka_unit_test(test_every_code_point_matches_reference),
		cmocka_unit_test(test_random_bytes_keep_invariants),
		cmocka_unit_test(test_ascii_fast_path_matches_general_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
