/* SPDX-License-Identifier: Apache-2.0 */
/* queue_dataset.c - the datasets table: creation, import progress and end,
 * reads limited to a team, resolution for job specs, and a delete refused
 * while a job uses the dataset. */
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One dataset as a JSON object (d: datasets, t: teams LEFT JOINed). The
 * cache path is the server's business and never shown. */
#define DATASET_OBJECT                                                         \
	"json_build_object('id', d.id, 'name', d.name, 'team', t.name,"        \
	" 'status', d.status, 'format', d.format, 'resolution',"               \
	" d.resolution, 'progress', d.progress, 'report', d.report,"           \
	" 'upload_bytes', d.upload_bytes, 'expanded_bytes',"                   \
	" d.expanded_bytes, 'error', d.error, 'jobs_active', (SELECT count(*)" \
	"   FROM jobs j WHERE j.dataset_id = d.id"                             \
	"   AND j.status IN ('queued', 'running')),"                           \
	" 'created_at', d.created_at, 'updated_at', d.updated_at,"             \
	" 'finished_at', d.finished_at)"

/* $n::bigint = 0: every team; else only that team's datasets */
#define DS_SCOPE(n) "($" n "::bigint = 0 OR d.team_id = $" n "::bigint)"

static const struct store_stmt stmt_ds_create = {
    "queue_ds_create",
    "INSERT INTO datasets (team_id, name, format, resolution, upload_bytes)"
    " VALUES (NULLIF($1::bigint, 0), $2, $3, NULLIF($4::int, 0),"
    " $5::bigint) RETURNING id",
    5};

static const struct store_stmt stmt_ds_progress = {
    "queue_ds_progress",
    "UPDATE datasets SET progress = $2::double precision, updated_at = now()"
    " WHERE id = $1::bigint AND status = 'importing'",
    2};

static const struct store_stmt stmt_ds_finish = {
    "queue_ds_finish",
    "UPDATE datasets SET status = CASE WHEN $5::text IS NULL THEN 'ready'"
    " ELSE 'failed' END, cache_path = $2, report = $3::jsonb,"
    " expanded_bytes = $4::bigint, error = $5, updated_at = now(),"
    " finished_at = now(), progress = CASE WHEN $5::text IS NULL THEN 1"
    " ELSE progress END"
    " WHERE id = $1::bigint AND status = 'importing'",
    5};

static const struct store_stmt stmt_ds_json = {
    "queue_ds_json",
    "SELECT " DATASET_OBJECT "::text FROM datasets d"
    " LEFT JOIN teams t ON t.id = d.team_id"
    " WHERE d.id = $1::bigint AND " DS_SCOPE("2"),
    2};

static const struct store_stmt stmt_ds_page = {
    "queue_ds_page",
    "SELECT d.id, " DATASET_OBJECT "::text FROM datasets d"
    " LEFT JOIN teams t ON t.id = d.team_id"
    " WHERE " DS_SCOPE("1") " AND ($2::bigint = 0 OR d.id < $2::bigint)"
			    " ORDER BY d.id DESC LIMIT $3::int",
    3};

static const struct store_stmt stmt_ds_resolve = {
    "queue_ds_resolve",
    "SELECT d.id, d.status, d.cache_path,"
    " CASE WHEN jsonb_typeof(d.report->'classes') = 'array'"
    " THEN jsonb_array_length(d.report->'classes') ELSE 0 END"
    " FROM datasets d"
    " WHERE " DS_SCOPE("1") " AND (($2::bigint > 0 AND d.id = $2::bigint)"
			    " OR ($2::bigint = 0 AND d.name = $3))"
			    " ORDER BY d.id LIMIT 1",
    3};

static const struct store_stmt stmt_ds_lock = {
    "queue_ds_lock",
    "SELECT d.status, d.cache_path FROM datasets d"
    " WHERE d.id = $1::bigint AND " DS_SCOPE("2") " FOR UPDATE",
    2};

static const struct store_stmt stmt_ds_users = {
    "queue_ds_users",
    "SELECT count(*) FROM jobs WHERE dataset_id = $1::bigint"
    " AND status IN ('queued', 'running')",
    1};

static const struct store_stmt stmt_ds_delete = {
    "queue_ds_delete", "DELETE FROM datasets WHERE id = $1::bigint", 1};

const char *queue_dataset_status_name(enum queue_dataset_status s)
{
	switch (s) {
	case QUEUE_DATASET_IMPORTING: return "importing";
	case QUEUE_DATASET_READY: return "ready";
	case QUEUE_DATASET_FAILED: return "failed";
	}
	return "unknown";
}

/* The name rule of the table's CHECK, tested first so the caller gets an
 * error naming the field instead of an SQL message. */
static int dataset_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

enum core_status queue_dataset_create(struct store_pool *p,
				      const struct queue_dataset_new *d,
				      long long *id, char *err, size_t errlen)
{
	char team[32], res[16], bytes[32];
	const char *params[5] = {team, d->name, d->format, res, bytes};
	PGresult *r = NULL;
	enum core_status st;

	*id = 0;
	if (!dataset_name_ok(d->name)) {
		core_errf(err, errlen,
			  "name: 1 to 64 characters of A-Z a-z 0-9 . _ -");
		return CORE_ERR_INVALID;
	}
	if (!d->format ||
	    (strcmp(d->format, "zip") != 0 && strcmp(d->format, "tar") != 0 &&
	     strcmp(d->format, "directory") != 0)) {
		core_errf(err, errlen, "format: zip, tar or directory");
		return CORE_ERR_INVALID;
	}
	if (d->resolution != 0 && (d->resolution < 8 || d->resolution > 1024)) {
		core_errf(err, errlen, "resolution: 8 to 1024 pixels");
		return CORE_ERR_INVALID;
	}
	snprintf(team, sizeof team, "%lld", d->team_id);
	snprintf(res, sizeof res, "%d", d->resolution);
	snprintf(bytes, sizeof bytes, "%lld",
		 d->upload_bytes > 0 ? d->upload_bytes : 0);
	st = store_exec_pooled(p, &stmt_ds_create, params, &r, err, errlen);
	if (st == CORE_ERR_DB && strstr(err, "[23505]")) {
		core_errf(err, errlen,
			  "name: the team already has a dataset "
			  "of that name");
		return CORE_ERR_CONFLICT;
	}
	if (st)
		return st;
	*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return CORE_OK;
}

enum core_status queue_dataset_progress(struct store_pool *p, long long id,
					double frac, char *err, size_t errlen)
{
	char ids[32], fs[32];
	const char *params[2] = {ids, fs};

	if (!(frac >= 0))
		frac = 0;
	if (frac > 1)
		frac = 1;
	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(fs, sizeof fs, "%.4f", frac);
	return store_exec_pooled(p, &stmt_ds_progress, params, NULL, err,
				 errlen);
}

enum core_status
queue_dataset_finish(struct store_pool *p, long long id, const char *cache_path,
		     const char *report_json, long long expanded_bytes,
		     const char *error, char *err, size_t errlen)
{
	char ids[32], eb[32], msg[1024];
	const char *params[5] = {ids, error ? NULL : cache_path, report_json,
				 eb, NULL};
	PGresult *r = NULL;
	enum core_status st;
	int changed;

	if (!error && !cache_path) {
		core_errf(err, errlen, "a ready dataset needs its cache path");
		return CORE_ERR_INVALID;
	}
	if (error) {
		core_utf8_copy(msg, sizeof msg, error);
		params[4] = msg;
	}
	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(eb, sizeof eb, "%lld",
		 expanded_bytes > 0 ? expanded_bytes : 0);
	st = store_exec_pooled(p, &stmt_ds_finish, params, &r, err, errlen);
	if (st)
		return st;
	changed = atoi(PQcmdTuples(r));
	PQclear(r);
	if (!changed) {
		core_errf(err, errlen, "dataset %lld is not importing", id);
		return CORE_ERR_CONFLICT;
	}
	return CORE_OK;
}

enum core_status queue_dataset_json(struct store_pool *p, long long id,
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
	st = store_exec_pooled(p, &stmt_ds_json, params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "dataset %lld not found", id);
		return CORE_ERR_NOT_FOUND;
	}
	*json = core_strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*json) {
		core_errf(err, errlen, "out of memory reading dataset %lld",
			  id);
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

/* A visible dataset's events after $3, at most $4, as one page; no row
 * when the dataset is missing or another team's. */
static const struct store_stmt stmt_ds_events = {
    "queue_ds_events",
    "SELECT json_build_object('events', coalesce(json_agg(json_build_object("
    "'id', e.id, 'ts', e.ts, 'level', e.level, 'kind', e.kind, 'message',"
    " e.message, 'data', e.data) ORDER BY e.id) FILTER (WHERE e.id IS NOT"
    " NULL), '[]'), 'next_after', coalesce(max(e.id), $3::bigint))::text"
    " FROM datasets d LEFT JOIN LATERAL (SELECT * FROM dataset_events"
    "   WHERE dataset_id = d.id AND id > $3::bigint ORDER BY id"
    "   LIMIT $4::int) e ON true"
    " WHERE d.id = $1::bigint AND " DS_SCOPE("2") " GROUP BY d.id",
    4};

enum core_status queue_dataset_events_json(struct store_pool *p, long long id,
					   long long team, long long after,
					   int limit, char **json, char *err,
					   size_t errlen)
{
	char ids[32], teams[32], afters[32], limits[16];
	const char *params[4] = {ids, teams, afters, limits};
	PGresult *r = NULL;
	enum core_status st;

	*json = NULL;
	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(teams, sizeof teams, "%lld", team);
	snprintf(afters, sizeof afters, "%lld", after > 0 ? after : 0);
	snprintf(limits, sizeof limits, "%d", limit);
	st = store_exec_pooled(p, &stmt_ds_events, params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "dataset %lld not found", id);
		return CORE_ERR_NOT_FOUND;
	}
	*json = core_strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*json) {
		core_errf(err, errlen, "out of memory reading dataset %lld",
			  id);
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

enum core_status queue_datasets_page_json(struct store_pool *p, long long team,
					  long long before, int limit,
					  char **json, char *err, size_t errlen)
{
	char teams[32], befores[32], limits[16], cursor[48];
	const char *params[3] = {teams, befores, limits};
	struct core_buf b;
	PGresult *r = NULL;
	enum core_status st;
	int n, shown;

	*json = NULL;
	snprintf(teams, sizeof teams, "%lld", team);
	snprintf(befores, sizeof befores, "%lld", before > 0 ? before : 0);
	/* one more than asked: whether a next page exists */
	snprintf(limits, sizeof limits, "%d", limit + 1);
	st = store_exec_pooled(p, &stmt_ds_page, params, &r, err, errlen);
	if (st)
		return st;
	n = PQntuples(r);
	shown = n > limit ? limit : n;
	core_buf_init(&b, 64u << 20);
	st = core_buf_append(&b, "{\"datasets\":[", 13);
	for (int i = 0; !st && i < shown; i++) {
		if (i)
			st = core_buf_append(&b, ",", 1);
		if (!st)
			st = core_buf_append(&b, PQgetvalue(r, i, 1),
					     (size_t)PQgetlength(r, i, 1));
	}
	if (n > limit)
		snprintf(cursor, sizeof cursor, "\"%s\"",
			 PQgetvalue(r, shown - 1, 0));
	else
		snprintf(cursor, sizeof cursor, "null");
	if (!st)
		st = core_buf_printf(&b, "],\"next_cursor\":%s}", cursor);
	PQclear(r);
	if (st) {
		core_buf_free(&b);
		core_errf(err, errlen, "out of memory listing datasets");
		return CORE_ERR_NOMEM;
	}
	*json = core_buf_steal(&b, NULL);
	return CORE_OK;
}

enum core_status queue_dataset_resolve(struct store_pool *p, long long team,
				       long long id, const char *name,
				       long long *id_out, char **cache_path,
				       int *classes, char *err, size_t errlen)
{
	char teams[32], ids[32];
	const char *params[3] = {teams, ids, name ? name : ""};
	PGresult *r = NULL;
	enum core_status st;
	char shown[80];

	*id_out = 0;
	if (cache_path)
		*cache_path = NULL;
	if (id > 0)
		snprintf(shown, sizeof shown, "%lld", id);
	else
		core_utf8_copy(shown, sizeof shown, name ? name : "");
	snprintf(teams, sizeof teams, "%lld", team);
	snprintf(ids, sizeof ids, "%lld", id > 0 ? id : 0);
	st = store_exec_pooled(p, &stmt_ds_resolve, params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "dataset '%s' not found", shown);
		return CORE_ERR_NOT_FOUND;
	}
	if (strcmp(PQgetvalue(r, 0, 1), "ready") != 0) {
		core_errf(err, errlen, "dataset '%s' is %s, not ready", shown,
			  PQgetvalue(r, 0, 1));
		PQclear(r);
		return CORE_ERR_CONFLICT;
	}
	*id_out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	if (classes)
		*classes = atoi(PQgetvalue(r, 0, 3));
	if (cache_path) {
		*cache_path = core_strdup(PQgetvalue(r, 0, 2));
		if (!*cache_path) {
			PQclear(r);
			core_errf(err, errlen, "out of memory");
			return CORE_ERR_NOMEM;
		}
	}
	PQclear(r);
	return CORE_OK;
}

struct delete_ctx {
	long long id, team;
	int force; /* also an importing one (an import cut by a crash) */
	char *cache_path;
};

static enum core_status delete_tx(struct store_conn *c, void *arg, char *err,
				  size_t errlen)
{
	struct delete_ctx *x = arg;
	char ids[32], teams[32];
	const char *params[2] = {ids, teams};
	PGresult *r = NULL;
	enum core_status st;
	long long users;

	core_free(x->cache_path); /* a retried transaction */
	x->cache_path = NULL;
	snprintf(ids, sizeof ids, "%lld", x->id);
	snprintf(teams, sizeof teams, "%lld", x->team);
	st = store_exec(c, &stmt_ds_lock, params, NULL, NULL, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "dataset %lld not found", x->id);
		return CORE_ERR_NOT_FOUND;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "importing") == 0 && !x->force) {
		PQclear(r);
		core_errf(err, errlen, "dataset %lld is still importing",
			  x->id);
		return CORE_ERR_CONFLICT;
	}
	if (!PQgetisnull(r, 0, 1)) {
		x->cache_path = core_strdup(PQgetvalue(r, 0, 1));
		if (!x->cache_path) {
			PQclear(r);
			core_errf(err, errlen, "out of memory");
			return CORE_ERR_NOMEM;
		}
	}
	PQclear(r);
	/* the row is locked: a job inserted from now on waits for this
	 * transaction (its foreign key check), one committed before is seen */
	st = store_exec(c, &stmt_ds_users, params, NULL, NULL, &r, err, errlen);
	if (st)
		return st;
	users = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (users > 0) {
		core_errf(err, errlen,
			  "dataset %lld is used by %lld queued or running "
			  "job(s)",
			  x->id, users);
		return CORE_ERR_CONFLICT;
	}
	return store_exec(c, &stmt_ds_delete, params, NULL, NULL, NULL, err,
			  errlen);
}

static enum core_status delete_run(struct store_pool *p, long long id,
				   long long team, int force, char **cache_path,
				   char *err, size_t errlen)
{
	struct delete_ctx x = {id, team, force, NULL};
	enum core_status st;

	if (cache_path)
		*cache_path = NULL;
	st = store_tx_run(p, STORE_READ_COMMITTED, delete_tx, &x, err, errlen);
	if (st || !cache_path)
		core_free(x.cache_path);
	else
		*cache_path = x.cache_path;
	return st;
}

enum core_status queue_dataset_delete(struct store_pool *p, long long id,
				      long long team, char **cache_path,
				      char *err, size_t errlen)
{
	return delete_run(p, id, team, 0, cache_path, err, errlen);
}

enum core_status queue_dataset_delete_forced(struct store_pool *p, long long id,
					     char **cache_path, char *err,
					     size_t errlen)
{
	return delete_run(p, id, 0, 1, cache_path, err, errlen);
}
