/* SPDX-License-Identifier: Apache-2.0 */
/* models.c - GET /v1/jobs/{id}/models and GET /v1/models/{mid}: the
 * exported models of a job (accuracy, cost, artifact sizes and digests).
 * Team scoped through the model's job: another team's model is a 404
 * model_not_found, exactly like a missing one. */
#include "http.h"

#include "queue/queue.h"

#include <stdio.h>
#include <string.h>

static void models_list(struct http_request *req, struct http_response *res)
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
	st = queue_job_models_json(req->app->pool, id,
				   http_caller_team(&req->caller), &json, err,
				   sizeof err);
	http_job_read_reply(res, id, st, err, json);
}

static void model_get(struct http_request *req, struct http_response *res)
{
	long long id = http_param_id(req, "mid");
	char err[CORE_ERR_LEN], detail[64], *json = NULL;
	enum core_status st = CORE_ERR_NOT_FOUND;
	json_error_t je;

	if (!req->app || !req->app->pool) {
		http_reply_error(res, HTTP_E_DATABASE_UNAVAILABLE,
				 "no database is configured", NULL);
		return;
	}
	if (id > 0)
		st = queue_model_json(req->app->pool, id,
				      http_caller_team(&req->caller), &json,
				      err, sizeof err);
	if (st == CORE_ERR_NOT_FOUND) {
		snprintf(detail, sizeof detail, "no model %lld", id);
		http_reply_error(res, HTTP_E_MODEL_NOT_FOUND, detail, NULL);
	} else if (st == CORE_ERR_NOMEM) {
		http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
	} else if (st) {
		LOG_ERROR("model %lld: %s", id, err);
		http_reply_error(res,
				 st == CORE_ERR_UNAVAILABLE
				     ? HTTP_E_DATABASE_UNAVAILABLE
				     : HTTP_E_INTERNAL_ERROR,
				 "database error", NULL);
	} else {
		http_reply_json(res, 200, json_loads(json, 0, &je));
	}
	core_free(json);
}

enum core_status http_models_routes_add(struct http_router *r, char *err,
					size_t errlen)
{
	enum core_status st =
	    http_router_add(r, HTTP_GET, "/v1/jobs/{id}/models", models_list,
			    HTTP_ROUTE_TEAM_SCOPED, err, errlen);

	if (st)
		return st;
	return http_router_add(r, HTTP_GET, "/v1/models/{mid}", model_get,
			       HTTP_ROUTE_TEAM_SCOPED, err, errlen);
}
