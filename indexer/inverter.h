/*
 * inverter.h -- turning documents into sorted postings within a memory budget.
 *
 * Calls:  lode_inverter_new  lode_inverter_add*  lode_inverter_finish
 *         (lode_inverter_next)*  lode_inverter_free
 *
 * Documents arrive with increasing ids.  Their postings are buffered in
 * memory per term; when the buffers outgrow the budget, they are written as a
 * sorted run file in run_dir and the memory starts afresh.  finish() spills
 * nothing more if no run was written (the whole index fit); otherwise it
 * spills the rest and merges all runs.  Either way next() then yields every
 * term in byte order with its postings as a list of chunks.
 *
 * Beside words (and their stems), the terms include the pair terms of
 * pairs.h, with positions.
 *
 * A chunk is a sequence of documents in increasing id order, each encoded as
 * VByte doc, VByte freq, then freq VByte positions (first absolute, then
 * gaps; none for a stem term), where doc is the document id itself for the
 * chunk's first document and the gap from the previous one after it.  A term's chunks come in doc
 * order, so their concatenation is its posting list.
 */
#ifndef LODE_INDEXER_INVERTER_H
#define LODE_INDEXER_INVERTER_H

#include <stddef.h>
#include <stdint.h>

#include "lode.h"
#include "pairs.h"

struct lode_inverter;

typedef struct lode_chunk {
	const uint8_t *data;
	size_t len;
} lode_chunk;

/* What next() hands out; valid until the following next() or free(), but
 * for the chunks' data, which stay valid until free(). */
typedef struct lode_term_postings {
	const char *term;
	size_t term_len;
	uint32_t df;            /* documents in all chunks */
	uint64_t cf;            /* positions in all chunks */
	const lode_chunk *chunks;
	size_t nchunks;
} lode_term_postings;

struct lode_stemmer;

/* With stemmer non-NULL (owned by the caller, used by this inverter alone),
 * every token also counts for its stem term (stem.h), whose postings carry
 * frequencies but no positions. */
int lode_inverter_new(size_t budget, const char *run_dir,
                      struct lode_stemmer *stemmer, struct lode_inverter **out,
                      lode_error *err);

/* Change the budget of the postings buffers and term table (the build
 * lowers it as its document table grows); takes effect at the next add. */
void lode_inverter_set_budget(struct lode_inverter *inv, size_t budget);

/* Tokenize text as document doc (greater than any before); *tokens receives
 * the number of tokens. */
int lode_inverter_add(struct lode_inverter *inv, uint32_t doc, const char *text,
                      size_t len, uint32_t *tokens, lode_error *err);

int lode_inverter_finish(struct lode_inverter *inv, lode_error *err);

/* Next term in byte order: 1 and *out filled, 0 at the end, or an error. */
int lode_inverter_next(struct lode_inverter *inv, lode_term_postings *out,
                       lode_error *err);

/* Runs spilled so far. */
uint32_t lode_inverter_runs(const struct lode_inverter *inv);

/* The common words whose pairs were indexed (pairs.h); final after
 * finish(). */
const lode_common_words *lode_inverter_common(const struct lode_inverter *inv);

/* Free everything and remove run files; NULL is allowed. */
void lode_inverter_free(struct lode_inverter *inv);

#endif
