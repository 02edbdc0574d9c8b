/*
 * fuzz_index.c -- fuzz target: reading a damaged index.
 *
 * Once per process, lode_build indexes two small built-in corpora (fixed
 * text, names and mtimes, so the bytes are the same on every run), once
 * plainly and once with the "english" stemmer, and the files are kept in
 * memory: for each variant, MANIFEST and the five files of two segments.
 * The fuzz input is a script of edits to those bytes:
 *
 *     Input := <Flags: u8> Edit*
 *     Flags := bit 0: rewrite every file's CRC after the edits, so that
 *                     the damage gets past lode_index_open's manifest check
 *                     and lode_check;
 *              bit 1: the manifest lists both segments (else only the first)
 *              bit 2: the stemmed index (else the plain one)
 *              bit 7: the plain index built without stored text, whose
 *                     texts are read from the corpus files (bit 2 then
 *                     does not count)
 *     Edit  := <Op: u8> <Offset: u24, little-endian> <Value: u8>
 *
 * Op's low 4 bits pick the file (modulo 11: MANIFEST, then terms.dic,
 * postings.pst, positions.pos, docs.tab, text.z of segment 1, then of
 * segment 2), its next 3 bits what to do at Offset (modulo the file size):
 * set or xor a byte, write a u32 or u64 (Value indexes a table of edge
 * values), truncate, insert a byte or delete up to Value + 1 bytes.  A
 * trailing partial edit is ignored.
 *
 * The damaged index is written to a temporary directory, opened, and read
 * with a fixed set of queries (terms, phrases, AND, OR, NOT, missing terms,
 * stems, exact words, free text) through lode_match, lode_count,
 * lode_search (exhaustive, and MaxScore where it applies), lode_doc and
 * lode_snippet_make, then verified with lode_check.  Any error code is a
 * fine answer if it comes with its message; a crash, hang, leak, sanitizer
 * report, or an inconsistent answer (documents out of order or out of
 * range, match, count and search disagreeing on the number of matches) is a
 * bug.
 *
 * The edits address bytes: a change to the corpus below or to the format
 * moves them, and the inputs in fuzz/regressions/index/ then damage other
 * bytes than the ones that showed a bug.  Check that each still reaches its
 * bug's code (or rebuild it) when making such a change.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libdeflate.h>

#include "eval.h"
#include "format.h"
#include "fuzz.h"
#include "lode.h"
#include "support.h"

const char fuzz_target_name[] = "index";

#define NVARIANTS 3      /* plain, stemmed, plain without stored text */
#define NO_TEXT 2        /* the variant without stored text */
#define NSEGS 2
#define SEG_FILES 5
#define NFILES (1 + NSEGS * SEG_FILES)
#define EDIT_SIZE 5
#define HITS 5           /* lode_search's k */
#define SNIPPETS 1       /* snippets made of the best hits */
#define SNIPPET_WIDTH 60
/* mtime of every corpus file, so that docs.tab is the same on every run */
#define CORPUS_MTIME 1700000000
#define STEMMER "english" /* of the stemmed variant */

static const char *const seg_files[SEG_FILES] = {
	LODE_FILE_DICT, LODE_FILE_POSTINGS, LODE_FILE_POSITIONS, LODE_FILE_DOCS,
	LODE_FILE_TEXT,
};

enum qkind {
	Q_BOOLEAN, /* lode_query_parse */
	Q_EXACT,   /* lode_query_parse, then lode_query_set_exact */
	Q_TEXT,    /* lode_query_parse_text: free text */
};

static const struct {
	enum qkind kind;
	const char *text;
} queries[] = {
	{Q_BOOLEAN, "alpha"},
	{Q_BOOLEAN, "\"supreme national security\""},
	{Q_BOOLEAN, "alpha AND beta"},
	{Q_BOOLEAN, "gamma OR delta OR doc042"},
	{Q_BOOLEAN, "\"quick brown\" OR omega OR alpha"},
	{Q_BOOLEAN, "alpha NOT beta"},
	{Q_BOOLEAN, "alpha NOT nosuchword"},
	{Q_BOOLEAN, "NOT gamma"},
	{Q_BOOLEAN, "(alpha OR zeta) AND NOT \"national security\""},
	{Q_BOOLEAN, "pézeshkian"},
	{Q_BOOLEAN, "nosuchword OR doc007"},
	{Q_BOOLEAN, "\"quick brown fox\" alpha"},
	{Q_BOOLEAN, "Iran's"},
	{Q_BOOLEAN, "meetings OR councils NOT \"national security\""},
	/* Top k with required leaves and with an exclusion (MaxScore, taken
	 * at any match count: setup() sets lode_and_prune_matches to 0). */
	{Q_BOOLEAN, "(gamma OR \"quick brown\") AND alpha"},
	{Q_BOOLEAN, "((delta OR omega) AND alpha) NOT beta"},
	{Q_BOOLEAN, "(alpha OR zeta) NOT \"quick brown\""},
	{Q_BOOLEAN, "\"national security\" NOT meetings"},
	/* ANDs of terms a block at a time, their exclusions hoisted. */
	{Q_BOOLEAN, "alpha AND beta AND gamma"},
	{Q_BOOLEAN, "alpha AND beta NOT gamma"},
	{Q_BOOLEAN, "alpha AND NOT \"quick brown\""},
	{Q_BOOLEAN, "\"quick brown\" AND NOT alpha"},
	{Q_EXACT, "meetings OR councils"},
	{Q_TEXT, "the security councils were meeting"},
	{Q_TEXT, "Pézeshkian Iran meeting meeting"},
};
#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

/* Values an edit writes as u32 or u64: Value < 16 picks one of these,
 * a larger Value writes Value - 16. */
static const uint64_t edge_values[16] = {
	0, 1, 2, 15, 16, 31, 32, 33, 127, 128, 255, 256,
	0x7fffffffu, 0x80000000u, 0xffffffffu, UINT64_MAX,
};

/* The bytes of one index file. */
struct file {
	char name[32];  /* path below the index directory */
	uint8_t *data;
	size_t size, cap;
};

/* Built once per process. */
static struct {
	char *tmp;                 /* temporary directory, removed at exit */
	char *index;               /* tmp/index: where damaged copies go */
	struct file base[NVARIANTS][NFILES]; /* the pristine files; [v][0]
	                                        lists both segments */
	struct file manifest1[NVARIANTS];    /* MANIFEST listing segment 1 */
	struct file work[NFILES];  /* the copy being damaged */
	lode_query *query[NQUERIES];
} fx;

/* ---- building the pristine index ---------------------------------------- */

static void format_path(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* snprintf that aborts rather than truncate a path. */
static void format_path(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	FUZZ_CHECK(n >= 0 && (size_t)n < cap);
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void file_reserve(struct file *f, size_t need)
{
	if (need <= f->cap)
		return;
	f->cap = need * 2;
	f->data = realloc(f->data, f->cap);
	FUZZ_CHECK(f->data);
}

static void file_set(struct file *f, const char *name, const uint8_t *data,
                     size_t size)
{
	snprintf(f->name, sizeof(f->name), "%s", name);
	file_reserve(f, size + 1);
	memcpy(f->data, data, size);
	f->size = size;
}

static void read_file(struct file *f, const char *path, const char *name)
{
	FILE *in = fopen(path, "rb");
	uint8_t buf[1 << 16];
	size_t n;

	FUZZ_CHECK(in);
	f->size = 0;
	snprintf(f->name, sizeof(f->name), "%s", name);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		file_reserve(f, f->size + n);
		memcpy(f->data + f->size, buf, n);
		f->size += n;
	}
	FUZZ_CHECK(!ferror(in));
	fclose(in);
}

static void fix_crc(struct file *f)
{
	if (f->size >= 4)
		put_le(f->data + f->size - 4,
		       libdeflate_crc32(0, f->data, f->size - 4), 4);
}

/* A MANIFEST naming stemmer (may be "") and listing the first nsegs of the
 * segments, with ndocs each. */
static void make_manifest(struct file *f, const char *stemmer, uint32_t nsegs,
                          const uint32_t *ndocs)
{
	uint8_t buf[LODE_HEADER_SIZE + 8 + LODE_STEMMER_NAME_MAX + 16 * NSEGS +
	            4] = {0};
	size_t len = strlen(stemmer);
	uint8_t *e = buf + LODE_HEADER_SIZE + 8 + len;

	FUZZ_CHECK(len <= LODE_STEMMER_NAME_MAX);
	memcpy(buf, LODE_MAGIC_MANIFEST, LODE_MAGIC_LEN);
	put_le(buf + 8, LODE_FORMAT_VERSION, 4);
	put_le(buf + LODE_HEADER_SIZE, nsegs, 4);
	put_le(buf + LODE_HEADER_SIZE + 4, len, 4);
	memcpy(buf + LODE_HEADER_SIZE + 8, stemmer, len);
	for (uint32_t s = 0; s < nsegs; s++, e += 16) {
		put_le(e, s + 1, 8);
		put_le(e + 8, ndocs[s], 4);
	}
	file_set(f, LODE_MANIFEST_NAME, buf, (size_t)(e + 4 - buf));
	fix_crc(f);
}

static void write_doc(const char *dir, const char *name, const char *text)
{
	char path[4096];
	struct timespec times[2] = {
		{.tv_sec = CORPUS_MTIME}, {.tv_sec = CORPUS_MTIME},
	};

	test_write_file(dir, name, text, strlen(text));
	format_path(path, sizeof(path), "%s/%s", dir, name);
	FUZZ_CHECK(utimensat(AT_FDCWD, path, times, 0) == 0);
}

/*
 * Corpus "a": 150 short documents, so that "alpha" (in all of them) has two
 * postings blocks and a skip table and the dictionary has several blocks;
 * corpus "b": 20 documents, the first just longer than a text chunk (and
 * seldom a best hit: its snippets would cost more than the rest).
 */
static void write_corpus(const char *root)
{
	static const char *const words[] = {
		"beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
		"iota", "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi",
		"rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega",
		"quick", "brown", "fox", "national", "security", "council",
		"councils", "meeting", "meetings", "securities",
	};
	const size_t nwords = sizeof(words) / sizeof(words[0]);
	char dir[4096], name[32], text[1 << 16];
	uint32_t x = 12345;
	size_t len;

	format_path(dir, sizeof(dir), "%s/a", root);
	for (int d = 0; d < 150; d++) {
		len = (size_t)snprintf(text, sizeof(text), "Doc%03d alpha", d);
		for (int w = 0; w < 12; w++) {
			x = x * 1103515245u + 12345u;
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			                        " %s", words[(x >> 16) % nwords]);
		}
		if (d % 3 == 0)
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			                        "\nThe Supreme National Security "
			                        "Council met.");
		if (d % 5 == 0)
			snprintf(text + len, sizeof(text) - len,
			         "\nPézeshkian said Iran’s envoy left.\n");
		snprintf(name, sizeof(name), "doc%03d.txt", d);
		write_doc(dir, name, text);
	}
	format_path(dir, sizeof(dir), "%s/b", root);
	for (len = 0; len < LODE_TEXT_CHUNK + 100;)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		                        "lorem ipsum dolor sit amet\n");
	snprintf(text + len, sizeof(text) - len, "alpha beta\n");
	write_doc(dir, "0long.txt", text);
	for (int d = 1; d < 20; d++) {
		snprintf(text, sizeof(text), "doc%03d %s the quick brown fox "
		         "%s alpha\n", 200 + d, words[d % nwords],
		         words[(d * 7) % nwords]);
		snprintf(name, sizeof(name), "doc%03d.txt", d);
		write_doc(dir, name, text);
	}
}

/*
 * Index corpus dir (relative to tmp, so that the paths stored in docs.tab
 * do not depend on where tmp is) with stemmer (or NULL), keeping its text
 * unless no_text, and keep its files as segment seg of variant v; returns
 * its document count.
 */
static uint32_t build_segment(int v, const char *stemmer, int no_text,
                              const char *dir, int seg)
{
	const char *dirs[] = {dir};
	char index[4096], path[4096], name[32];
	lode_build_options opt = {.threads = 1, .stemmer = stemmer,
	                          .no_text = no_text};
	lode_error err;
	struct file manifest = {0};
	int cwd = open(".", O_RDONLY | O_DIRECTORY);
	size_t stemmer_len = stemmer ? strlen(stemmer) : 0;
	const uint8_t *entry;
	uint32_t ndocs;
	unsigned gen;

	format_path(index, sizeof(index), "%s/build-%d-%s", fx.tmp, v, dir);
	FUZZ_CHECK(cwd >= 0 && chdir(fx.tmp) == 0);
	FUZZ_CHECK(lode_build(index, dirs, 1, &opt, NULL, &err) == LODE_OK);
	FUZZ_CHECK(fchdir(cwd) == 0 && close(cwd) == 0);

	/* One segment, named as the manifest says. */
	format_path(path, sizeof(path), "%s/%s", index, LODE_MANIFEST_NAME);
	read_file(&manifest, path, LODE_MANIFEST_NAME);
	FUZZ_CHECK(manifest.size ==
	           LODE_HEADER_SIZE + 8 + stemmer_len + 16 + 4 &&
	           get_le(manifest.data + LODE_HEADER_SIZE, 4) == 1 &&
	           get_le(manifest.data + LODE_HEADER_SIZE + 4, 4) ==
	           stemmer_len);
	entry = manifest.data + LODE_HEADER_SIZE + 8 + stemmer_len;
	gen = (unsigned)get_le(entry, 8);
	ndocs = (uint32_t)get_le(entry + 8, 4);
	free(manifest.data);
	for (int i = 0; i < SEG_FILES; i++) {
		format_path(path, sizeof(path),
		            "%s/" LODE_SEGMENT_PREFIX "%06u/%s", index, gen,
		            seg_files[i]);
		format_path(name, sizeof(name), LODE_SEGMENT_PREFIX "%06d/%s",
		            seg + 1, seg_files[i]);
		read_file(&fx.base[v][1 + seg * SEG_FILES + i], path, name);
	}
	return ndocs;
}

static void cleanup(void)
{
	for (size_t q = 0; q < NQUERIES; q++)
		lode_query_free(fx.query[q]);
	for (int v = 0; v < NVARIANTS; v++) {
		for (int i = 0; i < NFILES; i++)
			free(fx.base[v][i].data);
		free(fx.manifest1[v].data);
	}
	for (int i = 0; i < NFILES; i++)
		free(fx.work[i].data);
	test_rmtree(fx.tmp);
	free(fx.tmp);
	free(fx.index);
	memset(&fx, 0, sizeof(fx));
}

static void setup(void)
{
	uint32_t ndocs[NSEGS];
	char path[4096];

	lode_and_prune_matches = 0;
	fx.tmp = test_tmpdir("fuzz-index");
	write_corpus(fx.tmp);
	for (int v = 0; v < NVARIANTS; v++) {
		const char *stemmer = v == 1 ? STEMMER : NULL;
		ndocs[0] = build_segment(v, stemmer, v == NO_TEXT, "a", 0);
		ndocs[1] = build_segment(v, stemmer, v == NO_TEXT, "b", 1);
		make_manifest(&fx.base[v][0], stemmer ? stemmer : "", NSEGS, ndocs);
		make_manifest(&fx.manifest1[v], stemmer ? stemmer : "", 1, ndocs);
	}
	format_path(path, sizeof(path), "%s/index", fx.tmp);
	fx.index = strdup(path);
	FUZZ_CHECK(fx.index);
	for (size_t q = 0; q < NQUERIES; q++) {
		const char *text = queries[q].text;
		lode_query **query = &fx.query[q];
		if (queries[q].kind == Q_TEXT) {
			FUZZ_CHECK(lode_query_parse_text(text, strlen(text), query,
			                                 NULL) == LODE_OK);
		} else {
			FUZZ_CHECK(lode_query_parse(text, strlen(text), query,
			                            NULL) == LODE_OK);
			lode_query_set_exact(*query, queries[q].kind == Q_EXACT);
		}
	}
	atexit(cleanup);
}

/* ---- damaging ------------------------------------------------------------ */

static void apply_edit(const uint8_t *e)
{
	struct file *f = &fx.work[(e[0] & 15) % NFILES];
	size_t off = (size_t)get_le(e + 1, 3), n;
	uint8_t value = e[4];
	uint64_t v = value < 16 ? edge_values[value] : (uint64_t)value - 16;

	switch ((e[0] >> 4) & 7) {
	case 0:
	case 1:
		if (f->size)
			f->data[off % f->size] = value;
		break;
	case 2:
		if (f->size)
			f->data[off % f->size] ^= value ? value : 0x80;
		break;
	case 3:
		if (f->size >= 4)
			put_le(f->data + off % (f->size - 3), v, 4);
		break;
	case 4:
		if (f->size >= 8)
			put_le(f->data + off % (f->size - 7), v, 8);
		break;
	case 5:
		f->size = off % (f->size + 1);
		break;
	case 6:
		file_reserve(f, f->size + 1);
		off %= f->size + 1;
		memmove(f->data + off + 1, f->data + off, f->size - off);
		f->data[off] = value;
		f->size++;
		break;
	case 7:
		if (!f->size)
			break;
		off %= f->size;
		n = (size_t)value + 1 < f->size - off ? (size_t)value + 1
		                                      : f->size - off;
		memmove(f->data + off, f->data + off + n, f->size - off - n);
		f->size -= n;
		break;
	}
}

static void write_index(void)
{
	for (int i = 0; i < NFILES; i++)
		test_write_file(fx.index, fx.work[i].name, fx.work[i].data,
		                fx.work[i].size);
}

/* ---- reading ------------------------------------------------------------- */

/* A failure must be a library error code with its message. */
static void check_error(int rc, const lode_error *err)
{
	if (rc == LODE_OK)
		return;
	FUZZ_CHECK(rc <= LODE_ENOMEM && rc >= LODE_ESTALE);
	FUZZ_CHECK(err->code == rc && err->message[0] != '\0');
}

struct order {
	uint64_t documents; /* in the index */
	uint64_t count;     /* matches so far */
	uint32_t last;      /* last match */
};

static int on_match(void *ctx, uint32_t doc)
{
	struct order *o = ctx;

	FUZZ_CHECK(doc < o->documents && (o->count == 0 || doc > o->last));
	o->last = doc;
	o->count++;
	return 0;
}

static void read_doc(const lode_index *ix, const lode_query *query,
                     uint32_t doc)
{
	lode_doc_info info = {0};
	lode_snippet snippet;
	lode_error err;
	int rc;

	rc = lode_doc(ix, doc, &info, &err);
	check_error(rc, &err);
	if (rc == LODE_OK)
		FUZZ_CHECK(info.path[info.path_len] == '\0');
	lode_doc_info_release(&info);
	rc = lode_snippet_make(ix, query, doc, SNIPPET_WIDTH, &snippet, &err);
	check_error(rc, &err);
	if (rc == LODE_OK) {
		FUZZ_CHECK(snippet.text && snippet.text[snippet.len] == '\0');
		for (size_t i = 0; i < snippet.nspans; i++)
			FUZZ_CHECK(snippet.spans[i].start <
			           snippet.spans[i].end &&
			           snippet.spans[i].end <= snippet.len);
	}
	lode_snippet_release(&snippet);
}

/* lode_search's hits: documents of the index, best first. */
static void check_hits(const lode_hit *hits, size_t nhits,
                       const lode_index_info *info)
{
	FUZZ_CHECK(nhits <= HITS);
	for (size_t i = 0; i < nhits; i++) {
		FUZZ_CHECK(hits[i].doc < info->documents);
		FUZZ_CHECK(i == 0 || !(hits[i - 1].score < hits[i].score));
	}
}

static void run_query(const lode_index *ix, const lode_index_info *info,
                      const lode_query *query)
{
	struct order order = {.documents = info->documents};
	lode_hit hits[HITS];
	uint64_t count, total;
	size_t nhits;
	lode_error err;
	int rc, matched;

	rc = lode_match(ix, query, on_match, &order, &err);
	check_error(rc, &err);
	/* A match that failed half-way counted only some documents; a count
	 * may still succeed without reading the damage (a term's DocFreq). */
	matched = rc == LODE_OK;
	rc = lode_count(ix, query, &count, &err);
	check_error(rc, &err);
	if (rc == LODE_OK && matched)
		FUZZ_CHECK(count == order.count);
	/* Without the total, an OR of terms is ranked by MaxScore. */
	rc = lode_search(ix, query, HITS, hits, &nhits, NULL, &err);
	check_error(rc, &err);
	if (rc == LODE_OK)
		check_hits(hits, nhits, info);
	rc = lode_search(ix, query, HITS, hits, &nhits, &total, &err);
	check_error(rc, &err);
	if (rc)
		return;
	check_hits(hits, nhits, info);
	FUZZ_CHECK((!matched || total == order.count) && nhits <= total);
	for (size_t i = 0; i < nhits && i < SNIPPETS; i++)
		read_doc(ix, query, hits[i].doc);
}

static void read_index(void)
{
	lode_index *ix;
	lode_index_info info;
	lode_error err;
	int rc;

	rc = lode_index_open(fx.index, &ix, &err);
	check_error(rc, &err);
	if (rc)
		return;
	lode_index_info_get(ix, &info);
	FUZZ_CHECK(!info.stemmer ||
	           strlen(info.stemmer) <= LODE_STEMMER_NAME_MAX);
	for (size_t q = 0; q < NQUERIES; q++)
		run_query(ix, &info, fx.query[q]);
	/* Documents no query may reach once postings are damaged. */
	if (info.documents) {
		read_doc(ix, fx.query[0], 0);
		read_doc(ix, fx.query[0], (uint32_t)(info.documents - 1));
	}
	rc = lode_check(ix, &err);
	check_error(rc, &err);
	lode_index_close(ix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t flags = size ? data[0] : 0;
	int v = flags & 0x80 ? NO_TEXT : (flags >> 2) & 1;
	int cwd;

	if (!fx.tmp)
		setup();
	for (int i = 0; i < NFILES; i++)
		file_set(&fx.work[i], fx.base[v][i].name, fx.base[v][i].data,
		         fx.base[v][i].size);
	if (!(flags & 2))
		file_set(&fx.work[0], fx.manifest1[v].name, fx.manifest1[v].data,
		         fx.manifest1[v].size);
	for (size_t at = 1; at + EDIT_SIZE <= size; at += EDIT_SIZE)
		apply_edit(data + at);
	if (flags & 1)
		for (int i = 0; i < NFILES; i++)
			fix_crc(&fx.work[i]);
	write_index();
	/* From the corpus' directory, where the paths in docs.tab lead. */
	FUZZ_CHECK((cwd = open(".", O_RDONLY | O_DIRECTORY)) >= 0 &&
	           chdir(fx.tmp) == 0);
	read_index();
	FUZZ_CHECK(fchdir(cwd) == 0 && close(cwd) == 0);
	return 0;
}
