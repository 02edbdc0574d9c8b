/*
 * file.h -- reading index files through mmap, writing them with a CRC.
 *
 * Reading:  lode_map_open (check header, footer CRC optional) ... lode_map_close
 * Writing:  lode_out_open  lode_out_write*  lode_out_finish | lode_out_abort
 *
 * lode_out_* buffers writes, keeps the running CRC32 of every byte written
 * and, on finish, appends the CRC, fsyncs and closes: a file is either
 * complete with a valid trailer or reported as failed.
 */
#ifndef LODE_COMMON_FILE_H
#define LODE_COMMON_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lode.h"

/* A read-only mapping of a whole index file. */
typedef struct lode_map {
	const uint8_t *data; /* size bytes; NULL for an empty file */
	size_t size;
	char *path;          /* for messages; owned */
} lode_map;

/*
 * Map path and check it: at least header + min_footer bytes, the magic and
 * the format version.  Returns LODE_ENOTFOUND (missing), LODE_EIO,
 * LODE_ECORRUPT (short, wrong magic) or LODE_EVERSION.
 */
int lode_map_open(lode_map *map, const char *path, const char *magic,
                  size_t min_footer, lode_error *err);

/* Check the trailing CRC32 over the whole file; LODE_ECORRUPT on mismatch. */
int lode_map_verify_crc(const lode_map *map, lode_error *err);

/* Bytes [from, to) of the map will not be read again: let their pages go
 * (whole pages inside the range), so that a long sequential read does not
 * hold the whole file in resident memory. */
void lode_map_drop(const lode_map *map, size_t from, size_t to);

/* Unmap; a zeroed or already closed map is fine. */
void lode_map_close(lode_map *map);

/* A buffered output file with a running CRC. */
typedef struct lode_out {
	int fd;
	char *path;       /* owned */
	uint8_t *buf;     /* write buffer */
	size_t used, cap;
	uint64_t offset;  /* bytes written so far, buffered ones included */
	uint32_t crc;     /* CRC32 of the bytes flushed from buf so far: the
	                     buffer is folded in once when full, not per write */
} lode_out;

/* Create path (truncating) and write the 16-byte header with magic. */
int lode_out_open(lode_out *out, const char *path, const char *magic,
                  lode_error *err);
int lode_out_write_slow(lode_out *out, const void *data, size_t len,
                        lode_error *err);

/* Append data[0, len); 0 or LODE_EIO.  Inline while the buffer has room:
 * the dictionary and the postings are written a few bytes at a time. */
static inline int lode_out_write(lode_out *out, const void *data, size_t len,
                                 lode_error *err)
{
	if (len > 0 && len < out->cap - out->used) {
		memcpy(out->buf + out->used, data, len);
		out->used += len;
		out->offset += len;
		return 0;
	}
	return lode_out_write_slow(out, data, len, err);
}
int lode_out_put32(lode_out *out, uint32_t v, lode_error *err);
int lode_out_put64(lode_out *out, uint64_t v, lode_error *err);
int lode_out_vbyte(lode_out *out, uint64_t v, lode_error *err);
/* Append the CRC, flush, fsync and close. */
int lode_out_finish(lode_out *out, lode_error *err);
/* Close without finishing (the caller removes the file); NULL-safe. */
void lode_out_abort(lode_out *out);

/* fsync a directory so that renames and creations in it are durable. */
int lode_sync_dir(const char *path, lode_error *err);

/* Read up to len bytes of fd into data; *got receives how many there were
 * (fewer if the file ends first).  -1 with errno on a read error. */
int lode_read_full(int fd, char *data, size_t len, size_t *got);

/* Join a and b with '/' into a new string (lode_malloc'd); NULL on ENOMEM. */
char *lode_path_join(const char *a, const char *b);

#endif
