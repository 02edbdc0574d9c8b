/*
 * format.h -- constants of the on-disk format, shared by writer and reader.
 *
 * FORMAT.md is the normative description; every number here appears there.
 * An index is a directory holding MANIFEST (the list of live segments) and
 * one directory per segment, seg-NNNNNN/, with five files:
 *
 *     terms.dic   term dictionary: front-coded blocks + sparse block index
 *                 + the segment's common words (pairs.h)
 *     postings.pst document ids and frequencies in blocks of patched frame
 *                 of reference (bit packing with exceptions)
 *     positions.pos token positions: per postings block, a bit stream of
 *                 Rice codes of one parameter, low bits apart from unary parts
 *     docs.tab    document table: token counts, chunk table, blocks of
 *                 documents, each path coded against the last
 *     text.z      stored text, zstd frames of 16 KiB chunks of documents
 *
 * Every file starts with a 16-byte header (magic, version, zero) and ends with
 * a CRC-32 (zlib's and libdeflate's) of all the bytes before it; multi-byte
 * integers are little-endian.
 */
#ifndef LODE_COMMON_FORMAT_H
#define LODE_COMMON_FORMAT_H

#include <stdint.h>

#define LODE_FORMAT_VERSION 14u

#define LODE_HEADER_SIZE 16
#define LODE_MAGIC_LEN 8
#define LODE_MAGIC_MANIFEST "LODE\0MAN"
#define LODE_MAGIC_DICT "LODE\0DIC"
#define LODE_MAGIC_POSTINGS "LODE\0PST"
#define LODE_MAGIC_POSITIONS "LODE\0POS"
#define LODE_MAGIC_DOCS "LODE\0DOC"
#define LODE_MAGIC_TEXT "LODE\0TXT"

#define LODE_MANIFEST_NAME "MANIFEST"
#define LODE_LOCK_NAME "LOCK"
#define LODE_SEGMENT_PREFIX "seg-"
#define LODE_FILE_DICT "terms.dic"
#define LODE_FILE_POSTINGS "postings.pst"
#define LODE_FILE_POSITIONS "positions.pos"
#define LODE_FILE_DOCS "docs.tab"
#define LODE_FILE_TEXT "text.z"

/* Longest stemmer name a manifest may hold. */
#define LODE_STEMMER_NAME_MAX 64

/* Documents per postings block; the last block of a term may be shorter. */
#define LODE_BLOCK_DOCS 128
/* Bytes before a skip table's columns: the widths of its block offsets
 * and positions offsets (FORMAT.md, SkipTable).  Each block of a term with
 * a skip table is followed by its impact list (codec.h), the pairs that
 * bound its BM25 scores. */
#define LODE_SKIP_HEADER_SIZE 2
/* Terms per front-coded dictionary block. */
#define LODE_DICT_BLOCK_TERMS 32
/* Documents per block of the document table: a document's path, length,
 * time and text chunk are decoded from the start of its block. */
#define LODE_DOC_BLOCK_DOCS 64
/* Stored text is compressed in chunks of consecutive documents of about
 * this many bytes; a longer document is a chunk of its own. */
#define LODE_TEXT_CHUNK (16u << 10)
/* A text chunk's zstd frame needs a window of at most 2^LODE_TEXT_WINDOW_LOG
 * bytes (what a reader holds to stream a large document); readers refuse a
 * frame asking for more. */
#define LODE_TEXT_WINDOW_LOG 19
/* Zero bytes after the last postings block, so block decoders may load
 * whole 64-bit words without bounds tests. */
#define LODE_POSTINGS_PAD 16
/* A DocHeader with this bit: the block's documents are Rice codes of
 * parameter DocHeader & LODE_DOCS_RICE_K, after its frequencies (FORMAT.md,
 * postings.pst; only in a term of one block). */
#define LODE_DOCS_RICE 0x40
#define LODE_DOCS_RICE_K 0x1f
/* Bits of the Rice parameter (0..31) that starts each block's positions. */
#define LODE_RICE_PARAM_BITS 5
/* Zero bytes after the last position codes, so that the bit reader may
 * load 64-bit words (codec.h, LODE_BITS_READ_PAD). */
#define LODE_POSITIONS_PAD 8

/* Footer sizes, CRC included. */
#define LODE_DICT_FOOTER_SIZE 36  /* u64 terms, u64 blocks, u64 index_off,
                                   u64 common_off, crc */
#define LODE_DOCS_FOOTER_SIZE 36  /* u64 docs, u64 tokens, u64 chunks,
                                   u64 index_off, crc */
#define LODE_PLAIN_FOOTER_SIZE 4  /* crc only: postings, positions, text */

static inline uint32_t lode_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t lode_get64(const uint8_t *p)
{
	return (uint64_t)lode_get32(p) | (uint64_t)lode_get32(p + 4) << 32;
}

static inline void lode_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void lode_put64(uint8_t *p, uint64_t v)
{
	lode_put32(p, (uint32_t)v);
	lode_put32(p + 4, (uint32_t)(v >> 32));
}

#endif
