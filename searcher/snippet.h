/*
 * snippet.h -- the best passage of a document for a query.
 *
 * Calls:  lode_snippet_make (lode.h), or lode_snippet_of_text for text in
 *         hand;  lode_snippet_release (lode.h)
 *
 * The passage is the window of at most `width` bytes of text holding the
 * most distinct query words (terms and phrase words not under a NOT), and of
 * those the most matches, earliest first.  A phrase's words count, and are
 * marked, only where the whole phrase is: "oil prices" marks no lone "oil"
 * unless oil is also a term of the query by itself.  It is widened with context to
 * about width bytes, cut at white space (between characters in text without
 * any), folded onto one line (runs of white space and control characters
 * become one space, invalid UTF-8 becomes U+FFFD) and marked with '…' where
 * text was cut.  Matches that share bytes (one character may fold to several
 * tokens) are one span.
 *
 * Only the first LODE_SNIPPET_SCAN bytes of a document are searched for the
 * passage (Lucene's highlighters and Elasticsearch bound theirs likewise):
 * a snippet must not decompress and tokenize a whole 2 GB file.
 */
#ifndef LODE_SEARCHER_SNIPPET_H
#define LODE_SEARCHER_SNIPPET_H

#include <stddef.h>
#include <stdint.h>

#include "lode.h"

#define LODE_SNIPPET_SCAN ((size_t)1 << 20)

/* The snippet of text[0, len) for query, in an index whose stemmer is
 * stemmer ("" if none).  full is the document's length: when it is more
 * than len, text is its first bytes, of which the last 4 are read only to
 * see where characters end (lode_snippet_make passes LODE_SNIPPET_SCAN + 4).
 * *out as lode_snippet_make's. */
int lode_snippet_of_text(const char *stemmer, const lode_query *query,
                         const char *text, size_t len, uint64_t full,
                         size_t width, lode_snippet *out, lode_error *err);

#endif
