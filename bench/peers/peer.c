/* peer.c -- document walk, timing and answer checks shared by the peers. */
#define _GNU_SOURCE
#include "peer.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

void peer_answer_reset(struct peer_answer *a)
{
	a->count = 0;
	a->hash = FNV_OFFSET;
}

void peer_answer_add(struct peer_answer *a, uint64_t id)
{
	a->count++;
	a->hash = (a->hash ^ id) * FNV_PRIME;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int visible(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static int by_bytes(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* lode's walk: names in byte order, hidden entries skipped, files with a NUL
 * in their first 8 KiB skipped as binary. */
static int walk(const struct peer_engine *e, const char *path, int64_t *next)
{
	struct dirent **names;
	struct stat st;
	int n, rc = 0;

	if (stat(path, &st) != 0)
		return 0;
	if (S_ISREG(st.st_mode)) {
		FILE *f = fopen(path, "rb");
		char *buf = malloc((size_t)st.st_size + 1);
		size_t len = f && buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
		if (f)
			fclose(f);
		if (buf && !memchr(buf, 0, len < 8192 ? len : 8192))
			rc = e->add((*next)++, buf, len);
		free(buf);
		return rc;
	}
	if (!S_ISDIR(st.st_mode) || (n = scandir(path, &names, visible, by_bytes)) < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		char *child;
		if (rc == 0 && asprintf(&child, "%s/%s", path, names[i]->d_name) >= 0) {
			rc = walk(e, child, next);
			free(child);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static uint64_t tree_bytes(const char *path)
{
	struct dirent **names;
	struct stat st;
	uint64_t total = 0;
	int n;

	if (stat(path, &st) != 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return (uint64_t)st.st_size;
	if ((n = scandir(path, &names, NULL, NULL)) < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		char *child;
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..") &&
		    asprintf(&child, "%s/%s", path, names[i]->d_name) >= 0) {
			total += tree_bytes(child);
			free(child);
		}
		free(names[i]);
	}
	free(names);
	return total;
}

static int cmd_index(const struct peer_engine *e, const char *db, const char *dir)
{
	uint64_t t0 = now_ns();
	int64_t docs = 0;

	if (e->index_open(db) || walk(e, dir, &docs) || e->index_close()) {
		fprintf(stderr, "%s_peer: indexing failed\n", e->name);
		return 2;
	}
	printf("{\"engine\":\"%s\",\"documents\":%" PRId64 ",\"seconds\":%.3f,"
	       "\"bytes\":%" PRIu64 "}\n", e->name, docs,
	       (double)(now_ns() - t0) / 1e9, tree_bytes(db));
	return 0;
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

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmd_bench(const struct peer_engine *e, const char *db,
                     const char *file, enum peer_mode mode, int repeat)
{
	FILE *f = fopen(file, "r");
	uint64_t *samples = malloc((size_t)repeat * sizeof(uint64_t));
	char *line = NULL;
	size_t cap = 0, nq = 0;
	ssize_t len;

	if (!f || !samples || e->open(db)) {
		fprintf(stderr, "%s_peer: cannot open %s or %s\n", e->name, file, db);
		return 2;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		struct peer_answer first, a;
		char *tab, *text;
		int rc;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		nq++;
		tab = strchr(line, '\t');
		text = tab ? tab + 1 : line;
		if (tab)
			*tab = '\0';
		printf("{\"n\":%zu,\"category\":", nq);
		json_string(tab ? line : "all");
		fputs(",\"query\":", stdout);
		json_string(text);
		peer_answer_reset(&first);
		rc = e->run(text, mode, &first);
		if (rc == 1) {
			puts(",\"skipped\":\"not expressible\"}");
			continue;
		}
		for (int r = 0; rc == 0 && r < repeat; r++) {
			uint64_t t0 = now_ns();
			peer_answer_reset(&a);
			rc = e->run(text, mode, &a);
			samples[r] = now_ns() - t0;
			if (rc == 0 && (a.count != first.count || a.hash != first.hash)) {
				fprintf(stderr, "%s_peer: answer changed: %s\n", e->name, text);
				return 2;
			}
		}
		if (rc) {
			fprintf(stderr, "%s_peer: query failed: %s\n", e->name, text);
			return 2;
		}
		qsort(samples, (size_t)repeat, sizeof(uint64_t), compare_u64);
		printf(",\"count\":%" PRIu64 ",\"hash\":\"%016" PRIx64 "\",\"median_ns\":%"
		       PRIu64 ",\"min_ns\":%" PRIu64 "}\n", first.count,
		       mode == PEER_COUNT ? 0 : first.hash, samples[(repeat - 1) / 2],
		       samples[0]);
	}
	free(line);
	free(samples);
	fclose(f);
	return 0;
}

int peer_main(int argc, char **argv, const struct peer_engine *e)
{
	enum peer_mode mode = PEER_TOP10;
	int repeat = 5;

	if (argc == 4 && !strcmp(argv[1], "index"))
		return cmd_index(e, argv[2], argv[3]);
	if (argc >= 4 && !strcmp(argv[1], "bench")) {
		for (int i = 4; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "--mode"))
				mode = !strcmp(argv[i + 1], "count") ? PEER_COUNT
				     : !strcmp(argv[i + 1], "all") ? PEER_ALL : PEER_TOP10;
			else if (!strcmp(argv[i], "--repeat"))
				repeat = atoi(argv[i + 1]) > 0 ? atoi(argv[i + 1]) : 1;
		}
		return cmd_bench(e, argv[2], argv[3], mode, repeat);
	}
	fprintf(stderr, "usage: %s_peer index DB DIR\n"
	        "       %s_peer bench DB QUERY_FILE [--mode count|all|top10] "
	        "[--repeat R]\n", e->name, e->name);
	return 2;
}
