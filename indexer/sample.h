/*
 * sample.h -- the first tokens of a build, from which its common words are
 * chosen (pairs.h).
 *
 * Calls:  lode_sample_new  [lode_sample_word* lode_sample_load]
 *         (lode_sample_word | lode_sample_token |
 *         lode_sample_end_document)*  lode_sample_choose
 *         lode_sample_replay  lode_sample_free;
 *         lode_common_pick_start  lode_common_pick_offer*
 *         lode_common_pick_take (the choice alone)
 *
 * The inverter cannot know a word is common before it has seen enough
 * text, so the choice waits for the first LODE_SAMPLE_TOKENS tokens (or all,
 * if the build has fewer) and depends on them alone, never on the memory
 * budget.  While the sampled tokens' postings are all in memory, the
 * inverter counts and replays them from its own buffers; a sample object
 * is needed only when a run spills before the choice: it then keeps the
 * token sequence as ids of a dictionary of its own that survives the
 * inverter's spills.  Once the sample is full (possibly inside a document),
 * the common words are chosen from its counts, and the pairs it holds are
 * replayed to the inverter.
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

/* Start the sample with the ntokens word ids of tokens[] (ids of this
 * sample's lode_sample_word), in the documents of docs[]: per ended document
 * its id then its end in tokens[], two entries each, ndocs entries in all.
 * The sample takes both arrays (lode_malloc'd; NULL if empty). */
void lode_sample_load(struct lode_sample *s, uint32_t *tokens, size_t ntokens,
                      uint32_t *docs, size_t ndocs);

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

/*
 * The choice of the common words from the counts of a sample of ntokens
 * tokens: the LODE_PAIR_WORDS_MAX words with the most tokens (ties in byte
 * order), each with at least 1/1000 of the sample's.  Offer every word that
 * may be common (at most LODE_PAIR_WORD_MAX bytes) once, with its count,
 * then take the choice; the offered bytes must stay valid until then.
 */
struct lode_word_count {
	uint64_t count;
	const char *bytes;
	size_t len;
};

typedef struct lode_common_pick {
	struct lode_word_count best[LODE_PAIR_WORDS_MAX]; /* most first */
	size_t n;
	size_t ntokens;
} lode_common_pick;

void lode_common_pick_start(lode_common_pick *pick, size_t ntokens);
void lode_common_pick_offer(lode_common_pick *pick, const char *bytes,
                            size_t len, uint64_t count);
void lode_common_pick_take(lode_common_pick *pick, lode_common_words *cw);

/* The common words of the sample (as lode_common_pick).  Returns
 * LODE_ENOMEM or LODE_OK. */
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
