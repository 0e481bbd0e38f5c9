/* SPDX-License-Identifier: Apache-2.0 */
/* llm_calls.c - GET /v1/jobs/{id}/llm-calls: a job's LLM calls (the
 * messages sent, the reply, outcome, HTTP status, latency, tokens, round and
 * attempt), oldest first, paged with `after` like events.c. The API key is
 * never part of what is stored (llm.h sends it only as a header). Team
 * scoped like jobs.c. */
#include "http.h"

#include "queue/queue.h"

#include <string.h>

#define LLM_CALLS_LIMIT_DEFAULT 20
#define LLM_CALLS_LIMIT_MAX	200 /* calls carry whole prompts: smaller */

static void llm_calls_list(struct http_request *req, struct http_response *res)
{
	long long id = http_job_id_param(req);
	long long after = 0, limit = LLM_CALLS_LIMIT_DEFAULT;
	struct core_field_errors fe;
	char err[CORE_ERR_LEN], *json = NULL;
	enum core_status st;

	core_field_errors_clear(&fe);
	http_page_query(req, "an LLM call id", LLM_CALLS_LIMIT_MAX, &after,
			&limit, &fe);
	if (!req->app || !req->app->pool) {
		http_reply_error(res, HTTP_E_DATABASE_UNAVAILABLE,
				 "no database is configured", NULL);
		return;
	}
	if (id <= 0) {
		http_job_read_reply(res, id, CORE_ERR_NOT_FOUND, "", NULL);
		return;
	}
	if (fe.n) {
		http_reply_error(res, HTTP_E_INVALID_PARAMETER,
				 "invalid query parameters", &fe);
		return;
	}
	st = queue_job_llm_calls_json(req->app->pool, id,
				      http_caller_team(&req->caller), after,
				      (int)limit, &json, err, sizeof err);
	http_job_read_reply(res, id, st, err, json);
}

enum core_status http_llm_calls_routes_add(struct http_router *r, char *err,
					   size_t errlen)
{
	return http_router_add(r, HTTP_GET, "/v1/jobs/{id}/llm-calls",
			       llm_calls_list, HTTP_ROUTE_TEAM_SCOPED, err,
			       errlen);
}
