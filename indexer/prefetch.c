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
#include "file.h"
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
	if (!(doc->warning = lode_strdup(lode_one_line(msg))))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	return LODE_OK;
}

/* Open the regular file name in dir, known as path, for doc (its path and
 * stat): LODE_OK with *fd open, or with *fd = -1 and doc->warning set if
 * it is to be skipped; LODE_ENOMEM (err filled). */
static int open_document(int dir, const char *name, const char *path,
                         lode_document *doc, int *fd, lode_error *err)
{
	int saved_errno;

	memset(doc, 0, sizeof(*doc));
	*fd = -1;
	if (!(doc->path = lode_strdup(path)))
		return lode_fail(err, LODE_ENOMEM, "out of memory");
	/* Non-blocking, and checked again after opening: the entry may have
	 * been replaced (by a FIFO, say) since the walk saw it. */
	*fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return skip_with(doc, path, strerror(errno), err);
	if (fstat(*fd, &doc->st) != 0) {
		saved_errno = errno;
		close(*fd);
		*fd = -1;
		return skip_with(doc, path, strerror(saved_errno), err);
	}
	if (!S_ISREG(doc->st.st_mode)) {
		close(*fd);
		*fd = -1;
		return skip_with(doc, path, "no longer a regular file", err);
	}
	return LODE_OK;
}

/* Read the file open_document opened (at most its size then) and close
 * fd: LODE_OK with doc->data set, or with doc->warning set on a read
 * error; LODE_ENOMEM (err filled). */
static int read_document(int fd, lode_document *doc, lode_error *err)
{
	size_t len = (size_t)doc->st.st_size;
	int rc, saved_errno;

	if (len == SIZE_MAX || !(doc->data = lode_malloc(len + 1))) {
		close(fd);
		return lode_fail(err, LODE_ENOMEM, "%s: out of memory (%zu bytes)",
		                 doc->path, len);
	}
	rc = lode_read_full(fd, doc->data, len, &doc->len);
	saved_errno = errno;
	close(fd);
	if (rc)
		return skip_with(doc, doc->path, strerror(saved_errno), err);
	doc->data[doc->len] = '\0';
	return LODE_OK;
}

int lode_read_document(int dir, const char *name, const char *path,
                       lode_document *doc, lode_error *err)
{
	int fd, rc = open_document(dir, name, path, doc, &fd, err);

	if (rc || fd < 0)
		return rc;
	return read_document(fd, doc, err);
}

/* A queued item, and what it costs in memory: its bytes (the file's size
 * when it was opened), its strings, the node, and malloc's own. */
struct node {
	lode_document doc;
	size_t cost;
	struct node *next;
};

static size_t item_cost(const lode_document *doc, size_t bytes)
{
	return bytes + (doc->path ? strlen(doc->path) + 1 : 0) +
	       (doc->warning ? strlen(doc->warning) + 1 : 0) +
	       sizeof(struct node) + 64;
}

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
	int consumer_waits;        /* on filled */
	int reader_waits;          /* on drained, for room for want bytes */
	size_t want;
	struct node *head, *tail;  /* the queue, oldest first */
	size_t held;               /* cost of the item the consumer has */
	size_t reserved;           /* costs of the queue, the item being read
	                              and the consumer's: at most max_bytes,
	                              unless one item alone passes it */
	int stop;                  /* the consumer is gone: end the walk */
	int failed;                /* a warning was lost (out of memory) */
	int done;                  /* the walk ended, with rc */
	int rc;
	lode_error walk_err;       /* the reader's error, once done */
};

/* Room for an item of this cost: wait, if there is none, until the rest
 * is down to half the limit and the item fits (or nothing else is held),
 * so that the threads do not wake each other for every file.  STOPPED if
 * the consumer asked the reader to stop. */
static int reserve(struct lode_prefetch *pf, size_t cost)
{
	pthread_mutex_lock(&pf->mutex);
	if (!pf->stop && pf->reserved && pf->reserved + cost > pf->max_bytes) {
		pf->reader_waits = 1;
		pf->want = cost;
		while (!pf->stop && pf->reserved &&
		       (pf->reserved + cost > pf->max_bytes ||
		        pf->reserved > pf->max_bytes / 2))
			pthread_cond_wait(&pf->drained, &pf->mutex);
		pf->reader_waits = 0;
	}
	if (pf->stop) {
		pthread_mutex_unlock(&pf->mutex);
		return STOPPED;
	}
	pf->reserved += cost;
	pthread_mutex_unlock(&pf->mutex);
	return LODE_OK;
}

/* Append node n, whose cost is reserved, to the queue. */
static void append(struct lode_prefetch *pf, struct node *n)
{
	pthread_mutex_lock(&pf->mutex);
	if (pf->tail)
		pf->tail->next = n;
	else
		pf->head = n;
	pf->tail = n;
	if (pf->consumer_waits)
		pthread_cond_signal(&pf->filled);
	pthread_mutex_unlock(&pf->mutex);
}

/* Queue doc, which becomes the queue's (and is cleared), reading its file
 * first if fd is open; LODE_ENOMEM, or STOPPED if the consumer asked the
 * reader to stop (doc is released then). */
static int queue_document(struct lode_prefetch *pf, lode_document *doc,
                          int fd)
{
	struct node *n = lode_malloc(sizeof(*n));
	int rc;

	if (!n) {
		rc = lode_fail(&pf->walk_err, LODE_ENOMEM, "out of memory");
		goto fail;
	}
	n->cost = item_cost(doc, fd >= 0 ? (size_t)doc->st.st_size : 0);
	n->next = NULL;
	if ((rc = reserve(pf, n->cost)))
		goto fail;
	if (fd >= 0 && (rc = read_document(fd, doc, &pf->walk_err))) {
		pthread_mutex_lock(&pf->mutex);
		pf->reserved -= n->cost;
		pthread_mutex_unlock(&pf->mutex);
		lode_free(n);
		lode_document_release(doc);
		return rc;
	}
	n->doc = *doc;
	memset(doc, 0, sizeof(*doc));
	append(pf, n);
	return LODE_OK;
fail:
	if (fd >= 0)
		close(fd);
	lode_free(n);
	lode_document_release(doc);
	return rc;
}

static int on_file(void *ctx, const char *path, int dir, const char *name)
{
	struct lode_prefetch *pf = ctx;
	lode_document doc;
	int fd, rc;

	if (pf->failed)
		return LODE_ENOMEM; /* walk_err says so */
	if ((rc = open_document(dir, name, path, &doc, &fd, &pf->walk_err))) {
		lode_document_release(&doc);
		return rc;
	}
	return queue_document(pf, &doc, fd);
}

/* The walk's own warnings join the queue in order.  One that cannot (out
 * of memory) fails the walk at its next file, or at its end; a stop
 * requested meanwhile takes effect at the next file. */
static void on_warning(void *ctx, const char *message)
{
	struct lode_prefetch *pf = ctx;
	lode_document doc = {0};

	if (pf->failed)
		return;
	if (!(doc.warning = lode_strdup(message))) {
		lode_fail(&pf->walk_err, LODE_ENOMEM, "out of memory");
		pf->failed = 1;
		return;
	}
	if (queue_document(pf, &doc, -1) == LODE_ENOMEM)
		pf->failed = 1;
}

static void *reader(void *arg)
{
	struct lode_prefetch *pf = arg;
	lode_walk w = {on_file, on_warning, pf, pf->skip_dev, pf->skip_ino, 1};
	int rc = lode_walk_roots(&w, pf->roots, pf->nroots, &pf->walk_err);

	if (rc == LODE_OK && pf->failed)
		rc = LODE_ENOMEM;
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
		/* No thread: the caller walks on its own. */
		pthread_mutex_destroy(&pf->mutex);
		pthread_cond_destroy(&pf->filled);
		pthread_cond_destroy(&pf->drained);
		lode_free(pf);
		return LODE_OK;
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
	/* The item handed out last is done with. */
	pf->reserved -= pf->held;
	pf->held = 0;
	if (pf->reader_waits &&
	    (!pf->reserved || (pf->reserved + pf->want <= pf->max_bytes &&
	                       pf->reserved <= pf->max_bytes / 2)))
		pthread_cond_signal(&pf->drained);
	pf->consumer_waits = 1;
	while (!pf->head && !pf->done)
		pthread_cond_wait(&pf->filled, &pf->mutex);
	pf->consumer_waits = 0;
	n = pf->head;
	if (n) {
		pf->head = n->next;
		if (!pf->head)
			pf->tail = NULL;
		pf->held = n->cost;
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
