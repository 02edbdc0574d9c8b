/*
 * stem.h -- Snowball stemmers (libstemmer) for stem terms.
 *
 * Calls:  lode_stemmer_new  lode_stem*  lode_stemmer_free
 *
 * An index built with a stemmer holds, beside each exact term, the term's
 * stem as a term of its own: LODE_STEM_MARK followed by the stem's bytes.
 * The mark cannot start a token (tokens are letters and digits), so stem
 * terms never collide with exact ones, and they sort before all of them.
 * A stemmer is not thread-safe: one per thread or per query.
 */
#ifndef LODE_COMMON_STEM_H
#define LODE_COMMON_STEM_H

#include <stddef.h>

#include "lode.h"
#include "tokenizer.h"

#define LODE_STEM_MARK '\x01'
/* A stem term: the mark and at most LODE_MAX_TOKEN_BYTES - 1 stem bytes. */
#define LODE_STEM_TERM_MAX LODE_MAX_TOKEN_BYTES

struct lode_stemmer;

/* A stemmer for language (Snowball's names: "english", "french", "porter",
 * ...); LODE_EINVAL naming the known ones if there is no such stemmer. */
int lode_stemmer_new(const char *language, struct lode_stemmer **out,
                     lode_error *err);

/* The stem term of word[0, len) (UTF-8, already folded) into out (room for
 * LODE_STEM_TERM_MAX bytes); returns its length, mark included. */
size_t lode_stem_term(struct lode_stemmer *s, const char *word, size_t len,
                      char *out);

void lode_stemmer_free(struct lode_stemmer *s);

#endif
