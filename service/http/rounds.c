/* SPDX-License-Identifier: Apache-2.0 */
/* rounds.c - GET /v1/jobs/{id}/rounds: a job's rounds in order, each with
 * its proposer, Pareto front and hypervolume. Team scoped like jobs.c. */
#include "http.h"

#include "queue/queue.h"

static void rounds_list(struct http_request *req, struct http_response *res)
{
	long long id = http_job_id_param(req);
	char err[CORE_ERR_LEN], *json = NULL;
	enum core_status st;

	if (!req->app || !req->app->pool) {
		http_reply_error(res, HTTP_E_DATABASE_UNAVAILABLE,
				 "no database is configured", NULL);
		return;
	}
	if (id <= 0) {
		http_job_read_reply(res, id, CORE_ERR_NOT_FOUND, "", NULL);
		return;
	}
	st = queue_job_rounds_json(req->app->pool, id,
				   http_caller_team(&req->caller), &json, err,
				   sizeof err);
	http_job_read_reply(res, id, st, err, json);
}

enum core_status http_rounds_routes_add(struct http_router *r, char *err,
					size_t errlen)
{
	return http_router_add(r, HTTP_GET, "/v1/jobs/{id}/rounds", rounds_list,
			       HTTP_ROUTE_TEAM_SCOPED, err, errlen);
}
