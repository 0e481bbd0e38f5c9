/* SPDX-License-Identifier: Apache-2.0 */
/* runner_lease.c - keeping a job's lease while it runs: a heartbeat
 * thread renews it every third of its length whatever the job is doing (an
 * LLM call, an epoch, an export), carries the progress document, and
 * raises j->halt when the lease is lost, a cancel is requested (a NOTIFY
 * on lmnas_cancel, or polled every CANCEL_POLL_S) or the process is asked
 * to stop; plus the job's events. */
#include "runner_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often the thread looks at rc->stop between beats. */
#define BEAT_POLL_S 0.1
/* Without a cancel listener (rc->listen_cancel unset, or LISTEN failed),
 * how often it reads jobs.cancel_requested between renewals: a cancel set
 * from any connection (the API, the CLI, psql) reaches a job on any
 * worker within about this, whatever the lease length. One primary-key
 * read a second per running job is cheap next to training. With the
 * listener, the NOTIFY is read every BEAT_POLL_S instead. */
#define CANCEL_POLL_S 1.0

static void progress_json(struct job *j, char *out, size_t len)
{
	snprintf(out, len,
		 "{\"phase\":\"%s\",\"round\":%d,\"rounds\":%d,"
		 "\"candidate_id\":%lld,\"epoch\":%d,\"epochs\":%d,"
		 "\"evaluated\":%d,\"front_size\":%d,\"hypervolume\":%.6f,"
		 "\"eta_s\":%.0f,\"img_per_s\":%.1f}",
		 j->prog.phase, j->prog.round + 1, j->prog.rounds,
		 j->prog.candidate_id, j->prog.epoch, j->prog.epochs,
		 j->prog.evaluated, j->prog.front_size, j->prog.hypervolume,
		 j->prog.eta_s, j->prog.img_per_s);
}

/* One renewal with the latest progress; records a lost lease or a cancel
 * request. Called with hb_lock not held. */
static void renew(struct job *j)
{
	char err[CORE_ERR_LEN], progress[sizeof j->hb_progress];
	int cancel = 0;
	enum core_status st;

	pthread_mutex_lock(&j->hb_lock);
	memcpy(progress, j->hb_progress, sizeof progress);
	pthread_mutex_unlock(&j->hb_lock);
	st = queue_job_heartbeat(j->p, j->id, j->rc->worker, j->rc->lease_s,
				 progress[0] ? progress : NULL, &cancel, err,
				 sizeof err);
	pthread_mutex_lock(&j->hb_lock);
	if (st == CORE_ERR_CONFLICT) {
		if (!j->lease_lost)
			LOG_WARN("%s", err);
		j->lease_lost = 1;
		j->halt = 1;
	} else if (st) {
		/* a database hiccup: the lease has two more beats of slack */
		LOG_WARN("heartbeat: %s", err);
	} else if (cancel) {
		j->cancel_requested = 1;
		j->halt = 1;
	}
	pthread_mutex_unlock(&j->hb_lock);
}

/* Records a cancel request seen by the heartbeat thread (how: for the
 * log). Called with hb_lock not held. */
static void cancel_seen(struct job *j, const char *how)
{
	LOG_INFO("job %lld: cancel requested (%s)", j->id, how);
	pthread_mutex_lock(&j->hb_lock);
	j->cancel_requested = 1;
	j->halt = 1;
	pthread_mutex_unlock(&j->hb_lock);
}

/* A cancel requested since the last renewal. Called with hb_lock not
 * held; a failed read is left to the next poll or renewal. */
static void cancel_poll(struct job *j)
{
	char err[CORE_ERR_LEN];
	int cancel = 0;

	if (queue_job_cancel_requested(j->p, j->id, &cancel, err, sizeof err) ||
	    !cancel)
		return;
	cancel_seen(j, "poll");
}

/* The cancel listener (rc->listen_cancel): a pooled connection held for
 * the job's run, LISTENing on the channel migration 0005's trigger
 * notifies. Any failure leaves the thread polling instead. */
static void listen_start(struct job *j)
{
	char err[CORE_ERR_LEN];
	struct store_conn *c = NULL;

	if (!j->rc->listen_cancel)
		return;
	if (store_conn_acquire(j->p, 2.0, &c, err, sizeof err)) {
		LOG_WARN("cancel listener: %s; polling instead", err);
		return;
	}
	if (store_exec_sql(c, "LISTEN lmnas_cancel", err, sizeof err)) {
		LOG_WARN("cancel listener: %s; polling instead", err);
		store_conn_release(j->p, c);
		return;
	}
	j->listener = c;
}

static void listen_stop(struct job *j)
{
	char err[CORE_ERR_LEN];

	if (!j->listener)
		return;
	/* the connection goes back to the pool: it must not keep
	 * listening (a broken one is closed by the release) */
	if (PQstatus(store_conn_pg(j->listener)) == CONNECTION_OK)
		store_exec_sql(j->listener, "UNLISTEN *", err, sizeof err);
	store_conn_release(j->p, j->listener);
	j->listener = NULL;
}

/* Reads what arrived on the listener without blocking; 1 when this job's
 * cancel was notified. A broken connection ends listening. */
static int listen_check(struct job *j)
{
	PGconn *pg = store_conn_pg(j->listener);
	PGnotify *n;
	int hit = 0;

	if (!PQconsumeInput(pg)) {
		LOG_WARN("job %lld: cancel listener lost; polling instead",
			 j->id);
		listen_stop(j);
		return 0;
	}
	while ((n = PQnotifies(pg)) != NULL) {
		if (n->extra && strtoll(n->extra, NULL, 10) == j->id)
			hit = 1;
		PQfreemem(n);
	}
	return hit;
}

static void *heartbeat_main(void *arg)
{
	struct job *j = arg;
	double period = j->rc->lease_s / 3.0;
	double next = core_now_seconds() + period;
	double next_poll = core_now_seconds() + CANCEL_POLL_S;

	listen_start(j);
	if (j->listener)
		cancel_poll(j); /* one asked before the LISTEN began */
	pthread_mutex_lock(&j->hb_lock);
	while (!j->hb_quit) {
		struct timespec ts;
		double wait = next - core_now_seconds();

		if (wait > BEAT_POLL_S)
			wait = BEAT_POLL_S;
		if (wait > 0) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)(wait * 1e9);
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&j->hb_cond, &j->hb_lock, &ts);
		}
		if (j->rc->stop && *j->rc->stop)
			j->halt = 1;
		if (!j->hb_quit && !j->halt && j->listener) {
			pthread_mutex_unlock(&j->hb_lock);
			if (listen_check(j))
				cancel_seen(j, "NOTIFY");
			pthread_mutex_lock(&j->hb_lock);
		} else if (!j->hb_quit && !j->halt &&
			   core_now_seconds() >= next_poll) {
			pthread_mutex_unlock(&j->hb_lock);
			cancel_poll(j);
			pthread_mutex_lock(&j->hb_lock);
			next_poll = core_now_seconds() + CANCEL_POLL_S;
		}
		if (j->hb_quit || core_now_seconds() < next)
			continue;
		pthread_mutex_unlock(&j->hb_lock);
		renew(j);
		pthread_mutex_lock(&j->hb_lock);
		next = core_now_seconds() + period;
	}
	pthread_mutex_unlock(&j->hb_lock);
	listen_stop(j);
	return NULL;
}

enum core_status job_lease_start(struct job *j, char *err, size_t errlen)
{
	if (pthread_mutex_init(&j->hb_lock, NULL)) {
		core_errf(err, errlen, "cannot create the heartbeat lock");
		return CORE_ERR_INTERNAL;
	}
	if (pthread_cond_init(&j->hb_cond, NULL)) {
		pthread_mutex_destroy(&j->hb_lock);
		core_errf(err, errlen, "cannot create the heartbeat condition");
		return CORE_ERR_INTERNAL;
	}
	j->hb_init = 1;
	if (pthread_create(&j->hb_thread, NULL, heartbeat_main, j)) {
		core_errf(err, errlen, "cannot start the heartbeat thread");
		return CORE_ERR_INTERNAL;
	}
	j->hb_running = 1;
	return CORE_OK;
}

void job_lease_stop(struct job *j)
{
	if (!j->hb_init)
		return;
	if (j->hb_running) {
		pthread_mutex_lock(&j->hb_lock);
		j->hb_quit = 1;
		pthread_cond_signal(&j->hb_cond);
		pthread_mutex_unlock(&j->hb_lock);
		pthread_join(j->hb_thread, NULL);
		j->hb_running = 0;
	}
	pthread_cond_destroy(&j->hb_cond);
	pthread_mutex_destroy(&j->hb_lock);
	j->hb_init = 0;
}

int job_halted(struct job *j)
{
	int h;

	if (j->rc->stop && *j->rc->stop)
		return 1;
	if (!j->hb_init)
		return j->halt;
	pthread_mutex_lock(&j->hb_lock);
	h = j->halt;
	pthread_mutex_unlock(&j->hb_lock);
	return h;
}

int job_beat(struct job *j, int force)
{
	char progress[sizeof j->hb_progress];

	if (j->rc->progress)
		j->rc->progress(&j->prog, j->rc->ctx);
	progress_json(j, progress, sizeof progress);
	if (j->hb_init) {
		pthread_mutex_lock(&j->hb_lock);
		memcpy(j->hb_progress, progress, sizeof progress);
		pthread_mutex_unlock(&j->hb_lock);
	}
	/* a forced beat (a phase change) stores the progress at once */
	if (force && j->hb_init && !job_halted(j))
		renew(j);
	return job_halted(j);
}

int job_lease_lost(struct job *j)
{
	int lost;

	if (!j->hb_init)
		return j->lease_lost; /* no thread: nothing shared */
	pthread_mutex_lock(&j->hb_lock);
	lost = j->lease_lost;
	pthread_mutex_unlock(&j->hb_lock);
	return lost;
}

int job_cancel_requested(struct job *j)
{
	int c;

	if (!j->hb_init)
		return j->cancel_requested;
	pthread_mutex_lock(&j->hb_lock);
	c = j->cancel_requested;
	pthread_mutex_unlock(&j->hb_lock);
	return c;
}

void job_lease_mark_lost(struct job *j)
{
	if (!j->hb_init) {
		j->lease_lost = 1;
		j->halt = 1;
		return;
	}
	pthread_mutex_lock(&j->hb_lock);
	j->lease_lost = 1;
	j->halt = 1;
	pthread_mutex_unlock(&j->hb_lock);
}

static void job_event_v(struct job *j, enum store_event_level level,
			const char *kind, json_t *data, const char *fmt,
			va_list ap)
{
	char msg[1024], err[CORE_ERR_LEN], *data_json = NULL;
	enum core_status st;

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (level == STORE_EVENT_ERROR)
		LOG_ERROR("%s", msg);
	else if (level == STORE_EVENT_WARN)
		LOG_WARN("%s", msg);
	else
		LOG_INFO("%s", msg);
	if (data)
		data_json = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	st = store_event_insert(j->p, j->rc->worker, j->id, level, kind, msg,
				data_json, err, sizeof err);
	if (data_json) {
		json_free_t f = NULL;
		json_get_alloc_funcs(NULL, &f);
		(f ? f : free)(data_json);
	}
	if (st == CORE_ERR_CONFLICT)
		job_lease_mark_lost(j);
	else if (st)
		LOG_WARN("event not stored: %s", err);
}

json_t *job_json_real(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

void job_event(struct job *j, enum store_event_level level, const char *kind,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	job_event_v(j, level, kind, NULL, fmt, ap);
	va_end(ap);
}

void job_event_data(struct job *j, enum store_event_level level,
		    const char *kind, json_t *data, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	job_event_v(j, level, kind, data, fmt, ap);
	va_end(ap);
}
