/*
 * check.c -- lode check: every checksum and every structural invariant.
 *
 * After the CRC of every file and the zero Padding of postings.pst and
 * positions.pos, each segment is walked as FORMAT.md
 * describes it: terms strictly increasing, each term's postings decoded to
 * the end (DocFreq documents, increasing, below the document count,
 * frequencies adding up to CollectionFreq, each block's impact list what
 * its documents' frequencies and lengths give), its positions decoded for
 * every document (increasing, below the document's token count) and ending
 * exactly where the next term's begin; stem terms without positions; pair
 * terms (pairs.h) of two common words, without positions, and no more
 * documents or occurrences than either word; the document table's blocks
 * decoding to their ends, documents in order through chunks that follow
 * one another through text.z, each chunk decompressing to exactly its
 * documents' lengths, every document's path in bounds; token counts adding
 * up to the footer's.
 * The first violation is returned as LODE_ECORRUPT naming the file and the
 * term or document.
 */
#include <string.h>

#include "alloc.h"
#include "codec.h"
#include "error.h"
#include "index.h"
#include "pairs.h"
#include "postings.h"
#include "stem.h"

struct walk {
	const struct lode_segment *seg;
	lode_index_sizes *sizes;  /* added up, or NULL */
	char prev[LODE_MAX_TOKEN_BYTES];
	size_t prev_len;
	uint64_t terms;
	lode_error *err;
};

static int bad_term(struct walk *w, const char *term, size_t len,
                    const char *what)
{
	/* A stem or pair term is named without its mark byte. */
	if (len > 0 && (term[0] == LODE_STEM_MARK || term[0] == LODE_PAIR_MARK)) {
		term++;
		len--;
	}
	return lode_fail(w->err, LODE_ECORRUPT, "%s: corrupt: term '%.*s': %s",
	                 w->seg->postings.path, (int)(len > 40 ? 40 : len), term,
	                 what);
}

/* A pair term names two common words, and occurs no more than either. */
static int check_pair(struct walk *w, const char *term, size_t len,
                      const lode_term_info *info)
{
	const char *space = memchr(term + 1, ' ', len - 1);
	const char *word[2];
	size_t n[2];
	int rc;

	if (!space)
		return bad_term(w, term, len, "a pair term without a space");
	word[0] = term + 1;
	n[0] = (size_t)(space - word[0]);
	word[1] = space + 1;
	n[1] = len - 2 - n[0];
	if (info->positions_len != 0)
		return bad_term(w, term, len, "a pair term with positions");
	for (int k = 0; k < 2; k++) {
		lode_term_info wi;
		if (lode_common_id(&w->seg->common, word[k], n[k]) == 0)
			return bad_term(w, term, len, "a pair of words not common");
		rc = lode_segment_lookup(w->seg, word[k], n[k], &wi, w->err);
		if (rc < 0)
			return rc;
		if (rc == 0 || wi.df < info->df || wi.cf < info->cf)
			return bad_term(w, term, len,
			                "a pair more frequent than its words");
	}
	return LODE_OK;
}

/* The impact list at list (ending before end) must be what the writer
 * makes of the block's n frequencies and lengths. */
static int impacts_differ(const uint8_t *list, const uint8_t *end,
                          const uint32_t *freqs, const uint32_t *lengths,
                          uint32_t n)
{
	uint8_t want[LODE_IMPACTS_MAX_BYTES];
	const uint8_t *q = list;
	size_t len = lode_impacts_encode(want, freqs, lengths, n);

	return lode_impacts_skip(&q, end) || (size_t)(q - list) != len ||
	       memcmp(list, want, len) != 0;
}

/* The parts of p's current block, which ends (impact list included) at
 * end. */
static void add_block_sizes(lode_index_sizes *s, const lode_postings *p,
                            const uint8_t *end)
{
	s->blocks++;
	if (p->df == 1) {
		/* Its id alone (FORMAT.md). */
		s->single_terms++;
		s->doc_parts += (uint64_t)(p->block_end - p->block_start);
		return;
	}
	s->patched_blocks += ((p->block_start[0] | p->freq_header) &
	                      LODE_PFOR_EXCEPTIONS) != 0;
	s->block_headers += 2;
	if (p->rice_docs) {
		/* Frequencies, then the documents' codes. */
		s->rice_blocks++;
		s->freq_parts += (uint64_t)(p->rice_docs - p->freq_bits);
		s->doc_parts += (uint64_t)(p->block_end - p->rice_docs);
		s->impact_lists += (uint64_t)(end - p->block_end);
		return;
	}
	s->doc_parts += (uint64_t)(p->freq_bits - p->block_start - 2);
	s->freq_parts += (uint64_t)(p->block_end - p->freq_bits);
	s->impact_lists += (uint64_t)(end - p->block_end);
}

static int check_term(void *ctx, const char *term, size_t len,
                      const lode_term_info *info)
{
	struct walk *w = ctx;
	int no_positions = term[0] == LODE_STEM_MARK || term[0] == LODE_PAIR_MARK;
	lode_postings p;
	const uint8_t *pos_end = info->positions; /* after the last document's */
	const uint8_t *blocks_end = NULL;         /* after the last block seen */
	uint32_t block = UINT32_MAX;
	const uint8_t *impacts = NULL;            /* the block's impact list */
	uint32_t freqs[LODE_BLOCK_DOCS], lengths[LODE_BLOCK_DOCS], nblock = 0;
	uint64_t docs = 0, occurrences = 0;
	int64_t last = -1;
	int rc;

	if (w->terms > 0) {
		size_t n = len < w->prev_len ? len : w->prev_len;
		int c = memcmp(w->prev, term, n);
		if (c > 0 || (c == 0 && w->prev_len >= len))
			return bad_term(w, term, len, "terms out of order");
	}
	memcpy(w->prev, term, len);
	w->prev_len = len;
	w->terms++;
	if (term[0] == LODE_STEM_MARK && info->positions_len != 0)
		return bad_term(w, term, len, "a stem term with positions");
	if (term[0] == LODE_PAIR_MARK && (rc = check_pair(w, term, len, info)))
		return rc;
	if ((rc = lode_postings_init(&p, w->seg, info, w->err)))
		return rc;
	if (w->sizes) {
		w->sizes->terms++;
		w->sizes->stem_terms += term[0] == LODE_STEM_MARK;
		w->sizes->pair_terms += term[0] == LODE_PAIR_MARK;
		if (term[0] == LODE_PAIR_MARK)
			w->sizes->pair_postings += info->postings_len;
		if (p.skips)
			w->sizes->skip_tables += (uint64_t)(p.blocks - p.skips);
	}
	for (;;) {
		uint32_t freq, n;
		const uint32_t *pos;
		if ((rc = lode_postings_next(&p, w->err)))
			goto out;
		if (p.doc == LODE_DOC_END)
			break;
		if (p.block != block) {
			if (impacts && impacts_differ(impacts, p.end, freqs, lengths,
			                              nblock)) {
				rc = bad_term(w, term, len, "an impact list differs "
				              "from its block's");
				goto out;
			}
			/* Blocks follow each other with nothing between. */
			if (blocks_end ? p.block_start != blocks_end
			               : p.block_start != p.blocks) {
				rc = bad_term(w, term, len, "a gap between postings blocks");
				goto out;
			}
			blocks_end = p.block_end;
			/* So do their positions, each block's from a byte. */
			if (!no_positions && p.pos_p != pos_end) {
				rc = bad_term(w, term, len, "a gap between blocks' "
				              "positions");
				goto out;
			}
			/* A block with a skip table ends with its impact list. */
			impacts = p.skips ? p.block_end : NULL;
			nblock = 0;
			if (impacts && lode_impacts_skip(&blocks_end, p.end)) {
				rc = bad_term(w, term, len, "a bad impact list");
				goto out;
			}
			if (w->sizes)
				add_block_sizes(w->sizes, &p, blocks_end);
			block = p.block;
		}
		if ((int64_t)p.doc <= last) {
			rc = bad_term(w, term, len, "documents out of order");
			goto out;
		}
		last = p.doc;
		docs++;
		if ((rc = lode_postings_freq(&p, &freq, w->err)))
			goto out;
		occurrences += freq;
		if (w->sizes && !no_positions)
			w->sizes->position_count += freq;
		freqs[nblock] = freq;
		lengths[nblock++] = lode_segment_doc_tokens(w->seg, p.doc);
		if (!no_positions) {
			if ((rc = lode_postings_positions(&p, &pos, &n, w->err)))
				goto out;
			pos_end = lode_postings_positions_end(&p);
			if (!pos_end) {
				rc = bad_term(w, term, len, "nonzero bits after "
				              "a block's positions");
				goto out;
			}
		}
	}
	if (impacts && impacts_differ(impacts, p.end, freqs, lengths, nblock)) {
		rc = bad_term(w, term, len, "an impact list differs from its "
		              "block's");
		goto out;
	}
	if (blocks_end != p.end) {
		rc = bad_term(w, term, len, "postings do not end where PostingsLength "
		              "says");
		goto out;
	}
	if (docs != info->df) {
		rc = bad_term(w, term, len, "document count differs from DocFreq");
		goto out;
	}
	if (occurrences != info->cf) {
		rc = bad_term(w, term, len, "frequencies differ from CollectionFreq");
		goto out;
	}
	/* The last document's positions must end where the term's do. */
	if (!no_positions && pos_end != info->positions + info->positions_len)
		rc = bad_term(w, term, len, "positions longer than their documents");
out:
	lode_postings_release(&p);
	return rc;
}

static int check_docs(const struct lode_segment *seg, lode_error *err)
{
	lode_doc_info info = {0};
	uint64_t tokens = 0;
	int rc;

	if ((rc = lode_segment_docs_verify(seg, err)))
		return rc;
	for (uint32_t d = 0; d < seg->ndocs; d++) {
		if ((rc = lode_segment_doc(seg, d, &info, err)))
			goto out;
		tokens += info.tokens;
	}
	if (tokens != seg->tokens)
		rc = lode_fail(err, LODE_ECORRUPT, "%s: corrupt: token counts do "
		               "not add up to the footer's", seg->docs.path);
out:
	lode_doc_info_release(&info);
	return rc;
}

/* The Padding before the footer of postings.pst and positions.pos must be
 * zero (FORMAT.md); lode_segment_open checked the files hold it. */
static int check_padding(const lode_map *m, size_t pad, lode_error *err)
{
	const uint8_t *p = m->data + m->size - LODE_PLAIN_FOOTER_SIZE - pad;

	for (size_t i = 0; i < pad; i++)
		if (p[i])
			return lode_fail(err, LODE_ECORRUPT, "%s: corrupt: nonzero "
			                 "padding before the footer", m->path);
	return LODE_OK;
}

int lode_check(const lode_index *ix, lode_error *err)
{
	return lode_check_sizes(ix, NULL, err);
}

int lode_check_sizes(const lode_index *ix, lode_index_sizes *sizes,
                     lode_error *err)
{
	int rc;

	lode_error_clear(err);
	if (sizes)
		memset(sizes, 0, sizeof(*sizes));
	for (uint32_t s = 0; s < ix->nsegs; s++) {
		const struct lode_segment *seg = &ix->segs[s];
		struct walk w = {.seg = seg, .sizes = sizes, .err = err};
		if (sizes) {
			sizes->dictionary += seg->dict.size;
			sizes->postings += seg->postings.size;
			sizes->positions += seg->positions.size;
			sizes->document_table += seg->docs.size;
			sizes->stored_text += seg->text.size;
		}
		if ((rc = lode_segment_verify(seg, err)) ||
		    (rc = check_padding(&seg->postings, LODE_POSTINGS_PAD, err)) ||
		    (rc = check_padding(&seg->positions, LODE_POSITIONS_PAD,
		                        err)) ||
		    (rc = lode_segment_terms(seg, check_term, &w, err)) ||
		    (rc = check_docs(seg, err)))
			return rc;
		if (w.terms != seg->nterms)
			return lode_fail(err, LODE_ECORRUPT, "%s: corrupt: %llu terms, "
			                 "the footer says %llu", seg->dict.path,
			                 (unsigned long long)w.terms,
			                 (unsigned long long)seg->nterms);
	}
	return LODE_OK;
}
