/* SPDX-License-Identifier: Apache-2.0 */
/* records_size.c - what a job costs in the database (checkpoints, zips and
 * the other rows) and the artifact retention that drops the checkpoints a
 * finished job no longer needs (migrations/0005_workers.sql). */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checkpoints and zips are counted by their stored length; every other
 * row by pg_column_size of the whole row less its blobs, which is what a
 * row costs on disk give or take the tuple header. */
static const struct store_stmt stmt_job_size = {
    "job_size",
    "WITH c AS (SELECT coalesce(sum(octet_length(checkpoint)), 0) AS ck,"
    "   coalesce(sum(greatest(pg_column_size(candidates.*)"
    "     - coalesce(pg_column_size(checkpoint), 0), 0)), 0) AS rows,"
    "   count(*) FILTER (WHERE checkpoint IS NOT NULL) AS n"
    "   FROM candidates WHERE job_id = $1::bigint),"
    " m AS (SELECT coalesce(sum(octet_length(checkpoint)), 0) AS ck,"
    "   coalesce(sum(octet_length(zip)), 0) AS zip,"
    "   coalesce(sum(greatest(pg_column_size(models.*)"
    "     - coalesce(pg_column_size(checkpoint), 0)"
    "     - coalesce(pg_column_size(zip), 0), 0)), 0) AS rows,"
    "   count(*) FILTER (WHERE checkpoint IS NOT NULL) AS n"
    "   FROM models WHERE job_id = $1::bigint),"
    " o AS (SELECT (SELECT coalesce(sum(pg_column_size(r.*)), 0) FROM rounds r"
    "     WHERE r.job_id = $1::bigint)"
    "   + (SELECT coalesce(sum(pg_column_size(e.*)), 0)"
    "     FROM candidate_epochs e JOIN candidates k ON k.id = e.candidate_id"
    "     WHERE k.job_id = $1::bigint)"
    "   + (SELECT coalesce(sum(pg_column_size(l.*)), 0) FROM llm_calls l"
    "     WHERE l.job_id = $1::bigint)"
    "   + (SELECT coalesce(sum(pg_column_size(v.*)), 0) FROM events v"
    "     WHERE v.job_id = $1::bigint) AS rows)"
    " SELECT c.ck + m.ck, m.zip, c.rows + m.rows + o.rows"
    "   + pg_column_size(jobs.*), c.n + m.n"
    " FROM jobs, c, m, o WHERE jobs.id = $1::bigint",
    1};

enum core_status store_job_size(struct store_pool *p, long long job_id,
				struct store_job_size *out, char *err,
				size_t errlen)
{
	struct store_num n;
	const char *params[1] = {store_int_text(&n, job_id)};
	PGresult *r = NULL;
	enum core_status st =
	    store_run(p, &stmt_job_size, params, NULL, NULL, &r, err, errlen);

	memset(out, 0, sizeof *out);
	if (st)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "job %lld not found", job_id);
		return CORE_ERR_NOT_FOUND;
	}
	out->checkpoint_bytes = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	out->zip_bytes = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	out->row_bytes = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	out->checkpoints = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	out->total_bytes =
	    out->checkpoint_bytes + out->zip_bytes + out->row_bytes;
	PQclear(r);
	return CORE_OK;
}

/* One job per statement, the oldest first: the job row is locked (SKIP
 * LOCKED, so two workers pruning at once share the work instead of
 * waiting), the checkpoints of candidates that are neither in the front
 * of the job's last finished round nor behind a model are dropped, and
 * the job is marked. Jobs that never ran a round keep nothing but their
 * models. */
static const struct store_stmt stmt_prune_one = {
    "artifacts_prune_one",
    "WITH j AS (SELECT id FROM jobs WHERE finished_at IS NOT NULL"
    "   AND artifacts_pruned_at IS NULL"
    "   AND finished_at < now() - make_interval(secs => $1::float8)"
    "   ORDER BY finished_at, id LIMIT 1 FOR UPDATE SKIP LOCKED),"
    " front AS (SELECT (f->>'id')::bigint AS id FROM j,"
    "   LATERAL (SELECT front FROM rounds WHERE rounds.job_id = j.id"
    "     AND finished_at IS NOT NULL ORDER BY round DESC LIMIT 1) lr,"
    "   jsonb_array_elements(lr.front) f),"
    " doomed AS (SELECT c.id, octet_length(c.checkpoint) AS len"
    "   FROM candidates c, j WHERE c.job_id = j.id"
    "   AND c.checkpoint IS NOT NULL"
    "   AND c.id NOT IN (SELECT id FROM front)"
    "   AND NOT EXISTS (SELECT 1 FROM models m WHERE m.candidate_id = c.id)),"
    " dropped AS (UPDATE candidates SET checkpoint = NULL,"
    "   updated_at = now() FROM doomed WHERE candidates.id = doomed.id"
    "   RETURNING doomed.len),"
    " marked AS (UPDATE jobs SET artifacts_pruned_at = now() FROM j"
    "   WHERE jobs.id = j.id RETURNING jobs.id)"
    " SELECT marked.id, (SELECT count(*) FROM dropped),"
    "   (SELECT coalesce(sum(len), 0) FROM dropped) FROM marked",
    1};

enum core_status store_artifacts_prune(struct store_pool *p, double older_s,
				       int max_jobs,
				       struct store_prune_result *out,
				       char *err, size_t errlen)
{
	struct store_num n;
	const char *params[1] = {store_dbl_or_null(&n, older_s)};
	enum core_status st = CORE_OK;

	memset(out, 0, sizeof *out);
	if (older_s < 0) {
		core_errf(err, errlen, "retention of %g s: not negative",
			  older_s);
		return CORE_ERR_INVALID;
	}
	while (out->jobs < max_jobs) {
		PGresult *r = NULL;

		st = store_run(p, &stmt_prune_one, params, NULL, NULL, &r, err,
			       errlen);
		if (st)
			break;
		if (PQntuples(r) != 1) {
			PQclear(r);
			break; /* nothing left to prune */
		}
		out->jobs++;
		out->checkpoints += strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		out->bytes += strtoll(PQgetvalue(r, 0, 2), NULL, 10);
		PQclear(r);
	}
	return st;
}
