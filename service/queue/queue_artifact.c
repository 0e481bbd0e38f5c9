/* SPDX-License-Identifier: Apache-2.0 */
/* queue_artifact.c - what a job stores, as the API shows it: a model's
 * artifacts (the STM32 zip, the float checkpoint) as the download routes
 * read them (size and digest first, then only the bytes a request asked
 * for, team scoped through the model's job), and a job's size in the
 * database. */
#include "queue.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $2::bigint = 0: every team (an admin); else only that team's models */
#define ARTIFACT_SCOPE                                                         \
	" FROM models m JOIN jobs j ON j.id = m.job_id"                        \
	" WHERE m.id = $1::bigint AND ($2::bigint = 0 OR j.team_id = "         \
	"$2::bigint)"

/* The column names cannot be parameters: one pair of statements each. The
 * length is the stored one (octet_length), so Content-Length always matches
 * the bytes sent, whatever the *_size column says. */
static const struct store_stmt stmt_info[QUEUE_ARTIFACT_COUNT] = {
    {"artifact_zip_info",
     "SELECT m.job_id, octet_length(m.zip), coalesce(m.zip_sha256, "
     "'')" ARTIFACT_SCOPE,
     2},
    {"artifact_checkpoint_info",
     "SELECT m.job_id, octet_length(m.checkpoint),"
     " coalesce(m.checkpoint_sha256, '')" ARTIFACT_SCOPE,
     2},
};

/* substring() counts from 1 and takes int (a bytea is at most 1 GB). Only
 * the slice asked for crosses the wire and sits in this process (a
 * compressed bytea is still detoasted whole inside PostgreSQL). */
static const struct store_stmt stmt_read[QUEUE_ARTIFACT_COUNT] = {
    {"artifact_zip_read",
     "SELECT substring(m.zip from $3::int + 1 for $4::int)" ARTIFACT_SCOPE
     " AND m.zip IS NOT NULL",
     4},
    {"artifact_checkpoint_read",
     "SELECT substring(m.checkpoint from $3::int + 1 for "
     "$4::int)" ARTIFACT_SCOPE " AND m.checkpoint IS NOT NULL",
     4},
};

const char *queue_artifact_name(enum queue_artifact kind)
{
	return kind == QUEUE_ARTIFACT_CHECKPOINT ? "checkpoint" : "zip";
}

enum core_status queue_model_artifact_info(struct store_pool *p, long long id,
					   long long team,
					   enum queue_artifact kind,
					   struct queue_artifact_info *out,
					   char *err, size_t errlen)
{
	char ids[32], teams[32];
	const char *params[2] = {ids, teams};
	PGresult *r = NULL;
	enum core_status st;

	memset(out, 0, sizeof *out);
	if ((unsigned)kind >= QUEUE_ARTIFACT_COUNT) {
		core_errf(err, errlen, "unknown artifact kind %d", (int)kind);
		return CORE_ERR_INTERNAL;
	}
	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(teams, sizeof teams, "%lld", team);
	st = store_exec_pooled(p, &stmt_info[kind], params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "model %lld not found", id);
		return CORE_ERR_NOT_FOUND;
	}
	out->job_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	out->present = !PQgetisnull(r, 0, 1);
	out->size = out->present ? strtoll(PQgetvalue(r, 0, 1), NULL, 10) : 0;
	snprintf(out->sha256, sizeof out->sha256, "%s", PQgetvalue(r, 0, 2));
	PQclear(r);
	return CORE_OK;
}

enum core_status
queue_model_artifact_read(struct store_pool *p, long long id, long long team,
			  enum queue_artifact kind, long long offset,
			  long long len, unsigned char **data, size_t *data_len,
			  char *err, size_t errlen)
{
	char ids[32], teams[32], offs[32], lens[32];
	const char *params[4] = {ids, teams, offs, lens};
	PGresult *r = NULL;
	unsigned char *raw = NULL;
	size_t n = 0;
	enum core_status st;

	*data = NULL;
	*data_len = 0;
	if ((unsigned)kind >= QUEUE_ARTIFACT_COUNT || offset < 0 || len < 0) {
		core_errf(err, errlen, "bad artifact read (%d, %lld, %lld)",
			  (int)kind, offset, len);
		return CORE_ERR_INTERNAL;
	}
	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(teams, sizeof teams, "%lld", team);
	snprintf(offs, sizeof offs, "%lld", offset);
	snprintf(lens, sizeof lens, "%lld", len);
	st = store_exec_pooled(p, &stmt_read[kind], params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "model %lld has no %s", id,
			  queue_artifact_name(kind));
		return CORE_ERR_NOT_FOUND;
	}
	/* store_exec asks for text results: bytea arrives hex-escaped
	 * (twice the bytes) and is decoded here into the caller's copy */
	raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 0), &n);
	PQclear(r);
	if (!raw) {
		core_errf(err, errlen, "out of memory reading model %lld's %s",
			  id, queue_artifact_name(kind));
		return CORE_ERR_NOMEM;
	}
	*data = core_malloc(n ? n : 1);
	if (!*data) {
		PQfreemem(raw);
		core_errf(err, errlen, "out of memory reading model %lld's %s",
			  id, queue_artifact_name(kind));
		return CORE_ERR_NOMEM;
	}
	memcpy(*data, raw, n);
	PQfreemem(raw);
	*data_len = n;
	return CORE_OK;
}

enum core_status queue_job_size_append(struct store_pool *p, long long id,
				       char **json, char *err, size_t errlen)
{
	struct store_job_size z;
	char add[320], *out;
	size_t n = *json ? strlen(*json) : 0;
	enum core_status st;
	int k;

	if (n < 2 || (*json)[n - 1] != '}') {
		core_errf(err, errlen, "job %lld: not a JSON object", id);
		return CORE_ERR_INTERNAL;
	}
	st = store_job_size(p, id, &z, err, errlen);
	if (st)
		return st;
	k = snprintf(add, sizeof add,
		     "%s\"size\":{\"bytes\":%lld,\"checkpoint_bytes\":%lld,"
		     "\"zip_bytes\":%lld,\"row_bytes\":%lld,"
		     "\"checkpoints\":%lld}}",
		     n > 2 ? "," : "", z.total_bytes, z.checkpoint_bytes,
		     z.zip_bytes, z.row_bytes, z.checkpoints);
	out = core_malloc(n + (size_t)k);
	if (!out) {
		core_errf(err, errlen, "out of memory reading job %lld", id);
		return CORE_ERR_NOMEM;
	}
	/* the object's closing brace is replaced by the member and a brace */
	memcpy(out, *json, n - 1);
	memcpy(out + n - 1, add, (size_t)k + 1);
	core_free(*json);
	*json = out;
	return CORE_OK;
}
