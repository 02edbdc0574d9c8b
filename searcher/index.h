/*
 * index.h -- the open index: its manifest and segments.
 *
 * struct lode_index is opaque in lode.h; the searcher's modules share its
 * body through this header.  Segments hold consecutive global document ids:
 * segment s has ids [doc_base, doc_base + ndocs).
 */
#ifndef LODE_SEARCHER_INDEX_H
#define LODE_SEARCHER_INDEX_H

#include <stdatomic.h>

#include "format.h"
#include "lode.h"
#include "segment.h"

struct lode_index {
	char *path;
	struct lode_segment *segs;
	uint32_t nsegs;
	uint64_t ndocs;      /* documents in all segments */
	uint64_t tokens;     /* tokens in all segments */
	double avgdl;        /* tokens per document, for BM25 */
	uint64_t bytes;      /* size of all index files */
	char stemmer[LODE_STEMMER_NAME_MAX + 1]; /* "" if none */
	_Atomic(void *) spare_eval; /* an evaluation's memory kept for the
	                               next one (eval.c), NULL if none */
};

/* The segment holding global document doc, and doc's local id in it. */
const struct lode_segment *lode_index_segment_of(const lode_index *index,
                                                 uint32_t doc, uint32_t *local);

#endif
