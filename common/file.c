/* file.c -- mapped index files and CRC-trailed output files. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdeflate.h>

#include "alloc.h"
#include "codec.h"
#include "error.h"
#include "format.h"

#define OUT_BUFFER_SIZE (1u << 20)

char *lode_path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = lode_malloc(la + lb + 2);

	if (!p)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

int lode_map_open(lode_map *map, const char *path, const char *magic,
                  size_t min_footer, lode_error *err)
{
	struct stat st;
	void *data;
	uint32_t version;
	int fd, rc;

	memset(map, 0, sizeof(*map));
	map->path = lode_strdup(path);
	if (!map->path)
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			rc = lode_fail(err, LODE_ENOTFOUND, "%s: missing", path);
		else
			rc = lode_fail_errno(err, "%s", path);
		goto out_free_path;
	}
	if (fstat(fd, &st) != 0) {
		rc = lode_fail_errno(err, "%s", path);
		goto out_close_fd;
	}
	if (!S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < LODE_HEADER_SIZE + min_footer) {
		rc = lode_fail(err, LODE_ECORRUPT,
		               "%s: corrupt: file is truncated (%lld bytes)", path,
		               (long long)st.st_size);
		goto out_close_fd;
	}
	data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (data == MAP_FAILED) {
		rc = lode_fail_errno(err, "%s: mmap", path);
		goto out_close_fd;
	}
	close(fd);
	map->data = data;
	map->size = (size_t)st.st_size;
	if (memcmp(map->data, magic, LODE_MAGIC_LEN) != 0) {
		rc = lode_fail(err, LODE_ECORRUPT, "%s: corrupt: bad magic number",
		               path);
		goto out_unmap;
	}
	version = lode_get32(map->data + LODE_MAGIC_LEN);
	if (version != LODE_FORMAT_VERSION) {
		rc = lode_fail(err, LODE_EVERSION,
		               "%s: index format version %u, this lode reads "
		               "version %u (run lode index again)",
		               path, version, LODE_FORMAT_VERSION);
		goto out_unmap;
	}
	return LODE_OK;

out_close_fd:
	close(fd);
out_free_path:
	lode_map_close(map);
	return rc;
out_unmap:
	lode_map_close(map);
	return rc;
}

int lode_map_verify_crc(const lode_map *map, lode_error *err)
{
	size_t body = map->size - 4;
	uint32_t crc = libdeflate_crc32(0, map->data, body);

	if (crc != lode_get32(map->data + body))
		return lode_fail(err, LODE_ECORRUPT,
		                 "%s: corrupt: checksum mismatch", map->path);
	return LODE_OK;
}

void lode_map_drop(const lode_map *map, size_t from, size_t to)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)map->data + from, b = (uintptr_t)map->data + to;

	a = (a + page - 1) & ~(page - 1);
	b &= ~(page - 1);
	if (!map->data || to > map->size || a >= b)
		return;
	/* Advice only: the file's pages stay in the page cache, and a
	 * failure costs nothing but memory. */
	(void)madvise((void *)a, (size_t)(b - a), MADV_DONTNEED);
}

void lode_map_close(lode_map *map)
{
	if (map->data)
		munmap((void *)map->data, map->size);
	lode_free(map->path);
	memset(map, 0, sizeof(*map));
}

/* Write the buffer out; the caller has folded it into the CRC. */
static int out_flush(lode_out *out, lode_error *err)
{
	size_t done = 0;

	while (done < out->used) {
		ssize_t n = write(out->fd, out->buf + done, out->used - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return lode_fail_errno(err, "%s: write", out->path);
		}
		done += (size_t)n;
	}
	out->used = 0;
	return LODE_OK;
}

int lode_out_open(lode_out *out, const char *path, const char *magic,
                  lode_error *err)
{
	uint8_t header[LODE_HEADER_SIZE] = {0};

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	out->path = lode_strdup(path);
	out->buf = lode_malloc(OUT_BUFFER_SIZE);
	if (!out->path || !out->buf) {
		lode_out_abort(out);
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	}
	out->cap = OUT_BUFFER_SIZE;
	out->crc = 0; /* the CRC-32 of nothing */
	out->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out->fd < 0) {
		int rc = lode_fail_errno(err, "%s: create", path);
		lode_out_abort(out);
		return rc;
	}
	memcpy(header, magic, LODE_MAGIC_LEN);
	lode_put32(header + LODE_MAGIC_LEN, LODE_FORMAT_VERSION);
	return lode_out_write(out, header, sizeof(header), err);
}

int lode_out_write_slow(lode_out *out, const void *data, size_t len,
                        lode_error *err)
{
	const uint8_t *p = data;
	int rc;

	while (len) {
		size_t n = out->cap - out->used;
		if (n > len)
			n = len;
		memcpy(out->buf + out->used, p, n);
		out->used += n;
		out->offset += n;
		p += n;
		len -= n;
		if (out->used == out->cap) {
			out->crc = libdeflate_crc32(out->crc, out->buf,
			                           out->used);
			if ((rc = out_flush(out, err)) != LODE_OK)
				return rc;
		}
	}
	return LODE_OK;
}

int lode_out_put32(lode_out *out, uint32_t v, lode_error *err)
{
	uint8_t b[4];

	lode_put32(b, v);
	return lode_out_write(out, b, 4, err);
}

int lode_out_put64(lode_out *out, uint64_t v, lode_error *err)
{
	uint8_t b[8];

	lode_put64(b, v);
	return lode_out_write(out, b, 8, err);
}

int lode_out_vbyte(lode_out *out, uint64_t v, lode_error *err)
{
	uint8_t b[LODE_VBYTE_MAX];

	return lode_out_write(out, b, lode_vbyte_put(b, v), err);
}

int lode_out_finish(lode_out *out, lode_error *err)
{
	int rc = LODE_OK;

	/* The buffer is never full here (a full one is flushed at once),
	 * but may lack room for the CRC. */
	out->crc = libdeflate_crc32(out->crc, out->buf, out->used);
	if (out->cap - out->used < 4)
		rc = out_flush(out, err);
	if (rc == LODE_OK) {
		lode_put32(out->buf + out->used, out->crc);
		out->used += 4;
		out->offset += 4;
		rc = out_flush(out, err);
	}
	if (rc == LODE_OK && fsync(out->fd) != 0)
		rc = lode_fail_errno(err, "%s: fsync", out->path);
	if (close(out->fd) != 0 && rc == LODE_OK)
		rc = lode_fail_errno(err, "%s: close", out->path);
	out->fd = -1;
	lode_out_abort(out);
	return rc;
}

void lode_out_abort(lode_out *out)
{
	if (!out)
		return;
	if (out->fd >= 0)
		close(out->fd);
	out->fd = -1;
	lode_free(out->buf);
	lode_free(out->path);
	out->buf = NULL;
	out->path = NULL;
}

int lode_sync_dir(const char *path, lode_error *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = LODE_OK;

	if (fd < 0)
		return lode_fail_errno(err, "%s", path);
	if (fsync(fd) != 0)
		rc = lode_fail_errno(err, "%s: fsync", path);
	close(fd);
	return rc;
}

int lode_read_full(int fd, char *data, size_t len, size_t *got)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*got = done;
	return 0;
}
