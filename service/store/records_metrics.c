/* SPDX-License-Identifier: Apache-2.0 */
/* records_metrics.c - the database's side of GET /metrics: jobs by status,
 * queue depth, candidates trained, LLM calls by outcome with a latency
 * histogram, live leases and the training rate of the running jobs, in one
 * statement (one snapshot) built as JSON by PostgreSQL. */
#include "store_internal.h"

#include <stdio.h>
#include <string.h>

/* $1: the LLM latency buckets in seconds, as a float8[] literal. The
 * running jobs' img_per_s comes from the progress document their
 * heartbeat stores, so workers on other machines count too. */
static const struct store_stmt stmt_metrics = {
    "metrics_snapshot",
    "SELECT json_build_object("
    " 'jobs', (SELECT coalesce(json_object_agg(status, n), '{}')"
    "   FROM (SELECT status, count(*) AS n FROM jobs GROUP BY status) s),"
    " 'queue_depth', (SELECT count(*) FROM jobs WHERE status = 'queued'"
    "   OR (status = 'running' AND lease_expires_at < now())),"
    " 'candidates_trained', (SELECT count(*) FROM candidates"
    "   WHERE status IN ('trained', 'final_training', 'final_done')),"
    " 'llm_calls', (SELECT coalesce(json_object_agg(outcome, n), '{}')"
    "   FROM (SELECT outcome, count(*) AS n FROM llm_calls"
    "   GROUP BY outcome) s),"
    " 'llm_latency', (SELECT json_build_object('count', count(latency_ms),"
    "   'sum_s', coalesce(sum(latency_ms), 0) / 1000.0)"
    "   FROM llm_calls),"
    " 'llm_buckets', (SELECT json_agg(c ORDER BY b) FROM (SELECT b,"
    "   count(l.latency_ms) FILTER (WHERE l.latency_ms <= b * 1000) AS c"
    "   FROM unnest($1::float8[]) b LEFT JOIN llm_calls l ON true"
    "   GROUP BY b) x),"
    " 'leases', (SELECT coalesce(json_agg(json_build_object('worker',"
    "   lease_owner, 'job', id, 'age_s',"
    "   extract(epoch FROM now() - updated_at)) ORDER BY id), '[]')"
    "   FROM jobs WHERE status = 'running' AND lease_owner IS NOT NULL"
    "   AND lease_expires_at >= now()),"
    " 'img_per_s', (SELECT coalesce(sum((progress->>'img_per_s')::float8),"
    "   0) FROM jobs WHERE status = 'running' AND lease_expires_at >= now()"
    "   AND jsonb_typeof(progress->'img_per_s') = 'number'))::text",
    1};

enum core_status store_metrics_json(struct store_pool *p,
				    const double *llm_buckets_s, int nbuckets,
				    char **json, char *err, size_t errlen)
{
	char arr[512];
	size_t used = 0;
	const char *params[1] = {arr};
	PGresult *r = NULL;
	enum core_status st;

	*json = NULL;
	arr[used++] = '{';
	for (int i = 0; i < nbuckets && used < sizeof arr - 32; i++)
		used += (size_t)snprintf(arr + used, sizeof arr - used, "%s%g",
					 i ? "," : "", llm_buckets_s[i]);
	snprintf(arr + used, sizeof arr - used, "}");
	st = store_run(p, &stmt_metrics, params, NULL, NULL, &r, err, errlen);
	if (st)
		return st;
	*json = core_strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*json) {
		core_errf(err, errlen, "out of memory reading the metrics");
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}
