/* SPDX-License-Identifier: Apache-2.0 */
/* records_job.c - a search job's rounds, LLM calls, events and final
 * models, and the JSON views of jobs. Every write is lease-guarded and
 * stores valid UTF-8 (store_internal.h). */
#include "store_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The result of a guarded job-level write: a row, or why not. */
static enum core_status job_written(struct store_pool *p, PGresult *r,
				    long long job_id, const char *owner,
				    char *err, size_t errlen)
{
	int n = atoi(PQcmdTuples(r));
	enum core_status st;

	PQclear(r);
	if (n >= 1)
		return CORE_OK;
	st = store_lease_why(p, NULL, job_id, owner, err, errlen);
	if (st == CORE_OK) {
		core_errf(err, errlen, "job %lld: nothing written", job_id);
		st = CORE_ERR_INTERNAL;
	}
	return st;
}

/* ---- rounds ---- */

static const struct store_stmt stmt_round_put = {
    "round_put",
    "INSERT INTO rounds (job_id, round, proposer, front, hypervolume,"
    " summary, finished_at) SELECT $1::bigint, $2::int, $3, $4::jsonb,"
    " $5::float8, $6, CASE WHEN $7::bool THEN now() END"
    " WHERE " STORE_LEASE_GUARD(
	"$1::bigint",
	"8") " ON CONFLICT (job_id, round) DO UPDATE SET proposer ="
	     " EXCLUDED.proposer, front = EXCLUDED.front, hypervolume ="
	     " EXCLUDED.hypervolume, summary = EXCLUDED.summary, finished_at ="
	     " EXCLUDED.finished_at",
    8};

enum core_status store_round_put(struct store_pool *p, const char *owner,
				 long long job_id, int round,
				 const char *proposer, const char *front_json,
				 double hypervolume, const char *summary,
				 int finished, char *err, size_t errlen)
{
	struct store_num n[3] = {0};
	struct store_text t = {0};
	const char *params[8] = {
	    store_int_text(&n[0], job_id),
	    store_int_text(&n[1], round),
	    store_text(&t, proposer),
	    front_json ? store_text(&t, front_json) : "[]",
	    store_dbl_or_null(&n[2], hypervolume),
	    store_text(&t, summary),
	    finished ? "true" : "false",
	    owner,
	};
	PGresult *r = NULL;
	enum core_status st =
	    store_run(p, &stmt_round_put, params, NULL, NULL, &r, err, errlen);

	store_text_free(&t);
	return st ? st : job_written(p, r, job_id, owner, err, errlen);
}

static const struct store_stmt stmt_round_get = {
    "round_get",
    "SELECT front::text, hypervolume FROM rounds WHERE job_id = $1::bigint"
    " AND round = $2::int",
    2};

enum core_status store_round_get(struct store_pool *p, long long job_id,
				 int round, char **front_json,
				 double *hypervolume, char *err, size_t errlen)
{
	struct store_num n[2] = {0};
	const char *params[2] = {store_int_text(&n[0], job_id),
				 store_int_text(&n[1], round)};
	PGresult *r = NULL;
	enum core_status st;

	*front_json = NULL;
	st = store_run(p, &stmt_round_get, params, NULL, NULL, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "job %lld: round %d not stored", job_id,
			  round + 1);
		return CORE_ERR_NOT_FOUND;
	}
	*front_json = core_strdup(PQgetvalue(r, 0, 0));
	*hypervolume = store_dbl_col(r, 0, 1);
	PQclear(r);
	if (!*front_json) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

static const struct store_stmt stmt_round_last = {
    "round_last_finished",
    "SELECT coalesce(max(round), -1) FROM rounds WHERE job_id = $1::bigint"
    " AND finished_at IS NOT NULL",
    1};

enum core_status store_round_last_finished(struct store_pool *p,
					   long long job_id, int *round,
					   char *err, size_t errlen)
{
	struct store_num n = {0};
	const char *params[1] = {store_int_text(&n, job_id)};
	PGresult *r = NULL;
	enum core_status st =
	    store_run(p, &stmt_round_last, params, NULL, NULL, &r, err, errlen);

	if (st)
		return st;
	*round = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return CORE_OK;
}

/* ---- LLM calls and events ---- */

static const struct store_stmt stmt_llm_call = {
    "llm_call_insert",
    "INSERT INTO llm_calls (job_id, round, attempt, model, messages, reply,"
    " http_status, prompt_tokens, completion_tokens, latency_ms, outcome,"
    " error) SELECT $1::bigint, $2::int, $3::int, $4, $5::jsonb, $6,"
    " $7::int, $8::int, $9::int, $10::int, $11, $12"
    " WHERE " STORE_LEASE_GUARD("$1::bigint", "13"),
    13};

static enum core_status llm_call_on(struct store_pool *p,
				    struct store_conn *conn, const char *owner,
				    const struct store_llm_call *c, char *err,
				    size_t errlen)
{
	struct store_num n[7] = {0};
	struct store_text t = {0};
	const char *params[13] = {
	    store_int_text(&n[0], c->job_id),
	    store_int_text(&n[1], c->round),
	    store_int_text(&n[2], c->attempt),
	    store_text(&t, c->model),
	    c->messages_json ? store_text(&t, c->messages_json) : "[]",
	    store_text(&t, c->reply),
	    store_ll_or_null(&n[3], c->http_status),
	    store_ll_or_null(&n[4], c->prompt_tokens),
	    store_ll_or_null(&n[5], c->completion_tokens),
	    store_ll_or_null(&n[6], c->latency_ms),
	    store_text(&t, c->outcome),
	    store_text(&t, c->error),
	    owner,
	};
	PGresult *r = NULL;
	enum core_status st = conn ? store_run_on(conn, &stmt_llm_call, params,
						  NULL, NULL, &r, err, errlen)
				   : store_run(p, &stmt_llm_call, params, NULL,
					       NULL, &r, err, errlen);
	int rows;

	store_text_free(&t);
	if (st)
		return st;
	rows = atoi(PQcmdTuples(r));
	PQclear(r);
	if (rows >= 1)
		return CORE_OK;
	st = store_lease_why(p, conn, c->job_id, owner, err, errlen);
	if (st == CORE_OK) {
		core_errf(err, errlen, "job %lld: nothing written", c->job_id);
		st = CORE_ERR_INTERNAL;
	}
	return st;
}

enum core_status store_llm_call_insert(struct store_pool *p, const char *owner,
				       const struct store_llm_call *c,
				       char *err, size_t errlen)
{
	return llm_call_on(p, NULL, owner, c, err, errlen);
}

struct proposals_tx {
	struct store_pool *p;
	const char *owner;
	const struct store_llm_call *calls;
	int ncalls;
	const struct store_candidate *cands;
	int ncands;
	long long *ids;
};

static enum core_status proposals_tx_body(struct store_conn *c, void *argp,
					  char *err, size_t errlen)
{
	struct proposals_tx *a = argp;
	enum core_status st = CORE_OK;

	for (int i = 0; !st && i < a->ncalls; i++)
		st = llm_call_on(a->p, c, a->owner, &a->calls[i], err, errlen);
	for (int i = 0; !st && i < a->ncands; i++)
		st = store_candidate_insert_on(a->p, c, a->owner, &a->cands[i],
					       &a->ids[i], err, errlen);
	return st;
}

enum core_status store_proposals_insert(struct store_pool *p, const char *owner,
					const struct store_llm_call *calls,
					int ncalls,
					const struct store_candidate *cands,
					int ncands, long long *ids, char *err,
					size_t errlen)
{
	struct proposals_tx a = {p, owner, calls, ncalls, cands, ncands, ids};

	if (ncalls == 0 && ncands == 0)
		return CORE_OK;
	return store_tx_run(p, STORE_READ_COMMITTED, proposals_tx_body, &a, err,
			    errlen);
}

static const struct store_stmt stmt_event = {
    "event_insert",
    "INSERT INTO events (job_id, level, kind, message, data) SELECT"
    " $1::bigint, $2, $3, $4, coalesce($5::jsonb, '{}'::jsonb)"
    " WHERE " STORE_LEASE_GUARD("$1::bigint", "6"),
    6};

enum core_status store_event_insert(struct store_pool *p, const char *owner,
				    long long job_id,
				    enum store_event_level level,
				    const char *kind, const char *message,
				    const char *data_json, char *err,
				    size_t errlen)
{
	struct store_num n = {0};
	struct store_text t = {0};
	const char *params[6] = {
	    store_int_text(&n, job_id), store_event_level_name(level),
	    store_text(&t, kind),	store_text(&t, message),
	    store_text(&t, data_json),	owner};
	PGresult *r = NULL;
	enum core_status st =
	    store_run(p, &stmt_event, params, NULL, NULL, &r, err, errlen);

	store_text_free(&t);
	return st ? st : job_written(p, r, job_id, owner, err, errlen);
}

/* ---- models ---- */

/* ON CONFLICT: one model per candidate (models_candidate); the insert of
 * a second returns no row. */
static const struct store_stmt stmt_model_insert = {
    "model_insert",
    "INSERT INTO models (job_id, candidate_id, checkpoint,"
    " checkpoint_sha256, checkpoint_size, zip, zip_sha256, zip_size,"
    " report) SELECT $1::bigint, $2::bigint, $3::bytea, $4, $5::bigint,"
    " $6::bytea, $7, $8::bigint, coalesce($9::jsonb, '{}'::jsonb)"
    " WHERE " STORE_LEASE_GUARD(
	"$1::bigint",
	"10") " ON CONFLICT (candidate_id) DO NOTHING RETURNING id",
    10};

static const struct store_stmt stmt_model_of = {
    "model_of", "SELECT id FROM models WHERE candidate_id = $1::bigint", 1};

/* Inserts m on c; *id receives the new id, or 0 when the candidate already
 * has a model. */
static enum core_status model_insert_on(struct store_pool *p,
					struct store_conn *c, const char *owner,
					const struct store_model *m,
					long long *id, char *err, size_t errlen)
{
	struct store_num n[4] = {0};
	struct store_text t = {0};
	char h1[65], h2[65];
	const char *params[10];
	int lengths[10] = {0}, formats[10] = {0};
	PGresult *r = NULL;
	enum core_status st;

	*id = 0;
	if (m->ckpt_len > (size_t)1 << 30 || m->zip_len > (size_t)1 << 30) {
		core_errf(err, errlen, "model files too large to store");
		return CORE_ERR_INVALID;
	}
	core_sha256_hex(m->ckpt, m->ckpt_len, h1);
	core_sha256_hex(m->zip, m->zip_len, h2);
	params[0] = store_int_text(&n[0], m->job_id);
	params[1] = store_int_text(&n[1], m->candidate_id);
	params[2] = m->ckpt;
	params[3] = m->ckpt ? h1 : NULL;
	params[4] =
	    m->ckpt ? store_int_text(&n[2], (long long)m->ckpt_len) : NULL;
	params[5] = m->zip;
	params[6] = m->zip ? h2 : NULL;
	params[7] =
	    m->zip ? store_int_text(&n[3], (long long)m->zip_len) : NULL;
	params[8] = store_text(&t, m->report_json);
	params[9] = owner;
	lengths[2] = (int)m->ckpt_len;
	lengths[5] = (int)m->zip_len;
	formats[2] = formats[5] = 1;
	st = store_run_on(c, &stmt_model_insert, params, lengths, formats, &r,
			  err, errlen);
	store_text_free(&t);
	if (st)
		return st;
	if (PQntuples(r) == 1)
		*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (*id)
		return CORE_OK;
	return store_lease_why(p, c, m->job_id, owner, err, errlen);
}

enum core_status store_model_insert(struct store_pool *p, const char *owner,
				    const struct store_model *m, long long *id,
				    char *err, size_t errlen)
{
	struct store_conn *c = NULL;
	enum core_status st = store_conn_acquire(p, 10.0, &c, err, errlen);

	if (st)
		return st;
	st = model_insert_on(p, c, owner, m, id, err, errlen);
	store_conn_release(p, c);
	if (!st && *id == 0) {
		core_errf(err, errlen, "candidate %lld already has a model",
			  m->candidate_id);
		st = CORE_ERR_CONFLICT;
	}
	return st;
}

struct model_tx {
	struct store_pool *p;
	const char *owner;
	const struct store_model *m;
	long long id;
};

static enum core_status model_tx_body(struct store_conn *c, void *argp,
				      char *err, size_t errlen)
{
	struct model_tx *a = argp;
	enum core_status st =
	    model_insert_on(a->p, c, a->owner, a->m, &a->id, err, errlen);

	if (!st && a->id == 0) {
		/* stored before: keep that one */
		struct store_num n = {0};
		const char *params[1] = {
		    store_int_text(&n, a->m->candidate_id)};
		PGresult *r = NULL;
		st = store_run_on(c, &stmt_model_of, params, NULL, NULL, &r,
				  err, errlen);
		if (!st && PQntuples(r) == 1)
			a->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	if (!st)
		st = store_candidate_status_on(c, a->owner, a->m->candidate_id,
					       STORE_CAND_FINAL_DONE, err,
					       errlen);
	return st;
}

enum core_status store_model_finish(struct store_pool *p, const char *owner,
				    const struct store_model *m, long long *id,
				    char *err, size_t errlen)
{
	struct model_tx a = {p, owner, m, 0};
	enum core_status st = store_tx_run(p, STORE_READ_COMMITTED,
					   model_tx_body, &a, err, errlen);

	*id = st ? 0 : a.id;
	return st;
}

static const struct store_stmt stmt_model_zip = {
    "model_zip", "SELECT zip FROM models WHERE id = $1::bigint", 1};

enum core_status store_model_zip(struct store_pool *p, long long model_id,
				 void **zip, size_t *len, char *err,
				 size_t errlen)
{
	struct store_num n = {0};
	const char *params[1] = {store_int_text(&n, model_id)};
	PGresult *r = NULL;
	enum core_status st;

	*zip = NULL;
	*len = 0;
	st = store_run(p, &stmt_model_zip, params, NULL, NULL, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		PQclear(r);
		core_errf(err, errlen, "model %lld has no zip", model_id);
		return CORE_ERR_NOT_FOUND;
	}
	st = store_bytea_copy(PQgetvalue(r, 0, 0), zip, len, err, errlen);
	PQclear(r);
	return st;
}

/* ---- JSON views ---- */

static const struct store_stmt stmt_job_json = {
    "job_json",
    "SELECT json_build_object("
    " 'job', (SELECT row_to_json(x) FROM (SELECT id, name, status,"
    "   cancel_requested, attempts, progress, error, spec, created_at,"
    "   started_at, finished_at FROM jobs WHERE id = $1::bigint) x),"
    " 'rounds', (SELECT coalesce(json_agg(x ORDER BY round), '[]') FROM"
    "   (SELECT round, proposer, front, hypervolume, summary, finished_at"
    "    FROM rounds WHERE job_id = $1::bigint) x),"
    " 'candidates', (SELECT coalesce(json_agg(x ORDER BY id), '[]') FROM"
    "   (SELECT id, round, source, status, arch_hash, rationale,"
    "    rejection_reason, macs, params, flash_bytes, sram_bytes, val_top1,"
    "    val_top5, val_loss, final_val_top1, final_val_top5,"
    "    final_val_loss, test_top1, epochs_done FROM candidates"
    "    WHERE job_id = $1::bigint) x),"
    " 'models', (SELECT coalesce(json_agg(x ORDER BY id), '[]') FROM"
    "   (SELECT id, candidate_id, zip_size, zip_sha256, checkpoint_size,"
    "    report, created_at FROM models WHERE job_id = $1::bigint) x),"
    " 'events', (SELECT coalesce(json_agg(x ORDER BY id), '[]') FROM"
    "   (SELECT id, ts, level, kind, message FROM events WHERE job_id ="
    "    $1::bigint ORDER BY id DESC LIMIT 50) x))"
    " WHERE EXISTS (SELECT 1 FROM jobs WHERE id = $1::bigint)",
    1};

static enum core_status json_result(PGresult *r, char **json, char *err,
				    size_t errlen)
{
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "not found");
		return CORE_ERR_NOT_FOUND;
	}
	*json = core_strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*json) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

enum core_status store_job_json(struct store_pool *p, long long job_id,
				char **json, char *err, size_t errlen)
{
	struct store_num n = {0};
	const char *params[1] = {store_int_text(&n, job_id)};
	PGresult *r = NULL;
	enum core_status st;

	*json = NULL;
	st = store_run(p, &stmt_job_json, params, NULL, NULL, &r, err, errlen);
	if (st)
		return st;
	st = json_result(r, json, err, errlen);
	if (st == CORE_ERR_NOT_FOUND)
		core_errf(err, errlen, "job %lld not found", job_id);
	return st;
}

static const struct store_stmt stmt_llm_call_counts = {
    "llm_call_counts",
    "SELECT coalesce(json_object_agg(outcome, n), '{}') FROM (SELECT"
    " outcome, count(*) AS n FROM llm_calls WHERE job_id = $1::bigint"
    " GROUP BY outcome) x",
    1};

enum core_status store_llm_call_counts(struct store_pool *p, long long job_id,
				       char **json, char *err, size_t errlen)
{
	struct store_num n = {0};
	const char *params[1] = {store_int_text(&n, job_id)};
	PGresult *r = NULL;
	enum core_status st;

	*json = NULL;
	st = store_run(p, &stmt_llm_call_counts, params, NULL, NULL, &r, err,
		       errlen);
	if (st)
		return st;
	return json_result(r, json, err, errlen);
}

static const struct store_stmt stmt_jobs_json = {
    "jobs_json",
    "SELECT coalesce(json_agg(x ORDER BY id DESC), '[]') FROM (SELECT id,"
    " name, status, attempts, progress, created_at, finished_at,"
    " (SELECT count(*) FROM candidates c WHERE c.job_id = j.id AND"
    "  c.status <> 'rejected') AS candidates,"
    " (SELECT count(*) FROM models m WHERE m.job_id = j.id) AS models"
    " FROM jobs j ORDER BY id DESC LIMIT $1::int) x",
    1};

enum core_status store_jobs_json(struct store_pool *p, int limit, char **json,
				 char *err, size_t errlen)
{
	struct store_num n = {0};
	const char *params[1] = {store_int_text(&n, limit)};
	PGresult *r = NULL;
	enum core_status st;

	*json = NULL;
	st = store_run(p, &stmt_jobs_json, params, NULL, NULL, &r, err, errlen);
	return st ? st : json_result(r, json, err, errlen);
}
