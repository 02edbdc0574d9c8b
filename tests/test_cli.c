/*
 * test_cli.c -- end-to-end tests of the lode command.
 *
 * Runs the real binary ($LODE_BIN, default ./lode) with fork and execv, no
 * shell in between, and compares its stdout, stderr and exit status with
 * what cli/lode.c and lode.h promise: exit 0 when something matched, 1 when
 * nothing did, 2 on any error, with errors as one line on stderr starting
 * "lode: ".  Must run from the repository root (make does), which holds
 * corpus/.
 *
 * The expected result sets of the query table were worked out without lode:
 * grep -l -i -w for words, grep -P for phrases, and a reference tokenizer and
 * boolean evaluator in Python (NFKD, marks stripped, case-folded runs of
 * letters and digits, so "Iran's" and "Iran’s" both give "iran" "s") over the
 * five articles; both agreed on every entry.
 *
 * Everything written goes below one test_tmpdir(), removed at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include "lode.h"
#include "support.h"

/* Most arguments a test puts in an argument array of its own, terminator
 * included. */
#define MAX_ARGS 32

/* ---- paths, files ---------------------------------------------------------- */

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Sorted names in dir, joined by '\n' (malloc'd; "" when empty). */
static char *list_dir(const char *dir)
{
	char *names[256], *out;
	size_t n = 0;
	test_buf b = {0};
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return NULL;
	while ((e = readdir(d)) != NULL && n < 256) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			names[n++] = test_asprintf("%s", e->d_name);
	}
	closedir(d);
	for (size_t i = 1; i < n; i++) {
		for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
			char *t = names[k];
			names[k] = names[k - 1];
			names[k - 1] = t;
		}
	}
	test_buf_add(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (i)
			test_buf_adds(&b, "\n");
		test_buf_adds(&b, names[i]);
		free(names[i]);
	}
	out = b.p;
	return out;
}

/* The path of the first seg-* directory of index (malloc'd). */
static char *segment_dir(const char *index)
{
	char *found = NULL;
	struct dirent *e;
	DIR *d = opendir(index);

	if (!d)
		fail_msg("cannot open %s: %s", index, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "seg-", 4) == 0 && !found)
			found = test_asprintf("%s/%s", index, e->d_name);
	}
	closedir(d);
	if (!found)
		fail_msg("no seg-* directory in %s", index);
	return found;
}

/* ---- running the binary ---------------------------------------------------- */

static char *lode_bin;      /* absolute path of the binary under test */
static char *tmp_root;      /* everything the tests write is below this */
static char *corpus_index;  /* index of corpus/, built by the group setup */

/* Run the binary under test with the arguments after its name; opts is a
 * const test_run_opts * or NULL. */
#define LODE(r, ...) LODE_ENV((r), NULL, __VA_ARGS__)
#define LODE_ENV(r, opts, ...)               \
	test_run_argv((r), lode_bin, "lode", \
	              (const char *const[]){__VA_ARGS__, NULL}, (opts))

static int crashed(const test_run *r)
{
	return r->timed_out || WIFSIGNALED(r->status);
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- the corpus ------------------------------------------------------------ */

static const char *const corpus[] = {
	"corpus/000_321dd650e322d6a8.txt",
	"corpus/001_c9bfb5b4c86026ff.txt",
	"corpus/002_def649e0a68d8dc5.txt",
	"corpus/003_c3d7d56d25235edf.txt",
	"corpus/004_27f731e2cb3dfdda.txt",
};
#define NCORPUS 5

#define D0 1u
#define D1 2u
#define D2 4u
#define D3 8u
#define D4 16u
#define DALL 31u

/* What `search -l` prints for the documents in mask (malloc'd). */
static char *paths_of(unsigned mask)
{
	test_buf b = {0};

	test_buf_add(&b, "", 0);
	for (int i = 0; i < NCORPUS; i++) {
		if (mask & (1u << i)) {
			test_buf_adds(&b, corpus[i]);
			test_buf_adds(&b, "\n");
		}
	}
	return b.p;
}

static unsigned popcount(unsigned mask)
{
	unsigned n = 0;

	for (; mask; mask &= mask - 1)
		n++;
	return n;
}

struct query_case {
	const char *query;
	unsigned docs; /* bit i: corpus[i] matches */
};

static const struct query_case query_table[] = {
	/* Single words, case-folded. */
	{"pezeshkian", D0 | D3 | D4},
	{"hezbollah", D0 | D3 | D4},
	{"damascus", D1 | D2 | D3},
	{"DaMaScUs", D1 | D2 | D3},
	{"khamenei", DALL},
	{"IRAN", DALL},
	{"houthis", D3 | D4},
	{"nasrallah", D3 | D4},
	{"comments", D0},
	{"10", D2},
	{"2024", D4},
	/* Words with an apostrophe are phrases; ' and ’ tokenize alike. */
	{"Iran's", DALL},
	{"Iran\xe2\x80\x99s", DALL},
	{"Hezbollah's", D0 | D3},
	{"Hezbollah\xe2\x80\x99s", D0 | D3},
	{"Khamenei's", D1},
	{"Israel's", D1 | D2},
	{"Pezeshkian's", D3},
	/* Phrases. */
	{"\"Supreme National Security Council\"", DALL},
	{"\"supreme national security council\"", DALL},
	{"\"axis of resistance\"", D0 | D3 | D4},
	{"\"resistance axis\"", 0},
	{"\"Revolutionary Guards\"", D3 | D4},
	{"\"Revolutionary Guard\"", D2},
	{"\"New York Times\"", D2 | D4},
	{"\"Hassan Nasrallah\"", D3 | D4},
	{"\"large-scale assault\"", D0 | D1},
	{"\"full-scale war\"", D0 | D3},
	{"\"Israeli strike\"", D0 | D3},
	{"\"Israeli attack\"", D1 | D2 | D3},
	{"\"Iran's Supreme Leader\"", D1 | D2 | D3 | D4},
	/* AND, OR, NOT, precedence, parentheses. */
	{"\"Supreme National Security Council\" AND retaliation", DALL},
	{"Khamenei AND NOT Pezeshkian", D1 | D2},
	{"hezbollah AND damascus", D3},
	{"houthis OR damascus", D1 | D2 | D3 | D4},
	{"houthis OR damascus AND syria", D1 | D2 | D3 | D4},
	{"(houthis OR damascus) AND syria", D1 | D2 | D3},
	{"(damascus OR yemen) AND NOT houthis", D0 | D1 | D2},
	{"damascus OR yemen AND NOT houthis", D0 | D1 | D2 | D3},
	{"(\"axis of resistance\" OR \"New York Times\") NOT nasrallah", D0 | D2},
	/* Leading NOT: every document but. */
	{"NOT hezbollah", D1 | D2},
	{"NOT hezbollah AND NOT nuclear", D1},
	{"NOT (hezbollah OR damascus)", 0},
	/* Implicit AND. */
	{"hezbollah damascus", D3},
	{"nuclear scientists", D2 | D3},
	{"pezeshkian khamenei", D0 | D3 | D4},
	/* Nothing. */
	{"xylophone", 0},
	{"oil prices", 0},
	{"hezbollah AND NOT hezbollah", 0},
};
#define NQUERIES (sizeof(query_table) / sizeof(query_table[0]))

/* Run `search -l` and `search -c` for every table entry on index; fail with
 * every mismatch listed. */
static void check_query_table(const char *index)
{
	int failures = 0;

	for (size_t i = 0; i < NQUERIES; i++) {
		const struct query_case *c = &query_table[i];
		char *want = paths_of(c->docs);
		char count[32];
		int code = c->docs ? 0 : 1;
		test_run r;

		LODE(&r, "search", "-l", "-i", index, c->query);
		if (!test_run_exited(&r, code) || strcmp(r.out.p, want) != 0 ||
		    r.err.len != 0) {
			print_error("query %s: want exit %d and\n%s", c->query,
			            code, want);
			test_run_dump(&r, print_error);
			failures++;
		}
		test_run_release(&r);
		snprintf(count, sizeof(count), "%u\n", popcount(c->docs));
		LODE(&r, "search", "-c", "-i", index, c->query);
		if (!test_run_exited(&r, code) || strcmp(r.out.p, count) != 0 ||
		    r.err.len != 0) {
			print_error("query %s: want exit %d and count %s",
			            c->query, code, count);
			test_run_dump(&r, print_error);
			failures++;
		}
		test_run_release(&r);
		free(want);
	}
	if (failures)
		fail_msg("%d of %zu query runs differ", failures, 2 * NQUERIES);
}

/* ---- a minimal JSON reader for --json lines ------------------------------- */

struct json {
	const char *p, *end;
};

/* Length of the valid UTF-8 sequence at s[0, n), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp, min;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void put_utf8(test_buf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12), n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18), n = 4;
	}
	for (size_t i = 1; i < n; i++)
		u[i] = (unsigned char)(0x80 | ((cp >> (6 * (n - 1 - i))) & 0x3f));
	test_buf_add(b, u, n);
}

static void json_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	                         *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int json_char(struct json *j, char c)
{
	json_ws(j);
	if (j->p >= j->end || *j->p != c)
		return -1;
	j->p++;
	return 0;
}

static int json_hex4(struct json *j, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++, j->p++) {
		char c = j->p < j->end ? *j->p : '\0';
		int d = c >= '0' && c <= '9' ? c - '0'
		      : c >= 'a' && c <= 'f' ? c - 'a' + 10
		      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		*v = *v << 4 | (uint32_t)d;
	}
	return 0;
}

/* A string; its decoded bytes are appended to out. */
static int json_string(struct json *j, test_buf *out)
{
	if (json_char(j, '"'))
		return -1;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p;
		uint32_t cp, lo;
		size_t n;

		if (c == '"') {
			j->p++;
			test_buf_add(out, "", 0);
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			n = utf8_seq((const unsigned char *)j->p,
			             (size_t)(j->end - j->p));
			if (!n)
				return -1;
			test_buf_add(out, j->p, n);
			j->p += n;
			continue;
		}
		if (++j->p >= j->end)
			return -1;
		c = (unsigned char)*j->p++;
		switch (c) {
		case '"': case '\\': case '/': test_buf_add(out, &c, 1); break;
		case 'b': test_buf_adds(out, "\b"); break;
		case 'f': test_buf_adds(out, "\f"); break;
		case 'n': test_buf_adds(out, "\n"); break;
		case 'r': test_buf_adds(out, "\r"); break;
		case 't': test_buf_adds(out, "\t"); break;
		case 'u':
			if (json_hex4(j, &cp))
				return -1;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -1;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (j->end - j->p < 2 || j->p[0] != '\\' ||
				    j->p[1] != 'u')
					return -1;
				j->p += 2;
				if (json_hex4(j, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			put_utf8(out, cp);
			break;
		default:
			return -1;
		}
	}
	return -1;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int json_number(struct json *j, double *v)
{
	const char *s;
	char tmp[64];

	json_ws(j);
	s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (j->p < j->end && is_digit(*j->p))
		while (j->p < j->end && is_digit(*j->p))
			j->p++;
	else
		return -1;
	if (j->p < j->end && *j->p == '.') {
		if (++j->p >= j->end || !is_digit(*j->p))
			return -1;
		while (j->p < j->end && is_digit(*j->p))
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || !is_digit(*j->p))
			return -1;
		while (j->p < j->end && is_digit(*j->p))
			j->p++;
	}
	if ((size_t)(j->p - s) >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, (size_t)(j->p - s));
	tmp[j->p - s] = '\0';
	*v = strtod(tmp, NULL);
	return 0;
}

/* A non-negative integer. */
static int json_size(struct json *j, size_t *v)
{
	double d;

	if (json_number(j, &d) || d < 0 || d > 1e15 || d != (double)(size_t)d)
		return -1;
	*v = (size_t)d;
	return 0;
}

#define MAX_SPANS 64

/* One line of --json output. */
struct json_hit {
	size_t rank;
	double score;
	test_buf path;
	test_buf snippet;
	size_t nspans;
	size_t spans[MAX_SPANS][2]; /* [start, end) byte offsets into snippet */
};

/* Parse a "matches" array: [[start,end],...]. */
static int json_spans(struct json *j, struct json_hit *h)
{
	if (json_char(j, '['))
		return -1;
	json_ws(j);
	if (j->p < j->end && *j->p == ']')
		return json_char(j, ']');
	for (;;) {
		if (h->nspans == MAX_SPANS || json_char(j, '[') ||
		    json_size(j, &h->spans[h->nspans][0]) || json_char(j, ',') ||
		    json_size(j, &h->spans[h->nspans][1]) || json_char(j, ']'))
			return -1;
		h->nspans++;
		if (json_char(j, ','))
			return json_char(j, ']');
	}
}

/*
 * Parse line (without its '\n') as one JSON object holding exactly the keys
 * rank, path, score, snippet and matches, each once, in that order.
 */
static int parse_hit(const char *line, size_t len, struct json_hit *h)
{
	static const char *const keys[] = {"rank", "path", "score", "snippet",
	                                   "matches"};
	struct json j = {line, line + len};
	test_buf key = {0};
	double rank;
	int rc = -1;

	memset(h, 0, sizeof(*h));
	if (json_char(&j, '{'))
		return -1;
	for (size_t k = 0; k < 5; k++) {
		key.len = 0;
		if ((k && json_char(&j, ',')) || json_string(&j, &key) ||
		    strcmp(key.p, keys[k]) != 0 || json_char(&j, ':'))
			goto out;
		switch (k) {
		case 0:
			if (json_number(&j, &rank) || rank < 1 ||
			    rank != (double)(size_t)rank)
				goto out;
			h->rank = (size_t)rank;
			break;
		case 1:
			if (json_string(&j, &h->path))
				goto out;
			break;
		case 2:
			if (json_number(&j, &h->score))
				goto out;
			break;
		case 3:
			if (json_string(&j, &h->snippet))
				goto out;
			break;
		case 4:
			if (json_spans(&j, h))
				goto out;
			break;
		}
	}
	if (json_char(&j, '}'))
		goto out;
	json_ws(&j);
	rc = j.p == j.end ? 0 : -1;
out:
	test_buf_release(&key);
	return rc;
}

static void hit_release(struct json_hit *h)
{
	test_buf_release(&h->path);
	test_buf_release(&h->snippet);
}

/*
 * Check that --json output holds one hit per line, ranks 1, 2, ..., with the
 * paths in want[0, nwant) each exactly once, and spans that cover exactly
 * the word `word` (case-insensitively) inside the snippet.
 */
static void check_json(const test_run *r, const char *const *want,
                       size_t nwant, const char *word)
{
	const char *line = r->out.p, *end = r->out.p + r->out.len;
	int seen[16] = {0};
	size_t rank = 0;

	assert_true(nwant <= 16);
	TEST_RUN_EXPECT(r, r->out.len == 0 || end[-1] == '\n');
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		struct json_hit h;
		size_t i;

		rank++;
		TEST_RUN_EXPECT(r, starts_with(line, "{\"rank\":"));
		if (parse_hit(line, (size_t)(nl - line), &h) != 0) {
			test_run_dump(r, print_error);
			fail_msg("not a valid hit object: %.*s", (int)(nl - line),
			         line);
		}
		TEST_RUN_EXPECT(r, h.rank == rank);
		TEST_RUN_EXPECT(r, h.score > 0);
		for (i = 0; i < nwant; i++)
			if (strcmp(h.path.p, want[i]) == 0)
				break;
		if (i == nwant || seen[i]++) {
			test_run_dump(r, print_error);
			fail_msg("unexpected or repeated path %s", h.path.p);
		}
		TEST_RUN_EXPECT(r, h.nspans >= 1);
		for (size_t s = 0; s < h.nspans; s++) {
			size_t a = h.spans[s][0], b = h.spans[s][1];

			if (!(a < b && b <= h.snippet.len &&
			      (!word || (b - a == strlen(word) &&
			                 strncasecmp(h.snippet.p + a, word,
			                             b - a) == 0)))) {
				test_run_dump(r, print_error);
				fail_msg("span [%zu,%zu) of rank %zu does not cover "
				         "'%s' in snippet '%s'", a, b, rank,
				         word ? word : "(any)", h.snippet.p);
			}
		}
		hit_release(&h);
		line = nl + 1;
	}
	TEST_RUN_EXPECT(r, rank == nwant);
}

/* ---- ranked output --------------------------------------------------------- */

/*
 * Check ranked output: `shown` lines " 1. PATH  SCORE", each followed by a
 * snippet line, naming corpus documents of the mask `docs` in any order, each
 * once; then a blank line (if any were shown) and "N matching documents, M
 * shown (X ms)" with N the documents in `docs`.
 */
static void check_ranked(const test_run *r, unsigned docs, unsigned shown)
{
	const char *p = r->out.p, *end = r->out.p + r->out.len, *last;
	unsigned total = popcount(docs), seen = 0;
	char want[128];
	char *after;

	TEST_RUN_EXPECT(r, r->out.len > 0 && end[-1] == '\n');
	for (unsigned rank = 1; rank <= shown; rank++) {
		char prefix[16];
		int doc = -1;

		snprintf(prefix, sizeof(prefix), "%2u. ", rank);
		TEST_RUN_EXPECT(r, starts_with(p, prefix));
		p += strlen(prefix);
		for (int i = 0; i < NCORPUS; i++)
			if (starts_with(p, corpus[i]) &&
			    starts_with(p + strlen(corpus[i]), "  "))
				doc = i;
		if (doc < 0 || !(docs & (1u << doc)) || (seen & (1u << doc))) {
			test_run_dump(r, print_error);
			fail_msg("rank %u: unexpected or repeated path", rank);
		}
		seen |= 1u << doc;
		p = strchr(p, '\n');
		TEST_RUN_EXPECT(r, p && starts_with(p + 1, "    "));
		p = strchr(p + 1, '\n');
		TEST_RUN_EXPECT(r, p != NULL);
		p++;
	}
	if (shown)
		TEST_RUN_EXPECT(r, *p++ == '\n');
	last = p;
	snprintf(want, sizeof(want), "%u matching document%s, %u shown (", total,
	         total == 1 ? "" : "s", shown);
	TEST_RUN_EXPECT(r, starts_with(last, want));
	last += strlen(want);
	TEST_RUN_EXPECT(r, is_digit(*last));
	strtod(last, &after);
	TEST_RUN_EXPECT(r, strcmp(after, " ms)\n") == 0);
}

/* ---- fixtures -------------------------------------------------------------- */

static test_run index_run; /* the `lode index` of corpus/ */

static int group_setup(void **state)
{
	const char *bin = getenv("LODE_BIN");
	char resolved[PATH_MAX];

	(void)state;
	if (!bin || !*bin)
		bin = "./lode";
	if (!realpath(bin, resolved) || access(resolved, X_OK) != 0) {
		fprintf(stderr, "test_cli: no executable lode at %s "
		        "(set LODE_BIN)\n", bin);
		return -1;
	}
	for (int i = 0; i < NCORPUS; i++) {
		if (access(corpus[i], R_OK) != 0) {
			fprintf(stderr, "test_cli: %s missing: run from the "
			        "repository root\n", corpus[i]);
			return -1;
		}
	}
	lode_bin = test_asprintf("%s", resolved);
	tmp_root = test_tmpdir("cli");
	corpus_index = test_asprintf("%s/idx", tmp_root);
	LODE(&index_run, "index", "-i", corpus_index, "corpus/");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	test_run_release(&index_run);
	if (tmp_root)
		test_rmtree(tmp_root);
	free(tmp_root);
	free(corpus_index);
	free(lode_bin);
	return 0;
}

/* A fresh directory tmp_root/name (malloc'd path). */
static char *fresh_dir(const char *name)
{
	char *path = test_asprintf("%s/%s", tmp_root, name);

	test_rmtree(path);
	if (mkdir(path, 0755) != 0)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	return path;
}

/* A copy of the corpus index at tmp_root/name (malloc'd path). */
static char *copy_corpus_index(const char *name)
{
	char *path = test_asprintf("%s/%s", tmp_root, name);

	test_rmtree(path);
	test_copy_tree(corpus_index, path);
	return path;
}

/* ---- indexing corpus/ and searching it ------------------------------------- */

static void index_corpus_reports_five_documents(void **state)
{
	const test_run *r = &index_run;
	char *manifest = test_asprintf("%s/MANIFEST", corpus_index);

	(void)state;
	TEST_RUN_EXPECT(r, test_run_exited(r, 0));
	TEST_RUN_EXPECT(r, starts_with(r->out.p, "indexed 5 documents in "));
	TEST_RUN_EXPECT(r, strstr(r->out.p, "skipped") == NULL);
	TEST_RUN_EXPECT(r, r->err.len == 0);
	TEST_RUN_EXPECT(r, exists(manifest));
	free(manifest);
}

static void search_files_match_reference_sets(void **state)
{
	(void)state;
	check_query_table(corpus_index);
}

/* Several QUERY arguments are joined with spaces into one query. */
static void query_arguments_are_joined_with_spaces(void **state)
{
	static const struct {
		const char *args[6];
		const char *joined;
		unsigned docs;
	} cases[] = {
		{{"oil", "prices"}, "oil prices", 0},
		{{"pezeshkian", "khamenei"}, "pezeshkian khamenei", D0 | D3 | D4},
		{{"\"axis of", "resistance\""}, "\"axis of resistance\"",
		 D0 | D3 | D4},
		{{"(houthis", "OR", "damascus)", "AND", "syria"},
		 "(houthis OR damascus) AND syria", D1 | D2 | D3},
		{{"Khamenei", "AND", "NOT", "Pezeshkian"},
		 "Khamenei AND NOT Pezeshkian", D1 | D2},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[MAX_ARGS] = {"search", "-l", "-i", corpus_index};
		char *want = paths_of(cases[i].docs);
		int code = cases[i].docs ? 0 : 1;
		size_t n = 4;
		test_run split, joined;

		for (size_t k = 0; k < 6 && cases[i].args[k]; k++)
			argv[n++] = cases[i].args[k];
		argv[n] = NULL;
		test_run_argv(&split, lode_bin, "lode", argv, NULL);
		LODE(&joined, "search", "-l", "-i", corpus_index, cases[i].joined);
		TEST_RUN_EXPECT(&joined, test_run_exited(&joined, code));
		TEST_RUN_EXPECT(&joined, strcmp(joined.out.p, want) == 0);
		TEST_RUN_EXPECT(&split, test_run_exited(&split, code));
		TEST_RUN_EXPECT(&split, strcmp(split.out.p, joined.out.p) == 0);
		TEST_RUN_EXPECT(&split, split.err.len == 0);
		test_run_release(&split);
		test_run_release(&joined);
		free(want);
	}
}

static void no_match_exits_1_with_empty_output(void **state)
{
	static const char *const modes[] = {"-l", "--json"};
	test_run r;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		LODE(&r, "search", modes[i], "-i", corpus_index, "xylophone");
		TEST_RUN_EXPECT(&r, test_run_exited(&r, 1));
		TEST_RUN_EXPECT(&r, r.out.len == 0 && r.err.len == 0);
		test_run_release(&r);
	}
	LODE(&r, "search", "-c", "-i", corpus_index, "xylophone");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 1));
	TEST_RUN_EXPECT(&r, strcmp(r.out.p, "0\n") == 0 && r.err.len == 0);
	test_run_release(&r);
	LODE(&r, "search", "-i", corpus_index, "xylophone");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 1) && r.err.len == 0);
	check_ranked(&r, 0, 0);
	test_run_release(&r);
}

static void count_prints_the_number_of_matches(void **state)
{
	test_run r;

	(void)state;
	LODE(&r, "search", "-c", "-i", corpus_index, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
	TEST_RUN_EXPECT(&r, strcmp(r.out.p, "3\n") == 0 && r.err.len == 0);
	test_run_release(&r);
	LODE(&r, "search", "--count", "-i", corpus_index, "khamenei");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
	TEST_RUN_EXPECT(&r, strcmp(r.out.p, "5\n") == 0 && r.err.len == 0);
	test_run_release(&r);
}

static void ranked_output_lists_hits_and_summary(void **state)
{
	test_run r;

	(void)state;
	LODE(&r, "search", "-i", corpus_index, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	check_ranked(&r, D0 | D3 | D4, 3);
	test_run_release(&r);
	LODE(&r, "search", "-i", corpus_index,
	     "\"Supreme National Security Council\" AND retaliation");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	check_ranked(&r, DALL, 5);
	test_run_release(&r);
	/* One match: "document", singular. */
	LODE(&r, "search", "-i", corpus_index, "comments");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	check_ranked(&r, D0, 1);
	test_run_release(&r);
}

static void results_option_limits_hits_shown(void **state)
{
	test_run r;

	(void)state;
	LODE(&r, "search", "-n", "2", "-i", corpus_index, "khamenei");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	check_ranked(&r, DALL, 2);
	test_run_release(&r);
	LODE(&r, "search", "--results", "1", "-i", corpus_index, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	check_ranked(&r, D0 | D3 | D4, 1);
	test_run_release(&r);
	/* -n 0 shows nothing but still counts, and still exits 0. */
	LODE(&r, "search", "-n", "0", "-i", corpus_index, "khamenei");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	check_ranked(&r, DALL, 0);
	test_run_release(&r);
}

static void json_output_is_one_object_per_hit(void **state)
{
	const char *want[NCORPUS];
	test_run r;

	(void)state;
	want[0] = corpus[0], want[1] = corpus[3], want[2] = corpus[4];
	LODE(&r, "search", "--json", "-i", corpus_index, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	check_json(&r, want, 3, "hezbollah");
	test_run_release(&r);

	for (int i = 0; i < NCORPUS; i++)
		want[i] = corpus[i];
	LODE(&r, "search", "--json", "-n", "2", "-i", corpus_index, "Khamenei");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.out.p, "\"path\":\"corpus/") != NULL);
	/* Two of the five, whichever rank best: find which, then check. */
	{
		const char *pair[2] = {NULL, NULL};
		const char *line = r.out.p;

		for (int k = 0; k < 2 && line; k++) {
			const char *path = strstr(line, "\"path\":\"");

			for (int i = 0; path && i < NCORPUS; i++)
				if (starts_with(path + 8, corpus[i]))
					pair[k] = corpus[i];
			line = strchr(line, '\n');
			if (line)
				line++;
		}
		TEST_RUN_EXPECT(&r, pair[0] && pair[1]);
		check_json(&r, pair, 2, "khamenei");
	}
	test_run_release(&r);
}

static void color_always_highlights_and_never_does_not(void **state)
{
	test_run r;

	(void)state;
	LODE(&r, "search", "--color=always", "-i", corpus_index, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.out.p, "\033[") != NULL);
	TEST_RUN_EXPECT(&r, strstr(r.out.p, "\033[1;31mHezbollah\033[0m") != NULL);
	test_run_release(&r);
	LODE(&r, "search", "--color=never", "-i", corpus_index, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	TEST_RUN_EXPECT(&r, strchr(r.out.p, '\033') == NULL);
	check_ranked(&r, D0 | D3 | D4, 3);
	test_run_release(&r);
	/* auto: stdout is a pipe here, so no color. */
	LODE(&r, "search", "--color", "auto", "-i", corpus_index, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	TEST_RUN_EXPECT(&r, strchr(r.out.p, '\033') == NULL);
	test_run_release(&r);
	LODE(&r, "search", "--color=sometimes", "-i", corpus_index, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, starts_with(r.err.p,
	                                "lode: --color takes auto, always or never\n"));
	test_run_release(&r);
}

/* Building with a tiny memory budget (sorted runs spilled to disk) gives
 * the same answers, byte for byte. */
static void tiny_memory_budget_gives_same_results(void **state)
{
	char *index = test_asprintf("%s/spill", tmp_root);
	test_run r, ref;

	(void)state;
	LODE(&r, "index", "--memory", "1K", "-i", index, "corpus/");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
	TEST_RUN_EXPECT(&r, starts_with(r.out.p, "indexed 5 documents in "));
	test_run_release(&r);
	check_query_table(index);
	LODE(&r, "search", "--json", "-i", index, "iran OR \"axis of resistance\"");
	LODE(&ref, "search", "--json", "-i", corpus_index,
	     "iran OR \"axis of resistance\"");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && test_run_exited(&ref, 0));
	TEST_RUN_EXPECT(&r, strcmp(r.out.p, ref.out.p) == 0);
	test_run_release(&r);
	test_run_release(&ref);
	LODE(&r, "index", "--memory", "0", "-i", index, "corpus/");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) &&
	                    starts_with(r.err.p, "lode: bad --memory size"));
	test_run_release(&r);
	free(index);
}

/* ---- errors ---------------------------------------------------------------- */

static void query_syntax_errors_name_their_column(void **state)
{
	static const struct {
		const char *query;
		int column; /* in characters, from 1 */
	} cases[] = {
		{"(iran AND israel", 17},          /* unbalanced ( */
		{"(iran OR (israel)", 18},
		{"iran)", 5},                      /* unbalanced ) */
		{"\"supreme leader", 1},           /* unterminated quote */
		{"\xe2\x80\x9cquoted\xe2\x80\x9d \"open", 10},
		{"iran AND", 9},                   /* dangling AND */
		{"AND iran", 1},
		{"iran OR", 8},
		{"iran NOT", 9},
		{"\"\"", 1},                       /* empty phrase */
		{"x \"\"", 3},
		{"\"iran\" OR \"\"", 11},
		{"()", 2},
		{"...", 1},                        /* nothing searchable */
		{"P\xc3\xa9zeshkian AND (x", 18},  /* columns count characters */
		{"Iran\xe2\x80\x99s )", 8},
		{"", 1},                           /* empty query */
		{"   ", 4},
		{"a\"b", 2},
		{NULL, 101},  /* 101 '(' then x: nesting deeper than 100 */
	};
	char deep[128];
	int failures = 0;

	(void)state;
	memset(deep, '(', 101);
	strcpy(deep + 101, "x");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char prefix[64];
		test_run r;

		snprintf(prefix, sizeof(prefix), "lode: query error at column %d: ",
		         cases[i].column);
		LODE(&r, "search", "-l", "-i", corpus_index,
		     cases[i].query ? cases[i].query : deep);
		if (!test_run_exited(&r, 2) || r.out.len != 0 ||
		    !test_run_one_error_line(&r, prefix)) {
			print_error("want: %s...\n", prefix);
			test_run_dump(&r, print_error);
			failures++;
		}
		test_run_release(&r);
	}
	if (failures)
		fail_msg("%d syntax error cases differ", failures);
}

static void missing_index_is_an_error(void **state)
{
	char *missing = test_asprintf("%s/no-such-index", tmp_root);
	char *empty = fresh_dir("empty-index");
	test_run r;

	(void)state;
	LODE(&r, "search", "-l", "-i", missing, "iran");
	TEST_RUN_EXPECT(&r, test_run_failed_with(&r, "no index"));
	TEST_RUN_EXPECT(&r, strstr(r.err.p, missing) != NULL);
	TEST_RUN_EXPECT(&r, !exists(missing));
	test_run_release(&r);
	LODE(&r, "search", "-i", empty, "iran");
	TEST_RUN_EXPECT(&r, test_run_failed_with(&r, "no index"));
	test_run_release(&r);
	LODE(&r, "check", "-i", missing);
	TEST_RUN_EXPECT(&r, test_run_failed_with(&r, "no index"));
	test_run_release(&r);
	free(missing);
	free(empty);
}

/* Every search and check of index fails cleanly mentioning what. */
static void expect_index_error(const char *index, const char *what)
{
	test_run r;

	LODE(&r, "search", "-l", "-i", index, "iran OR hezbollah");
	TEST_RUN_EXPECT(&r, !crashed(&r));
	TEST_RUN_EXPECT(&r, test_run_failed_with(&r, what));
	test_run_release(&r);
	LODE(&r, "search", "--json", "-i", index, "\"axis of resistance\"");
	TEST_RUN_EXPECT(&r, !crashed(&r));
	TEST_RUN_EXPECT(&r, test_run_failed_with(&r, what));
	test_run_release(&r);
	LODE(&r, "check", "-i", index);
	TEST_RUN_EXPECT(&r, !crashed(&r));
	TEST_RUN_EXPECT(&r, test_run_failed_with(&r, what));
	test_run_release(&r);
}

static void truncated_dictionary_is_corrupt(void **state)
{
	char *index = copy_corpus_index("trunc");
	char *seg = segment_dir(index);
	char *dict = test_asprintf("%s/terms.dic", seg);
	size_t len, cuts[5];
	char *orig = test_read_file(dict, &len);

	(void)state;
	assert_non_null(orig);
	cuts[0] = 0, cuts[1] = 10, cuts[2] = len / 2, cuts[3] = len - 1;
	cuts[4] = len - 28;
	for (size_t i = 0; i < 5; i++) {
		test_write_whole(dict, orig, cuts[i]);
		expect_index_error(index, "corrupt");
	}
	test_write_whole(dict, orig, len);
	free(orig);
	free(dict);
	free(seg);
	free(index);
}

/* A postings, positions or text file cut short of what the dictionary or
 * the document table says: the error names the file that is short. */
static void short_data_files_are_named(void **state)
{
	static const char *const files[] = {"postings.pst", "positions.pos",
	                                    "text.z"};
	char *index = copy_corpus_index("short");
	char *seg = segment_dir(index);
	test_run r;

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = test_asprintf("%s/%s", seg, files[i]);
		char *want = test_asprintf("%s: corrupt: shorter than", files[i]);
		size_t len;
		char *orig = test_read_file(path, &len);
		assert_non_null(orig);
		test_write_whole(path, orig, 64); /* its header and a little */
		LODE(&r, "search", "-i", index, "\"supreme leader\" iran");
		TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) &&
		                    strstr(r.err.p, want) != NULL);
		test_run_release(&r);
		test_write_whole(path, orig, len);
		free(orig);
		free(want);
		free(path);
	}
	free(seg);
	free(index);
}

static void bad_magic_is_corrupt(void **state)
{
	static const char *const files[] = {"terms.dic", "postings.pst",
	                                    "positions.pos", "docs.tab",
	                                    "text.z"};
	char *index = copy_corpus_index("magic");
	char *seg = segment_dir(index);

	(void)state;
	for (size_t i = 0; i <= 5; i++) {
		char *path = i < 5 ? test_asprintf("%s/%s", seg, files[i])
		                   : test_asprintf("%s/MANIFEST", index);
		size_t len;
		char *orig = test_read_file(path, &len), *bad;

		assert_non_null(orig);
		bad = malloc(len);
		assert_non_null(bad);
		memcpy(bad, orig, len);
		memcpy(bad, "XXXXXXXX", 8);
		test_write_whole(path, bad, len);
		expect_index_error(index, "corrupt");
		test_write_whole(path, orig, len);
		free(bad);
		free(orig);
		free(path);
	}
	free(seg);
	free(index);
}

static void other_format_version_is_refused(void **state)
{
	static const char *const files[] = {"docs.tab", "terms.dic",
	                                    "postings.pst", "positions.pos",
	                                    "text.z"};
	char *index = copy_corpus_index("version");
	char *seg = segment_dir(index);
	uint32_t v = lode_format_version() + 1;
	char theirs[64], ours[64];

	(void)state;
	snprintf(theirs, sizeof(theirs), "version %" PRIu32, v);
	snprintf(ours, sizeof(ours), "version %" PRIu32, lode_format_version());
	for (size_t i = 0; i < 5; i++) {
		char *path = test_asprintf("%s/%s", seg, files[i]);
		size_t len;
		char *orig = test_read_file(path, &len), *bad;
		test_run r;

		assert_non_null(orig);
		bad = malloc(len);
		assert_non_null(bad);
		memcpy(bad, orig, len);
		/* Bytes 8-11: the little-endian format version. */
		bad[8] = (char)(v & 0xff);
		bad[9] = (char)(v >> 8 & 0xff);
		bad[10] = (char)(v >> 16 & 0xff);
		bad[11] = (char)(v >> 24 & 0xff);
		test_write_whole(path, bad, len);
		expect_index_error(index, "version");
		/* The message names both versions. */
		LODE(&r, "search", "-l", "-i", index, "iran");
		TEST_RUN_EXPECT(&r, strstr(r.err.p, theirs) && strstr(r.err.p, ours));
		TEST_RUN_EXPECT(&r, strstr(r.err.p, files[i]) != NULL);
		test_run_release(&r);
		test_write_whole(path, orig, len);
		free(bad);
		free(orig);
		free(path);
	}
	free(seg);
	free(index);
}

/* The manifest's CRC covers it all: any flipped byte is caught. */
/* Every byte of the file at path (in index) flipped in turn: a search
 * fails with one line saying the index is corrupt (or of another
 * version), never answers. */
static void expect_every_flip_reported(const char *index, const char *path)
{
	size_t len;
	char *orig = test_read_file(path, &len), *bad;
	int failures = 0;

	assert_non_null(orig);
	assert_true(len > 16);
	bad = malloc(len);
	assert_non_null(bad);
	for (size_t i = 0; i < len; i++) {
		test_run r;

		memcpy(bad, orig, len);
		bad[i] = (char)(bad[i] ^ 0xff);
		test_write_whole(path, bad, len);
		LODE(&r, "search", "-l", "-i", index, "iran");
		if (crashed(&r) || !test_run_exited(&r, 2) || r.out.len != 0 ||
		    !test_run_one_error_line(&r, "lode: ") ||
		    !(strstr(r.err.p, "corrupt") || strstr(r.err.p, "version"))) {
			print_error("%s byte %zu flipped\n", path, i);
			test_run_dump(&r, print_error);
			failures++;
		}
		test_run_release(&r);
	}
	test_write_whole(path, orig, len);
	if (failures)
		fail_msg("%d flipped bytes of %s not reported", failures, path);
	free(bad);
	free(orig);
}

static void flipped_manifest_byte_is_corrupt(void **state)
{
	char *index = copy_corpus_index("manifest");
	char *path = test_asprintf("%s/MANIFEST", index);

	(void)state;
	expect_every_flip_reported(index, path);
	free(path);
	free(index);
}

/* docs.tab's CRC is verified on open: a flipped path or token count byte
 * is not shown or scored with. */
static void flipped_document_table_byte_is_corrupt(void **state)
{
	char *index = copy_corpus_index("doctab");
	char *seg = segment_dir(index);
	char *path = test_asprintf("%s/docs.tab", seg);

	(void)state;
	expect_every_flip_reported(index, path);
	free(path);
	free(seg);
	free(index);
}

static void missing_segment_file_is_corrupt(void **state)
{
	char *index = copy_corpus_index("missing");
	char *seg = segment_dir(index);
	char *pos = test_asprintf("%s/positions.pos", seg);

	(void)state;
	assert_int_equal(unlink(pos), 0);
	expect_index_error(index, "corrupt");
	test_rmtree(seg);
	expect_index_error(index, "corrupt");
	free(pos);
	free(seg);
	free(index);
}

static void check_verifies_every_checksum(void **state)
{
	static const char *const files[] = {"text.z", "terms.dic",
	                                    "postings.pst", "positions.pos",
	                                    "docs.tab"};
	char *index = copy_corpus_index("check");
	char *seg = segment_dir(index);
	test_run r;

	(void)state;
	LODE(&r, "check", "-i", index);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.out.p, ": ok: 1 segment, 5 documents") != NULL);
	TEST_RUN_EXPECT(&r, strstr(r.out.p, "every checksum and structure verified") !=
	                    NULL);
	TEST_RUN_EXPECT(&r, strstr(r.out.p, "positions.pos") == NULL);
	test_run_release(&r);
	/* --sizes: one line per file, the postings' parts, after the verdict. */
	LODE(&r, "check", "--sizes", "-i", index);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.out.p, ": ok: 1 segment, 5 documents") ==
	                    r.out.p + strlen(index));
	TEST_RUN_EXPECT(&r, strstr(r.out.p, "\nterms.dic ") != NULL &&
	                    strstr(r.out.p, "\n  skip tables ") != NULL &&
	                    strstr(r.out.p, "\n  frequencies ") != NULL &&
	                    strstr(r.out.p, " bits each\n") != NULL &&
	                    strstr(r.out.p, "\ntext.z ") != NULL);
	test_run_release(&r);
	for (size_t i = 0; i < 5; i++) {
		char *path = test_asprintf("%s/%s", seg, files[i]);
		size_t len;
		char *orig = test_read_file(path, &len), *bad;

		assert_non_null(orig);
		bad = malloc(len);
		assert_non_null(bad);
		memcpy(bad, orig, len);
		bad[len / 2] = (char)(bad[len / 2] ^ 0x5a);
		test_write_whole(path, bad, len);
		LODE(&r, "check", "-i", index);
		TEST_RUN_EXPECT(&r, !crashed(&r));
		TEST_RUN_EXPECT(&r, test_run_failed_with(&r, "checksum"));
		TEST_RUN_EXPECT(&r, strstr(r.err.p, files[i]) != NULL);
		test_run_release(&r);
		test_write_whole(path, orig, len);
		free(bad);
		free(orig);
		free(path);
	}
	free(seg);
	free(index);
}

/* Small index, every byte of every file flipped in turn: a search touching
 * every structure never crashes and either answers or fails cleanly. */
static void flipped_bytes_never_crash(void **state)
{
	static const char *const files[] = {"MANIFEST", "terms.dic",
	                                    "postings.pst", "positions.pos",
	                                    "docs.tab", "text.z"};
	char *docs = fresh_dir("sweep-docs");
	char *index = test_asprintf("%s/sweep-idx", tmp_root);
	char *copy = test_asprintf("%s/sweep-copy", tmp_root);
	char *seg, *copy_seg;
	int failures = 0;
	test_run r;

	(void)state;
	test_write_file(docs, "a.txt", "alpha beta gamma\nbeta alpha\n", 28);
	test_write_file(docs, "b/c.txt", "gamma delta alpha epsilon\n", 26);
	LODE(&r, "index", "-q", "-i", index, docs);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
	test_run_release(&r);
	test_copy_tree(index, copy);
	seg = segment_dir(index);
	copy_seg = segment_dir(copy);
	assert_non_null(seg);
	assert_non_null(copy_seg);
	for (size_t f = 0; f < 6; f++) {
		char *src = f ? test_asprintf("%s/%s", seg, files[f])
		              : test_asprintf("%s/%s", index, files[f]);
		char *dst = f ? test_asprintf("%s/%s", copy_seg, files[f])
		              : test_asprintf("%s/%s", copy, files[f]);
		size_t len;
		char *orig = test_read_file(src, &len), *bad;

		assert_non_null(orig);
		bad = malloc(len);
		assert_non_null(bad);
		for (size_t i = 0; i < len; i++) {
			memcpy(bad, orig, len);
			bad[i] = (char)(bad[i] ^ 0xff);
			test_write_whole(dst, bad, len);
			LODE(&r, "search", "--json", "-i", copy,
			     "alpha OR \"beta gamma\" OR NOT epsilon");
			if (crashed(&r) ||
			    (test_run_exited(&r, 2)
			         ? !test_run_one_error_line(&r, "lode: ")
			         : !(test_run_exited(&r, 0) || test_run_exited(&r, 1)) ||
			           r.err.len != 0)) {
				print_error("%s byte %zu flipped\n", files[f], i);
				test_run_dump(&r, print_error);
				failures++;
			}
			test_run_release(&r);
		}
		test_write_whole(dst, orig, len);
		free(bad);
		free(orig);
		free(src);
		free(dst);
	}
	if (failures)
		fail_msg("%d flipped bytes mishandled", failures);
	free(seg);
	free(copy_seg);
	free(copy);
	free(index);
	free(docs);
}

/* --k1 and --b (and --dfr and --c) change the ranking's scores, not the
 * matches; bad values are errors (exit 2) naming the value. */
static void bm25_options_rank_and_check_their_values(void **state)
{
	char *queries = test_asprintf("%s/bm25-queries.tsv", tmp_root);
	char *qrels = test_asprintf("%s/bm25-qrels", tmp_root);
	test_run r;

	(void)state;
	test_write_file(tmp_root, "bm25-queries.tsv", "1\thezbollah\n", 12);
	test_write_file(tmp_root, "bm25-qrels", "1 0 nothing 1\n", 14);
	LODE(&r, "search", "--k1", "0", "--b", "0", "-i", corpus_index,
	     "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	check_ranked(&r, D0 | D3 | D4, 3);
	test_run_release(&r);
	LODE(&r, "search", "--k1", "2", "--b", "1", "--text", "-i",
	     corpus_index, "hezbollah retaliation");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	test_run_release(&r);
	LODE(&r, "search", "--k1", "-1", "-i", corpus_index, "iran");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.err.p,
	                           "k1 must be a number from 0 to 1e+06, not -1"));
	test_run_release(&r);
	LODE(&r, "search", "--k1", "1.7976931348623157e308", "-i", corpus_index,
	     "iran");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "k1 must be a number from 0 to 1e+06,"
	                           " not 1.79769e+308"));
	test_run_release(&r);
	LODE(&r, "search", "--b", "0.5x", "-i", corpus_index, "iran");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "bad --b '0.5x'"));
	test_run_release(&r);
	/* Decimal only: no hexadecimal, no leading white space. */
	LODE(&r, "search", "--k1", "0x10", "-i", corpus_index, "iran");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "bad --k1 '0x10'"));
	test_run_release(&r);
	LODE(&r, "search", "--b", " 1", "-i", corpus_index, "iran");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "bad --b ' 1'"));
	test_run_release(&r);
	LODE(&r, "eval", "--k1", "0", "--b", "0", "-i", corpus_index, queries,
	     qrels);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	TEST_RUN_EXPECT(&r, starts_with(r.out.p, "queries   1 (1 with relevant"));
	test_run_release(&r);
	LODE(&r, "eval", "--b", "2", "-i", corpus_index, queries, qrels);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "b must be a number from 0 to 1"));
	test_run_release(&r);
	/* --dfr ranks the same matches by DFR; its c must be > 0. */
	LODE(&r, "search", "--dfr", "-i", corpus_index, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	check_ranked(&r, D0 | D3 | D4, 3);
	test_run_release(&r);
	LODE(&r, "search", "--dfr", "--c", "7", "--text", "-i", corpus_index,
	     "hezbollah retaliation");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	test_run_release(&r);
	LODE(&r, "eval", "--dfr", "-i", corpus_index, queries, qrels);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	TEST_RUN_EXPECT(&r, starts_with(r.out.p, "queries   1 (1 with relevant"));
	test_run_release(&r);
	LODE(&r, "eval", "--dfr", "--c", "0", "-i", corpus_index, queries, qrels);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "DFR c must be a number > 0 and at most 1e+06, not 0"));
	test_run_release(&r);
	/* BM25's parameters mean nothing to DFR: an error, not ignored. */
	LODE(&r, "search", "--dfr", "--k1", "2", "-i", corpus_index, "iran");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "--k1 and --b are BM25's"));
	test_run_release(&r);
	LODE(&r, "eval", "--b", "0.5", "--c", "2", "-i", corpus_index, queries,
	     qrels);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "--k1 and --b are BM25's"));
	test_run_release(&r);
	/* Output modes are alternatives; one of them twice is fine. */
	LODE(&r, "search", "-l", "-c", "-i", corpus_index, "iran");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "-l, -c and --json are alternatives"));
	test_run_release(&r);
	LODE(&r, "search", "-c", "-c", "-i", corpus_index, "iran");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	test_run_release(&r);
	free(queries);
	free(qrels);
}

/* eval names the line of a bad query line, and a run with no judged
 * query is an error, not a MAP of 0. */
static void eval_errors_name_the_line(void **state)
{
	static const struct {
		const char *queries, *qrels, *err;
	} cases[] = {
		{"1\thezbollah\n2 no tab\n", "1 0 d 1\n",
		 "eval-q.tsv:2: expected 'qid<TAB>text', got '2 no tab'"},
		{"1\thezbollah\n\n3\t!!!\n", "1 0 d 1\n",
		 "eval-q.tsv:3: query error at column 1"},
		{"1\thezbollah\n", "9 0 d 1\n",
		 "eval-q.tsv: no query has a relevant document"},
	};
	char *queries = test_asprintf("%s/eval-q.tsv", tmp_root);
	char *qrels = test_asprintf("%s/eval-qrels", tmp_root);
	test_run r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_write_file(tmp_root, "eval-q.tsv", cases[i].queries,
		                strlen(cases[i].queries));
		test_write_file(tmp_root, "eval-qrels", cases[i].qrels,
		                strlen(cases[i].qrels));
		LODE(&r, "eval", "-i", corpus_index, queries, qrels);
		TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
		TEST_RUN_EXPECT(&r, strstr(r.err.p, cases[i].err) != NULL);
		test_run_release(&r);
	}
	free(queries);
	free(qrels);
}

/* An empty -i is an error naming it; a directory named twice is indexed
 * once; --stem takes a language in any case. */
static void index_path_and_language_arguments(void **state)
{
	char *index = test_asprintf("%s/stem-upper", tmp_root);
	test_run r;

	(void)state;
	LODE(&r, "search", "-i", "", "iran");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, starts_with(r.err.p,
	                                "lode: -i: the index path is empty\n"));
	test_run_release(&r);
	/* One directory named twice is indexed once. */
	LODE(&r, "index", "-i", index, "corpus", "corpus/", "./corpus");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
	                    starts_with(r.out.p, "indexed 5 documents in "));
	test_run_release(&r);
	LODE(&r, "index", "--stem", "English", "-i", index, "corpus/");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
	test_run_release(&r);
	/* Stemmed: "retaliations", in no document, finds "retaliation". */
	LODE(&r, "search", "-c", "-i", index, "retaliations");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.out.p, "0\n"));
	test_run_release(&r);
	free(index);
}

static void unknown_option_is_a_usage_error(void **state)
{
	test_run r;

	(void)state;
	LODE(&r, "search", "--bogus", "-i", corpus_index, "iran");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "lode: ") != NULL);
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "usage: lode search") != NULL);
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "lode help") != NULL);
	test_run_release(&r);
	LODE(&r, "index", "--bogus", "corpus/");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "usage: lode index") != NULL);
	test_run_release(&r);
	LODE(&r, "check", "-x");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "usage: lode check") != NULL);
	test_run_release(&r);
	LODE(&r, "search", "-n", "many", "-i", corpus_index, "iran");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, starts_with(r.err.p, "lode: bad -n value 'many'\n"));
	test_run_release(&r);
	LODE(&r, "search", "-i", corpus_index);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, starts_with(r.err.p, "lode: search: no query given\n"));
	test_run_release(&r);
	LODE(&r, "index", "-i", corpus_index);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, starts_with(r.err.p, "lode: index: no directory given\n"));
	test_run_release(&r);
	LODE(&r, "check", "-i", corpus_index, "extra");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, starts_with(r.err.p,
	                                "lode: check: unexpected argument 'extra'\n"));
	test_run_release(&r);
}

/*
 * lode.c promises that errors are a line starting "lode: ".  An unknown
 * option or a missing option argument is reported first by getopt itself,
 * as "search: unrecognized option '--bogus'" (argv[0] is the subcommand),
 * and the "lode: unknown option" line that follows does not say which.
 */
static void unknown_option_error_starts_with_lode_and_names_it(void **state)
{
	test_run r;

	(void)state;
	LODE(&r, "search", "--bogus", "-i", corpus_index, "iran");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2));
	TEST_RUN_EXPECT(&r, starts_with(r.err.p, "lode: "));
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "lode: ") == r.err.p &&
	                    strstr(r.err.p, "--bogus") != NULL &&
	                    strstr(r.err.p, "--bogus") < strchr(r.err.p, '\n'));
	test_run_release(&r);
	LODE(&r, "search", "-l", "iran", "-i");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2));
	TEST_RUN_EXPECT(&r, starts_with(r.err.p, "lode: "));
	test_run_release(&r);
}

static void unknown_command_is_a_usage_error(void **state)
{
	test_run r;

	(void)state;
	LODE(&r, "frobnicate");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, starts_with(r.err.p, "lode: unknown command 'frobnicate'\n"));
	TEST_RUN_EXPECT(&r, strstr(r.err.p, "lode help") != NULL);
	test_run_release(&r);
	LODE(&r, "help", "frobnicate");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, starts_with(r.err.p,
	                                "lode: help: unknown command 'frobnicate'\n"));
	test_run_release(&r);
	/* No command at all: the usage, on stderr. */
	test_run_argv(&r, lode_bin, "lode", (const char *const[]){NULL}, NULL);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && r.out.len == 0);
	TEST_RUN_EXPECT(&r, starts_with(r.err.p, "usage: lode COMMAND"));
	test_run_release(&r);
}

static void help_and_version_exit_0(void **state)
{
	static const struct {
		const char *args[3];
		const char *usage;
	} cases[] = {
		{{"--help"}, "usage: lode COMMAND"},
		{{"-h"}, "usage: lode COMMAND"},
		{{"help"}, "usage: lode COMMAND"},
		{{"help", "search"}, "usage: lode search "},
		{{"search", "--help"}, "usage: lode search "},
		{{"search", "-h"}, "usage: lode search "},
		{{"help", "index"}, "usage: lode index "},
		{{"index", "--help"}, "usage: lode index "},
		{{"help", "check"}, "usage: lode check"},
		{{"check", "--help"}, "usage: lode check"},
	};
	char want[128];
	test_run r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_run_argv(&r, lode_bin, "lode", cases[i].args, NULL);
		TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
		TEST_RUN_EXPECT(&r, starts_with(r.out.p, cases[i].usage));
		test_run_release(&r);
	}
	LODE(&r, "help", "search");
	TEST_RUN_EXPECT(&r, strstr(r.out.p, "Exit status: 0 if something matched, "
	                                    "1 if nothing did, 2 on error.") != NULL);
	test_run_release(&r);
	snprintf(want, sizeof(want), "lode %s (index format version %" PRIu32 ")\n",
	         LODE_VERSION_STRING, lode_format_version());
	LODE(&r, "--version");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	TEST_RUN_EXPECT(&r, strcmp(r.out.p, want) == 0);
	test_run_release(&r);
}

/* ---- indexing -------------------------------------------------------------- */

static void reindexing_replaces_the_index(void **state)
{
	char *dir = fresh_dir("reindex");
	char *docs = test_asprintf("%s/docs", dir);
	char *index = test_asprintf("%s/idx", dir);
	char *want, *listing;
	test_run r;

	(void)state;
	test_write_file(docs, "a.txt", "common apple\n", 13);
	test_write_file(docs, "b.txt", "common banana\n", 14);
	LODE(&r, "index", "-i", index, docs);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
	                    starts_with(r.out.p, "indexed 2 documents"));
	test_run_release(&r);
	LODE(&r, "search", "-c", "-i", index, "common");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.out.p, "2\n") == 0);
	test_run_release(&r);

	test_write_file(docs, "c.txt", "common cherry\n", 14);
	LODE(&r, "index", "-i", index, docs);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
	                    starts_with(r.out.p, "indexed 3 documents"));
	test_run_release(&r);
	want = test_asprintf("%s/a.txt\n%s/b.txt\n%s/c.txt\n", docs, docs, docs);
	LODE(&r, "search", "-l", "-i", index, "common");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.out.p, want) == 0);
	test_run_release(&r);
	free(want);
	want = test_asprintf("%s/c.txt\n", docs);
	LODE(&r, "search", "-l", "-i", index, "cherry");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.out.p, want) == 0);
	test_run_release(&r);

	/* One segment left, nothing temporary. */
	listing = list_dir(index);
	assert_non_null(listing);
	if (!(strstr(listing, "seg-") && !strstr(strstr(listing, "seg-") + 4, "seg-") &&
	      !strstr(listing, ".tmp")))
		fail_msg("index directory holds:\n%s", listing);
	free(listing);

	/* A build that fails leaves the previous index as it was. */
	LODE(&r, "index", "-i", index, "/nonexistent-lode-test-dir");
	TEST_RUN_EXPECT(&r, test_run_failed_with(&r, "/nonexistent-lode-test-dir"));
	test_run_release(&r);
	LODE(&r, "search", "-l", "-i", index, "cherry");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.out.p, want) == 0);
	test_run_release(&r);
	free(want);
	free(index);
	free(docs);
	free(dir);
}

/* Several arguments, directories or files, are indexed in argument order;
 * each path is the argument joined with the path below it. */
static void index_takes_several_directories_and_files(void **state)
{
	char *dir = fresh_dir("several");
	char *index = test_asprintf("%s/idx", dir);
	char *docs = test_asprintf("%s/docs", dir);
	char *file = test_asprintf("%s/extra.txt", dir);
	char *want;
	test_run r;

	(void)state;
	test_write_file(docs, "z.txt", "hezbollah zebra\n", 16);
	test_write_file(dir, "extra.txt", "zebra hezbollah\n", 16);
	LODE(&r, "index", "-i", index, docs, "corpus/", file);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
	                    starts_with(r.out.p, "indexed 7 documents"));
	test_run_release(&r);
	want = test_asprintf("%s/z.txt\n%s\n%s\n%s\n%s\n", docs, corpus[0],
	                 corpus[3], corpus[4], file);
	LODE(&r, "search", "-l", "-i", index, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.out.p, want) == 0);
	test_run_release(&r);
	free(want);
	want = test_asprintf("%s\n", file);
	LODE(&r, "search", "-l", "-i", index, "\"zebra hezbollah\"");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.out.p, want) == 0);
	test_run_release(&r);
	free(want);
	free(file);
	free(docs);
	free(index);
	free(dir);
}

/* --no-text keeps no copy of the text: the same answers, snippets read
 * from the files, and a file gone or changed loses its snippet only, with
 * a warning naming it. */
static void no_text_index_reads_snippets_from_the_files(void **state)
{
	char *dir = fresh_dir("no-text");
	char *docs = test_asprintf("%s/docs", dir);
	char *index = test_asprintf("%s/idx", dir);
	char *stored = test_asprintf("%s/stored", dir);
	char *a = test_asprintf("%s/a.txt", docs);
	char *b = test_asprintf("%s/b.txt", docs);
	char *want, *line;
	struct utimbuf old = {1000000000, 1000000000};
	test_run r;

	(void)state;
	test_write_file(docs, "a.txt", "alpha hezbollah beta\n", 21);
	test_write_file(docs, "b.txt", "gamma hezbollah hezbollah delta\n", 32);
	LODE(&r, "index", "-q", "-i", stored, docs);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
	test_run_release(&r);
	LODE(&r, "index", "--no-text", "-i", index, docs);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
	                    starts_with(r.out.p, "indexed 2 documents") &&
	                    strstr(r.out.p, "of input, no text kept) in "));
	test_run_release(&r);

	/* The ranked output is the stored-text index's, the time apart. */
	LODE(&r, "search", "-i", stored, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
	                    (line = strstr(r.out.p, "2 matching")) != NULL);
	want = test_asprintf("%.*s", (int)(line - r.out.p), r.out.p);
	test_run_release(&r);
	LODE(&r, "search", "-i", index, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0 &&
	                    starts_with(r.out.p, want) &&
	                    strstr(r.out.p, "alpha hezbollah beta") != NULL &&
	                    strstr(r.out.p, "gamma hezbollah hezbollah delta"));
	test_run_release(&r);
	free(want);
	LODE(&r, "check", "--sizes", "-i", index);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
	                    strstr(r.out.p, "\ntext.z                             20\n"));
	test_run_release(&r);

	/* a.txt: same bytes, another time; b.txt: gone. */
	assert_int_equal(utime(a, &old), 0);
	assert_int_equal(unlink(b), 0);
	LODE(&r, "search", "-i", index, "hezbollah");
	want = test_asprintf("lode: warning: %s: No such file or directory (the "
	                     "index keeps no text)\nlode: warning: %s: changed "
	                     "since it was indexed (the index keeps no text)\n",
	                     b, a);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.err.p, want) == 0 &&
	                    strstr(r.out.p, a) && strstr(r.out.p, b) &&
	                    !strstr(r.out.p, "    "));
	test_run_release(&r);
	free(want);
	LODE(&r, "search", "--json", "-i", index, "gamma");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
	                    strstr(r.out.p, "\"snippet\":null,\"matches\":[]}\n"));
	test_run_release(&r);
	/* Nothing of the index depends on the files. */
	LODE(&r, "check", "-i", index);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
	test_run_release(&r);
	free(b);
	free(a);
	free(stored);
	free(index);
	free(docs);
	free(dir);
}

static void binary_and_hidden_files_are_skipped(void **state)
{
	static const char bad_utf8[] = "gamma \xff\xfe broken\xc3 delta alpha\n";
	char *dir = fresh_dir("skip");
	char *docs = test_asprintf("%s/docs", dir);
	char *index = test_asprintf("%s/idx", dir);
	char *want, *bad_path;
	const char *json_want[1];
	test_run r;

	(void)state;
	test_write_file(docs, "a.txt", "alpha beta\n", 11);
	test_write_file(docs, "b.bin", "binary\0stuff alpha\n", 19);
	test_write_file(docs, ".hidden.txt", "secret alpha\n", 13);
	test_write_file(docs, ".hid/c.txt", "concealed alpha\n", 16);
	test_write_file(docs, "sub/bad.txt", bad_utf8, sizeof(bad_utf8) - 1);
	LODE(&r, "index", "-i", index, docs);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
	TEST_RUN_EXPECT(&r, starts_with(r.out.p, "indexed 2 documents"));
	TEST_RUN_EXPECT(&r, strstr(r.out.p, "skipped 1 binary file, 0 unreadable\n") !=
	                    NULL);
	test_run_release(&r);

	want = test_asprintf("%s/a.txt\n%s/sub/bad.txt\n", docs, docs);
	LODE(&r, "search", "-l", "-i", index, "alpha");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.out.p, want) == 0);
	test_run_release(&r);
	free(want);
	/* Binary, hidden file, file in a hidden directory: none indexed. */
	LODE(&r, "search", "-l", "-i", index, "binary OR stuff OR secret OR concealed");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 1) && r.out.len == 0 && r.err.len == 0);
	test_run_release(&r);
	/* Invalid bytes separate tokens and nothing else. */
	bad_path = test_asprintf("%s/sub/bad.txt", docs);
	want = test_asprintf("%s\n", bad_path);
	LODE(&r, "search", "-l", "-i", index, "\"gamma broken delta alpha\"");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.out.p, want) == 0);
	test_run_release(&r);
	/* ... and --json stays valid UTF-8 JSON. */
	json_want[0] = bad_path;
	LODE(&r, "search", "--json", "-i", index, "broken");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	check_json(&r, json_want, 1, "broken");
	test_run_release(&r);
	free(want);
	free(bad_path);
	free(index);
	free(docs);
	free(dir);
}

static void empty_directory_indexes_nothing(void **state)
{
	char *dir = fresh_dir("empty");
	char *docs = fresh_dir("empty/docs");
	char *index = test_asprintf("%s/idx", dir);
	test_run r;

	(void)state;
	LODE(&r, "index", "-i", index, docs);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.err.len == 0);
	TEST_RUN_EXPECT(&r, starts_with(r.out.p, "indexed 0 documents"));
	test_run_release(&r);
	LODE(&r, "search", "-c", "-i", index, "anything");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 1) && strcmp(r.out.p, "0\n") == 0 &&
	                    r.err.len == 0);
	test_run_release(&r);
	LODE(&r, "search", "-l", "-i", index, "NOT anything");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 1) && r.out.len == 0 && r.err.len == 0);
	test_run_release(&r);
	LODE(&r, "check", "-i", index);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
	                    strstr(r.out.p, ": ok: 1 segment, 0 documents"));
	test_run_release(&r);
	free(index);
	free(docs);
	free(dir);
}

static void nonexistent_directory_is_an_error(void **state)
{
	char *missing = test_asprintf("%s/no-such-dir", tmp_root);
	char *index = test_asprintf("%s/nodir-idx", tmp_root);
	test_run r;

	(void)state;
	LODE(&r, "index", "-i", index, missing);
	TEST_RUN_EXPECT(&r, test_run_failed_with(&r, missing));
	test_run_release(&r);
	free(index);
	free(missing);
}

static void foreign_index_directory_is_refused(void **state)
{
	char *foreign = fresh_dir("foreign");
	char *file = test_asprintf("%s/a.txt", foreign);
	char *plain = test_asprintf("%s/plain-file", tmp_root);
	char *listing, *data;
	size_t len;
	test_run r;

	(void)state;
	test_write_file(foreign, "a.txt", "keep me\n", 8);
	LODE(&r, "index", "-i", foreign, "corpus/");
	TEST_RUN_EXPECT(&r, test_run_failed_with(&r, "not a lode index"));
	test_run_release(&r);
	listing = list_dir(foreign);
	assert_non_null(listing);
	assert_string_equal(listing, "a.txt");
	data = test_read_file(file, &len);
	assert_non_null(data);
	assert_string_equal(data, "keep me\n");
	free(data);
	free(listing);

	/* -i naming a regular file. */
	test_write_whole(plain, "data\n", 5);
	LODE(&r, "index", "-i", plain, "corpus/");
	TEST_RUN_EXPECT(&r, test_run_failed_with(&r, "not a directory"));
	test_run_release(&r);
	data = test_read_file(plain, &len);
	assert_non_null(data);
	assert_string_equal(data, "data\n");
	free(data);
	free(plain);
	free(file);
	free(foreign);
}

/* Another build holding the lock makes index fail, not wait or corrupt. */
static void locked_index_is_busy(void **state)
{
	char *index = copy_corpus_index("locked");
	char *lock = test_asprintf("%s/LOCK", index);
	char *want = paths_of(D0 | D3 | D4);
	int fd = open(lock, O_RDWR | O_CREAT, 0644);
	test_run r;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	LODE(&r, "index", "-i", index, "corpus/");
	TEST_RUN_EXPECT(&r, test_run_failed_with(&r, "another lode index is writing"));
	test_run_release(&r);
	/* Readers take no lock. */
	LODE(&r, "search", "-l", "-i", index, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.out.p, want) == 0);
	test_run_release(&r);
	close(fd);
	LODE(&r, "index", "-q", "-i", index, "corpus/");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.out.len == 0 && r.err.len == 0);
	test_run_release(&r);
	free(want);
	free(lock);
	free(index);
}

/* Control characters in a file name cannot reach the terminal. */
static void control_characters_in_paths_are_neutralised(void **state)
{
	char *dir = fresh_dir("ctrl");
	char *docs = test_asprintf("%s/docs", dir);
	char *index = test_asprintf("%s/idx", dir);
	char *want, *json;
	test_run r;

	(void)state;
	test_write_file(docs, "we\nird\033[31m.txt", "zebra\n", 6);
	LODE(&r, "index", "-q", "-i", index, docs);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
	test_run_release(&r);
	want = test_asprintf("%s/we?ird?[31m.txt\n", docs);
	LODE(&r, "search", "-l", "-i", index, "zebra");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.out.p, want) == 0);
	test_run_release(&r);
	json = test_asprintf("\"path\":\"%s/we\\nird\\u001b[31m.txt\"", docs);
	LODE(&r, "search", "--json", "-i", index, "zebra");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strstr(r.out.p, json) != NULL);
	test_run_release(&r);
	free(json);
	free(want);
	free(index);
	free(docs);
	free(dir);
}

/*
 * A failed write of the output is an error, not a silent success.  search
 * checks fflush(stdout) and says "lode: writing output: ..."; check, help,
 * --version and index do not, and exit 0 with their output lost.
 */
static void write_error_on_stdout_exits_2(void **state)
{
	static const char *const modes[] = {"-l", "-c", "--json", "-n"};
	test_run_opts env = {.stdout_to = "/dev/full"};
	test_run r;

	(void)state;
	if (access("/dev/full", W_OK) != 0) {
		print_message("no /dev/full: skipped\n");
		skip();
	}
	for (size_t i = 0; i < 4; i++) {
		if (i == 3)
			LODE_ENV(&r, &env, "search", "-n", "3", "-i", corpus_index,
			         "iran");
		else
			LODE_ENV(&r, &env, "search", modes[i], "-i", corpus_index,
			         "iran");
		TEST_RUN_EXPECT(&r, test_run_failed_with(&r, "writing output"));
		test_run_release(&r);
	}
	/* The other commands' output is lost just the same. */
	LODE_ENV(&r, &env, "check", "-i", corpus_index);
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && starts_with(r.err.p, "lode: "));
	test_run_release(&r);
	LODE_ENV(&r, &env, "--version");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 2) && starts_with(r.err.p, "lode: "));
	test_run_release(&r);
}

/* Readers racing a rebuild see the old index or the new one, whole. */
static void searches_during_rebuilds_see_a_whole_index(void **state)
{
	char *index = copy_corpus_index("race");
	int searches = 0, status = 0, reaped = 0, ok = 1;
	pid_t writer;
	test_run r;

	(void)state;
	writer = fork();
	assert_true(writer >= 0);
	if (writer == 0) {
		int failed = 0;

		for (int i = 0; i < 30 && !failed; i++) {
			LODE(&r, "index", "-q", "-i", index, "corpus/");
			failed = !test_run_exited(&r, 0);
			if (failed)
				test_run_dump(&r, print_error);
			test_run_release(&r);
		}
		_exit(failed);
	}
	while (ok && (!reaped || searches < 10)) {
		if (!reaped && waitpid(writer, &status, WNOHANG) == writer)
			reaped = 1;
		LODE(&r, "search", "-c", "-i", index,
		     "hezbollah OR \"New York Times\"");
		ok = test_run_exited(&r, 0) && strcmp(r.out.p, "4\n") == 0 &&
		     r.err.len == 0;
		if (!ok)
			test_run_dump(&r, print_error);
		test_run_release(&r);
		searches++;
	}
	if (!reaped) {
		kill(writer, SIGKILL);
		waitpid(writer, &status, 0);
	}
	if (!ok)
		fail_msg("search %d during a rebuild went wrong", searches);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(index);
}

/* ---- choosing the index ---------------------------------------------------- */

static void lode_index_variable_selects_the_index(void **state)
{
	char *missing = test_asprintf("%s/env-missing", tmp_root);
	char *built = test_asprintf("%s/env-idx", tmp_root);
	char *want = paths_of(D0 | D3 | D4);
	test_run_opts env = {.lode_index = corpus_index};
	test_run r;

	(void)state;
	LODE_ENV(&r, &env, "search", "-l", "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.out.p, want) == 0 &&
	                    r.err.len == 0);
	test_run_release(&r);
	LODE_ENV(&r, &env, "check");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
	                    strstr(r.out.p, corpus_index) != NULL);
	test_run_release(&r);
	/* -i wins over the variable. */
	env.lode_index = missing;
	LODE_ENV(&r, &env, "search", "-l", "-i", corpus_index, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.out.p, want) == 0);
	test_run_release(&r);
	LODE_ENV(&r, &env, "search", "-l", "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_failed_with(&r, "no index"));
	TEST_RUN_EXPECT(&r, strstr(r.err.p, missing) != NULL);
	test_run_release(&r);
	/* index writes there too. */
	env.lode_index = built;
	LODE_ENV(&r, &env, "index", "-q", "corpus/");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && r.out.len == 0);
	test_run_release(&r);
	LODE(&r, "search", "-l", "-i", built, "hezbollah");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) && strcmp(r.out.p, want) == 0);
	test_run_release(&r);
	free(want);
	free(built);
	free(missing);
}

/* Neither -i nor LODE_INDEX: .lode in the working directory. */
static void default_index_is_dot_lode(void **state)
{
	char *dir = fresh_dir("default");
	char *manifest = test_asprintf("%s/.lode/MANIFEST", dir);
	test_run_opts env = {.cwd = dir};
	test_run r;

	(void)state;
	test_write_file(dir, "docs/a.txt", "zebra\n", 6);
	LODE_ENV(&r, &env, "index", "docs");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
	                    strstr(r.out.p, "in .lode\n") != NULL);
	TEST_RUN_EXPECT(&r, exists(manifest));
	test_run_release(&r);
	LODE_ENV(&r, &env, "search", "-l", "zebra");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
	                    strcmp(r.out.p, "docs/a.txt\n") == 0);
	test_run_release(&r);
	/* Indexing again does not index the index. */
	LODE_ENV(&r, &env, "index", "-i", "docs/idx", "docs");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0));
	test_run_release(&r);
	LODE_ENV(&r, &env, "index", "-i", "docs/idx", "docs");
	TEST_RUN_EXPECT(&r, test_run_exited(&r, 0) &&
	                    starts_with(r.out.p, "indexed 1 document "));
	test_run_release(&r);
	free(manifest);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(index_corpus_reports_five_documents),
		cmocka_unit_test(search_files_match_reference_sets),
		cmocka_unit_test(query_arguments_are_joined_with_spaces),
		cmocka_unit_test(no_match_exits_1_with_empty_output),
		cmocka_unit_test(count_prints_the_number_of_matches),
		cmocka_unit_test(ranked_output_lists_hits_and_summary),
		cmocka_unit_test(results_option_limits_hits_shown),
		cmocka_unit_test(json_output_is_one_object_per_hit),
		cmocka_unit_test(color_always_highlights_and_never_does_not),
		cmocka_unit_test(eval_errors_name_the_line),
		cmocka_unit_test(index_path_and_language_arguments),
		cmocka_unit_test(tiny_memory_budget_gives_same_results),
		cmocka_unit_test(query_syntax_errors_name_their_column),
		cmocka_unit_test(missing_index_is_an_error),
		cmocka_unit_test(truncated_dictionary_is_corrupt),
		cmocka_unit_test(short_data_files_are_named),
		cmocka_unit_test(bad_magic_is_corrupt),
		cmocka_unit_test(other_format_version_is_refused),
		cmocka_unit_test(flipped_manifest_byte_is_corrupt),
		cmocka_unit_test(flipped_document_table_byte_is_corrupt),
		cmocka_unit_test(missing_segment_file_is_corrupt),
		cmocka_unit_test(check_verifies_every_checksum),
		cmocka_unit_test(flipped_bytes_never_crash),
		cmocka_unit_test(bm25_options_rank_and_check_their_values),
		cmocka_unit_test(unknown_option_is_a_usage_error),
		cmocka_unit_test(unknown_option_error_starts_with_lode_and_names_it),
		cmocka_unit_test(unknown_command_is_a_usage_error),
		cmocka_unit_test(help_and_version_exit_0),
		cmocka_unit_test(reindexing_replaces_the_index),
		cmocka_unit_test(index_takes_several_directories_and_files),
		cmocka_unit_test(no_text_index_reads_snippets_from_the_files),
		cmocka_unit_test(binary_and_hidden_files_are_skipped),
		cmocka_unit_test(empty_directory_indexes_nothing),
		cmocka_unit_test(nonexistent_directory_is_an_error),
		cmocka_unit_test(foreign_index_directory_is_refused),
		cmocka_unit_test(locked_index_is_busy),
		cmocka_unit_test(control_characters_in_paths_are_neutralised),
		cmocka_unit_test(write_error_on_stdout_exits_2),
		cmocka_unit_test(searches_during_rebuilds_see_a_whole_index),
		cmocka_unit_test(lode_index_variable_selects_the_index),
		cmocka_unit_test(default_index_is_dot_lode),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
