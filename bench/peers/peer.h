/*
 * peer.h -- what every peer adapter shares: the same documents in the same
 * order as `lode index`, and the timing and answer rules of `lode bench`.
 *
 *     peer_main(argc, argv, &engine)
 *
 * runs "PEER index DB DIR" (engine.index_open, engine.add per document,
 * engine.index_close) or "PEER bench DB QUERIES [--mode M] [--repeat R]"
 * (engine.open, then per query one warm-up and R timed runs of engine.run,
 * each answer checked against the warm-up's, one JSON line per query in the
 * format of `lode bench --json`).  Peers are measuring instruments only.
 */
#ifndef LODE_PEER_H
#define LODE_PEER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum peer_mode { PEER_COUNT, PEER_ALL, PEER_TOP10 };

/* An answer: the number of results and FNV-1a of their lode ids in order. */
struct peer_answer {
	uint64_t count, hash;
};

void peer_answer_reset(struct peer_answer *a);
void peer_answer_add(struct peer_answer *a, uint64_t id);

struct peer_engine {
	const char *name;
	/* Start a new index at path; 0 on success. */
	int (*index_open)(const char *path);
	/* Add document id (lode's id) with its text. */
	int (*add)(int64_t id, const char *text, size_t len);
	int (*index_close)(void);
	/* Open an index for querying. */
	int (*open)(const char *path);
	/* Answer query (lode's syntax) in mode: 0 ok, 1 not expressible
	 * (skipped), -1 error. */
	int (*run)(const char *query, enum peer_mode mode, struct peer_answer *a);
};

int peer_main(int argc, char **argv, const struct peer_engine *engine);

#ifdef __cplusplus
}
#endif
#endif
