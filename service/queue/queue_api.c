/* SPDX-License-Identifier: Apache-2.0 */
/* queue_api.c - jobs as the HTTP API sees them: submission with a per-team
 * limit and an idempotency key, reads and changes limited to a team. */
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One job as a JSON object (j: jobs, t: teams LEFT JOINed). The counts are
 * index lookups (candidates_job, models_job, rounds' key). */
#define JOB_OBJECT                                                             \
	"json_build_object('id', j.id, 'name', j.name, 'team', t.name,"        \
	" 'status', j.status, 'cancel_requested', j.cancel_requested,"         \
	" 'progress', j.progress, 'error', j.error, 'attempts', j.attempts,"   \
	" 'created_at', j.created_at, 'started_at', j.started_at,"             \
	" 'finished_at', j.finished_at, 'updated_at', j.updated_at,"           \
	" 'counts', (SELECT json_build_object('candidates', count(*),"         \
	"   'trained', count(*) FILTER (WHERE c.status IN ('trained',"         \
	"     'final_training', 'final_done')),"                               \
	"   'rejected', count(*) FILTER (WHERE c.status = 'rejected'),"        \
	"   'failed', count(*) FILTER (WHERE c.status = 'failed'),"            \
	"   'rounds', (SELECT count(*) FROM rounds r WHERE r.job_id = j.id),"  \
	"   'models', (SELECT count(*) FROM models m WHERE m.job_id = j.id))"  \
	"   FROM candidates c WHERE c.job_id = j.id))"

/* $n::bigint = 0: every team (an admin); else only that team's jobs */
#define TEAM_SCOPE(n) "($" n "::bigint = 0 OR j.team_id = $" n "::bigint)"

/* Submissions of one team take turns (the lock ends with the
 * transaction); the key space (4712, team) is lmnas' own. */
static const struct store_stmt stmt_team_lock = {
    "queue_team_lock", "SELECT pg_advisory_xact_lock(4712, $1::int)", 1};

/* The insert happens only under the team's limit and for a key not yet
 * used; which of the two stopped it is read afterwards (stmt_by_key). */
static const struct store_stmt stmt_submit = {
    "queue_submit",
    "INSERT INTO jobs (name, spec, team_id, idempotency_key, request_hash,"
    " dataset_id)"
    " SELECT $1, $2::jsonb, $3::bigint, $4, $5, NULLIF($7::bigint, 0)"
    " WHERE $6::int = 0 OR (SELECT count(*) FROM jobs"
    "   WHERE team_id = $3::bigint AND status = 'queued') < $6::int"
    " ON CONFLICT (team_id, idempotency_key)"
    "   WHERE idempotency_key IS NOT NULL DO NOTHING"
    " RETURNING id",
    7};

static const struct store_stmt stmt_by_key = {
    "queue_by_key",
    "SELECT id, request_hash = $3 FROM jobs"
    " WHERE team_id = $1::bigint AND idempotency_key = $2",
    3};

static const struct store_stmt stmt_job_json = {
    "queue_job_json",
    "SELECT " JOB_OBJECT "::text FROM jobs j"
    " LEFT JOIN teams t ON t.id = j.team_id"
    " WHERE j.id = $1::bigint AND " TEAM_SCOPE("2"),
    2};

static const struct store_stmt stmt_jobs_page = {
    "queue_jobs_page",
    "SELECT j.id, " JOB_OBJECT "::text FROM jobs j"
    " LEFT JOIN teams t ON t.id = j.team_id"
    " WHERE " TEAM_SCOPE("1") " AND ($2::text IS NULL OR j.status = $2)"
			      " AND ($3::bigint = 0 OR j.id < $3::bigint)"
			      " ORDER BY j.id DESC LIMIT $4::int",
    4};

static const struct store_stmt stmt_cancel_team = {
    "queue_cancel_team",
    "UPDATE jobs j SET cancel_requested = true, updated_at = now(),"
    " status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,"
    " finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at"
    " END"
    " WHERE j.id = $1::bigint AND " TEAM_SCOPE(
	"2") " AND j.status IN ('queued', 'running')",
    2};

static const struct store_stmt stmt_delete = {
    "queue_delete",
    "DELETE FROM jobs j WHERE j.id = $1::bigint AND " TEAM_SCOPE(
	"2") " AND j.status IN ('succeeded', 'failed', 'cancelled')",
    2};

static const struct store_stmt stmt_state_team = {
    "queue_state_team",
    "SELECT j.status FROM jobs j WHERE j.id = $1::bigint AND " TEAM_SCOPE("2"),
    2};

enum core_status queue_job_status_parse(const char *s,
					enum queue_job_status *out)
{
	for (int i = QUEUE_JOB_QUEUED; i <= QUEUE_JOB_CANCELLED; i++)
		if (s && strcmp(s, queue_job_status_name(i)) == 0) {
			*out = (enum queue_job_status)i;
			return CORE_OK;
		}
	return CORE_ERR_INVALID;
}

struct submit_ctx {
	const struct queue_submit *s;
	enum queue_submit_outcome *outcome;
	long long *id;
};

/* One transaction: the team's lock, then the insert (its count of queued
 * jobs sees every submission committed before the lock was granted, so
 * concurrent submissions cannot pass the limit), then, when nothing was
 * inserted, the key's job. */
static enum core_status submit_tx(struct store_conn *c, void *arg, char *err,
				  size_t errlen)
{
	struct submit_ctx *x = arg;
	const struct queue_submit *s = x->s;
	char team[32], maxq[16], ds[32];
	const char *lparams[1] = {team};
	const char *params[7] = {s->name,
				 s->spec_json,
				 team,
				 s->idem_key,
				 s->idem_key ? s->request_hash : NULL,
				 maxq,
				 ds};
	const char *kparams[3] = {team, s->idem_key, s->request_hash};
	PGresult *r = NULL;
	enum core_status st;

	*x->id = 0;
	snprintf(team, sizeof team, "%lld", s->team_id);
	snprintf(maxq, sizeof maxq, "%d", s->max_queued);
	snprintf(ds, sizeof ds, "%lld", s->dataset_id);
	st = store_exec(c, &stmt_team_lock, lparams, NULL, NULL, NULL, err,
			errlen);
	if (!st)
		st = store_exec(c, &stmt_submit, params, NULL, NULL, &r, err,
				errlen);
	if (st)
		return st;
	if (PQntuples(r) == 1) {
		*x->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		*x->outcome = QUEUE_SUBMIT_CREATED;
		PQclear(r);
		return CORE_OK;
	}
	PQclear(r);
	*x->outcome = QUEUE_SUBMIT_QUEUE_FULL;
	if (!s->idem_key)
		return CORE_OK;
	st = store_exec(c, &stmt_by_key, kparams, NULL, NULL, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) == 1) {
		*x->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		*x->outcome = PQgetvalue(r, 0, 1)[0] == 't'
				  ? QUEUE_SUBMIT_REPLAYED
				  : QUEUE_SUBMIT_KEY_REUSED;
	}
	PQclear(r);
	return CORE_OK;
}

enum core_status queue_job_submit(struct store_pool *p,
				  const struct queue_submit *s,
				  enum queue_submit_outcome *outcome,
				  long long *id, char *err, size_t errlen)
{
	struct submit_ctx x = {s, outcome, id};

	return store_tx_run(p, STORE_READ_COMMITTED, submit_tx, &x, err,
			    errlen);
}

enum core_status queue_job_json(struct store_pool *p, long long id,
				long long team, char **json, char *err,
				size_t errlen)
{
	char ids[32], teams[32];
	const char *params[2] = {ids, teams};
	PGresult *r = NULL;
	enum core_status st;

	*json = NULL;
	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(teams, sizeof teams, "%lld", team);
	st = store_exec_pooled(p, &stmt_job_json, params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "job %lld not found", id);
		return CORE_ERR_NOT_FOUND;
	}
	*json = core_strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*json) {
		core_errf(err, errlen, "out of memory reading job %lld", id);
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

enum core_status queue_jobs_page_json(struct store_pool *p, long long team,
				      int has_status,
				      enum queue_job_status status,
				      long long before, int limit, char **json,
				      char *err, size_t errlen)
{
	char teams[32], befores[32], limits[16], cursor[48];
	const char *params[4] = {
	    teams, has_status ? queue_job_status_name(status) : NULL, befores,
	    limits};
	struct core_buf b;
	PGresult *r = NULL;
	enum core_status st;
	int n, shown;

	*json = NULL;
	snprintf(teams, sizeof teams, "%lld", team);
	snprintf(befores, sizeof befores, "%lld", before > 0 ? before : 0);
	/* one more than asked: whether a next page exists */
	snprintf(limits, sizeof limits, "%d", limit + 1);
	st = store_exec_pooled(p, &stmt_jobs_page, params, &r, err, errlen);
	if (st)
		return st;
	n = PQntuples(r);
	shown = n > limit ? limit : n;
	core_buf_init(&b, 64u << 20);
	st = core_buf_append(&b, "{\"jobs\":[", 9);
	for (int i = 0; !st && i < shown; i++) {
		if (i)
			st = core_buf_append(&b, ",", 1);
		if (!st)
			st = core_buf_append(&b, PQgetvalue(r, i, 1),
					     strlen(PQgetvalue(r, i, 1)));
	}
	if (n > limit)
		snprintf(cursor, sizeof cursor, "],\"next_cursor\":\"%s\"}",
			 PQgetvalue(r, limit - 1, 0));
	else
		snprintf(cursor, sizeof cursor, "],\"next_cursor\":null}");
	PQclear(r);
	if (!st)
		st = core_buf_append(&b, cursor, strlen(cursor) + 1);
	if (st) {
		core_buf_free(&b);
		core_errf(err, errlen, "out of memory listing jobs");
		return CORE_ERR_NOMEM;
	}
	*json = core_buf_steal(&b, NULL);
	return CORE_OK;
}

/* After a change that touched no row: not found (or not the team's), or
 * in a state that does not allow it (what names the change). */
static enum core_status why_not(struct store_pool *p, const char *const *params,
				long long id, const char *what, char *err,
				size_t errlen)
{
	PGresult *r = NULL;
	enum core_status st =
	    store_exec_pooled(p, &stmt_state_team, params, &r, err, errlen);

	if (st)
		return st;
	if (PQntuples(r) == 0) {
		core_errf(err, errlen, "job %lld not found", id);
		st = CORE_ERR_NOT_FOUND;
	} else {
		core_errf(err, errlen, "job %lld is %s: %s", id,
			  PQgetvalue(r, 0, 0), what);
		st = CORE_ERR_CONFLICT;
	}
	PQclear(r);
	return st;
}

/* Runs s, a statement that changes job $1 of team $2 when its state allows
 * it; when no row changed, says why (not found, or its status and what). */
static enum core_status change_one(struct store_pool *p,
				   const struct store_stmt *s, long long id,
				   long long team, const char *what, char *err,
				   size_t errlen)
{
	char ids[32], teams[32];
	const char *params[2] = {ids, teams};
	PGresult *r = NULL;
	enum core_status st;
	int changed;

	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(teams, sizeof teams, "%lld", team);
	st = store_exec_pooled(p, s, params, &r, err, errlen);
	if (st)
		return st;
	changed = atoi(PQcmdTuples(r));
	PQclear(r);
	if (changed == 1)
		return CORE_OK;
	return why_not(p, params, id, what, err, errlen);
}

enum core_status queue_job_cancel_team(struct store_pool *p, long long id,
				       long long team, char *err, size_t errlen)
{
	return change_one(p, &stmt_cancel_team, id, team, "it already ended",
			  err, errlen);
}

enum core_status queue_job_delete(struct store_pool *p, long long id,
				  long long team, char *err, size_t errlen)
{
	return change_one(p, &stmt_delete, id, team,
			  "only ended jobs can be deleted (cancel it first)",
			  err, errlen);
}

static const struct store_stmt stmt_events = {
    "queue_events",
    "SELECT json_build_object('events', coalesce(json_agg(json_build_object("
    "'id', e.id, 'ts', e.ts, 'level', e.level, 'kind', e.kind, 'message',"
    " e.message, 'data', e.data) ORDER BY e.id), '[]'), 'next_after',"
    " coalesce(max(e.id), $2::bigint))::text"
    " FROM (SELECT * FROM events WHERE job_id = $1::bigint"
    "   AND id > $2::bigint ORDER BY id LIMIT $3::int) e",
    3};

static const struct store_stmt stmt_rounds = {
    "queue_rounds",
    "SELECT json_build_object('rounds', coalesce(json_agg(json_build_object("
    "'round', r.round, 'proposer', r.proposer, 'front', r.front,"
    " 'hypervolume', r.hypervolume, 'summary', r.summary, 'created_at',"
    " r.created_at, 'finished_at', r.finished_at) ORDER BY r.round),"
    " '[]'))::text FROM rounds r WHERE r.job_id = $1::bigint",
    1};

/* Runs s for job id once the job is known to be visible to team: another
 * team's events and rounds are never read. */
static enum core_status job_read(struct store_pool *p, long long id,
				 long long team, const struct store_stmt *s,
				 const char *const *params, char **json,
				 char *err, size_t errlen)
{
	char ids[32], teams[32];
	const char *vparams[2] = {ids, teams};
	PGresult *r = NULL;
	enum core_status st;

	*json = NULL;
	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(teams, sizeof teams, "%lld", team);
	st = store_exec_pooled(p, &stmt_state_team, vparams, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) == 0) {
		PQclear(r);
		core_errf(err, errlen, "job %lld not found", id);
		return CORE_ERR_NOT_FOUND;
	}
	PQclear(r);
	st = store_exec_pooled(p, s, params, &r, err, errlen);
	if (st)
		return st;
	*json = core_strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*json) {
		core_errf(err, errlen, "out of memory reading job %lld", id);
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

enum core_status queue_job_events_json(struct store_pool *p, long long id,
				       long long team, long long after,
				       int limit, char **json, char *err,
				       size_t errlen)
{
	char ids[32], afters[32], limits[16];
	const char *params[3] = {ids, afters, limits};

	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(afters, sizeof afters, "%lld", after > 0 ? after : 0);
	snprintf(limits, sizeof limits, "%d", limit);
	return job_read(p, id, team, &stmt_events, params, json, err, errlen);
}

/* The job's status on every row, with its events after $3 (none: one row
 * of NULLs), so that the status and the events come from one snapshot. */
static const struct store_stmt stmt_events_stream = {
    "queue_events_stream",
    "SELECT j.status, e.id, e.kind, json_build_object('id', e.id, 'ts',"
    " e.ts, 'level', e.level, 'kind', e.kind, 'message', e.message, 'data',"
    " e.data)::text FROM jobs j LEFT JOIN LATERAL (SELECT * FROM events"
    "   WHERE job_id = j.id AND id > $3::bigint ORDER BY id LIMIT $4::int)"
    " e ON true WHERE j.id = $1::bigint AND " TEAM_SCOPE("2") " ORDER BY e.id",
    4};

void queue_events_free(struct queue_events *e)
{
	for (int i = 0; i < e->n; i++)
		core_free(e->v[i].json);
	core_free(e->v);
	memset(e, 0, sizeof *e);
}

enum core_status queue_job_events_read(struct store_pool *p, long long id,
				       long long team, long long after,
				       int limit, struct queue_events *out,
				       char *err, size_t errlen)
{
	char ids[32], teams[32], afters[32], limits[16];
	const char *params[4] = {ids, teams, afters, limits};
	enum queue_job_status status = QUEUE_JOB_QUEUED;
	PGresult *r = NULL;
	enum core_status st;
	int rows;

	memset(out, 0, sizeof *out);
	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(teams, sizeof teams, "%lld", team);
	snprintf(afters, sizeof afters, "%lld", after > 0 ? after : 0);
	snprintf(limits, sizeof limits, "%d", limit > 0 ? limit : 1);
	st = store_exec_pooled(p, &stmt_events_stream, params, &r, err, errlen);
	if (st)
		return st;
	rows = PQntuples(r);
	if (rows == 0) {
		PQclear(r);
		core_errf(err, errlen, "job %lld not found", id);
		return CORE_ERR_NOT_FOUND;
	}
	queue_job_status_parse(PQgetvalue(r, 0, 0), &status);
	out->v = core_calloc((size_t)rows, sizeof *out->v);
	if (!out->v) {
		st = CORE_ERR_NOMEM;
		goto out;
	}
	for (int i = 0; i < rows; i++) {
		struct queue_event *e = &out->v[out->n];

		if (PQgetisnull(r, i, 1))
			continue;
		e->id = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		core_utf8_copy(e->kind, sizeof e->kind, PQgetvalue(r, i, 2));
		e->json = core_strdup(PQgetvalue(r, i, 3));
		if (!e->json) {
			st = CORE_ERR_NOMEM;
			goto out;
		}
		out->n++;
	}
	out->ended = out->n < limit && status != QUEUE_JOB_QUEUED &&
		     status != QUEUE_JOB_RUNNING;
out:
	PQclear(r);
	if (st) {
		core_errf(err, errlen,
			  "out of memory reading job %lld's events", id);
		queue_events_free(out);
	}
	return st;
}

enum core_status queue_job_rounds_json(struct store_pool *p, long long id,
				       long long team, char **json, char *err,
				       size_t errlen)
{
	char ids[32];
	const char *params[1] = {ids};

	snprintf(ids, sizeof ids, "%lld", id);
	return job_read(p, id, team, &stmt_rounds, params, json, err, errlen);
}

/* A model as the API shows it: accuracy, flash and SRAM from the export
 * report (what the int8 build measured), the candidate's figures when the
 * report lacks them, and the artifacts' sizes and digests (never the bytes). */
#define MODEL_JSON                                                             \
	"json_build_object('id', m.id, 'job_id', m.job_id, 'candidate_id',"    \
	" m.candidate_id, 'float_top1',"                                       \
	" (m.report #>> '{accuracy,float_top1}')::float8, 'int8_top1',"        \
	" (m.report #>> '{accuracy,int8_top1}')::float8, 'macs',"              \
	" coalesce((m.report ->> 'macs')::bigint, c.macs), 'params', "         \
	"c.params,"                                                            \
	" 'flash_bytes', coalesce((m.report #>> '{flash,estimate,total}')"     \
	"::bigint, c.flash_bytes), 'sram_bytes',"                              \
	" coalesce((m.report #>> '{sram,arena_bytes}')::bigint, "              \
	"c.sram_bytes),"                                                       \
	" 'zip', CASE WHEN m.zip IS NULL THEN NULL ELSE json_build_object("    \
	"'size', m.zip_size, 'sha256', m.zip_sha256) END, 'checkpoint',"       \
	" CASE WHEN m.checkpoint IS NULL THEN NULL ELSE json_build_object("    \
	"'size', m.checkpoint_size, 'sha256', m.checkpoint_sha256) END,"       \
	" 'created_at', m.created_at)"

static const struct store_stmt stmt_models = {
    "queue_models",
    "SELECT json_build_object('models', coalesce(json_agg(" MODEL_JSON
    " ORDER BY m.id), '[]'))::text FROM models m JOIN candidates c ON c.id ="
    " m.candidate_id WHERE m.job_id = $1::bigint",
    1};

static const struct store_stmt stmt_model = {
    "queue_model",
    "SELECT " MODEL_JSON "::text FROM models m JOIN candidates c ON c.id ="
    " m.candidate_id JOIN jobs j ON j.id = m.job_id WHERE m.id = $1::bigint"
    " AND " TEAM_SCOPE("2"),
    2};

enum core_status queue_job_models_json(struct store_pool *p, long long id,
				       long long team, char **json, char *err,
				       size_t errlen)
{
	char ids[32];
	const char *params[1] = {ids};

	snprintf(ids, sizeof ids, "%lld", id);
	return job_read(p, id, team, &stmt_models, params, json, err, errlen);
}

enum core_status queue_model_json(struct store_pool *p, long long id,
				  long long team, char **json, char *err,
				  size_t errlen)
{
	char ids[32], teams[32];
	const char *params[2] = {ids, teams};
	PGresult *r = NULL;
	enum core_status st;

	*json = NULL;
	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(teams, sizeof teams, "%lld", team);
	st = store_exec_pooled(p, &stmt_model, params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) == 0) {
		PQclear(r);
		core_errf(err, errlen, "model %lld not found", id);
		return CORE_ERR_NOT_FOUND;
	}
	*json = core_strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*json) {
		core_errf(err, errlen, "out of memory reading model %lld", id);
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}
