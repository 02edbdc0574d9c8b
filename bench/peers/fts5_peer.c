/*
 * fts5_peer.c -- SQLite FTS5 as a measuring instrument for lode bench.
 *
 *     fts5_peer index DB DIR
 *     fts5_peer bench DB QUERY_FILE [--mode count|all|top10] [--repeat R]
 *
 * index: the same documents as `lode index DIR` (names in byte order,
 * recursive, hidden entries and files with a NUL in their first 8 KiB
 * skipped), in a contentless FTS5 table with detail=full and the unicode61
 * tokenizer with remove_diacritics 2, one transaction; rowid = lode's
 * document id.  Prints {"engine":"fts5","documents":…,"seconds":…,"bytes":…}.
 *
 * bench: the timing rules of lode bench (one warm-up, R timed runs each
 * covering query preparation and the full answer, every answer checked
 * against the warm-up's) and its per-query JSON lines, hash included, so
 * that the driver can compare result sets.  lode's query language maps onto
 * FTS5's directly (AND, OR, NOT, parentheses, phrases; the same precedence)
 * once every bare word is quoted; a leading NOT has no FTS5 equivalent and
 * such queries are reported as skipped.  Never linked into lode.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, sqlite3 *db)
{
	fprintf(stderr, "fts5_peer: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
	exit(2);
}

static int visible(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static int by_bytes(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void add_tree(sqlite3 *db, sqlite3_stmt *ins, const char *path,
                     int64_t *next_id)
{
	struct stat st;
	struct dirent **names;
	int n;

	if (stat(path, &st) != 0)
		return;
	if (S_ISREG(st.st_mode)) {
		FILE *f = fopen(path, "rb");
		char *buf = malloc((size_t)st.st_size + 1);
		size_t len = f && buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
		if (f)
			fclose(f);
		if (buf && !memchr(buf, 0, len < 8192 ? len : 8192)) {
			sqlite3_bind_int64(ins, 1, (*next_id)++);
			sqlite3_bind_text(ins, 2, buf, (int)len, SQLITE_STATIC);
			if (sqlite3_step(ins) != SQLITE_DONE)
				die("insert", db);
			sqlite3_reset(ins);
		}
		free(buf);
		return;
	}
	if (!S_ISDIR(st.st_mode) || (n = scandir(path, &names, visible, by_bytes)) < 0)
		return;
	for (int i = 0; i < n; i++) {
		char *child;
		if (asprintf(&child, "%s/%s", path, names[i]->d_name) < 0)
			exit(2);
		add_tree(db, ins, child, next_id);
		free(child);
		free(names[i]);
	}
	free(names);
}

static int cmd_index(const char *dbpath, const char *dir)
{
	sqlite3 *db;
	sqlite3_stmt *ins;
	int64_t docs = 0;
	uint64_t t0 = now_ns();
	struct stat st;

	remove(dbpath);
	if (sqlite3_open(dbpath, &db) != SQLITE_OK)
		die("open", db);
	if (sqlite3_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
	                 "CREATE VIRTUAL TABLE t USING fts5(body, content='', "
	                 "detail=full, tokenize=\"unicode61 remove_diacritics 2\");"
	                 "BEGIN;", NULL, NULL, NULL) != SQLITE_OK)
		die("create", db);
	if (sqlite3_prepare_v2(db, "INSERT INTO t(rowid, body) VALUES (?, ?)", -1,
	                       &ins, NULL) != SQLITE_OK)
		die("prepare", db);
	add_tree(db, ins, dir, &docs);
	sqlite3_finalize(ins);
	if (sqlite3_exec(db, "COMMIT; INSERT INTO t(t) VALUES('optimize');", NULL,
	                 NULL, NULL) != SQLITE_OK)
		die("commit", db);
	sqlite3_close(db);
	stat(dbpath, &st);
	printf("{\"engine\":\"fts5\",\"documents\":%" PRId64 ",\"seconds\":%.3f,"
	       "\"bytes\":%lld}\n", docs, (double)(now_ns() - t0) / 1e9,
	       (long long)st.st_size);
	return 0;
}

/* lode query -> FTS5 query: quote every bare word; "" if not expressible. */
static char *translate(const char *q)
{
	size_t n = strlen(q);
	char *out = malloc(3 * n + 3), *o = out;
	const char *p = q;
	int expect_operand = 1;

	while (*p) {
		if (*p == ' ' || *p == '\t') {
			*o++ = *p++;
		} else if (*p == '(' || *p == ')') {
			expect_operand = *p == '(';
			*o++ = *p++;
		} else if (*p == '"') {
			const char *end = strchr(p + 1, '"');
			size_t len = end ? (size_t)(end - p) + 1 : strlen(p);
			memcpy(o, p, len);
			o += len;
			p += len;
			expect_operand = 0;
		} else {
			size_t len = strcspn(p, " \t()\"");
			int op = (len == 3 && (!strncmp(p, "AND", 3) || !strncmp(p, "NOT", 3))) ||
			         (len == 2 && !strncmp(p, "OR", 2));
			if (op && expect_operand && !strncmp(p, "NOT", 3)) {
				free(out);
				return NULL; /* leading NOT */
			}
			if (op) {
				memcpy(o, p, len);
				o += len;
				expect_operand = 1;
			} else {
				*o++ = '"';
				for (size_t i = 0; i < len; i++)
					*o++ = p[i];
				*o++ = '"';
				expect_operand = 0;
			}
			p += len;
		}
	}
	*o = '\0';
	return out;
}

struct answer {
	uint64_t count, hash;
};

static int run_once(sqlite3 *db, const char *sql, const char *match,
                    int mode_count, struct answer *a)
{
	sqlite3_stmt *st;
	int rc;

	a->count = 0;
	a->hash = FNV_OFFSET;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (mode_count) {
			a->count = (uint64_t)sqlite3_column_int64(st, 0);
		} else {
			a->count++;
			a->hash = (a->hash ^ (uint64_t)sqlite3_column_int64(st, 0)) *
			          FNV_PRIME;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static int cmd_bench(const char *dbpath, const char *file, const char *mode,
                     int repeat)
{
	const char *sql;
	sqlite3 *db;
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0, nq = 0;
	ssize_t len;
	uint64_t *samples = malloc((size_t)repeat * sizeof(uint64_t));
	int mode_count = 0;

	if (!strcmp(mode, "count")) {
		sql = "SELECT count(*) FROM t WHERE t MATCH ?";
		mode_count = 1;
	} else if (!strcmp(mode, "all")) {
		sql = "SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid";
	} else if (!strcmp(mode, "top10")) {
		sql = "SELECT rowid FROM t WHERE t MATCH ? ORDER BY rank LIMIT 10";
	} else {
		fprintf(stderr, "fts5_peer: bad mode %s\n", mode);
		return 2;
	}
	if (!f || sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL))
		die("open", NULL);
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *tab, *text, *match;
		struct answer first, a;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		nq++;
		tab = strchr(line, '\t');
		text = tab ? tab + 1 : line;
		if (tab)
			*tab = '\0';
		match = translate(text);
		printf("{\"n\":%zu,\"category\":", nq);
		json_string(tab ? line : "all");
		fputs(",\"query\":", stdout);
		json_string(text);
		if (!match) {
			puts(",\"skipped\":\"leading NOT\"}");
			continue;
		}
		if (run_once(db, sql, match, mode_count, &first))
			die(text, db);
		for (int r = 0; r < repeat; r++) {
			uint64_t t0 = now_ns();
			if (run_once(db, sql, match, mode_count, &a))
				die(text, db);
			samples[r] = now_ns() - t0;
			if (a.count != first.count || a.hash != first.hash) {
				fprintf(stderr, "fts5_peer: answer changed: %s\n", text);
				return 2;
			}
		}
		qsort(samples, (size_t)repeat, sizeof(uint64_t), compare_u64);
		printf(",\"count\":%" PRIu64 ",\"hash\":\"%016" PRIx64 "\",\"median_ns\":%"
		       PRIu64 ",\"min_ns\":%" PRIu64 "}\n", first.count,
		       mode_count ? 0 : first.hash, samples[repeat / 2], samples[0]);
		free(match);
	}
	free(line);
	free(samples);
	fclose(f);
	sqlite3_close(db);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = "top10";
	int repeat = 5;

	if (argc == 4 && !strcmp(argv[1], "index"))
		return cmd_index(argv[2], argv[3]);
	if (argc >= 4 && !strcmp(argv[1], "bench")) {
		for (int i = 4; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "--mode"))
				mode = argv[i + 1];
			else if (!strcmp(argv[i], "--repeat"))
				repeat = atoi(argv[i + 1]) > 0 ? atoi(argv[i + 1]) : 1;
		}
		return cmd_bench(argv[2], argv[3], mode, repeat);
	}
	fputs("usage: fts5_peer index DB DIR\n"
	      "       fts5_peer bench DB QUERY_FILE [--mode count|all|top10] "
	      "[--repeat R]\n", stderr);
	return 2;
}
