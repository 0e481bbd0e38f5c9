/* SPDX-License-Identifier: Apache-2.0 */
/* runner_workers.c - N worker loops as threads of one process, for
 * `lmnas serve --workers N` and `lmnas worker --concurrency N`. Each
 * thread has its own pool (three connections: the job's, its heartbeat's
 * and the cancel listener's) so that one busy job never waits for
 * another's connection. */
#include "runner/runner.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct worker_thread {
	struct runner_workers *w;
	pthread_t tid;
	int started;
	int jobs;
	char name[256];
};

struct runner_workers {
	struct runner_workers_config c;
	char url[1024];
	int count;
	struct worker_thread *t; /* (count) */
};

static void *worker_main(void *arg)
{
	struct worker_thread *t = arg;
	struct runner_workers *w = t->w;
	struct runner_worker_config wc;
	struct store_pool *pool = NULL;
	char err[CORE_ERR_LEN];

	core_log_set_context(t->name);
	/* the job's connection, the heartbeat's, the cancel listener's */
	if (store_pool_open(w->url, 3, &pool, err, sizeof err)) {
		LOG_ERROR("worker %s: %s", t->name, err);
		return NULL;
	}
	memset(&wc, 0, sizeof wc);
	wc.job.worker = t->name;
	wc.job.lease_s = w->c.lease_s;
	wc.job.stop = w->c.stop;
	wc.job.max_threads = w->c.max_threads;
	wc.job.listen_cancel = 1;
	wc.idle_s = 2.0;
	/* one thread is enough to prune; they would share the work anyway
	 * (SKIP LOCKED), this keeps the idle queries down */
	wc.retention_s = t == &w->t[0] ? w->c.retention_s : 0;
	wc.prune_every_s = w->c.prune_every_s;
	LOG_INFO("worker %s waiting for jobs", t->name);
	if (runner_worker_run(pool, &wc, &t->jobs, err, sizeof err))
		LOG_ERROR("worker %s: %s", t->name, err);
	store_pool_close(pool);
	core_log_set_context(NULL);
	return NULL;
}

enum core_status runner_workers_start(const struct runner_workers_config *c,
				      struct runner_workers **out, char *err,
				      size_t errlen)
{
	struct runner_workers *w = NULL;
	enum core_status st = CORE_OK;

	*out = NULL;
	if (c->count < 1 || c->count > 256 || !c->stop) {
		core_errf(err, errlen, "workers: %d is outside 1..256",
			  c->count);
		return CORE_ERR_INVALID;
	}
	if (strlen(c->url) >= sizeof w->url) {
		core_errf(err, errlen, "workers: database URL too long");
		return CORE_ERR_INVALID;
	}
	w = core_calloc(1, sizeof *w);
	if (w)
		w->t = core_calloc((size_t)c->count, sizeof *w->t);
	if (!w || !w->t) {
		core_errf(err, errlen, "out of memory starting %d workers",
			  c->count);
		st = CORE_ERR_NOMEM;
		goto fail;
	}
	w->c = *c;
	memcpy(w->url, c->url, strlen(c->url) + 1);
	w->c.url = w->url;
	w->count = c->count;
	for (int k = 0; k < c->count; k++) {
		struct worker_thread *t = &w->t[k];

		t->w = w;
		snprintf(t->name, sizeof t->name, "%.200s/%d", c->name, k);
		if (pthread_create(&t->tid, NULL, worker_main, t)) {
			core_errf(err, errlen, "cannot start worker thread %d",
				  k);
			st = CORE_ERR_INTERNAL;
			goto fail;
		}
		t->started = 1;
	}
	w->c.name = NULL; /* not kept: each thread has its own copy */
	*out = w;
	return CORE_OK;
fail:
	if (w && w->t) {
		*c->stop = 1; /* the threads started so far leave at once */
		runner_workers_join(w);
		return st;
	}
	if (w)
		core_free(w);
	return st;
}

int runner_workers_join(struct runner_workers *w)
{
	int jobs = 0;

	if (!w)
		return 0;
	for (int k = 0; k < w->count; k++) {
		if (!w->t[k].started)
			continue;
		pthread_join(w->t[k].tid, NULL);
		jobs += w->t[k].jobs;
	}
	core_free(w->t);
	core_free(w);
	return jobs;
}
