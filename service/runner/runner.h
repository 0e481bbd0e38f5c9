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
 * (`lmnas search`, `lmnas worker`) and `lmnas serve --workers` call it. */
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
	double img_per_s;     /* training images/s now; 0 when not training */
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
	volatile int *stop; /* set by a signal handler: stop at the next
			       safe point and hand the job back to the queue
			       (lease released: another worker resumes it at
			       once from its last epoch checkpoint) */
	void (*progress)(const struct runner_progress *p, void *ctx);
	void *ctx;
	/* > 0: a job's training threads are capped at this (a spec asking
	 * for more, or for 0 = all cores, gets this many, said in an event),
	 * so that threads x workers stay within the cores; 0: no cap */
	int max_threads;
	/* non-zero: the heartbeat thread holds one more pooled connection
	 * that LISTENs for cancel notifications (migration 0005), so a
	 * cancel stops the job within a moment; the pool then needs 3
	 * connections. 0: it polls jobs.cancel_requested every second. */
	int listen_cancel;
};

/* Runs the claimed job to its end and records the end in the queue
 * (succeeded, failed with the error, or cancelled). A job that trains no
 * candidate, or whose data set, teacher or constraints fail
 * runner_spec_check, fails with the reason; so does a job whose records
 * PostgreSQL refuses for what they contain. Every write is guarded by the
 * lease: once another worker holds it, this one writes nothing more.
 * Returns CORE_OK when the job ended (whatever its outcome),
 * CORE_ERR_CANCELLED when *stop was set (the job is handed back: queued
 * again with its lease released, to be resumed), CORE_ERR_CONFLICT when the
 * lease was lost, or another error when the database failed. The pool needs a
 * connection for the heartbeat besides the job's own (size >= 2). */
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
	/* artifact retention (store_artifacts_prune): > 0 prunes jobs that
	 * ended more than retention_s ago, at the loop's start and then
	 * every prune_every_s (<= 0: 600 s); 0 keeps everything */
	double retention_s;
	double prune_every_s;
};

/* Runs jobs until *wc->job.stop is set (CORE_OK), or with once: after one
 * job (CORE_OK) or at once when nothing is claimable (CORE_ERR_NOT_FOUND).
 * *jobs (may be NULL) receives how many jobs were run. */
enum core_status runner_worker_run(struct store_pool *p,
				   const struct runner_worker_config *wc,
				   int *jobs, char *err, size_t errlen);

/* ---- several workers in one process (runner_workers.c) ------------------
 * `lmnas serve --workers N` and `lmnas worker --concurrency N`: N threads,
 * each a runner_worker_run loop with its own connection pool (the job's
 * connection, the heartbeat's and the cancel listener's) and its own
 * lease owner name
 * ("<name>/<k>"), so a job's lease and writes belong to one thread. */
struct runner_workers_config {
	const char *url;  /* the database (each thread opens its own pool) */
	const char *name; /* e.g. host:pid; thread k owns "<name>/<k>" */
	int count;	  /* threads, 1..256 */
	int lease_s;
	int max_threads; /* runner_config.max_threads of every job */
	double retention_s, prune_every_s; /* see runner_worker_config */
	volatile int *stop; /* set it, then runner_workers_join */
};
struct runner_workers; /* opaque */

/* Starts the threads (the strings are copied). On failure no thread is
 * left running and err says why. *out is the caller's
 * (runner_workers_join). */
enum core_status runner_workers_start(const struct runner_workers_config *c,
				      struct runner_workers **out, char *err,
				      size_t errlen);
/* Waits for every thread to leave its loop (set *c->stop first: each
 * hands its running job back at the next safe point) and frees w.
 * Returns how many jobs the threads ran. NULL is ignored. */
int runner_workers_join(struct runner_workers *w);

#endif
