/*
 * test_golden.c -- the committed tiny index in tests/golden/ must keep
 * reading, and building its documents again must give the same bytes.
 *
 * tests/golden/index was built at format version 14 by
 *
 *     touch -d @1700000000 $(find tests/golden/docs -type f)
 *     lode index -i tests/golden/index tests/golden/docs
 *
 * A change to the bytes written fails here: update FORMAT.md and
 * LODE_FORMAT_VERSION, then rebuild the golden index in the same commit.
 * Run from the repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utime.h>

#include <cmocka.h>
#include <libdeflate.h>

#include "codec.h"
#include "format.h"
#include "index.h"
#include "lode.h"
#include "postings.h"
#include "segment.h"
#include "support.h"

#define GOLDEN "tests/golden/index"
#define DOCS "tests/golden/docs"
/* Every golden document's modification time, seconds since the epoch. */
#define GOLDEN_MTIME 1700000000

static const char *const segment_files[] = {
	LODE_FILE_DICT, LODE_FILE_POSTINGS, LODE_FILE_POSITIONS, LODE_FILE_DOCS,
	LODE_FILE_TEXT,
};

/* The whole file at path; the test fails if it cannot be read. */
static uint8_t *read_all(const char *path, size_t *len)
{
	uint8_t *data = (uint8_t *)test_read_file(path, len);

	assert_non_null(data);
	return data;
}

/* Write orig (n bytes) to path with byte at xor mask and the CRC
 * rewritten to match: damage only a structure check can see. */
static void write_damaged(const char *path, const uint8_t *orig, size_t n,
                          size_t at, uint8_t mask)
{
	uint8_t *buf = malloc(n);
	FILE *out;

	assert_non_null(buf);
	memcpy(buf, orig, n);
	buf[at] ^= mask;
	lode_put32(buf + n - 4, libdeflate_crc32(0, buf, n - 4));
	out = fopen(path, "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(out);
	free(buf);
}

struct ids {
	uint32_t id[16];
	size_t n;
};

static int collect(void *ctx, uint32_t doc)
{
	struct ids *ids = ctx;

	if (ids->n < 16)
		ids->id[ids->n] = doc;
	ids->n++;
	return 0;
}

static void expect_matches(lode_index *ix, const char *query,
                           const uint32_t *want, size_t nwant)
{
	struct ids got = {{0}, 0};
	lode_query *q;
	lode_error err;

	assert_int_equal(lode_query_parse(query, strlen(query), &q, &err), LODE_OK);
	assert_int_equal(lode_match(ix, q, collect, &got, &err), LODE_OK);
	if (got.n != nwant)
		fail_msg("%s: %zu matches, expected %zu", query, got.n, nwant);
	for (size_t i = 0; i < nwant; i++)
		assert_int_equal(got.id[i], want[i]);
	lode_query_free(q);
}

static void test_golden_index_still_reads(void **state)
{
	static const char *const paths[] = {
		DOCS "/a.txt", DOCS "/sub/b.txt", DOCS "/sub/empty.txt",
	};
	lode_doc_info di = {0};
	lode_index_info info;
	lode_index *ix;
	lode_error err;

	(void)state;
	assert_int_equal(lode_index_open(GOLDEN, &ix, &err), LODE_OK);
	lode_index_info_get(ix, &info);
	assert_int_equal(info.documents, 3);
	assert_int_equal(info.segments, 1);
	for (uint32_t d = 0; d < 3; d++) {
		assert_int_equal(lode_doc(ix, d, &di, &err), LODE_OK);
		assert_string_equal(di.path, paths[d]);
		assert_int_equal(di.path_len, strlen(paths[d]));
		assert_int_equal(di.mtime, GOLDEN_MTIME);
	}
	lode_doc_info_release(&di);
	expect_matches(ix, "council", (const uint32_t[]){0, 1}, 2);
	expect_matches(ix, "\"national security council\"", (const uint32_t[]){0}, 1);
	expect_matches(ix, "Iran's AND retaliation", (const uint32_t[]){0}, 1);
	expect_matches(ix, "pezeshkian OR u.n.", (const uint32_t[]){0, 1}, 2);
	expect_matches(ix, "NOT council", (const uint32_t[]){2}, 1);
	expect_matches(ix, "council NOT tehran", (const uint32_t[]){1}, 1);
	expect_matches(ix, "\"the council the council\"", (const uint32_t[]){1}, 1);
	/* The pair term of "council in" shares its first 8 bytes with the
	 * dictionary's first term ("council met"'s) and sorts before it: no
	 * block holds it, and it is absent, not a sign of damage. */
	expect_matches(ix, "\"council in\"", (const uint32_t[]){0}, 0);
	expect_matches(ix, "council OR \"council iran\"", (const uint32_t[]){0, 1}, 2);
	assert_int_equal(lode_check(ix, &err), LODE_OK);
	lode_index_close(ix);
}

/* Whether dir/index's segment file name is the golden index's, byte for
 * byte (both must read). */
static int same_as_golden(const char *dir, const char *name)
{
	char golden[4096], fresh[4096];

	snprintf(golden, sizeof(golden), GOLDEN "/seg-000001/%s", name);
	snprintf(fresh, sizeof(fresh), "%s/index/seg-000001/%s", dir, name);
	return test_same_file(golden, fresh);
}

/* Build the golden documents into dir/index with this many threads and
 * compare every file with the golden index's. */
static void rebuild_matches_golden(const char *dir, unsigned threads)
{
	const char *dirs[] = {DOCS};
	lode_build_options opt = {.threads = threads};
	char fresh[4096];
	lode_error err;

	snprintf(fresh, sizeof(fresh), "%s/index", dir);
	test_rmtree(fresh);
	assert_int_equal(lode_build(fresh, dirs, 1, &opt, NULL, &err), LODE_OK);
	for (size_t i = 0; i < sizeof(segment_files) / sizeof(*segment_files); i++)
		if (!same_as_golden(dir, segment_files[i]))
			fail_msg("%s differs from the golden index (%u threads)",
			         segment_files[i], threads);
}

/* With the documents' modification times set to the golden ones (a
 * checkout has its own), every file must be byte for byte what the golden
 * index holds, built on the caller's thread alone or with the reader and
 * compressor threads. */
static void test_rebuild_gives_same_bytes(void **state)
{
	static const char *const docs[] = {
		DOCS "/a.txt", DOCS "/sub/b.txt", DOCS "/sub/empty.txt",
	};
	const struct utimbuf times = {GOLDEN_MTIME, GOLDEN_MTIME};
	char *dir = test_tmpdir("golden");

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(*docs); i++)
		assert_int_equal(utime(docs[i], &times), 0);
	rebuild_matches_golden(dir, 1);
	rebuild_matches_golden(dir, 2);
	test_rmtree(dir);
	free(dir);
}

/* Without stored text, the postings, positions and dictionary are the
 * golden ones, text.z is a header and a CRC, lode check passes, and every
 * document's text is its file's. */
static void test_no_text_index(void **state)
{
	static const char *const docs[] = {
		DOCS "/a.txt", DOCS "/sub/b.txt", DOCS "/sub/empty.txt",
	};
	const struct utimbuf times = {GOLDEN_MTIME, GOLDEN_MTIME};
	const char *dirs[] = {DOCS};
	lode_build_options opt = {.threads = 1, .no_text = 1};
	char *dir = test_tmpdir("no-text");
	char fresh[4096];
	lode_index *ix;
	lode_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(*docs); i++)
		assert_int_equal(utime(docs[i], &times), 0);
	snprintf(fresh, sizeof(fresh), "%s/index", dir);
	assert_int_equal(lode_build(fresh, dirs, 1, &opt, NULL, &err), LODE_OK);
	for (size_t i = 0; i < 3; i++) /* terms.dic, postings, positions */
		assert_true(same_as_golden(dir, segment_files[i]));
	snprintf(fresh, sizeof(fresh), "%s/index/seg-000001/" LODE_FILE_TEXT, dir);
	{
		size_t n;
		free(read_all(fresh, &n));
		assert_int_equal(n, LODE_HEADER_SIZE + 4);
	}
	snprintf(fresh, sizeof(fresh), "%s/index", dir);
	assert_int_equal(lode_index_open(fresh, &ix, &err), LODE_OK);
	assert_int_equal(lode_check(ix, &err), LODE_OK);
	for (uint32_t d = 0; d < 3; d++) {
		char *text;
		size_t len, n;
		uint8_t *want = read_all(docs[d], &n);
		assert_int_equal(lode_doc_text(ix, d, &text, &len, &err), LODE_OK);
		assert_true(len == n && memcmp(text, want, n) == 0);
		free(text);
		free(want);
	}
	lode_index_close(ix);
	test_rmtree(dir);
	free(dir);
}

/* A stemmed index: bare words match their stems, quoted phrases and exact
 * queries match words as written. */
static void test_stemmed_index(void **state)
{
	char *dir = test_tmpdir("stem");
	const char *dirs[] = {DOCS};
	lode_build_options opt = {0};
	lode_index_info info;
	char path[4096];
	lode_index *ix;
	lode_query *q;
	lode_error err;
	uint64_t n;

	(void)state;
	opt.stemmer = "english";
	snprintf(path, sizeof(path), "%s/index", dir);
	assert_int_equal(lode_build(path, dirs, 1, &opt, NULL, &err), LODE_OK);
	assert_int_equal(lode_index_open(path, &ix, &err), LODE_OK);
	lode_index_info_get(ix, &info);
	assert_string_equal(info.stemmer, "english");
	expect_matches(ix, "leader", (const uint32_t[]){0}, 1);
	expect_matches(ix, "promise AND urge", (const uint32_t[]){0}, 1);
	expect_matches(ix, "\"leaders promised\"", (const uint32_t[]){0}, 1);
	expect_matches(ix, "\"leader promised\"", NULL, 0);
	expect_matches(ix, "councils", (const uint32_t[]){0, 1}, 2);
	assert_int_equal(lode_query_parse("leader", 6, &q, &err), LODE_OK);
	lode_query_set_exact(q, 1);
	assert_int_equal(lode_count(ix, q, &n, &err), LODE_OK);
	assert_int_equal(n, 0);
	lode_query_free(q);
	assert_int_equal(lode_query_parse_text("Leaders spoke", 13, &q, &err),
	                 LODE_OK);
	assert_int_equal(lode_count(ix, q, &n, &err), LODE_OK);
	assert_int_equal(n, 2);
	lode_query_free(q);
	assert_int_equal(lode_check(ix, &err), LODE_OK);
	lode_index_close(ix);
	opt.stemmer = "klingon";
	snprintf(path, sizeof(path), "%s/other", dir);
	assert_int_equal(lode_build(path, dirs, 1, &opt, NULL, &err), LODE_EINVAL);
	assert_non_null(strstr(err.message, "klingon"));
	test_rmtree(dir);
	free(dir);
}

/* Damage with a matching CRC is still found: lode check decodes every
 * structure.  Each byte of the golden postings, positions, dictionary and
 * document table is changed in turn, the CRC rewritten; check must fail or
 * the index must still answer every query as before (a change no structure
 * can tell from data). */
static void test_check_sees_structure_behind_crc(void **state)
{
	static const char *const files[] = {LODE_FILE_POSTINGS, LODE_FILE_POSITIONS,
	                                    LODE_FILE_DICT, LODE_FILE_DOCS};
	char *dir = test_tmpdir("structure");
	char cmd[8192], path[4096];
	size_t caught = 0, total = 0;

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(*files); f++) {
		size_t n;
		uint8_t *orig;
		snprintf(path, sizeof(path), GOLDEN "/seg-000001/%s", files[f]);
		orig = read_all(path, &n);
		for (size_t at = LODE_HEADER_SIZE; at + 4 < n; at++) {
			lode_index *ix;
			lode_error err;
			int rc;
			snprintf(cmd, sizeof(cmd), "rm -rf '%s/i' && cp -r " GOLDEN
			         " '%s/i'", dir, dir);
			assert_int_equal(system(cmd), 0);
			snprintf(path, sizeof(path), "%s/i/seg-000001/%s", dir, files[f]);
			write_damaged(path, orig, n, at, 0x5a);
			snprintf(path, sizeof(path), "%s/i", dir);
			total++;
			rc = lode_index_open(path, &ix, &err);
			if (rc == LODE_OK) {
				rc = lode_check(ix, &err);
				lode_index_close(ix);
			}
			if (rc != LODE_OK) {
				assert_int_equal(rc, LODE_ECORRUPT);
				caught++;
			}
		}
		free(orig);
	}
	/* Most changes break a structure; print the share for the record. */
	print_message("lode check caught %zu of %zu CRC-consistent changes\n",
	              caught, total);
	assert_true(caught * 2 > total);
	test_rmtree(dir);
	free(dir);
}

/* Every byte of the dictionary's BlockKeys (FORMAT.md) damaged, the CRC
 * made to match: lode check finds each one, since lookups trust the keys
 * to lead them to the right block. */
static void test_check_sees_wrong_block_key(void **state)
{
	char *dir = test_tmpdir("keys");
	char cmd[8192], path[4096];
	uint64_t nblocks, index_off;
	uint8_t *orig;
	size_t n;

	(void)state;
	orig = read_all(GOLDEN "/seg-000001/" LODE_FILE_DICT, &n);
	nblocks = lode_get64(orig + n - LODE_DICT_FOOTER_SIZE + 8);
	index_off = lode_get64(orig + n - LODE_DICT_FOOTER_SIZE + 16);
	assert_true(nblocks > 0);
	for (uint64_t at = index_off + nblocks * 8; at < index_off + nblocks * 16;
	     at++) {
		lode_index *ix;
		lode_error err;
		snprintf(cmd, sizeof(cmd), "rm -rf '%s/i' && cp -r " GOLDEN " '%s/i'",
		         dir, dir);
		assert_int_equal(system(cmd), 0);
		snprintf(path, sizeof(path), "%s/i/seg-000001/" LODE_FILE_DICT, dir);
		write_damaged(path, orig, n, (size_t)at, 0x01);
		snprintf(path, sizeof(path), "%s/i", dir);
		assert_int_equal(lode_index_open(path, &ix, &err), LODE_OK);
		assert_int_equal(lode_check(ix, &err), LODE_ECORRUPT);
		lode_index_close(ix);
	}
	free(orig);
	test_rmtree(dir);
	free(dir);
}

/* lode check --sizes: the parts of postings.pst add up to the file less its
 * header, padding and CRC; every token is a position; the files' sizes are
 * theirs. */
static void test_sizes_add_up(void **state)
{
	char *dir = test_tmpdir("sizes");
	const char *dirs[1];
	char docs[4096], path[4096], name[32], text[96];
	lode_index_sizes s;
	lode_index_info info;
	lode_index *ix;
	lode_error err;
	size_t n;
	uint8_t *file;

	(void)state;
	snprintf(docs, sizeof(docs), "%s/docs", dir);
	for (int d = 0; d < 300; d++) {
		/* word13 is in one document only; skewed's gaps are 1 but
		 * one, which Rice codes better than packing (format 13). */
		int len = snprintf(text, sizeof(text), "of the %s word%d in a %s%s",
		                   d % 5 ? "common" : "common common common",
		                   d == 7 ? 13 : d % 13,
		                   d % 2 ? "box" : "line of the text",
		                   d < 8 || d == 290 ? " skewed" : "");
		snprintf(name, sizeof(name), "%03d.txt", d);
		test_write_file(docs, name, text, (size_t)len);
	}
	dirs[0] = docs;
	snprintf(path, sizeof(path), "%s/index", dir);
	assert_int_equal(lode_build(path, dirs, 1, NULL, NULL, NULL), LODE_OK);
	assert_int_equal(lode_index_open(path, &ix, &err), LODE_OK);
	assert_int_equal(lode_check_sizes(ix, &s, &err), LODE_OK);
	lode_index_info_get(ix, &info);
	assert_true(s.blocks > s.terms); /* some terms have several blocks */
	assert_true(s.pair_terms > 0 && s.skip_tables > 0 && s.impact_lists > 0);
	assert_true(s.skip_tables + s.block_headers + s.doc_parts +
	            s.freq_parts + s.impact_lists ==
	            s.postings - 2 * LODE_HEADER_SIZE - LODE_PLAIN_FOOTER_SIZE);
	assert_true(s.single_terms > 0 && s.rice_blocks > 0);
	assert_true(s.block_headers == 2 * (s.blocks - s.single_terms));
	assert_true(s.position_count == info.tokens);
	snprintf(path, sizeof(path), "%s/index/" LODE_MANIFEST_NAME, dir);
	file = read_all(path, &n);
	free(file);
	/* index_bytes counts the manifest too. */
	assert_true(s.dictionary + s.postings + s.positions + s.document_table +
	            s.stored_text + n == info.index_bytes);
	assert_int_equal(s.terms, ix->segs[0].nterms);
	snprintf(path, sizeof(path), "%s/index/seg-000001/" LODE_FILE_POSITIONS,
	         dir);
	file = read_all(path, &n);
	assert_true(s.positions == n);
	free(file);
	lode_index_close(ix);
	test_rmtree(dir);
	free(dir);
}

/*
 * The golden index is too small for a skip table, so impact lists (FORMAT.md,
 * postings.pst) are damaged in a fresh index of 200 documents where "common"
 * has two blocks: block 0 follows the skip table, its impact list its packed
 * documents and frequencies (the list's pair count, then its first
 * frequency gap).  With the CRC rewritten, open and search must not crash,
 * and lode check must report the list.
 */
static void test_check_sees_wrong_impact_list(void **state)
{
	char *dir = test_tmpdir("impacts");
	const char *dirs[1];
	char docs[4096], path[4096], name[32], text[64];
	static const size_t at[] = {0, 1, 2};
	size_t n, start;
	uint8_t *orig;

	(void)state;
	snprintf(docs, sizeof(docs), "%s/docs", dir);
	for (int d = 0; d < 200; d++) {
		int len = snprintf(text, sizeof(text), "common%s word%d", d % 7 ? "" :
		                   " common common", d % 3);
		snprintf(name, sizeof(name), "%03d.txt", d);
		test_write_file(docs, name, text, (size_t)len);
	}
	dirs[0] = docs;
	snprintf(path, sizeof(path), "%s/index", dir);
	assert_int_equal(lode_build(path, dirs, 1, NULL, NULL, NULL), LODE_OK);
	/* Where "common"'s first block starts. */
	snprintf(path, sizeof(path), "%s/index", dir);
	{
		lode_index *ix;
		lode_term_info info;
		lode_error err;
		assert_int_equal(lode_index_open(path, &ix, &err), LODE_OK);
		assert_int_equal(lode_segment_lookup(&ix->segs[0], "common", 6,
		                                     &info, &err), 1);
		lode_postings p;
		assert_int_equal(lode_postings_init(&p, &ix->segs[0], &info, &err),
		                 LODE_OK);
		assert_int_equal(p.nblocks, 2);
		/* Block 0 follows the skip table. */
		start = (size_t)(p.blocks - ix->segs[0].postings.data);
		lode_postings_release(&p);
		lode_index_close(ix);
	}
	snprintf(path, sizeof(path), "%s/index/seg-000001/" LODE_FILE_POSTINGS, dir);
	orig = read_all(path, &n);
	for (size_t i = 0; i < sizeof(at) / sizeof(*at); i++) {
		/* The first block's impact list follows its documents and
		 * frequencies. */
		size_t off = start, docs_len, freqs_len;
		unsigned width;
		docs_len = lode_pfor_size(orig + off + 2, orig + n, 128, orig[off],
		                          &width);
		assert_true(docs_len != SIZE_MAX);
		freqs_len = lode_pfor_size(orig + off + 2 + docs_len, orig + n, 128,
		                           orig[off + 1], &width);
		assert_true(freqs_len != SIZE_MAX);
		off += 2 + docs_len + freqs_len + at[i];
		lode_index *ix;
		lode_query *q;
		lode_hit hits[3];
		lode_error err;
		size_t nhits;
		int rc;
		write_damaged(path, orig, n, off, 0x01);
		snprintf(docs, sizeof(docs), "%s/index", dir);
		assert_int_equal(lode_index_open(docs, &ix, &err), LODE_OK);
		assert_int_equal(lode_query_parse("common", 6, &q, &err), LODE_OK);
		rc = lode_search(ix, q, 3, hits, &nhits, NULL, &err);
		assert_true(rc == LODE_OK || rc == LODE_ECORRUPT);
		lode_query_free(q);
		assert_int_equal(lode_check(ix, &err), LODE_ECORRUPT);
		if (!strstr(err.message, "impact list"))
			fail_msg("byte %zu: %s", at[i], err.message);
		lode_index_close(ix);
	}
	free(orig);
	test_rmtree(dir);
	free(dir);
}

/* Read every document's record and stored text of the index at path:
 * LODE_OK, or the first failure of open or a read (each a clean
 * LODE_ECORRUPT); then lode_check's verdict in *check. */
static int read_every_document(const char *path, int *check)
{
	lode_doc_info di = {0};
	lode_index_info info;
	lode_index *ix;
	lode_error err;
	int rc, first = LODE_OK;

	*check = LODE_ECORRUPT;
	if ((rc = lode_index_open(path, &ix, &err)) != LODE_OK) {
		assert_int_equal(rc, LODE_ECORRUPT);
		return rc;
	}
	lode_index_info_get(ix, &info);
	for (uint32_t d = 0; d < info.documents; d++) {
		char *text = NULL;
		size_t len;
		rc = lode_doc(ix, d, &di, &err);
		if (rc == LODE_OK)
			assert_int_equal(di.path[di.path_len], '\0');
		if (rc == LODE_OK)
			rc = lode_doc_text(ix, d, &text, &len, &err);
		free(text);
		if (rc != LODE_OK) {
			assert_int_equal(rc, LODE_ECORRUPT);
			assert_int_equal(err.code, rc);
			first = rc;
		}
	}
	lode_doc_info_release(&di);
	*check = lode_check(ix, &err);
	lode_index_close(ix);
	return first;
}

/*
 * The document table damaged behind its CRC (each byte xor 0x5a, the CRC
 * rewritten), in an index of two blocks of documents in two directories
 * and three text chunks (a long document between short ones): every
 * document's record and text read cleanly or fail with LODE_ECORRUPT, and
 * when lode check passes, every read succeeded.
 */
static void test_damaged_doc_table_reads_cleanly(void **state)
{
	char *dir = test_tmpdir("doctable");
	char docs[4096], path[4096], name[32], text[20000];
	const char *dirs[1];
	size_t n, caught = 0;
	uint8_t *orig;
	int check;

	(void)state;
	snprintf(docs, sizeof(docs), "%s/docs", dir);
	for (int d = 0; d < 70; d++) {
		int len = snprintf(text, sizeof(text), "alpha word%d beta%d", d, d % 9);
		snprintf(name, sizeof(name), "a/d%03d.txt", d);
		test_write_file(docs, name, text, (size_t)len);
	}
	for (int d = 0; d < 12; d++) {
		int len = snprintf(text, sizeof(text), "gamma %d", d);
		snprintf(name, sizeof(name), "b/sub/e%03d.txt", d);
		test_write_file(docs, name, text, (size_t)len);
	}
	for (n = 0; n + 6 < sizeof(text) - 1 && n < LODE_TEXT_CHUNK + 300; n += 6)
		memcpy(text + n, "delta ", 6);
	test_write_file(docs, "a/d035x.txt", text, n);
	dirs[0] = docs;
	snprintf(path, sizeof(path), "%s/index", dir);
	assert_int_equal(lode_build(path, dirs, 1, NULL, NULL, NULL), LODE_OK);
	assert_int_equal(read_every_document(path, &check), LODE_OK);
	assert_int_equal(check, LODE_OK);
	snprintf(path, sizeof(path), "%s/index/seg-000001/" LODE_FILE_DOCS, dir);
	orig = read_all(path, &n);
	for (size_t at = LODE_HEADER_SIZE; at + 4 < n; at++) {
		int rc;
		write_damaged(path, orig, n, at, 0x5a);
		snprintf(docs, sizeof(docs), "%s/index", dir);
		rc = read_every_document(docs, &check);
		if (check != LODE_OK)
			caught++;
		else if (rc != LODE_OK)
			fail_msg("byte %zu: a read failed, lode check passed", at);
	}
	print_message("lode check caught %zu of %zu changes to the document "
	              "table\n", caught, n - LODE_HEADER_SIZE - 4);
	free(orig);
	test_rmtree(dir);
	free(dir);
}

static void test_other_version_is_named(void **state)
{
	char *dir = test_tmpdir("version");
	char cmd[8192], path[4096];
	lode_index *ix;
	lode_error err;
	FILE *f;

	(void)state;
	snprintf(cmd, sizeof(cmd), "cp -r " GOLDEN " '%s/index'", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/index/seg-000001/" LODE_FILE_POSTINGS, dir);
	f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, LODE_MAGIC_LEN, SEEK_SET);
	fputc(99, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/index", dir);
	assert_int_equal(lode_index_open(path, &ix, &err), LODE_EVERSION);
	assert_non_null(strstr(err.message, "version 99"));
	snprintf(path, sizeof(path), "version %u", LODE_FORMAT_VERSION);
	assert_non_null(strstr(err.message, path));
	test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_index_still_reads),
		cmocka_unit_test(test_rebuild_gives_same_bytes),
		cmocka_unit_test(test_no_text_index),
		cmocka_unit_test(test_stemmed_index),
		cmocka_unit_test(test_check_sees_structure_behind_crc),
		cmocka_unit_test(test_check_sees_wrong_impact_list),
		cmocka_unit_test(test_sizes_add_up),
		cmocka_unit_test(test_damaged_doc_table_reads_cleanly),
		cmocka_unit_test(test_check_sees_wrong_block_key),
		cmocka_unit_test(test_other_version_is_named),
	};

	return cmocka_run_group_tests_name("golden", tests, NULL, NULL);
}
