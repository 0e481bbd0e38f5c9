/* SPDX-License-Identifier: Apache-2.0 */
/* runner.h - the search job runner: for a claimed job, rounds of proposals
 * (LLM, evolution or random, with the fallback to evolution), proxy training
 * of every accepted candidate, the constrained Pareto front and hypervolume
 * after each round, then the final phase (full training of the top-K with
 * distillation, test accuracy, model stored). Everything is persisted as it
 * happens, so a job whose process died resumes where it stopped: finished
 * rounds are not proposed again, trained candidates are not trained again,
 * and a candidate that was training continues from its last epoch
 * checkpoint.
 *
 * Final models are exported (int8 + MCU project, as the spec's "export"
 * section says) by the deploy module, in memory.
 *
 * Layer: runner sits above search, deploy, train, llm, store and queue; the CLI
 * (`lmnas search`, `lmnas worker`) and later the HTTP workers call it. */
#ifndef LMNAS_RUNNER_H
#define LMNAS_RUNNER_H

#include "core/core.h"
#include "queue/queue.h"
#include "store/store.h"

struct runner_progress {
	long long job_id;
	const char *phase; /* "propose", "proxy", "final", "done" */
	int round, rounds; /* 0-based round */
	long long candidate_id;
	int candidate, candidates; /* within the round or the final phase */
	int epoch, epochs;	   /* of the candidate being trained */
	double loss;
	int evaluated; /* candidates trained so far */
	int front_size;
	double hypervolume;
	const char *proposer; /* who proposed this round */
	double eta_s;	      /* seconds to the job's end; -1 unknown */
};

/* The time-to-finish estimate (runner_eta.c). Work is counted in MACs x
 * images of the full training split: runner_epoch_work is one epoch of a
 * candidate of `macs` MACs at arch_res trained at train_res (0: arch_res)
 * on train_fraction of the training split with val_fraction held out (a
 * training image costs three passes, a validation image one). */
double runner_epoch_work(long long macs, int arch_res, int train_res,
			 double train_fraction, double val_fraction);

struct runner_eta_in {
	double seconds, work;  /* measured so far: seconds for work */
	double current_left_s; /* the candidate in training, its own ETA */
	int proxy_left, proxy_epochs; /* candidates after the current one */
	double proxy_epoch_work;      /* mean per candidate and epoch */
	int final_left, final_epochs;
	double final_epoch_work;
};

/* Seconds to the end: current_left_s plus the remaining work at the
 * measured rate; -1 when nothing has been measured yet. */
double runner_eta_estimate(const struct runner_eta_in *in);

struct runner_config {
	const char *worker; /* lease owner, e.g. host:pid */
	int lease_s;	    /* lease length (>= 2); a heartbeat thread renews
			       it every lease_s / 3 whatever the job does */
	volatile int *stop; /* set by a signal handler: stop soon, keep the
			       lease to expire (the job resumes elsewhere) */
	void (*progress)(const struct runner_progress *p, void *ctx);
	void *ctx;
};

/* Runs the claimed job to its end and records the end in the queue
 * (succeeded, failed with the error, or cancelled). A job that trains no
 * candidate, or whose data set, teacher or constraints fail
 * runner_spec_check, fails with the reason; so does a job whose records
 * PostgreSQL refuses for what they contain. Every write is guarded by the
 * lease: once another worker holds it, this one writes nothing more.
 * Returns CORE_OK when the job ended (whatever its outcome),
 * CORE_ERR_CANCELLED when *stop was set (the job is left running, to be
 * resumed), CORE_ERR_CONFLICT when the lease was lost, or another error
 * when the database failed. The pool needs a connection for the heartbeat
 * besides the job's own (size >= 2). */
enum core_status runner_job_run(struct store_pool *p,
				const struct queue_claim *claim,
				const struct runner_config *rc, char *err,
				size_t errlen);

struct search_spec;
/* What can be checked before training: dataset.path is a directory with
 * the data set's files, regular, readable and whole records; the teacher
 * logits (if any) are an .npy of shape (training records, classes); some
 * member of the space meets the constraints (up to 2000 draws). err names
 * the field and the reason. CORE_ERR_INVALID when a check fails. */
enum core_status runner_spec_check(const struct search_spec *s, char *err,
				   size_t errlen);

/* ---- the worker loop (runner_worker.c) ---------------------------------
 * Claims queued jobs (or running ones whose lease expired) and runs them,
 * shared by `lmnas worker` and the service's workers. */
struct runner_worker_config {
	struct runner_config job; /* for every job run */
	int once;      /* at most one job; return on an empty queue */
	double idle_s; /* wait between claims on an empty queue */
	/* after each job (may be NULL): its id, runner_job_run's status and
	 * message, and job.ctx */
	void (*job_done)(long long id, enum core_status st, const char *err,
			 void *ctx);
};

/* Runs jobs until *wc->job.stop is set (CORE_OK), or with once: after one
 * job (CORE_OK) or at once when nothing is claimable (CORE_ERR_NOT_FOUND).
 * *jobs (may be NULL) receives how many jobs were run. */
enum core_status runner_worker_run(struct store_pool *p,
				   const struct runner_worker_config *wc,
				   int *jobs, char *err, size_t errlen);

#endif
