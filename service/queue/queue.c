/* SPDX-License-Identifier: Apache-2.0 */
/* queue.c - claiming, renewing and finishing job leases. */
#include "queue.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *status_names[] = {"queued", "running", "succeeded", "failed",
				     "cancelled"};

const char *queue_job_status_name(enum queue_job_status s)
{
	return (unsigned)s < 5 ? status_names[s] : "unknown";
}

static const struct store_stmt stmt_enqueue = {
    "queue_enqueue",
    "INSERT INTO jobs (name, spec) VALUES ($1, $2::jsonb) RETURNING id", 2};

/* The inner SELECT locks one claimable row and skips rows other workers hold
 * locked, so concurrent claims never block each other or double-claim. */
/* $3 > 0: a queued job of a team already running that many jobs (leases
 * alive) waits; a job taken over from a dead worker is not a new one. Two
 * workers claiming at the same instant may each see room for one more, so
 * the limit can be passed by one for a while. */
static const struct store_stmt stmt_claim = {
    "queue_claim",
    "UPDATE jobs SET status = 'running', lease_owner = $1,"
    " lease_expires_at = now() + make_interval(secs => $2::int),"
    " attempts = attempts + 1, started_at = coalesce(started_at, now()),"
    " updated_at = now()"
    " WHERE id = (SELECT j.id FROM jobs j"
    "   WHERE (j.status = 'queued' OR (j.status = 'running'"
    "          AND j.lease_expires_at < now()))"
    "   AND ($3::int = 0 OR j.team_id IS NULL OR j.status = 'running'"
    "        OR (SELECT count(*) FROM jobs r WHERE r.team_id = j.team_id"
    "            AND r.status = 'running' AND r.lease_expires_at >= now())"
    "           < $3::int)"
    "   ORDER BY j.created_at, j.id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " RETURNING id, name, spec::text, attempts",
    3};

static atomic_int team_max_running;

void queue_team_max_running_set(int n)
{
	atomic_store(&team_max_running, n > 0 ? n : 0);
}

static const struct store_stmt stmt_claim_id = {
    "queue_claim_id",
    "UPDATE jobs SET status = 'running', lease_owner = $2,"
    " lease_expires_at = now() + make_interval(secs => $3::int),"
    " attempts = attempts + 1, started_at = coalesce(started_at, now()),"
    " updated_at = now()"
    " WHERE id = (SELECT id FROM jobs WHERE id = $1::bigint"
    "   AND (status = 'queued' OR (status = 'running'"
    "        AND lease_expires_at < now())) FOR UPDATE SKIP LOCKED)"
    " RETURNING id, name, spec::text, attempts",
    3};

static const struct store_stmt stmt_job_state = {
    "queue_job_state",
    "SELECT status, coalesce(to_char(lease_expires_at, 'HH24:MI:SS'), '')"
    " FROM jobs WHERE id = $1::bigint",
    1};

static const struct store_stmt stmt_heartbeat = {
    "queue_heartbeat",
    "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3::int),"
    " progress = coalesce($4::jsonb, progress), updated_at = now()"
    " WHERE id = $1::bigint AND lease_owner = $2 AND status = 'running'"
    " RETURNING cancel_requested",
    4};

static const struct store_stmt stmt_finish = {
    "queue_finish",
    "UPDATE jobs SET status = $3, error = $4, lease_owner = NULL,"
    " lease_expires_at = NULL, finished_at = now(), updated_at = now()"
    " WHERE id = $1::bigint AND lease_owner = $2 AND status = 'running'",
    4};

static const struct store_stmt stmt_cancel = {
    "queue_cancel",
    "UPDATE jobs SET cancel_requested = true, updated_at = now(),"
    " status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,"
    " finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END"
    " WHERE id = $1::bigint AND status IN ('queued', 'running')",
    1};

static const struct store_stmt stmt_get = {
    "queue_get",
    "SELECT status, coalesce(error, '') FROM jobs"
    " WHERE id = $1::bigint",
    1};

static const struct store_stmt stmt_exists = {
    "queue_exists", "SELECT status FROM jobs WHERE id = $1::bigint", 1};

enum core_status queue_job_enqueue(struct store_pool *p, const char *name,
				   const char *spec_json, long long *id,
				   char *err, size_t errlen)
{
	const char *params[2] = {name, spec_json};
	PGresult *r = NULL;
	enum core_status st =
	    store_exec_pooled(p, &stmt_enqueue, params, &r, err, errlen);

	if (st)
		return st;
	*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return CORE_OK;
}

void queue_claim_free(struct queue_claim *c)
{
	core_free(c->name);
	core_free(c->spec);
	memset(c, 0, sizeof *c);
}

/* Fills out from a claim's row (id, name, spec, attempts) and clears r. On
 * out of memory the lease expires by itself and another claim picks the
 * job up. */
static enum core_status claim_from_row(PGresult *r, struct queue_claim *out,
				       char *err, size_t errlen)
{
	out->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	out->name = core_strdup(PQgetvalue(r, 0, 1));
	out->spec = core_strdup(PQgetvalue(r, 0, 2));
	out->attempts = atoi(PQgetvalue(r, 0, 3));
	PQclear(r);
	if (!out->name || !out->spec) {
		queue_claim_free(out);
		core_errf(err, errlen, "out of memory claiming a job");
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

enum core_status queue_job_claim(struct store_pool *p, const char *worker,
				 int lease_s, struct queue_claim *out,
				 char *err, size_t errlen)
{
	char lease[16], maxr[16];
	const char *params[3] = {worker, lease, maxr};
	PGresult *r = NULL;
	enum core_status st;

	memset(out, 0, sizeof *out);
	snprintf(lease, sizeof lease, "%d", lease_s);
	snprintf(maxr, sizeof maxr, "%d", atomic_load(&team_max_running));
	st = store_exec_pooled(p, &stmt_claim, params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) == 0) {
		PQclear(r);
		core_errf(err, errlen, "no claimable job");
		return CORE_ERR_NOT_FOUND;
	}
	return claim_from_row(r, out, err, errlen);
}

enum core_status queue_job_claim_id(struct store_pool *p, long long id,
				    const char *worker, int lease_s,
				    struct queue_claim *out, char *err,
				    size_t errlen)
{
	char ids[32], lease[16];
	const char *params[3] = {ids, worker, lease};
	PGresult *r = NULL;
	enum core_status st;

	memset(out, 0, sizeof *out);
	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(lease, sizeof lease, "%d", lease_s);
	st = store_exec_pooled(p, &stmt_claim_id, params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) == 1)
		return claim_from_row(r, out, err, errlen);
	PQclear(r);
	st = store_exec_pooled(p, &stmt_job_state, params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) == 0) {
		core_errf(err, errlen, "job %lld not found", id);
		st = CORE_ERR_NOT_FOUND;
	} else if (strcmp(PQgetvalue(r, 0, 0), "running") == 0) {
		core_errf(err, errlen,
			  "job %lld is held by another worker "
			  "until %s UTC",
			  id, PQgetvalue(r, 0, 1));
		st = CORE_ERR_CONFLICT;
	} else {
		core_errf(err, errlen, "job %lld already %s", id,
			  PQgetvalue(r, 0, 0));
		st = CORE_ERR_CONFLICT;
	}
	PQclear(r);
	return st;
}

enum core_status queue_job_heartbeat(struct store_pool *p, long long id,
				     const char *worker, int lease_s,
				     const char *progress_json,
				     int *cancel_requested, char *err,
				     size_t errlen)
{
	char ids[32], lease[16], *clean = NULL;
	const char *params[4] = {ids, worker, lease, progress_json};
	PGresult *r = NULL;
	enum core_status st;

	if (progress_json &&
	    !core_utf8_valid(progress_json, strlen(progress_json))) {
		clean = core_utf8_sanitize(progress_json, strlen(progress_json),
					   3 * strlen(progress_json) + 1, NULL);
		params[3] = clean; /* NULL (out of memory): progress kept */
	}
	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(lease, sizeof lease, "%d", lease_s);
	st = store_exec_pooled(p, &stmt_heartbeat, params, &r, err, errlen);
	core_free(clean);
	if (st)
		return st;
	if (PQntuples(r) == 0) {
		PQclear(r);
		core_errf(err, errlen, "job %lld: lease lost", id);
		return CORE_ERR_CONFLICT;
	}
	if (cancel_requested)
		*cancel_requested = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return CORE_OK;
}

enum core_status queue_job_finish(struct store_pool *p, long long id,
				  const char *worker,
				  enum queue_job_status status,
				  const char *error, char *err, size_t errlen)
{
	char ids[32], clean[2048];
	const char *params[4] = {ids, worker, queue_job_status_name(status),
				 error ? clean : NULL};
	PGresult *r = NULL;
	enum core_status st;

	/* the reason often quotes outside text (an LLM reply, a file name):
	 * PostgreSQL takes only valid UTF-8 */
	if (error)
		core_utf8_copy(clean, sizeof clean, error);
	if (status != QUEUE_JOB_SUCCEEDED && status != QUEUE_JOB_FAILED &&
	    status != QUEUE_JOB_CANCELLED) {
		core_errf(err, errlen, "finish: %s is not an end state",
			  queue_job_status_name(status));
		return CORE_ERR_INVALID;
	}
	snprintf(ids, sizeof ids, "%lld", id);
	st = store_exec_pooled(p, &stmt_finish, params, &r, err, errlen);
	if (st)
		return st;
	if (atoi(PQcmdTuples(r)) != 1) {
		PQclear(r);
		core_errf(err, errlen, "job %lld: lease lost", id);
		return CORE_ERR_CONFLICT;
	}
	PQclear(r);
	return CORE_OK;
}

enum core_status queue_job_get(struct store_pool *p, long long id,
			       enum queue_job_status *status, char *error,
			       size_t errorlen, char *err, size_t errlen)
{
	char ids[32];
	const char *params[1] = {ids};
	PGresult *r = NULL;
	enum core_status st;
	int found = 0;

	snprintf(ids, sizeof ids, "%lld", id);
	st = store_exec_pooled(p, &stmt_get, params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) == 1) {
		for (int s = 0; s < 5; s++)
			if (strcmp(PQgetvalue(r, 0, 0), status_names[s]) == 0) {
				*status = (enum queue_job_status)s;
				found = 1;
			}
		if (error && errorlen)
			core_utf8_copy(error, errorlen, PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	if (!found) {
		core_errf(err, errlen, "job %lld not found", id);
		return CORE_ERR_NOT_FOUND;
	}
	return CORE_OK;
}

enum core_status queue_job_cancel(struct store_pool *p, long long id, char *err,
				  size_t errlen)
{
	char ids[32];
	const char *params[1] = {ids};
	PGresult *r = NULL;
	enum core_status st;
	int changed;

	snprintf(ids, sizeof ids, "%lld", id);
	st = store_exec_pooled(p, &stmt_cancel, params, &r, err, errlen);
	if (st)
		return st;
	changed = atoi(PQcmdTuples(r));
	PQclear(r);
	if (changed == 1)
		return CORE_OK;
	st = store_exec_pooled(p, &stmt_exists, params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) == 0) {
		core_errf(err, errlen, "job %lld not found", id);
		st = CORE_ERR_NOT_FOUND;
	} else {
		core_errf(err, errlen, "job %lld already %s", id,
			  PQgetvalue(r, 0, 0));
		st = CORE_ERR_CONFLICT;
	}
	PQclear(r);
	return st;
}

/* queued rather than running-and-expired: the job is in no one's hands,
 * and a cancel of a queued job ends it at once (nobody is left to see the
 * request) */
static const struct store_stmt stmt_release = {
    "queue_release",
    "UPDATE jobs SET status = 'queued', lease_owner = NULL,"
    " lease_expires_at = NULL, updated_at = now()"
    " WHERE id = $1::bigint AND lease_owner = $2 AND status = 'running'",
    2};

enum core_status queue_job_release(struct store_pool *p, long long id,
				   const char *worker, char *err, size_t errlen)
{
	char ids[32];
	const char *params[2] = {ids, worker};
	PGresult *r = NULL;
	enum core_status st;
	int changed;

	snprintf(ids, sizeof ids, "%lld", id);
	st = store_exec_pooled(p, &stmt_release, params, &r, err, errlen);
	if (st)
		return st;
	changed = atoi(PQcmdTuples(r));
	PQclear(r);
	if (changed != 1) {
		core_errf(err, errlen, "job %lld: lease lost", id);
		return CORE_ERR_CONFLICT;
	}
	return CORE_OK;
}

static const struct store_stmt stmt_cancel_requested = {
    "queue_cancel_requested",
    "SELECT cancel_requested FROM jobs WHERE id = $1::bigint", 1};

enum core_status queue_job_cancel_requested(struct store_pool *p, long long id,
					    int *requested, char *err,
					    size_t errlen)
{
	char ids[32];
	const char *params[1] = {ids};
	PGresult *r = NULL;
	enum core_status st;

	*requested = 0;
	snprintf(ids, sizeof ids, "%lld", id);
	st = store_exec_pooled(p, &stmt_cancel_requested, params, &r, err,
			       errlen);
	if (st)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "job %lld not found", id);
		return CORE_ERR_NOT_FOUND;
	}
	*requested = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return CORE_OK;
}
