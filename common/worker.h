/*
 * worker.h -- a helper thread that runs its owner's job, one at a time.
 *
 * Calls:  lode_worker_start  (lode_worker_give  lode_worker_wait)*
 *         lode_worker_stop
 *
 * The owner fills in the job's data, gives the job, goes on with work of
 * its own, and waits before it touches the job's data again.  Give and wait
 * take the worker's lock, which orders every access to the data on either
 * side: they need no lock of their own.  The document writer compresses its
 * chunks on a worker, and the postings writer encodes batches of terms.
 */
#ifndef LODE_COMMON_WORKER_H
#define LODE_COMMON_WORKER_H

#include <pthread.h>

typedef struct lode_worker {
	void (*job)(void *arg);
	void *arg;
	pthread_t thread;
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	int busy;   /* a job given and not done */
	int stop;   /* the thread should end */
} lode_worker;

/* Start the thread that runs job(arg) at each give: LODE_OK, or
 * LODE_ENOMEM if no thread could be started (the owner then does the work
 * itself, and must not call the others). */
int lode_worker_start(lode_worker *w, void (*job)(void *arg), void *arg);

/* Run the job once; the worker must be idle (just started, or waited). */
void lode_worker_give(lode_worker *w);

/* Return once the job given last is done (at once if none is pending). */
void lode_worker_wait(lode_worker *w);

/* Wait for the job, end the thread and free what the worker holds. */
void lode_worker_stop(lode_worker *w);

#endif
