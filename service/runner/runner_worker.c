/* SPDX-License-Identifier: Apache-2.0 */
/* runner_worker.c - the worker loop: claim a job, run it, repeat; one
 * loop for `lmnas worker` and the service's workers. */
#include "runner/runner.h"

#include <time.h>

/* Sleeps s seconds in 100 ms slices, returning early when *stop is set. */
static void idle(double s, volatile int *stop)
{
	struct timespec ts = {0, 100000000L};

	for (double t = 0; t < s && !(stop && *stop); t += 0.1)
		nanosleep(&ts, NULL);
}

/* One retention pass; a failure is logged and tried again next time. */
static void prune(struct store_pool *p, double retention_s)
{
	struct store_prune_result r;
	char err[CORE_ERR_LEN];
	enum core_status st =
	    store_artifacts_prune(p, retention_s, 100, &r, err, sizeof err);

	if (st)
		LOG_WARN("artifact retention: %s", err);
	if (r.jobs)
		LOG_INFO("artifact retention: %d job(s), %lld checkpoint(s) "
			 "dropped, %lld bytes",
			 r.jobs, r.checkpoints, r.bytes);
}

enum core_status runner_worker_run(struct store_pool *p,
				   const struct runner_worker_config *wc,
				   int *jobs, char *err, size_t errlen)
{
	volatile int *stop = wc->job.stop;
	double next_prune = 0;
	int n = 0;
	enum core_status st = CORE_OK;

	if (jobs)
		*jobs = 0;
	while (!(stop && *stop)) {
		struct queue_claim claim;
		char why[CORE_ERR_LEN];

		if (wc->retention_s > 0 && core_now_seconds() >= next_prune) {
			prune(p, wc->retention_s);
			next_prune =
			    core_now_seconds() +
			    (wc->prune_every_s > 0 ? wc->prune_every_s : 600.0);
		}

		why[0] = '\0';
		st = queue_job_claim(p, wc->job.worker, wc->job.lease_s, &claim,
				     why, sizeof why);
		if (st == CORE_ERR_NOT_FOUND) {
			if (wc->once) {
				core_errf(err, errlen, "no job is waiting");
				break;
			}
			idle(wc->idle_s, stop);
			st = CORE_OK; /* a stop while idle ends the loop well */
			continue;
		}
		if (st) {
			/* the database is down or restarting: try again */
			LOG_WARN("claim: %s", why);
			idle(2.0, stop);
			st = CORE_OK;
			continue;
		}
		LOG_INFO("claimed job %lld (%s)", claim.id, claim.name);
		why[0] = '\0';
		st = runner_job_run(p, &claim, &wc->job, why, sizeof why);
		n++;
		if (wc->job_done)
			wc->job_done(claim.id, st, why, wc->job.ctx);
		queue_claim_free(&claim);
		st = CORE_OK;
		if (wc->once)
			break;
	}
	if (jobs)
		*jobs = n;
	return st;
}
