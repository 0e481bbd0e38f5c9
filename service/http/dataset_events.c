/* SPDX-License-Identifier: Apache-2.0 */
/* dataset_events.c - GET /v1/datasets/{id}/events: what a dataset's import
 * did (migration 0010: the upload received, progress each tenth, ready or
 * failed with the error), oldest first, `after` the previous page's
 * next_after, so a client polling with it sees every event once. Team
 * scoped like datasets.c: another team's dataset is a 404. */
#include "http.h"

#include "queue/queue.h"

#include <stdio.h>
#include <string.h>

#define DS_EVENTS_LIMIT_DEFAULT 100
#define DS_EVENTS_LIMIT_MAX	1000 /* a larger limit is capped */

static void dataset_events_list(struct http_request *req,
				struct http_response *res)
{
	long long id = http_parse_count(http_request_param(req, "id"));
	long long after = 0, limit = DS_EVENTS_LIMIT_DEFAULT;
	struct core_field_errors fe;
	char err[CORE_ERR_LEN], detail[64], *json = NULL;
	enum core_status st;
	json_error_t je;

	if (!req->app || !req->app->pool) {
		http_reply_error(res, HTTP_E_DATABASE_UNAVAILABLE,
				 "no database is configured", NULL);
		return;
	}
	snprintf(detail, sizeof detail, "no dataset %lld", id > 0 ? id : 0);
	if (id <= 0) {
		http_reply_error(res, HTTP_E_DATASET_NOT_FOUND, detail, NULL);
		return;
	}
	core_field_errors_clear(&fe);
	http_page_query(req, "an event id", DS_EVENTS_LIMIT_MAX, &after, &limit,
			&fe);
	if (fe.n) {
		http_reply_error(res, HTTP_E_INVALID_PARAMETER,
				 "invalid query parameters", &fe);
		return;
	}
	st = queue_dataset_events_json(req->app->pool, id,
				       http_caller_team(&req->caller), after,
				       (int)limit, &json, err, sizeof err);
	if (st == CORE_ERR_NOT_FOUND) {
		http_reply_error(res, HTTP_E_DATASET_NOT_FOUND, detail, NULL);
	} else if (st == CORE_ERR_NOMEM) {
		http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
	} else if (st) {
		LOG_ERROR("dataset %lld events: %s", id, err);
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

enum core_status http_dataset_events_routes_add(struct http_router *r,
						char *err, size_t errlen)
{
	return http_router_add(r, HTTP_GET, "/v1/datasets/{id}/events",
			       dataset_events_list, HTTP_ROUTE_TEAM_SCOPED, err,
			       errlen);
}
