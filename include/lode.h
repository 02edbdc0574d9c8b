/*
 * lode.h -- the public API of lode, a full-text search engine.
 *
 * lode builds an inverted index with positional postings over a set of text
 * files and answers boolean and phrase queries over it, ranked by BM25.  The
 * `lode` command-line tool is a thin layer over this header.
 *
 * Writing an index:
 *
 *     lode_build(index_path, dirs, ndirs, &options, &stats, &err)
 *
 * walks the directories, tokenizes every text file, and publishes a new index
 * at index_path atomically: a reader sees the old index or the new one, never
 * a mix and never a half-written one.
 *
 * Reading an index, the order calls come in:
 *
 *     lode_index_open
 *       ( lode_query_parse
 *           ( lode_search | lode_match | lode_count | lode_snippet )*
 *         lode_query_free )*
 *     lode_index_close
 *
 * An open index is immutable and may be shared by threads; every search
 * allocates its own state.  lode_doc() decodes a document's path into
 * memory its lode_doc_info owns (lode_doc_info_release frees it).
 *
 * Errors: every function that can fail returns LODE_OK (0) or a negative
 * LODE_E* code, and fills the optional `lode_error *` with the code and a
 * one-line message naming what went wrong (file, offset, query column);
 * a control character in a path or query it quotes shows as '?' (in a
 * query's words, white space as ' ').  On
 * success the lode_error is cleared (LODE_OK, empty message).
 */
#ifndef LODE_H
#define LODE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LODE_VERSION_STRING "0.1.0"

/* Error codes: 0 is success, failures are negative. */
enum {
	LODE_OK = 0,
	LODE_ENOMEM = -1,   /* an allocation failed */
	LODE_EIO = -2,      /* a system call on a file failed (errno in message) */
	LODE_ECORRUPT = -3, /* index bytes fail a check: magic, bounds, CRC */
	LODE_EVERSION = -4, /* index written by another format version */
	LODE_EQUERY = -5,   /* the query does not parse */
	LODE_ELIMIT = -6,   /* a documented limit was exceeded */
	LODE_ENOTFOUND = -7,/* no index at the given path */
	LODE_EINVAL = -8,   /* a caller passed an invalid argument */
	LODE_EBUSY = -9,    /* another writer holds the index lock */
	LODE_ESTALE = -10,  /* in an index without stored text, a document's
	                       file is gone, unreadable or changed since it
	                       was indexed */
};

/* Detail of the last failure, filled by any call given a non-NULL pointer. */
typedef struct lode_error {
	int code;           /* one of the LODE_E* codes, LODE_OK if none */
	char message[512];  /* one line, no trailing newline, no "lode:" prefix */
} lode_error;

/* A static description of an error code ("index is corrupt", ...). */
const char *lode_strerror(int code);

/* Version of the on-disk format this library reads and writes. */
uint32_t lode_format_version(void);

/* ---- building -------------------------------------------------------- */

typedef struct lode_build_stats {
	uint64_t documents;      /* files indexed */
	uint64_t skipped_binary; /* files skipped because they look binary */
	uint64_t skipped_error;  /* files or directories that could not be read */
	uint64_t terms;          /* distinct terms (words, and stems) */
	uint64_t postings;       /* (term, document) pairs of those terms */
	uint64_t pairs;          /* pair terms: two adjacent common words
	                            indexed as one, for fast phrases */
	uint64_t tokens;         /* token occurrences, i.e. positions */
	uint64_t input_bytes;    /* bytes of text read */
	uint64_t index_bytes;    /* bytes of the published index */
	uint64_t runs;           /* sorted runs spilled to disk (0 = fit in memory) */
	double seconds;          /* wall time of the build */
} lode_build_stats;

/* Called after each file with the running stats; return nonzero to abort. */
typedef int (*lode_progress_fn)(void *ctx, const lode_build_stats *stats);

/* Called for each file or directory skipped with a warning: one line,
 * "path: reason", control characters in the path shown as '?'. */
typedef void (*lode_warning_fn)(void *ctx, const char *message);

typedef struct lode_build_options {
	size_t memory_budget;      /* bytes the build may hold: postings are
	                              buffered in what its document table and
	                              the rest leave, then spilled as a sorted
	                              run; 0 = LODE_DEFAULT_MEMORY */
	lode_progress_fn progress; /* may be NULL */
	lode_warning_fn warning;   /* may be NULL */
	const char *stemmer;       /* NULL, or a Snowball stemmer ("english"):
	                              each word's stem is indexed beside it */
	unsigned threads;          /* 1: all work on the caller's thread; more:
	                              files are read ahead on one thread and
	                              stored text compressed on another (the
	                              index is the same); 0: one per online
	                              CPU */
	int no_text;               /* keep no copy of the documents' text
	                              (a smaller index, built faster):
	                              lode_doc_text and snippets read each
	                              file at its path instead, if its size
	                              and modification time are unchanged */
	void *ctx;                 /* passed to progress and warning */
} lode_build_options;

#define LODE_DEFAULT_MEMORY ((size_t)256 << 20)

/*
 * Index every regular text file below each of dirs (recursively, in byte
 * order of names, skipping hidden entries, the index itself and other lode
 * indexes) into a new index at index_path, replacing any index there
 * atomically.  A path in the index is the directory argument joined with
 * the file's path below it; each file is indexed once: a directory given
 * twice (under any path) is walked once, under the first, and one given
 * inside another ('a a/b') is walked as its own argument only, not within
 * the other.
 * options and stats may be NULL.  Returns LODE_EBUSY if another build holds
 * the index's lock; on any failure the previous index is left untouched.
 */
int lode_build(const char *index_path, const char *const *dirs, size_t ndirs,
               const lode_build_options *options, lode_build_stats *stats,
               lode_error *err);

/* ---- reading --------------------------------------------------------- */

typedef struct lode_index lode_index;
typedef struct lode_query lode_query;

/* Open the index at path by mapping its files; never reads it whole. */
int lode_index_open(const char *path, lode_index **out, lode_error *err);

/* Release the index; NULL is allowed. */
void lode_index_close(lode_index *index);

/* Verify the CRC32 of every file of the index (a full read); LODE_ECORRUPT
 * names the first file that fails. */
int lode_check(const lode_index *index, lode_error *err);

/* What the bytes of an index hold, by FORMAT.md's structures, summed over
 * its segments (lode check --sizes).  Files include their headers, CRCs and
 * padding; the postings parts below add up to postings.pst less those. */
typedef struct lode_index_sizes {
	uint64_t dictionary;      /* terms.dic bytes */
	uint64_t terms;           /* dictionary entries, stem and pair terms
	                           * included */
	uint64_t stem_terms, pair_terms;
	uint64_t postings;        /* postings.pst bytes */
	uint64_t skip_tables;     /* SkipTable bytes */
	uint64_t block_headers;   /* DocHeader and FreqHeader bytes */
	uint64_t doc_parts;       /* PFor(n, DocHeader) bytes */
	uint64_t freq_parts;      /* PFor(n, FreqHeader) bytes */
	uint64_t impact_lists;    /* Impacts bytes */
	uint64_t pair_postings;   /* of all these, the pair terms' */
	uint64_t blocks;          /* postings blocks */
	uint64_t patched_blocks;  /* ... with exceptions in either part */
	uint64_t single_terms;    /* terms of one document, whose block is
	                           * the document's id alone */
	uint64_t rice_blocks;     /* blocks with Rice-coded documents */
	uint64_t positions;       /* positions.pos bytes */
	uint64_t position_count;  /* positions it holds */
	uint64_t document_table;  /* docs.tab bytes */
	uint64_t stored_text;     /* text.z bytes */
} lode_index_sizes;

/* lode_check, adding up the sizes as it walks the index into *sizes
 * (zeroed first; valid only when LODE_OK is returned). */
int lode_check_sizes(const lode_index *index, lode_index_sizes *sizes,
                     lode_error *err);

typedef struct lode_index_info {
	uint64_t documents;   /* documents in all segments */
	uint64_t tokens;      /* token occurrences in all documents */
	uint64_t index_bytes; /* bytes of all index files */
	uint32_t segments;    /* segments listed in the manifest */
	const char *stemmer;  /* the index's stemmer, or NULL */
} lode_index_info;

void lode_index_info_get(const lode_index *index, lode_index_info *info);

/* What the index knows of one document.  Start from a zeroed struct
 * (lode_doc_info info = {0};): lode_doc fills it, decoding the path into
 * memory the struct owns and reuses on the next call with it, and
 * lode_doc_info_release frees that memory. */
typedef struct lode_doc_info {
	const char *path;     /* path_len bytes and a NUL; lives until the next
	                         lode_doc or lode_doc_info_release on info */
	size_t path_len;
	uint64_t byte_length; /* size of the file when indexed */
	int64_t mtime;        /* modification time, seconds since the epoch */
	uint32_t tokens;      /* number of tokens (positions) */
	char *buf;            /* owned: where path is decoded */
	size_t buf_cap;       /* bytes allocated at buf */
} lode_doc_info;

/* Fill info for document id doc (0 <= doc < documents).  On failure the
 * fields but buf and buf_cap are unspecified; info still needs releasing. */
int lode_doc(const lode_index *index, uint32_t doc, lode_doc_info *info,
             lode_error *err);

/* Free the memory info owns and zero it; NULL or a zeroed info is fine. */
void lode_doc_info_release(lode_doc_info *info);

/*
 * The stored text of document doc, decompressed into a buffer the caller
 * frees with free(); *len receives its length.  In an index built with
 * no_text, the text is read from the document's file at its path, and
 * LODE_ESTALE returned if the file is gone or unreadable or its size or
 * modification time is not what was indexed.
 */
int lode_doc_text(const lode_index *index, uint32_t doc, char **text,
                  size_t *len, lode_error *err);

/*
 * Parse a query of the boolean query language (see lode.1):
 *   or := and ('OR' and)*     and := not (['AND'] not)*
 *   not := unary ('NOT' unary)*   unary := 'NOT' unary | primary
 *   primary := '(' or ')' | '"' words '"' | word
 * On a syntax error returns LODE_EQUERY with the message
 * "query error at column N: ..." (N counts characters from 1).
 */
int lode_query_parse(const char *text, size_t len, lode_query **out,
                     lode_error *err);
/*
 * Free text: every distinct word of text, ORed and ranked by BM25 (no
 * operators; punctuation separates words like any other non-letter).
 */
int lode_query_parse_text(const char *text, size_t len, lode_query **out,
                          lode_error *err);

/*
 * In an index built with a stemmer, a bare word or free-text word matches
 * every word with the same stem; quoted phrases (and words that are
 * phrases, like "Iran's") always match exact words.  exact = 1 makes every
 * word of query match exactly (lode search --no-stem).
 */
void lode_query_set_exact(lode_query *query, int exact);

/* BM25 parameters used by lode_search, unless lode_query_set_bm25 says
 * otherwise. */
#define LODE_BM25_K1 1.2
#define LODE_BM25_B 0.75
/* The largest k1 lode_query_set_bm25 accepts. */
#define LODE_BM25_K1_MAX 1e6

/*
 * Rank query's matches by BM25 with these parameters:
 * 0 <= k1 <= LODE_BM25_K1_MAX, the term frequency saturation (0 makes a
 * word count once however often it occurs), and 0 <= b <= 1, the document
 * length normalisation (0 ignores length).
 * Returns LODE_EINVAL, with the query unchanged, if either is out of range
 * or not a number.  Which documents match never depends on them.
 */
int lode_query_set_bm25(lode_query *query, double k1, double b,
                        lode_error *err);

/* The DFR parameter used by lode_query_set_dfr by default, and its
 * largest accepted value. */
#define LODE_DFR_C 1.0
#define LODE_DFR_C_MAX 1e6

/*
 * Rank query's matches by the divergence-from-randomness model In_expB2
 * (G. Amati and C. J. van Rijsbergen, "Probabilistic models of information
 * retrieval based on measuring the divergence from randomness", ACM TOIS
 * 20(4), 2002) instead of BM25, with normalisation 2's parameter
 * 0 < c <= LODE_DFR_C_MAX (a
 * term's frequency tf in a document of dl tokens counts as
 * tfn = tf * log2(1 + c * avgdl / dl)).  lode_query_set_bm25 goes back to
 * BM25.  Returns LODE_EINVAL, with the query unchanged, if c is out of
 * range or not a number.  Which documents match never depends on it.
 */
int lode_query_set_dfr(lode_query *query, double c, lode_error *err);

void lode_query_free(lode_query *query);

/* Called with each matching document id, in increasing order. */
typedef int (*lode_match_fn)(void *ctx, uint32_t doc);

/* Every document matching query, in index order; stops early (returning the
 * callback's value) if the callback returns nonzero. */
int lode_match(const lode_index *index, const lode_query *query,
               lode_match_fn fn, void *ctx, lode_error *err);

/* Number of matching documents. */
int lode_count(const lode_index *index, const lode_query *query,
               uint64_t *count, lode_error *err);

typedef struct lode_hit {
	uint32_t doc; /* document id */
	double score; /* BM25 (or DFR) score */
} lode_hit;

/*
 * The k best documents by the query's ranking (BM25 unless
 * lode_query_set_dfr; ties broken by lower document id), best first, into
 * hits (room for k); *nhits receives how many there are.  With total
 * non-NULL, *total receives the number of matching documents.
 * Documents that cannot enter the top k are skipped where the query allows
 * (block-max MaxScore, for a term or an OR of terms and phrases), with the
 * same hits; the total then takes a second, cheaper pass that only counts
 * (for one term, none: its document frequency), so pass total NULL when
 * it is not needed.
 */
int lode_search(const lode_index *index, const lode_query *query, size_t k,
                lode_hit *hits, size_t *nhits, uint64_t *total,
                lode_error *err);

/* A byte range of the snippet text that matched a query word. */
typedef struct lode_span {
	size_t start, end;
} lode_span;

typedef struct lode_snippet {
	char *text;        /* UTF-8, one line, '…' where text was cut */
	size_t len;
	lode_span *spans;  /* matched words, byte offsets into text, in order */
	size_t nspans;
} lode_snippet;

/*
 * A one-line snippet of document doc around its best match for query, of
 * about width characters.  Free with lode_snippet_release().
 */
int lode_snippet_make(const lode_index *index, const lode_query *query,
                      uint32_t doc, size_t width, lode_snippet *out,
                      lode_error *err);
void lode_snippet_release(lode_snippet *snippet);

#ifdef __cplusplus
}
#endif
#endif
