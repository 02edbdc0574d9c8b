/*
 * pairs.h -- pair terms: two adjacent common words indexed as one term.
 *
 * A phrase of frequent words ("in a", "of the") is the slowest query there
 * is: the two words share most documents, and each shared document's
 * positions must be read to find the few where they stand side by side.
 * So, as Lucene's CommonGrams filter and the "common phrase" indexes of
 * Chang & Poon (2008) do, a segment chooses its common words (at most
 * LODE_PAIR_WORDS_MAX, none longer than LODE_PAIR_WORD_MAX bytes) and
 * indexes every adjacent pair of two of them as a term of its own, without
 * positions: LODE_PAIR_MARK, the first word, a space, the second word.  No
 * token holds the mark or a space, so pair terms collide with no other
 * term, and they sort after stem terms and before all words.  A two-word
 * phrase then reads the pair's postings (its frequency is the phrase's)
 * instead of intersecting the two words' positions, and a longer one
 * compares positions only in documents that hold all its pairs.  Which words are common is stored in the segment's
 * dictionary (FORMAT.md), so queries use exactly the pairs that exist.
 */
#ifndef LODE_COMMON_PAIRS_H
#define LODE_COMMON_PAIRS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bytes.h"

#define LODE_PAIR_MARK '\x02'
#define LODE_PAIR_WORDS_MAX 128
#define LODE_PAIR_WORD_MAX 32
/* Bytes of the longest pair term. */
#define LODE_PAIR_TERM_MAX (2 + 2 * LODE_PAIR_WORD_MAX)

/* Write the pair term of words a and b (each at most LODE_PAIR_WORD_MAX
 * bytes) to out (room for LODE_PAIR_TERM_MAX); returns its length. */
static inline size_t lode_pair_term(const char *a, size_t na, const char *b,
                                    size_t nb, char *out)
{
	out[0] = LODE_PAIR_MARK;
	memcpy(out + 1, a, na);
	out[1 + na] = ' ';
	memcpy(out + 2 + na, b, nb);
	return 2 + na + nb;
}

/* A segment's common words, in strictly increasing byte order; a word's
 * id is its index + 1 (0 means "not common"). */
typedef struct lode_common_words {
	size_t n;
	uint8_t len[LODE_PAIR_WORDS_MAX];
	char word[LODE_PAIR_WORDS_MAX][LODE_PAIR_WORD_MAX];
} lode_common_words;

/* The id of word p[0, n) among cw, or 0 if it is not common. */
unsigned lode_common_id(const lode_common_words *cw, const char *p, size_t n);

#endif
