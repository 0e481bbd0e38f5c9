/* SPDX-License-Identifier: Apache-2.0 */
/* queue.h - the job queue, kept in PostgreSQL's jobs table so that several
 * lmnas processes on several machines share it. A worker claims a job with a
 * lease (FOR UPDATE SKIP LOCKED: two workers never claim the same job), renews
 * the lease while it works, and finishes the job. A job whose lease expired
 * (its worker died) is claimable again and resumes from what was stored.
 *
 * Layer: queue (beside store, below http). Includes core, arch and store. */
#ifndef LMNAS_QUEUE_H
#define LMNAS_QUEUE_H

#include "arch/arch.h"
#include "core/core.h"
#include "store/store.h"

enum queue_job_status {
	QUEUE_JOB_QUEUED = 0,
	QUEUE_JOB_RUNNING,
	QUEUE_JOB_SUCCEEDED,
	QUEUE_JOB_FAILED,
	QUEUE_JOB_CANCELLED
};

const char *queue_job_status_name(enum queue_job_status s);

/* Inserts a queued job. spec_json is stored as jsonb (validated by the
 * caller). *id receives the new job id. */
enum core_status queue_job_enqueue(struct store_pool *p, const char *name,
				   const char *spec_json, long long *id,
				   char *err, size_t errlen);

/* A claimed job. spec is owned by the struct (queue_claim_free). */
struct queue_claim {
	long long id;
	char *name;
	char *spec;   /* JSON text */
	int attempts; /* including this one */
};

/* Running jobs of one team at once for this process's claims (0: no
 * limit, the default); `lmnas` sets it from --team-max-running. Jobs
 * without a team are not limited. */
void queue_team_max_running_set(int n);

/* Claims the oldest queued job (of a team under its running limit), or a
 * running one whose lease expired, for `worker` (a stable id such as host:pid)
 * for lease_s seconds. Returns CORE_ERR_NOT_FOUND when nothing is claimable. */
enum core_status queue_job_claim(struct store_pool *p, const char *worker,
				 int lease_s, struct queue_claim *out,
				 char *err, size_t errlen);
void queue_claim_free(struct queue_claim *c);

/* Claims job id only (queued, or running with an expired lease), for a
 * foreground run. CORE_ERR_NOT_FOUND when there is no such job,
 * CORE_ERR_CONFLICT when it ended or another worker holds its lease (the
 * message says until when). */
enum core_status queue_job_claim_id(struct store_pool *p, long long id,
				    const char *worker, int lease_s,
				    struct queue_claim *out, char *err,
				    size_t errlen);

/* Renews the lease. CORE_ERR_CONFLICT when the lease was lost (another
 * worker took over, or the job ended): the worker must stop working on it.
 * *cancel_requested receives whether a user asked to cancel. progress_json
 * (may be NULL) replaces the job's progress document. */
enum core_status queue_job_heartbeat(struct store_pool *p, long long id,
				     const char *worker, int lease_s,
				     const char *progress_json,
				     int *cancel_requested, char *err,
				     size_t errlen);

/* Ends a job the worker holds: status succeeded, failed or cancelled, with an
 * error text for failures. CORE_ERR_CONFLICT when the lease was lost. */
enum core_status queue_job_finish(struct store_pool *p, long long id,
				  const char *worker,
				  enum queue_job_status status,
				  const char *error, char *err, size_t errlen);

/* A job's status and its error text ("" when none, cut to errorlen).
 * CORE_ERR_NOT_FOUND for an unknown id. */
enum core_status queue_job_get(struct store_pool *p, long long id,
			       enum queue_job_status *status, char *error,
			       size_t errorlen, char *err, size_t errlen);

/* Asks for a job to be cancelled: a queued job is cancelled at once, a
 * running one when its worker next heartbeats. CORE_ERR_NOT_FOUND for an
 * unknown id; CORE_ERR_CONFLICT when it already ended. */
enum core_status queue_job_cancel(struct store_pool *p, long long id, char *err,
				  size_t errlen);

/* Hands a running job back to the queue (SIGTERM): status queued, lease
 * cleared, so any worker claims it at once and resumes it from what was
 * stored instead of waiting for the lease to expire. CORE_ERR_CONFLICT
 * when worker no longer holds the lease. */
enum core_status queue_job_release(struct store_pool *p, long long id,
				   const char *worker, char *err,
				   size_t errlen);

/* Whether a cancel was requested for job id (a cheap read the heartbeat
 * thread polls between renewals). CORE_ERR_NOT_FOUND for an unknown id. */
enum core_status queue_job_cancel_requested(struct store_pool *p, long long id,
					    int *requested, char *err,
					    size_t errlen);

/* ---- jobs as the API sees them (queue_api.c) ----------------------------
 * team: the team whose jobs a call may see or touch; 0 means every team
 * (an admin). A job of another team is CORE_ERR_NOT_FOUND, exactly like a
 * job that does not exist. */

/* Parses a job status name; CORE_ERR_INVALID for anything else. */
enum core_status queue_job_status_parse(const char *s,
					enum queue_job_status *out);

struct queue_submit {
	long long team_id;	  /* owner (> 0) */
	const char *name;	  /* the spec's name */
	const char *spec_json;	  /* validated, canonical */
	const char *idem_key;	  /* Idempotency-Key or NULL */
	const char *request_hash; /* sha256 hex of the body (with a key) */
	int max_queued;		  /* team's queued jobs allowed; 0: any */
	long long dataset_id;	  /* the spec's dataset (0: none) */
};

enum queue_submit_outcome {
	QUEUE_SUBMIT_CREATED = 0,
	QUEUE_SUBMIT_REPLAYED,	 /* same key, same body: *id is that job */
	QUEUE_SUBMIT_KEY_REUSED, /* same key, another body: nothing done */
	QUEUE_SUBMIT_QUEUE_FULL	 /* max_queued reached: nothing done */
};

/* Enqueues s in one transaction holding the team's advisory lock, so
 * concurrent submissions neither pass max_queued nor create two jobs for
 * one key. *id receives the job created or replayed. */
enum core_status queue_job_submit(struct store_pool *p,
				  const struct queue_submit *s,
				  enum queue_submit_outcome *outcome,
				  long long *id, char *err, size_t errlen);

/* One job as a JSON object: id, name, team, status, cancel_requested,
 * progress, error, attempts, timestamps and counts (candidates by status,
 * rounds, models). *json owned by the caller (core_free). */
enum core_status queue_job_json(struct store_pool *p, long long id,
				long long team, char **json, char *err,
				size_t errlen);

/* Jobs newest first: {"jobs": [...], "next_cursor": "ID" | null}, at most
 * limit of them with id < before (0: from the newest), only status when
 * has_status. */
enum core_status queue_jobs_page_json(struct store_pool *p, long long team,
				      int has_status,
				      enum queue_job_status status,
				      long long before, int limit, char **json,
				      char *err, size_t errlen);

/* queue_job_cancel limited to team. */
enum core_status queue_job_cancel_team(struct store_pool *p, long long id,
				       long long team, char *err,
				       size_t errlen);

/* A job's events with id > after, oldest first, at most limit:
 * {"events": [{id, ts, level, kind, message, data}], "next_after": ID}
 * (next_after: the last id shown, else after). CORE_ERR_NOT_FOUND as
 * above. */
enum core_status queue_job_events_json(struct store_pool *p, long long id,
				       long long team, long long after,
				       int limit, char **json, char *err,
				       size_t errlen);

/* One event of a stream: its id, kind (as stored) and the same JSON
 * object as an entry of queue_job_events_json's list. */
struct queue_event {
	long long id;
	char kind[64];
	char *json; /* owned (core_free) */
};

/* A batch of a job's events for a live stream (queue_job_events_read). */
struct queue_events {
	struct queue_event *v; /* n entries, oldest first; owned */
	int n;
	/* the job had ended when the batch was read, and the batch holds
	 * every event it has after `after`: nothing more will come (an
	 * event is written only under the job's lease, which ends with the
	 * job) */
	int ended;
};

/* The events of job id after event `after` (at most limit) and whether
 * the job has ended, read in one statement (one snapshot, so an "ended"
 * cannot hide an event committed just before the end). CORE_ERR_NOT_FOUND
 * as above. On failure out is empty. Free with queue_events_free. */
enum core_status queue_job_events_read(struct store_pool *p, long long id,
				       long long team, long long after,
				       int limit, struct queue_events *out,
				       char *err, size_t errlen);
void queue_events_free(struct queue_events *e);

/* A job's models (team scoped like the rounds): {"models": [{id, job_id,
 * candidate_id, float_top1, int8_top1, macs, params, flash_bytes,
 * sram_bytes, zip: {size, sha256} or null, checkpoint: {size, sha256} or
 * null, created_at}]} in id order. */
enum core_status queue_job_models_json(struct store_pool *p, long long id,
				       long long team, char **json, char *err,
				       size_t errlen);

/* One model as in queue_job_models_json, scoped through its job: another
 * team's model is CORE_ERR_NOT_FOUND, like a missing one. */
enum core_status queue_model_json(struct store_pool *p, long long id,
				  long long team, char **json, char *err,
				  size_t errlen);

/* A job's rounds in order: {"rounds": [{round, proposer, front,
 * hypervolume, summary, created_at, finished_at}]}. */
enum core_status queue_job_rounds_json(struct store_pool *p, long long id,
				       long long team, char **json, char *err,
				       size_t errlen);

/* Deletes an ended job and everything it produced (candidates, rounds,
 * models, events cascade). CORE_ERR_NOT_FOUND as above, CORE_ERR_CONFLICT
 * while it is queued or running. */
enum core_status queue_job_delete(struct store_pool *p, long long id,
				  long long team, char *err, size_t errlen);

/* ---- a model's artifacts (queue_artifact.c) ----------------------------
 * Team scoped like queue_model_json: another team's model is
 * CORE_ERR_NOT_FOUND, like a missing one. */
enum queue_artifact {
	QUEUE_ARTIFACT_ZIP = 0,	   /* models.zip: the STM32 project */
	QUEUE_ARTIFACT_CHECKPOINT, /* models.checkpoint: the float network */
	QUEUE_ARTIFACT_COUNT
};

/* "zip", "checkpoint". */
const char *queue_artifact_name(enum queue_artifact kind);

struct queue_artifact_info {
	long long job_id;
	int present;	 /* 0: the model has no such artifact */
	long long size;	 /* stored bytes (octet_length) */
	char sha256[72]; /* as stored ("" when none); not checked here */
};

/* The model's job and the artifact's size and digest, without its bytes. */
enum core_status queue_model_artifact_info(struct store_pool *p, long long id,
					   long long team,
					   enum queue_artifact kind,
					   struct queue_artifact_info *out,
					   char *err, size_t errlen);

/* Bytes [offset, offset + len) of the artifact (fewer at its end), only
 * those read from the database. *data is the caller's (core_free), also
 * for 0 bytes. CORE_ERR_NOT_FOUND when the model or the artifact is gone. */
enum core_status
queue_model_artifact_read(struct store_pool *p, long long id, long long team,
			  enum queue_artifact kind, long long offset,
			  long long len, unsigned char **data, size_t *data_len,
			  char *err, size_t errlen);

/* Appends "size": {bytes, checkpoint_bytes, zip_bytes, row_bytes,
 * checkpoints} (store_job_size: bytes of checkpoints, zips and other rows,
 * their total, and how many checkpoints) to *json, a JSON object's text
 * ending in '}' (replaced by a new one on success, the caller's, core_free;
 * untouched on failure). The caller has checked the team already: this
 * reads job id whoever owns it. CORE_ERR_NOT_FOUND for an unknown id. */
enum core_status queue_job_size_append(struct store_pool *p, long long id,
				       char **json, char *err, size_t errlen);
/* ---- what a job produced (queue_candidates.c) ---------------------------
 * Team scoped like the calls above: another team's job is
 * CORE_ERR_NOT_FOUND. */

/* The objectives a candidate list sorts by. */
enum queue_cand_sort {
	QUEUE_CAND_SORT_VAL_TOP1 = 0, /* proxy validation top-1 */
	QUEUE_CAND_SORT_MACS,
	QUEUE_CAND_SORT_FLASH,
	QUEUE_CAND_SORT_SRAM,
	QUEUE_CAND_SORT_PARAMS,
	QUEUE_CAND_SORT_CREATED /* id order */
};
#define QUEUE_CAND_SORT_COUNT 6

struct queue_cand_query {
	enum queue_cand_sort sort;
	int desc;
	int has_status;
	enum store_candidate_status status;
	int has_source;
	enum store_candidate_source source;
	int front; /* -1 either, 0 off, 1 on the latest finished round's front
		    */
	int has_after; /* a cursor: resume after (after_null/value, after_id) */
	int after_null;
	double after_value;
	long long after_id;
	int limit; /* >= 1 */
};

/* "val_top1", "macs", "flash_bytes", "sram_bytes", "params", "created",
 * each optionally prefixed by '-' (descending). CORE_ERR_INVALID else. */
enum core_status queue_cand_sort_parse(const char *s, enum queue_cand_sort *key,
				       int *desc);
/* Fills q's cursor fields from a next_cursor the list returned;
 * CORE_ERR_INVALID for anything else. */
enum core_status queue_cand_cursor_parse(const char *s,
					 struct queue_cand_query *q);

/* A page of a job's candidates: {"candidates": [{id, round, source, status,
 * arch_hash, macs, params, flash_bytes, sram_bytes, proxy: {val_top1,
 * val_top5, val_loss}, final: {val_top1, val_top5, val_loss, test_top1},
 * epochs_done, on_front, created_at}], "next_cursor": "..." | null}
 * sorted by q->sort (NULL values last either way, ties by id), resumed
 * after q's cursor (keyset: stable while rows are added). */
enum core_status queue_job_candidates_json(struct store_pool *p, long long id,
					   long long team,
					   const struct queue_cand_query *q,
					   char **json, char *err,
					   size_t errlen);

/* Candidate cid of job (team scoped): the list's fields plus arch,
 * rationale, rejection_reason, updated_at, epochs {proxy: [...], final:
 * [...]}, cost (cost_report_to_json of the arch, as `lmnas cost --json`;
 * null with cost_error when there is no valid arch) and nearest_earlier
 * ({id, round, distance} or null, queue_arch_distance over the job's
 * 1000 latest earlier candidates). CORE_ERR_NOT_FOUND for a candidate of
 * another job or team, or none. */
enum core_status queue_candidate_json(struct store_pool *p, long long job,
				      long long cid, long long team,
				      char **json, char *err, size_t errlen);

/* The number of fields two architectures differ in, stages aligned by
 * index, a stage only one has counting all of its 9 fields (see
 * queue_candidates.c); 0 for the same network. */
long queue_arch_distance(const struct arch *a, const struct arch *b);

/* A page of LLM calls stops once the calls before one hold this many bytes
 * of messages and replies (at least one call is shown). */
#define QUEUE_LLM_CALLS_PAGE_BYTES (4LL << 20)

/* A job's LLM calls with id > after, oldest first, at most limit (and
 * QUEUE_LLM_CALLS_PAGE_BYTES):
 * {"llm_calls": [{id, round, attempt, model, messages, reply, outcome,
 * error, http_status, latency_ms, prompt_tokens, completion_tokens,
 * created_at}], "next_after": ID}. */
enum core_status queue_job_llm_calls_json(struct store_pool *p, long long id,
					  long long team, long long after,
					  int limit, char **json, char *err,
					  size_t errlen);

/* ---- datasets (queue_dataset.c) -----------------------------------------
 * Team-owned like jobs: team 0 means every team (an admin, the CLI); a
 * dataset of another team is CORE_ERR_NOT_FOUND, exactly like one that does
 * not exist. A dataset is 'importing' from its creation, then 'ready' or
 * 'failed' (queue_dataset_finish). */

enum queue_dataset_status {
	QUEUE_DATASET_IMPORTING = 0,
	QUEUE_DATASET_READY,
	QUEUE_DATASET_FAILED
};
const char *queue_dataset_status_name(enum queue_dataset_status s);

struct queue_dataset_new {
	long long team_id;  /* owner; 0: no team (CLI, admin-only) */
	const char *name;   /* [A-Za-z0-9._-]{1,64}, unique per team */
	const char *format; /* "zip", "tar" or "directory" */
	int resolution;	    /* stored resolution; 0: the import's default */
	long long upload_bytes;
};

/* Inserts a dataset (status importing). CORE_ERR_CONFLICT when the team
 * already has one of that name, CORE_ERR_INVALID for a bad name (err names
 * the field). */
enum core_status queue_dataset_create(struct store_pool *p,
				      const struct queue_dataset_new *d,
				      long long *id, char *err, size_t errlen);

/* Import progress (0..1) of an importing dataset. */
enum core_status queue_dataset_progress(struct store_pool *p, long long id,
					double frac, char *err, size_t errlen);

/* Ends the import: ready (cache_path set) when error is NULL, else failed
 * with error. report_json (may be NULL) is stored either way. Only an
 * importing dataset changes (CORE_ERR_CONFLICT otherwise). */
enum core_status
queue_dataset_finish(struct store_pool *p, long long id, const char *cache_path,
		     const char *report_json, long long expanded_bytes,
		     const char *error, char *err, size_t errlen);

/* A dataset's events (migration 0010: state importing/ready/failed and
 * progress each tenth) with id > after, oldest first, at most limit:
 * {"events": [{id, ts, level, kind, message, data}], "next_after": ID}.
 * CORE_ERR_NOT_FOUND for a missing or another team's dataset. */
enum core_status queue_dataset_events_json(struct store_pool *p, long long id,
					   long long team, long long after,
					   int limit, char **json, char *err,
					   size_t errlen);

/* One dataset as a JSON object: id, name, team, status, format,
 * resolution, progress, report, upload_bytes, expanded_bytes, error,
 * jobs_active, timestamps (never the server path of its cache). *json owned
 * by the caller (core_free). */
enum core_status queue_dataset_json(struct store_pool *p, long long id,
				    long long team, char **json, char *err,
				    size_t errlen);

/* Datasets newest first: {"datasets": [...], "next_cursor": "ID" | null},
 * at most limit with id < before (0: from the newest). */
enum core_status queue_datasets_page_json(struct store_pool *p, long long team,
					  long long before, int limit,
					  char **json, char *err,
					  size_t errlen);

/* Finds the team's dataset by id (> 0) or name; it must be ready
 * (CORE_ERR_CONFLICT names its status otherwise). *cache_path (optional)
 * owned by the caller (core_free). */
enum core_status queue_dataset_resolve(struct store_pool *p, long long team,
				       long long id, const char *name,
				       long long *id_out, char **cache_path,
				       int *classes, char *err, size_t errlen);

/* Deletes the dataset's row in one transaction that locks it first, so a
 * job submitted meanwhile either commits before (and is seen: refused) or
 * waits and fails its reference. CORE_ERR_CONFLICT while a queued or
 * running job uses it or while it is importing. *cache_path (optional,
 * core_free) receives the cache directory to remove once the row is gone. */
enum core_status queue_dataset_delete(struct store_pool *p, long long id,
				      long long team, char **cache_path,
				      char *err, size_t errlen);
/* The same for an operator (any team), also while the row says importing:
 * an import cut by a crash leaves it so, and several servers share the
 * database, so none can tell on its own that nobody imports it any more.
 * Still refused while a queued or running job uses it. */
enum core_status queue_dataset_delete_forced(struct store_pool *p, long long id,
					     char **cache_path, char *err,
					     size_t errlen);

#endif
