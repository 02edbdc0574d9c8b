/*
 * mapcopy.c -- index files mapped as exact-size heap copies, so that
 * AddressSanitizer sees a read past the end of a damaged file.
 *
 * A real mapping is padded with zeros to the end of its last page: a reader
 * that strays a few bytes past the end of a file reads zeros and nothing
 * notices.  The fuzz targets are linked with
 * -Wl,--wrap=mmap64,--wrap=munmap (glibc's mmap is mmap64 when
 * _FILE_OFFSET_BITS is 64), which sends the library's calls here: a
 * read-only mapping of a whole file becomes a malloc'd copy of exactly its
 * size, followed by ASan's redzone, and munmap frees it; madvise on a copy
 * does nothing (MADV_DONTNEED, lode_map_drop's advice, would zero heap
 * memory).  Any other call goes to the real function.  Not thread-safe, as
 * the targets are not.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_COPIES 64 /* mappings open at once: 11 per index, and some */

static struct {
	void *data;
	size_t len;
} copies[MAX_COPIES];

void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd,
                    off_t off);
int __real_munmap(void *addr, size_t len);
int __real_madvise(void *addr, size_t len, int advice);
int __wrap_madvise(void *addr, size_t len, int advice);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd,
                    off_t off);
int __wrap_munmap(void *addr, size_t len);

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd,
                    off_t off)
{
	size_t i, done = 0;
	ssize_t n;
	char *copy;

	for (i = 0; i < MAX_COPIES && copies[i].data; i++)
		continue;
	if (addr || prot != PROT_READ || off != 0 || fd < 0 || len == 0 ||
	    i == MAX_COPIES)
		return __real_mmap64(addr, len, prot, flags, fd, off);
	copy = malloc(len);
	if (!copy) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	while (done < len) {
		n = pread(fd, copy + done, len - done, (off_t)done);
		if (n <= 0) {
			free(copy);
			errno = n < 0 ? errno : EIO;
			return MAP_FAILED;
		}
		done += (size_t)n;
	}
	copies[i].data = copy;
	copies[i].len = len;
	return copy;
}

int __wrap_munmap(void *addr, size_t len)
{
	for (size_t i = 0; i < MAX_COPIES; i++) {
		if (copies[i].data == addr && addr) {
			if (copies[i].len != len)
				abort();
			free(addr);
			copies[i].data = NULL;
			return 0;
		}
	}
	return __real_munmap(addr, len);
}

int __wrap_madvise(void *addr, size_t len, int advice)
{
	for (size_t i = 0; i < MAX_COPIES; i++) {
		const char *c = copies[i].data, *a = addr;
		if (c && a >= c && a < c + copies[i].len)
			return 0;
	}
	return __real_madvise(addr, len, advice);
}
