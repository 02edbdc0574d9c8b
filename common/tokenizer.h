/*
 * tokenizer.h -- splitting text into index terms.
 *
 * A token is a maximal run of token characters, after each character is
 * decomposed (NFKD), stripped of combining marks and case-folded.  Token
 * characters are those whose Unicode general category, after that mapping,
 * is a letter (L*), a number (N*) or private use (Co); combining marks (M*)
 * are deleted and join nothing apart; everything else separates tokens.
 * So "Iran’s" and "Iran's" give "iran" "s", "U.N." gives "u" "n" and
 * "Pézeshkian" (precomposed or decomposed) gives "pezeshkian".  This equals
 * SQLite FTS5's unicode61 tokenizer with remove_diacritics on the text lode
 * is meant for, so results can be checked against FTS5.
 *
 * Invalid UTF-8 is never fatal: each invalid byte counts as U+FFFD, which
 * separates tokens.  A token longer than LODE_MAX_TOKEN_BYTES bytes (after
 * folding) is cut at the last whole character that fits, and still takes one
 * position; queries are cut the same way, so they still match it.
 *
 * The same code tokenizes documents and query words.  Tokens are pushed to a
 * callback; the tokenizer allocates nothing.
 */
#ifndef LODE_COMMON_TOKENIZER_H
#define LODE_COMMON_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#define LODE_MAX_TOKEN_BYTES 255

/* Bytes readable at a callback's term whatever its length, so that a short
 * term can be copied in one fixed-size move. */
#define LODE_TOKEN_READABLE 16

/*
 * One token: term bytes (folded UTF-8, not NUL-terminated, valid only during
 * the call; LODE_TOKEN_READABLE bytes or more may be read), its position (0
 * for the first token of the text, then 1, 2, ...) and the byte range
 * [start, end) of the original text it came from.
 * Return 0 to go on; any other value stops tokenizing and is returned by
 * lode_tokenize().
 */
typedef int (*lode_token_fn)(void *ctx, const char *term, size_t term_len,
                             uint32_t position, size_t start, size_t end);

/* Tokenize text[0, len); returns 0 or the first nonzero callback value. */
int lode_tokenize(const char *text, size_t len, lode_token_fn fn, void *ctx);

#endif
