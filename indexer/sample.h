/*
 * sample.h -- the first tokens of a build, from which its common words are
 * chosen (pairs.h).
 *
 * Calls:  lode_sample_new  (lode_sample_word | lode_sample_token |
 *         lode_sample_end_document)*  lode_sample_choose
 *         lode_sample_replay  lode_sample_free
 *
 * The inverter cannot know a word is common before it has seen enough
 * text, so it keeps the token sequence of the first LODE_SAMPLE_TOKENS
 * tokens (or all, if the build has fewer), as ids of a dictionary of its
 * own that survives the inverter's spills: the choice depends on the input
 * alone, never on the memory budget.  Once the sample is full (possibly
 * inside a document), the common words are chosen from its counts, and the
 * pairs it holds are replayed to the inverter.
 */
#ifndef LODE_INDEXER_SAMPLE_H
#define LODE_INDEXER_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "pairs.h"

#define LODE_SAMPLE_TOKENS ((size_t)4 << 20)

/* Tokens at which the sample is full: LODE_SAMPLE_TOKENS, which tests
 * lower so that small corpora end their sample inside a document and index
 * most pairs as they come. */
extern size_t lode_sample_limit;

struct lode_sample;

int lode_sample_new(struct lode_sample **out);
void lode_sample_free(struct lode_sample *s);

/* The sample id of word p[0, n), added if new; 0 (never counted) if it
 * cannot be common (longer than LODE_PAIR_WORD_MAX bytes).  Returns
 * LODE_ENOMEM or LODE_OK. */
int lode_sample_word(struct lode_sample *s, const char *p, size_t n,
                     uint32_t *id);

/* The next token of the current document is word id (0: none that counts).
 * Returns LODE_ENOMEM or LODE_OK. */
int lode_sample_token(struct lode_sample *s, uint32_t id);

/* The current document, doc, ends. */
int lode_sample_end_document(struct lode_sample *s, uint32_t doc);

/* Tokens in the sample; it is full at lode_sample_limit. */
size_t lode_sample_tokens(const struct lode_sample *s);

/* The common words: the LODE_PAIR_WORDS_MAX words with the most tokens
 * (ties in byte order), each with at least 1/1000 of the sample's.
 * Returns LODE_ENOMEM or LODE_OK. */
int lode_sample_choose(const struct lode_sample *s, lode_common_words *cw);

/* Each pair of adjacent common words in the sample, in order: pair(ctx,
 * doc, id a, id b) (ids of cw, as lode_common_id);
 * end(ctx, doc) after each ended document.  The current document (doc
 * current) is replayed without an end; *last receives the common id of its
 * last token so far (0 if none).  Stops at the first nonzero return. */
int lode_sample_replay(const struct lode_sample *s, const lode_common_words *cw,
                       uint32_t current,
                       int (*pair)(void *ctx, uint32_t doc, unsigned a,
                                   unsigned b),
                       void (*end)(void *ctx, uint32_t doc), void *ctx,
                       unsigned *last);

#endif
