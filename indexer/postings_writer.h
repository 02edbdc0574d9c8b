/*
 * postings_writer.h -- writing a segment's dictionary, postings and positions.
 *
 * Calls:  lode_postings_writer_open  lode_postings_writer_add*
 *         lode_postings_writer_finish | lode_postings_writer_free
 *
 * Terms must come in strictly increasing byte order, each with its postings
 * in the chunk encoding of inverter.h.  The writer re-encodes them into the
 * block format of FORMAT.md: documents and frequencies in bit-packed blocks
 * of LODE_BLOCK_DOCS with a skip table, positions in their own file.  The
 * skip table bounds each block's BM25 scores by its largest frequency and
 * its shortest document, so the writer is given every document's length.
 */
#ifndef LODE_INDEXER_POSTINGS_WRITER_H
#define LODE_INDEXER_POSTINGS_WRITER_H

#include "inverter.h"
#include "lode.h"

struct lode_postings_writer;

/* With threads, terms are encoded in batches of about
 * lode_writer_batch_input bytes of the inverter's chunks; a term of more
 * than lode_writer_batch_term_max is encoded alone, straight into the
 * files, so that no batch holds much more than that in memory.  Tests
 * lower both so that small corpora take every way. */
#define LODE_WRITER_BATCH_INPUT ((size_t)256 << 10)
#define LODE_WRITER_BATCH_TERM_MAX ((size_t)8 << 20)
extern size_t lode_writer_batch_input;
extern size_t lode_writer_batch_term_max;

/* Create terms.dic, postings.pst and positions.pos in dir.  lengths[d] is
 * the token count of document d < ndocs; the writer borrows the array until
 * finish() or free().  threaded: terms are encoded in batches, alternately
 * on a helper thread and the caller's, and written in order (the files are
 * the same); the chunks' data of every term added must then stay valid
 * until finish() or free(). */
int lode_postings_writer_open(const char *dir, const uint32_t *lengths,
                              uint32_t ndocs, int threaded,
                              struct lode_postings_writer **out,
                              lode_error *err);

/* Add the next term (possibly only to a batch: errors may then surface at
 * a later add() or at finish()). */
int lode_postings_writer_add(struct lode_postings_writer *w,
                             const lode_term_postings *term, lode_error *err);

/* Write the common words whose pairs were indexed, the footers, fsync and
 * close; *terms and *postings receive the totals of words and stems, *pairs
 * the number of pair terms.  Frees w whatever the outcome. */
int lode_postings_writer_finish(struct lode_postings_writer *w,
                                const lode_common_words *common,
                                uint64_t *terms, uint64_t *postings,
                                uint64_t *pairs, lode_error *err);

/* Abandon a writer that will not be finished; NULL is allowed. */
void lode_postings_writer_free(struct lode_postings_writer *w);

#endif
