/* SPDX-License-Identifier: Apache-2.0 */
/* runner_internal.h - private to service/runner: the state of one job run,
 * shared by the round loop (runner.c), candidate training
 * (runner_train.c) and the front bookkeeping (runner_front.c). */
#ifndef LMNAS_RUNNER_INTERNAL_H
#define LMNAS_RUNNER_INTERNAL_H

#include "runner/runner.h"
#include "search/search.h"
#include "train/train.h"

#include <jansson.h>
#include <pthread.h>

struct job {
	struct store_pool *p;
	const struct runner_config *rc;
	long long id;
	struct search_spec spec;
	struct search_limits lim;
	struct search_seen seen;
	struct search_proposer *primary; /* NULL when evolution is primary */
	struct search_proposer *evo;
	struct llm_client *llm;
	const char *proposer_name; /* of the current round */
	/* the heartbeat thread (runner_lease.c); hb_lock guards the fields
	 * it shares with the job's thread */
	pthread_t hb_thread;
	pthread_mutex_t hb_lock;
	pthread_cond_t hb_cond;
	int hb_init, hb_running, hb_quit;
	char hb_progress[512];
	/* the heartbeat thread's LISTEN lmnas_cancel connection (NULL: it
	 * polls); only that thread touches it */
	struct store_conn *listener;
	int cancel_requested;
	int lease_lost;
	/* non-zero: stop now (lost lease, cancel, process stop); polled
	 * without the lock by the LLM client as its cancel flag */
	volatile int halt;
	struct runner_progress prog;
	/* the candidates as stored (refreshed with job_load) */
	struct store_candidate *cands;
	int ncands;
	/* time-to-finish estimate (runner_eta.c) */
	struct {
		double seconds, work;  /* epochs measured in this process */
		double epoch_work;     /* of the candidate in training */
		double proxy_work_sum; /* per-epoch work of proxy candidates */
		int proxy_cands;       /* started in this process */
		int proxy_res, proxy_epochs, final_epochs;
		double proxy_fraction, val_fraction;
	} eta;
	/* the data set, loaded once for every candidate (job_data) */
	struct train_data data;
	/* front after the last finished round */
	double hv;
	long *front; /* candidate ids */
	int nfront;
};

/* Starts / stops the heartbeat thread that renews the lease every third of
 * its length while the job runs (runner_lease.c). job_lease_stop is safe
 * when the thread never started. */
enum core_status job_lease_start(struct job *j, char *err, size_t errlen);
void job_lease_stop(struct job *j);
/* Reports progress (the callback, and the document the next heartbeat
 * stores; force: store it now). Returns 1 when work must stop (cancel,
 * lost lease, process stop), 0 otherwise. */
int job_beat(struct job *j, int force);
/* Whether work must stop / why. */
int job_halted(struct job *j);
int job_lease_lost(struct job *j);
int job_cancel_requested(struct job *j);
/* A write was refused because another worker holds the lease. */
void job_lease_mark_lost(struct job *j);
/* An event row; failures to write it are logged, not fatal. */
void job_event(struct job *j, enum store_event_level level, const char *kind,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same with a data object (stolen; NULL: {}), which an event's
 * followers read as its structured fields (the API's `data`). */
void job_event_data(struct job *j, enum store_event_level level,
		    const char *kind, json_t *data, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* v as a JSON number, or null when it is not finite (not measured). */
json_t *job_json_real(double v);
/* ETA bookkeeping: once per job (after the spec is parsed), when a
 * candidate starts training, after each epoch, and to refresh j->prog.eta_s
 * given the current candidate's own remaining seconds (0 if none). */
void job_eta_init(struct job *j);
void job_eta_candidate(struct job *j, long long macs, int arch_res,
		       enum search_phase phase);
void job_eta_epoch(struct job *j, double seconds);
void job_eta_update(struct job *j, double current_left_s);
/* Reloads j->cands from the database. */
enum core_status job_load(struct job *j, char *err, size_t errlen);
/* Parses a stored candidate's architecture. */
enum core_status job_cand_arch(const struct store_candidate *c, struct arch *a,
			       char *err, size_t errlen);

/* Trains candidate c (proxy or final phase), resuming from its stored
 * checkpoint; records epochs, checkpoints and the outcome. CORE_OK also when
 * the candidate failed (status failed): only cancellation, a lost lease and
 * database errors are returned. */
enum core_status job_train_candidate(struct job *j,
				     const struct store_candidate *c,
				     enum search_phase phase, char *err,
				     size_t errlen);

/* Loads the job's data set into j->data unless it is there: the training
 * split, and the test split too when with_test. */
enum core_status job_data(struct job *j, int with_test, char *err,
			  size_t errlen);

/* The final model's int8 export (runner_export.c): the checkpoint through
 * deploy with the spec's export settings, calibrated on the job's training
 * split, evaluated on its test split. *zip and *report are the caller's
 * (core_free); on failure err has the reason. */
enum core_status job_export(struct job *j, const void *ckpt, size_t len,
			    void **zip, size_t *zip_len, char **report,
			    char *err, size_t errlen);

/* Members of the trained candidates (proxy metrics), in id order. *out owned
 * by the caller (core_free). */
enum core_status job_members(struct job *j, struct search_member **out, int *n,
			     char *err, size_t errlen);
/* Recomputes the front and hypervolume over the trained candidates into
 * j->front / j->hv, and stores round r as finished with the front JSON and
 * a summary of what changed. */
enum core_status job_finish_round(struct job *j, int round, char *err,
				  size_t errlen);
/* Reads the stored front and hypervolume of finished round r into j->front
 * / j->hv (a resume: a finished round is never recomputed). */
enum core_status job_load_round(struct job *j, int round, char *err,
				size_t errlen);

#endif
