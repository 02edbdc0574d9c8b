/*
 * postings.h -- an iterator over one term's postings in one segment.
 *
 * Calls:  lode_postings_init  (next | advance | freq | positions)*
 *         lode_postings_release
 *
 * The iterator decodes one block of LODE_BLOCK_DOCS documents at a time.
 * advance() consults the skip table (last document of each block) and
 * jumps over whole blocks without decoding them; frequencies are decoded
 * only when freq() is first asked for in a block, and positions only when
 * positions() is asked for a document, so a boolean query never touches
 * them.  doc is LODE_DOC_END once the list is exhausted.
 *
 * impact() answers, from the skip table alone, which block holds the first
 * document >= target and what its documents may score at most: the
 * block-max bound of block-max MaxScore (eval.c).
 */
#ifndef LODE_SEARCHER_POSTINGS_H
#define LODE_SEARCHER_POSTINGS_H

#include <stdint.h>

#include "format.h"
#include "segment.h"

#define LODE_DOC_END UINT32_MAX

/* What the documents of one block (or of a term of one block) can hold. */
typedef struct lode_impact {
	uint32_t last;         /* the block's last document; LODE_DOC_END: none
	                        * left; ndocs - 1 when not known (one block) */
	const uint8_t *list;   /* the block's impact list (codec.h), or NULL */
	const uint8_t *end;    /* ... which lies before this */
	uint32_t max_freq;     /* without a list: no frequency is higher
	                        * (UINT32_MAX: unknown); lengths unbounded */
} lode_impact;

typedef struct lode_postings {
	const struct lode_segment *seg;
	const uint8_t *skips;     /* skip table, NULL if a single block */
	/* Its columns (FORMAT.md, SkipTable) and their widths in bits: */
	const uint8_t *skip_docs, *skip_offs, *skip_pos;
	unsigned skip_dw, skip_ow, skip_pw;
	const uint8_t *blocks;    /* first block (a term of one document: its
	                           * id, and cf its frequency) */
	uint64_t cf;
	const uint8_t *end;       /* end of the term's postings */
	const uint8_t *positions; /* the term's positions */
	const uint8_t *positions_end;
	uint32_t df;
	uint32_t nblocks;
	int started;              /* next() or advance() was called */
	uint32_t block;           /* current block */
	uint32_t n;               /* documents in the current block */
	uint32_t i;               /* index of doc in the current block */
	uint32_t doc;             /* current document, or LODE_DOC_END */
	int freqs_ready;          /* freqs[] decoded for the current block */
	const uint8_t *block_start; /* the current block's bytes ... */
	const uint8_t *block_end;   /* ... for lode check's extent test (an
	                             * impact list may follow) */
	const uint8_t *freq_bits; /* frequencies part of the current block */
	const uint8_t *rice_docs; /* its Rice-coded documents, or NULL if its
	                           * documents are packed before freq_bits */
	uint8_t freq_header;      /* ... its header byte (codec.h, PFor) */
	unsigned freq_width;      /* bits of a frequency - 1 at most */
	/* The current block's positions (FORMAT.md, PositionsBlock), read
	 * from its start on as documents ask for them: */
	const uint8_t *pos_p;     /* the block's first byte */
	uint64_t pos_end_bit;     /* bits from pos_p to the term's end */
	int pos_started;          /* the fields below are set */
	unsigned pos_k;           /* Rice parameter */
	uint64_t pos_hi;          /* bit where document pos_i's unary parts
	                           * begin */
	uint64_t pos_v;           /* values of the documents before pos_i */
	uint32_t pos_i;
	int pos_ready;            /* pos_buf holds document pos_i - 1's */
	uint32_t impact_block;    /* where impact() last found its block */
	uint32_t *pos_buf;        /* decoded positions (lode_malloc'd) */
	uint32_t pos_cap;
	/* Last, so that init clears only the fields above: the current block's
	 * decoded documents and frequencies minus one, valid up to n. */
	uint32_t docs[LODE_BLOCK_DOCS];
	uint32_t freqs[LODE_BLOCK_DOCS];
} lode_postings;

/* Start before the first document: call next() or advance() to move. */
int lode_postings_init(lode_postings *p, const struct lode_segment *seg,
                       const lode_term_info *info, lode_error *err);
void lode_postings_release(lode_postings *p);

/* Move to the next document (the first one on the first call). */
int lode_postings_next(lode_postings *p, lode_error *err);

/* Move to the first document >= target; no move if already there. */
int lode_postings_advance_blocks(lode_postings *p, uint32_t target,
                                 lode_error *err);
static inline int lode_postings_advance(lode_postings *p, uint32_t target,
                                        lode_error *err)
{
	/* Inline: most moves stay in the current block, whose documents are
	 * sorted.  (A binary search after a short scan saved instructions on
	 * phrases but not time on ANDs; dropped.) */
	if (p->started && p->doc < target && p->docs[p->n - 1] >= target) {
		uint32_t i = p->i + 1;
		while (p->docs[i] < target)
			i++;
		p->i = i;
		p->doc = p->docs[i];
		return 0;
	}
	if (p->started && p->doc >= target)
		return 0; /* also when exhausted */
	return lode_postings_advance_blocks(p, target, err);
}

/*
 * The block holding the first document >= target that p can still reach
 * (documents before the current one are behind it for good), and what
 * bounds its documents' scores, without decoding it.  target must not be
 * below the target of an earlier impact() call.  A term of one block has no
 * skip table and no impact list: its frequencies are bounded by its block's
 * FreqWidth, its lengths not at all, and its last document is known only
 * once the block is decoded.
 */
void lode_postings_impact(lode_postings *p, uint32_t target, lode_impact *out);

/* Frequency of the current document. */
int lode_postings_freq(lode_postings *p, uint32_t *freq, lode_error *err);

/* The frequencies minus one of the current block's documents, docs[0, n),
 * decoded if they were not: for a caller that scores a block in one loop. */
int lode_postings_block_freqs(lode_postings *p, const uint32_t **freqs,
                              lode_error *err);

/* Move to the current block's document i (at or after the current one). */
static inline void lode_postings_seek_in_block(lode_postings *p, uint32_t i)
{
	p->i = i;
	p->doc = p->docs[i];
}

/* Positions of the current document, increasing; *out lives until the
 * next call on p.  The documents of a block asked for must not go back. */
int lode_postings_positions(lode_postings *p, const uint32_t **out,
                            uint32_t *count, lode_error *err);

/* For lode check: the byte after the codes of the last document whose
 * positions were read, or NULL if that is the block's last document and
 * the bits after its codes in that byte (the padding) are not zero. */
const uint8_t *lode_postings_positions_end(const lode_postings *p);

#endif
