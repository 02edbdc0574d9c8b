/*
 * fts5_peer.c -- SQLite FTS5 as a measuring instrument for lode bench.
 *
 * A contentless FTS5 table with detail=full and the unicode61 tokenizer with
 * remove_diacritics 2, rowid = lode's document id, built in one transaction
 * and optimized.  lode's query language maps onto FTS5's directly (AND, OR,
 * NOT, parentheses, phrases, the same precedence) once every bare word is
 * quoted; a leading NOT has no FTS5 equivalent and is skipped.  The time of
 * a run covers preparing the statement (parsing the query) and stepping
 * through every row.  See peer.h for the commands.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"

static sqlite3 *db;
static sqlite3_stmt *insert;

static int fail(const char *what)
{
	fprintf(stderr, "fts5_peer: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
	return -1;
}

static int index_open(const char *path)
{
	remove(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return fail("open");
	if (sqlite3_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
	                 "CREATE VIRTUAL TABLE t USING fts5(body, content='', "
	                 "detail=full, tokenize=\"unicode61 remove_diacritics 2\");"
	                 "BEGIN;", NULL, NULL, NULL) != SQLITE_OK)
		return fail("create");
	if (sqlite3_prepare_v2(db, "INSERT INTO t(rowid, body) VALUES (?, ?)", -1,
	                       &insert, NULL) != SQLITE_OK)
		return fail("prepare");
	return 0;
}

static int add(int64_t id, const char *text, size_t len)
{
	sqlite3_bind_int64(insert, 1, id);
	sqlite3_bind_text(insert, 2, text, (int)len, SQLITE_STATIC);
	if (sqlite3_step(insert) != SQLITE_DONE)
		return fail("insert");
	sqlite3_reset(insert);
	return 0;
}

static int index_close(void)
{
	sqlite3_finalize(insert);
	if (sqlite3_exec(db, "COMMIT; INSERT INTO t(t) VALUES('optimize');", NULL,
	                 NULL, NULL) != SQLITE_OK)
		return fail("commit");
	sqlite3_close(db);
	db = NULL;
	return 0;
}

static int open_index(const char *path)
{
	return sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK
	       ? fail("open") : 0;
}

/* lode query -> FTS5 query: quote every bare word; NULL for a leading NOT. */
static char *translate(const char *q)
{
	char *out = malloc(3 * strlen(q) + 3), *o = out, *last_and = NULL;
	const char *p = q;
	int expect_operand = 1;

	while (*p) {
		if (*p == ' ' || *p == '\t') {
			*o++ = *p++;
		} else if (*p == '(' || *p == ')') {
			expect_operand = *p == '(';
			last_and = NULL;
			*o++ = *p++;
		} else if (*p == '"') {
			const char *end = strchr(p + 1, '"');
			size_t len = end ? (size_t)(end - p) + 1 : strlen(p);
			memcpy(o, p, len);
			o += len;
			p += len;
			expect_operand = 0;
			last_and = NULL;
		} else {
			size_t len = strcspn(p, " \t()\"");
			int op = (len == 3 && (!strncmp(p, "AND", 3) || !strncmp(p, "NOT", 3))) ||
			         (len == 2 && !strncmp(p, "OR", 2));
			if (op && expect_operand && !strncmp(p, "NOT", 3)) {
				/* "a AND NOT b" is FTS5's "a NOT b"; a NOT with no
				 * left operand has no FTS5 form. */
				if (!last_and) {
					free(out);
					return NULL;
				}
				o = last_and;
			}
			last_and = op && len == 3 && !strncmp(p, "AND", 3) ? o : NULL;
			if (!op)
				*o++ = '"';
			memcpy(o, p, len);
			o += len;
			if (!op)
				*o++ = '"';
			expect_operand = op;
			p += len;
		}
	}
	*o = '\0';
	return out;
}

static int run(const char *query, enum peer_mode mode, struct peer_answer *a)
{
	static const char *const sql[] = {
		[PEER_COUNT] = "SELECT count(*) FROM t WHERE t MATCH ?",
		[PEER_ALL] = "SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid",
		[PEER_TOP10] = "SELECT rowid FROM t WHERE t MATCH ? ORDER BY rank "
		               "LIMIT 10",
	};
	char *match = translate(query);
	sqlite3_stmt *st;
	int rc;

	if (!match)
		return 1;
	if (sqlite3_prepare_v2(db, sql[mode], -1, &st, NULL) != SQLITE_OK) {
		free(match);
		return fail(query);
	}
	sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (mode == PEER_COUNT)
			a->count = (uint64_t)sqlite3_column_int64(st, 0);
		else
			peer_answer_add(a, (uint64_t)sqlite3_column_int64(st, 0));
	}
	sqlite3_finalize(st);
	free(match);
	return rc == SQLITE_DONE ? 0 : fail(query);
}

int main(int argc, char **argv)
{
	static const struct peer_engine fts5 = {
		"fts5", index_open, add, index_close, open_index, run,
	};

	return peer_main(argc, argv, &fts5);
}
