/* SPDX-License-Identifier: Apache-2.0 */
/* store.h - the PostgreSQL layer: a thread-safe libpq connection pool that
 * survives server restarts, named prepared statements, a transaction runner
 * that retries serialization failures and deadlocks, and the migration runner.
 *
 * Layer: store (above search/explain, below queue/http). Includes only core.
 *
 * All SQL goes through store_exec() with parameters: nothing from outside is
 * ever spliced into SQL text.
 */
#ifndef LMNAS_STORE_H
#define LMNAS_STORE_H

#include "core/core.h"

#include <libpq-fe.h>

/* ---- pool -------------------------------------------------------------- */

struct store_pool; /* opaque */
struct store_conn; /* opaque: one checked-out connection */

/* Creates a pool of at most `size` connections to `url` (a libpq URL or
 * conninfo). Connections are opened lazily, so this succeeds while the
 * database is down. The pool copies url. *out is owned by the caller
 * (store_pool_close). */
enum core_status store_pool_open(const char *url, int size,
				 struct store_pool **out, char *err,
				 size_t errlen);
/* Closes every connection. No connection may be checked out. */
void store_pool_close(struct store_pool *p);

/* Copies text (a libpq message, a URL, a conninfo) into out with every
 * secret replaced by "***": the password of URL userinfo
 * (scheme://user:SECRET@host) and the value of any password= key (conninfo
 * or URL query, sslpassword too). libpq quotes the whole URL in its parse
 * errors, so no libpq message may reach a log or a client without this.
 * Errs on the side of masking too much. out is always NUL-terminated. */
void store_secrets_scrub(const char *text, char *out, size_t outlen);

/* Checks out a healthy connection, waiting up to timeout_s for a free slot.
 * A broken connection is never handed out: it is replaced. Returns
 * CORE_ERR_UNAVAILABLE when the database cannot be reached. */
enum core_status store_conn_acquire(struct store_pool *p, double timeout_s,
				    struct store_conn **out, char *err,
				    size_t errlen);
/* Returns c to the pool; a connection found broken is closed instead. */
void store_conn_release(struct store_pool *p, struct store_conn *c);
/* The underlying libpq connection (for COPY, large results, notifications). */
PGconn *store_conn_pg(struct store_conn *c);

/* ---- statements -------------------------------------------------------- */

/* A named prepared statement. Define each one once, as a static const, next
 * to the code that uses it; it is prepared on a connection on first use. */
struct store_stmt {
	const char *name; /* unique across the program */
	const char *sql;  /* $1..$n placeholders */
	int nparams;
};

/* Executes s with text parameters (NULL entries are SQL NULL); lengths and
 * formats may be NULL for all-text parameters, or give binary (format 1)
 * parameters such as bytea. On success *res (if res is not NULL) receives the
 * result, owned by the caller (PQclear); otherwise it is cleared. Errors carry
 * the SQLSTATE in err ("[40001] could not serialize ...") and return
 * CORE_ERR_DB, or CORE_ERR_UNAVAILABLE when the connection broke. */
enum core_status store_exec(struct store_conn *c, const struct store_stmt *s,
			    const char *const *params, const int *lengths,
			    const int *formats, PGresult **res, char *err,
			    size_t errlen);

/* store_exec of text parameters on a connection taken from the pool for
 * the one statement (its own implicit transaction; waits up to 10 s for a
 * connection). */
enum core_status store_exec_pooled(struct store_pool *p,
				   const struct store_stmt *s,
				   const char *const *params, PGresult **res,
				   char *err, size_t errlen);

/* Runs a plain SQL string without parameters (DDL, BEGIN/COMMIT). Never pass
 * text that came from outside. */
enum core_status store_exec_sql(struct store_conn *c, const char *sql,
				char *err, size_t errlen);

/* SQLSTATE of the last failed statement on c ("" if none). */
const char *store_conn_sqlstate(struct store_conn *c);

/* ---- transactions ------------------------------------------------------ */

enum store_isolation {
	STORE_READ_COMMITTED = 0,
	STORE_REPEATABLE_READ,
	STORE_SERIALIZABLE
};

/* The body of a transaction. Return CORE_OK to commit; anything else rolls
 * back and is returned by store_tx_run. It may run more than once. */
typedef enum core_status (*store_tx_fn)(struct store_conn *c, void *arg,
					char *err, size_t errlen);

/* Runs fn inside BEGIN ... COMMIT on a pooled connection. Serialization
 * failures (40001) and deadlocks (40P01) are retried up to STORE_TX_RETRIES
 * times with a short randomized backoff; a connection that broke before the
 * transaction did anything is replaced and the transaction retried once. */
#define STORE_TX_RETRIES 5
enum core_status store_tx_run(struct store_pool *p, enum store_isolation iso,
			      store_tx_fn fn, void *arg, char *err,
			      size_t errlen);

/* ---- migrations -------------------------------------------------------- */

struct store_migration {
	int version;	  /* NNNN of migrations/NNNN_name.sql */
	const char *name; /* the name part */
	const char *sql;
};

/* The migrations built into this binary (generated from the migrations folder),
 * in version order, terminated by an entry with name NULL. */
extern const struct store_migration store_migrations[];
extern const size_t store_migrations_count;

struct store_schema_state {
	int db_version;	    /* highest version applied in the database (0) */
	int binary_version; /* highest version this binary carries */
	int pending;	    /* known migrations not yet applied */
	int unknown;	    /* applied versions this binary does not know */
};

/* Reads schema_migrations (absent table = nothing applied). */
enum core_status store_schema_check(struct store_pool *p,
				    struct store_schema_state *state, char *err,
				    size_t errlen);

/* Applies every pending migration, each in its own transaction together with
 * its schema_migrations row, under an advisory lock so that concurrent
 * `lmnas migrate` runs apply each migration once. Refuses (CORE_ERR_CONFLICT)
 * when the database carries versions newer than this binary knows.
 * *applied (may be NULL) receives how many were applied now. */
enum core_status store_migrate(struct store_pool *p, int *applied, char *err,
			       size_t errlen);

/* ---- search records (migrations/0002_search.sql, 0003_runner.sql) -------
 * One function per statement (or per transaction, where it says so); each
 * runs on a pooled connection. Doubles that are NaN and strings that are
 * NULL are stored as SQL NULL.
 *
 * Lease guard: every write takes `owner`, the worker that must hold the
 * job's lease (jobs.lease_owner, status running). The check runs in the
 * same statement as the write and locks the job row FOR SHARE, so a worker
 * whose lease was taken over writes nothing more: the write returns
 * CORE_ERR_CONFLICT ("lease lost"). owner NULL writes unguarded (tools and
 * tests only).
 *
 * Text: every text value is made valid UTF-8 here (bad sequences become
 * U+FFFD) before it reaches PostgreSQL. A value PostgreSQL still refuses
 * for what it is (SQLSTATE class 22, e.g. malformed JSON, or a CHECK
 * violation) is CORE_ERR_INVALID: retrying cannot help, the caller fails
 * the work. */

/* States are enums inside; the names are the database's (and the API's). */
enum store_candidate_status {
	STORE_CAND_PROPOSED = 0,
	STORE_CAND_REJECTED,
	STORE_CAND_TRAINING,
	STORE_CAND_TRAINED,
	STORE_CAND_FAILED,
	STORE_CAND_FINAL_TRAINING,
	STORE_CAND_FINAL_DONE
};
enum store_candidate_source {
	STORE_SOURCE_LLM = 0,
	STORE_SOURCE_EVOLUTION,
	STORE_SOURCE_RANDOM,
	STORE_SOURCE_USER
};
enum store_event_level {
	STORE_EVENT_DEBUG = 0,
	STORE_EVENT_INFO,
	STORE_EVENT_WARN,
	STORE_EVENT_ERROR
};
/* Which training a metric belongs to: proxy metrics rank candidates in the
 * rounds, final metrics come from the final phase; they never mix. */
enum store_phase { STORE_PHASE_PROXY = 0, STORE_PHASE_FINAL };

/* Names ("unknown" for a value out of range) and their parsers
 * (CORE_ERR_INVALID for an unknown name). */
const char *store_candidate_status_name(enum store_candidate_status s);
enum core_status store_candidate_status_parse(const char *s,
					      enum store_candidate_status *out);
const char *store_candidate_source_name(enum store_candidate_source s);
enum core_status store_candidate_source_parse(const char *s,
					      enum store_candidate_source *out);
const char *store_event_level_name(enum store_event_level l);
const char *store_phase_name(enum store_phase ph);

struct store_candidate {
	long long id;
	long long job_id;
	int round;
	enum store_candidate_source source;
	const char *arch_json; /* canonical lmnas-arch/1 */
	const char *arch_hash;
	enum store_candidate_status status;
	const char *rationale;
	const char *rejection_reason;
	long long macs, params, flash_bytes, sram_bytes; /* < 0: NULL */
	double val_top1, val_top5, val_loss; /* proxy training; NaN: NULL */
	double final_val_top1, final_val_top5, final_val_loss; /* final */
	double test_top1; /* final training; NaN: NULL */
	int epochs_done;
};

/* Inserts c (id and final metrics ignored). *id receives the new id, or 0
 * when a non-rejected candidate with the same (job, hash) is already
 * stored (nothing inserted). */
enum core_status store_candidate_insert(struct store_pool *p, const char *owner,
					const struct store_candidate *c,
					long long *id, char *err,
					size_t errlen);
/* The start of a candidate's final training, in one statement: status
 * final_training, its proxy checkpoint dropped, epochs_done 0. */
enum core_status store_candidate_final_start(struct store_pool *p,
					     const char *owner, long long id,
					     char *err, size_t errlen);
/* reason (may be NULL: left as is) goes to rejection_reason.
 * CORE_ERR_NOT_FOUND for an unknown id. */
enum core_status store_candidate_set_status(struct store_pool *p,
					    const char *owner, long long id,
					    enum store_candidate_status status,
					    const char *reason, char *err,
					    size_t errlen);
/* Records phase's metrics (NaN = leave as is; test_top1 only for the final
 * phase) and epochs_done: proxy metrics go to val_*, final ones to
 * final_val_*. */
enum core_status store_candidate_set_metrics(
    struct store_pool *p, const char *owner, long long id,
    enum store_phase phase, double val_top1, double val_top5, double val_loss,
    double test_top1, int epochs_done, char *err, size_t errlen);
/* One finished epoch in one transaction: its candidate_epochs row
 * (inserted or replaced: idempotent on resumption) and the candidate's
 * metrics of that phase and epochs_done. */
struct store_epoch {
	long long candidate_id;
	enum store_phase phase;
	int epoch; /* 1-based */
	double train_loss, val_top1, val_top5, val_loss, lr, seconds;
};
enum core_status store_epoch_finish(struct store_pool *p, const char *owner,
				    const struct store_epoch *e, char *err,
				    size_t errlen);
/* Saves the candidate's latest epoch checkpoint (bytea) and epochs_done in
 * one statement, so a resumed run never sees one without the other. */
enum core_status store_candidate_save_checkpoint(struct store_pool *p,
						 const char *owner,
						 long long id, const void *blob,
						 size_t len, int epochs_done,
						 char *err, size_t errlen);
/* *blob (owned by the caller, core_free) is NULL when none was saved. */
enum core_status store_candidate_load_checkpoint(struct store_pool *p,
						 long long id, void **blob,
						 size_t *len, int *epochs_done,
						 char *err, size_t errlen);

/* The candidates of a job in id order. Every string of every entry lives in
 * one allocation with the array: free with core_free(*out). A state name
 * this binary does not know is CORE_ERR_INVALID. */
enum core_status store_candidates_list(struct store_pool *p, long long job_id,
				       struct store_candidate **out, int *n,
				       char *err, size_t errlen);

/* Inserts or replaces one epoch's metrics (idempotent on resumption). */
enum core_status store_epoch_put(struct store_pool *p, const char *owner,
				 const struct store_epoch *e, char *err,
				 size_t errlen);

/* Inserts or replaces a round (front JSON array, hypervolume NaN = NULL). */
enum core_status store_round_put(struct store_pool *p, const char *owner,
				 long long job_id, int round,
				 const char *proposer, const char *front_json,
				 double hypervolume, const char *summary,
				 int finished, char *err, size_t errlen);
/* A stored round's front (JSON text, owned by the caller: core_free) and
 * hypervolume (NaN when NULL). CORE_ERR_NOT_FOUND when there is none. */
enum core_status store_round_get(struct store_pool *p, long long job_id,
				 int round, char **front_json,
				 double *hypervolume, char *err, size_t errlen);

/* A job as one JSON document built by PostgreSQL: {job: {...}, rounds:
 * [...], candidates: [...without checkpoints...], models: [...without
 * blobs...], events: [last 50]}. *json owned by the caller (core_free).
 * CORE_ERR_NOT_FOUND for an unknown id. */
enum core_status store_job_json(struct store_pool *p, long long job_id,
				char **json, char *err, size_t errlen);
/* The job's LLM calls counted by outcome, {"ok": 7, "bad_reply": 1} ({}
 * when none). *json owned by the caller (core_free). */
enum core_status store_llm_call_counts(struct store_pool *p, long long job_id,
				       char **json, char *err, size_t errlen);
/* The most recent jobs (at most limit) as a JSON array. */
enum core_status store_jobs_json(struct store_pool *p, int limit, char **json,
				 char *err, size_t errlen);

/* The highest round of the job with finished_at set; -1 when none. */
enum core_status store_round_last_finished(struct store_pool *p,
					   long long job_id, int *round,
					   char *err, size_t errlen);

struct store_llm_call {
	long long job_id;
	int round, attempt;
	const char *model;
	const char *messages_json;
	const char *reply;
	int http_status;				   /* < 0: NULL */
	long prompt_tokens, completion_tokens, latency_ms; /* < 0: NULL */
	const char *outcome;
	const char *error;
};
enum core_status store_llm_call_insert(struct store_pool *p, const char *owner,
				       const struct store_llm_call *c,
				       char *err, size_t errlen);

/* A round's proposals in one transaction: its LLM calls, then its
 * candidates; ids[i] receives candidate i's id (0: already stored, see
 * store_candidate_insert). Nothing is stored when anything fails. */
enum core_status store_proposals_insert(struct store_pool *p, const char *owner,
					const struct store_llm_call *calls,
					int ncalls,
					const struct store_candidate *cands,
					int ncands, long long *ids, char *err,
					size_t errlen);

/* data_json may be NULL ({}). */
enum core_status store_event_insert(struct store_pool *p, const char *owner,
				    long long job_id,
				    enum store_event_level level,
				    const char *kind, const char *message,
				    const char *data_json, char *err,
				    size_t errlen);

/* A final model: checkpoint and zip as bytea with their sha256 and sizes,
 * and the report JSON (may be NULL). */
struct store_model {
	long long job_id, candidate_id;
	const void *ckpt;
	size_t ckpt_len;
	const void *zip; /* may be NULL */
	size_t zip_len;
	const char *report_json;
};
/* Inserts the model row. A candidate has at most one model:
 * CORE_ERR_CONFLICT when it already has one. */
enum core_status store_model_insert(struct store_pool *p, const char *owner,
				    const struct store_model *m, long long *id,
				    char *err, size_t errlen);
/* The end of a final candidate, in one transaction: its model row (kept
 * when one is already stored: *id receives that one's id) and the
 * candidate's status final_done. */
enum core_status store_model_finish(struct store_pool *p, const char *owner,
				    const struct store_model *m, long long *id,
				    char *err, size_t errlen);
/* Reads a model's zip (owned by the caller); CORE_ERR_NOT_FOUND when there
 * is no such model or it has no zip. */
enum core_status store_model_zip(struct store_pool *p, long long model_id,
				 void **zip, size_t *len, char *err,
				 size_t errlen);

/* ---- size and retention (records_size.c, 0005_workers.sql) ----------- */

/* What a job holds in the database, in bytes: checkpoints (candidates'
 * and models'), zips, and every other row of the job (jobs, rounds,
 * candidates and models without their blobs, epochs, LLM calls, events). */
struct store_job_size {
	long long checkpoint_bytes, zip_bytes, row_bytes, total_bytes;
	long long checkpoints; /* stored checkpoint blobs */
};
/* CORE_ERR_NOT_FOUND for an unknown id. */
enum core_status store_job_size(struct store_pool *p, long long job_id,
				struct store_job_size *out, char *err,
				size_t errlen);

struct store_prune_result {
	int jobs;	       /* jobs pruned (marked artifacts_pruned_at) */
	long long checkpoints; /* checkpoints dropped */
	long long bytes;       /* their bytes */
};
/* Artifact retention: for up to max_jobs jobs that finished more than
 * older_s seconds ago and were not pruned yet, drops the checkpoints of
 * candidates outside the front of the job's last finished round that have
 * no model; front members' checkpoints and models (checkpoint and zip) are
 * kept. Each job is one statement, safe with several workers pruning at
 * once. *out says what was done, also on failure (jobs before it). */
enum core_status store_artifacts_prune(struct store_pool *p, double older_s,
				       int max_jobs,
				       struct store_prune_result *out,
				       char *err, size_t errlen);

/* ---- metrics (records_metrics.c) --------------------------------------
 * One snapshot for GET /metrics as a JSON object (owned by the caller,
 * core_free): jobs {status: n}, queue_depth, candidates_trained, llm_calls
 * {outcome: n}, llm_latency {count, sum_s}, llm_buckets [cumulative count
 * per bucket of llm_buckets_s, in order], leases [{worker, job, age_s}]
 * (live leases, age since the last renewal), img_per_s (sum over the
 * running jobs' progress). */
enum core_status store_metrics_json(struct store_pool *p,
				    const double *llm_buckets_s, int nbuckets,
				    char **json, char *err, size_t errlen);

#endif
