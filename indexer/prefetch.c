/* prefetch.c -- reading the files to index ahead, on a thread of their own. */
#include "prefetch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "walk.h"

/* The walk callbacks' return when the consumer asked the reader to stop:
 * positive, so never one of the LODE_E* codes. */
#define STOPPED 1

void lode_document_release(lode_document *doc)
{
	lode_free(doc->path);
	lode_free(doc->data);
	lode_free(doc->warning);
	memset(doc, 0, sizeof(*doc));
}

/* doc becomes the warning "path: what"; LODE_ENOMEM if it cannot. */
static int skip_with(lode_document *doc, const char *path, const char *what,
                     lode_error *err)
{
	char msg[4096];

	snprintf(msg, sizeof(msg), "%s: %s", path, what);
	lode_free(doc->data);
	doc->data = NULL;
	if (!(doc->warning = lode_strdup(msg)))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	return LODE_OK;
}

/* Read up to len bytes of fd into data; *got receives how many there were
 * (fewer if the file shrank meanwhile).  -1 with errno on a read error. */
static int read_all(int fd, char *data, size_t len, size_t *got)
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

int lode_read_document(const char *path, lode_document *doc, lode_error *err)
{
	size_t len;
	int fd, rc, saved_errno;

	memset(doc, 0, sizeof(*doc));
	if (!(doc->path = lode_strdup(path)))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	/* Non-blocking, and checked again after opening: the entry may have
	 * been replaced (by a FIFO, say) since the walk saw it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return skip_with(doc, path, strerror(errno), err);
	if (fstat(fd, &doc->st) != 0) {
		saved_errno = errno;
		close(fd);
		return skip_with(doc, path, strerror(saved_errno), err);
	}
	if (!S_ISREG(doc->st.st_mode)) {
		close(fd);
		return skip_with(doc, path, "no longer a regular file", err);
	}
	len = (size_t)doc->st.st_size;
	if (len == SIZE_MAX || !(doc->data = lode_malloc(len + 1))) {
		close(fd);
		return lode_fail(err, LODE_ENOMEM, "%s: out of memory (%zu bytes)",
		                 path, len);
	}
	rc = read_all(fd, doc->data, len, &doc->len);
	saved_errno = errno;
	close(fd);
	if (rc)
		return skip_with(doc, path, strerror(saved_errno), err);
	doc->data[doc->len] = '\0';
	return LODE_OK;
}

/* A queued item. */
struct node {
	lode_document doc;
	struct node *next;
};

struct lode_prefetch {
	const char *const *roots;
	size_t nroots;
	dev_t skip_dev;
	ino_t skip_ino;
	size_t max_bytes;

	pthread_t thread;
	pthread_mutex_t mutex;
	pthread_cond_t filled;     /* for the consumer: an item, or the end */
	pthread_cond_t drained;    /* for the reader: room, or stop */
	int consumer_waits, reader_waits; /* on filled, on drained */
	struct node *head, *tail;  /* the queue, oldest first */
	size_t queued_bytes;       /* of the documents in the queue */
	int stop;                  /* the consumer is gone: end the walk */
	int done;                  /* the walk ended, with rc */
	int rc;
	lode_error walk_err;       /* the reader's error, once done */
};

/* Append doc (taken over, and cleared) to the queue, waiting while it is
 * full; STOPPED if the consumer asked the reader to stop. */
static int enqueue(struct lode_prefetch *pf, lode_document *doc)
{
	struct node *n = lode_malloc(sizeof(*n));

	if (!n) {
		lode_document_release(doc);
		return lode_fail(&pf->walk_err, LODE_ENOMEM, "out of memory");
	}
	n->doc = *doc;
	n->next = NULL;
	memset(doc, 0, sizeof(*doc));
	pthread_mutex_lock(&pf->mutex);
	if (!pf->stop && pf->head &&
	    pf->queued_bytes + n->doc.len > pf->max_bytes) {
		/* Full: wait until it is half empty, so that the threads
		 * do not wake each other for every file. */
		pf->reader_waits = 1;
		while (!pf->stop && pf->head &&
		       pf->queued_bytes > pf->max_bytes / 2)
			pthread_cond_wait(&pf->drained, &pf->mutex);
		pf->reader_waits = 0;
	}
	if (pf->stop) {
		pthread_mutex_unlock(&pf->mutex);
		lode_document_release(&n->doc);
		lode_free(n);
		return STOPPED;
	}
	if (pf->tail)
		pf->tail->next = n;
	else
		pf->head = n;
	pf->tail = n;
	pf->queued_bytes += n->doc.len;
	if (pf->consumer_waits)
		pthread_cond_signal(&pf->filled);
	pthread_mutex_unlock(&pf->mutex);
	return LODE_OK;
}

static int on_file(void *ctx, const char *path)
{
	struct lode_prefetch *pf = ctx;
	lode_document doc;
	int rc = lode_read_document(path, &doc, &pf->walk_err);

	if (rc) {
		lode_document_release(&doc);
		return rc;
	}
	return enqueue(pf, &doc);
}

/* The walk's own warnings join the queue in order; one that cannot is
 * lost, as the walk cannot be stopped from here (the next file's enqueue
 * will fail the same way). */
static void on_warning(void *ctx, const char *message)
{
	struct lode_prefetch *pf = ctx;
	lode_document doc = {0};

	if ((doc.warning = lode_strdup(message)))
		(void)enqueue(pf, &doc);
}

static void *reader(void *arg)
{
	struct lode_prefetch *pf = arg;
	int rc = LODE_OK;

	for (size_t i = 0; rc == LODE_OK && i < pf->nroots; i++) {
		lode_walk w = {on_file, on_warning, pf, pf->skip_dev,
		               pf->skip_ino, 1};
		rc = lode_walk_tree(&w, pf->roots[i], &pf->walk_err);
	}
	pthread_mutex_lock(&pf->mutex);
	pf->done = 1;
	pf->rc = rc == STOPPED ? LODE_OK : rc;
	pthread_cond_signal(&pf->filled);
	pthread_mutex_unlock(&pf->mutex);
	return NULL;
}

int lode_prefetch_start(const char *const *roots, size_t nroots,
                        dev_t skip_dev, ino_t skip_ino, size_t max_bytes,
                        struct lode_prefetch **out, lode_error *err)
{
	struct lode_prefetch *pf = lode_calloc(1, sizeof(*pf));

	*out = NULL;
	if (!pf)
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	pf->roots = roots;
	pf->nroots = nroots;
	pf->skip_dev = skip_dev;
	pf->skip_ino = skip_ino;
	pf->max_bytes = max_bytes;
	pthread_mutex_init(&pf->mutex, NULL);
	pthread_cond_init(&pf->filled, NULL);
	pthread_cond_init(&pf->drained, NULL);
	if (pthread_create(&pf->thread, NULL, reader, pf) != 0) {
		pthread_mutex_destroy(&pf->mutex);
		pthread_cond_destroy(&pf->filled);
		pthread_cond_destroy(&pf->drained);
		lode_free(pf);
		return lode_fail(err, LODE_ENOMEM, "cannot start a reader thread");
	}
	*out = pf;
	return LODE_OK;
}

int lode_prefetch_next(struct lode_prefetch *pf, lode_document *doc,
                       lode_error *err)
{
	struct node *n;
	int rc;

	pthread_mutex_lock(&pf->mutex);
	pf->consumer_waits = 1;
	while (!pf->head && !pf->done)
		pthread_cond_wait(&pf->filled, &pf->mutex);
	pf->consumer_waits = 0;
	n = pf->head;
	if (n) {
		pf->head = n->next;
		if (!pf->head)
			pf->tail = NULL;
		pf->queued_bytes -= n->doc.len;
		if (pf->reader_waits &&
		    (!pf->head || pf->queued_bytes <= pf->max_bytes / 2))
			pthread_cond_signal(&pf->drained);
	}
	rc = pf->rc;
	pthread_mutex_unlock(&pf->mutex);
	if (n) {
		*doc = n->doc;
		lode_free(n);
		return 1;
	}
	/* done, and the queue drained: walk_err is the reader's no more. */
	if (rc && err)
		*err = pf->walk_err;
	return rc;
}

void lode_prefetch_stop(struct lode_prefetch *pf)
{
	if (!pf)
		return;
	pthread_mutex_lock(&pf->mutex);
	pf->stop = 1;
	pthread_cond_signal(&pf->drained);
	pthread_mutex_unlock(&pf->mutex);
	pthread_join(pf->thread, NULL);
	while (pf->head) {
		struct node *n = pf->head;
		pf->head = n->next;
		lode_document_release(&n->doc);
		lode_free(n);
	}
	pthread_mutex_destroy(&pf->mutex);
	pthread_cond_destroy(&pf->filled);
	pthread_cond_destroy(&pf->drained);
	lode_free(pf);
}
