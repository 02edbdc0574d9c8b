/*
 * segment.h -- one immutable segment opened for reading.
 *
 * Calls:  lode_segment_open  (lookup | doc | doc_text)*  lode_segment_close
 *
 * Opening maps the five files and checks their headers, footers and the
 * sizes and offsets the footers give; it reads nothing else.  Every later
 * access checks the bounds of what it reads and returns LODE_ECORRUPT,
 * naming the file, when a value points outside it.  Whole-file CRCs are
 * checked by lode_segment_verify (lode check), not on every open, so that
 * opening a large index costs microseconds.
 */
#ifndef LODE_SEARCHER_SEGMENT_H
#define LODE_SEARCHER_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "file.h"
#include "format.h"
#include "lode.h"
#include "pairs.h"

/* Where a term's postings and positions are, from the dictionary. */
typedef struct lode_term_info {
	uint32_t df;         /* documents containing the term */
	uint64_t cf;         /* occurrences in all documents */
	const uint8_t *postings;  /* skip table then blocks, postings_len bytes */
	size_t postings_len;
	const uint8_t *positions; /* positions_len bytes */
	size_t positions_len;
} lode_term_info;

struct lode_segment {
	lode_map dict, postings, positions, docs, text;
	uint32_t ndocs;            /* documents in the segment */
	unsigned doc_width;        /* bits of ndocs - 1, DocWidth (FORMAT.md) */
	uint32_t doc_base;         /* global id of its first document */
	uint64_t tokens;           /* tokens in its documents */
	uint64_t nterms;           /* dictionary terms */
	uint64_t nblocks;          /* dictionary blocks */
	uint64_t index_off;        /* offset of the dictionary block index */
	lode_common_words common;  /* words whose pairs are terms (pairs.h) */
	/* The document table (FORMAT.md, docs.tab): */
	const uint8_t *doc_tokens; /* Tokens: u32 per document */
	const uint8_t *chunks;     /* ChunkOffset: u64, nchunks + 1 of them */
	uint64_t nchunks;          /* text chunks */
	uint64_t doc_blocks_off;   /* offset of the first document block */
	uint64_t doc_index_off;    /* offset of the document block index */
	/* A decompression context kept between the texts of documents (NULL:
	 * none kept), see segment.c's take_dctx. */
	struct dctx_slot *dctx;
};

/* Open the segment in directory dir, expected to hold ndocs documents. */
int lode_segment_open(struct lode_segment *seg, const char *dir, uint32_t ndocs,
                      lode_error *err);
void lode_segment_close(struct lode_segment *seg);

/* Find term: 1 and *info filled if present, 0 if absent, or an error. */
int lode_segment_lookup(const struct lode_segment *seg, const char *term,
                        size_t len, lode_term_info *info, lode_error *err);

/* Tokens of local document doc (< ndocs), the BM25 document length. */
static inline uint32_t lode_segment_doc_tokens(const struct lode_segment *seg,
                                               uint32_t doc)
{
	const uint8_t *r = seg->doc_tokens + (size_t)doc * 4;

	return (uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16 |
	       (uint32_t)r[3] << 24;
}

/* Every term in dictionary order, with where its data is (each entry's
 * bounds checked); fn returns 0 to go on, anything else stops the walk and
 * is returned. */
typedef int (*lode_term_fn)(void *ctx, const char *term, size_t len,
                            const lode_term_info *info);
int lode_segment_terms(const struct lode_segment *seg, lode_term_fn fn,
                       void *ctx, lode_error *err);

/* Document doc's path, lengths and time: its block decoded up to it, the
 * path into info's own memory (lode_doc in lode.h). */
int lode_segment_doc(const struct lode_segment *seg, uint32_t doc,
                     lode_doc_info *info, lode_error *err);
/* The first max bytes (all of them if fewer) of document doc's stored text,
 * in a buffer the caller frees, NUL-terminated; only what they need is
 * decompressed.  *len receives the length returned, *full (if not NULL) the
 * document's whole length. */
int lode_segment_doc_text(const struct lode_segment *seg, uint32_t doc,
                          size_t max, char **text, size_t *len,
                          uint64_t *full, lode_error *err);

/* The document table decodes from start to end as FORMAT.md says: every
 * block holds its documents and ends where the next begins, each document
 * starts its chunk or follows the previous one in it, chunk offsets
 * increase through text.z, every chunk holds a document and decompresses
 * to exactly its documents' bytes (through a small window: nothing is kept). */
int lode_segment_docs_verify(const struct lode_segment *seg, lode_error *err);

/* Check every file's CRC and the dictionary's order and bounds. */
int lode_segment_verify(const struct lode_segment *seg, lode_error *err);

#endif
