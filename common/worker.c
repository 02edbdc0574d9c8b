/* worker.c -- a helper thread running one job at a time (worker.h). */
#include "worker.h"

#include "lode.h"

static void *run(void *arg)
{
	lode_worker *w = arg;

	pthread_mutex_lock(&w->mutex);
	for (;;) {
		while (!w->busy && !w->stop)
			pthread_cond_wait(&w->cond, &w->mutex);
		if (!w->busy)
			break;
		pthread_mutex_unlock(&w->mutex);
		w->job(w->arg);
		pthread_mutex_lock(&w->mutex);
		w->busy = 0;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->mutex);
	return NULL;
}

int lode_worker_start(lode_worker *w, void (*job)(void *arg), void *arg)
{
	w->job = job;
	w->arg = arg;
	w->busy = 0;
	w->stop = 0;
	pthread_mutex_init(&w->mutex, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		pthread_mutex_destroy(&w->mutex);
		pthread_cond_destroy(&w->cond);
		return LODE_ENOMEM;
	}
	return LODE_OK;
}

void lode_worker_give(lode_worker *w)
{
	pthread_mutex_lock(&w->mutex);
	w->busy = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mutex);
}

void lode_worker_wait(lode_worker *w)
{
	pthread_mutex_lock(&w->mutex);
	while (w->busy)
		pthread_cond_wait(&w->cond, &w->mutex);
	pthread_mutex_unlock(&w->mutex);
}

void lode_worker_stop(lode_worker *w)
{
	pthread_mutex_lock(&w->mutex);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mutex);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mutex);
	pthread_cond_destroy(&w->cond);
}
