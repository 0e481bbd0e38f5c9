/* SPDX-License-Identifier: Apache-2.0 */
/* candidates.c - GET /v1/jobs/{id}/candidates (a page sorted by one
 * objective, filtered by status, source and front membership, with a
 * keyset cursor) and GET /v1/jobs/{id}/candidates/{cid} (arch, per-layer
 * cost, epochs, nearest earlier candidate). Team scoped like jobs.c; a
 * candidate of another job or team is a 404 candidate_not_found. */
#include "http.h"

#include "queue/queue.h"

#include <stdio.h>
#include <string.h>

#define CANDIDATES_LIMIT_DEFAULT 50
#define CANDIDATES_LIMIT_MAX	 200 /* a larger limit is capped */

/* The query of a list request into q; problems go to fe. */
static void list_query(const struct http_request *req,
		       struct queue_cand_query *q, struct core_field_errors *fe)
{
	const char *sort = http_request_query(req, "sort");
	const char *status = http_request_query(req, "status");
	const char *source = http_request_query(req, "source");
	const char *front = http_request_query(req, "front");
	const char *cursor = http_request_query(req, "cursor");
	const char *limit = http_request_query(req, "limit");
	long long n;

	memset(q, 0, sizeof *q);
	q->sort = QUEUE_CAND_SORT_CREATED;
	q->front = -1;
	q->limit = CANDIDATES_LIMIT_DEFAULT;
	if (sort && queue_cand_sort_parse(sort, &q->sort, &q->desc))
		core_field_errorf(fe, "sort",
				  "not one of val_top1, macs, flash_bytes, "
				  "sram_bytes, params, created (a leading - "
				  "sorts descending)");
	if (status) {
		q->has_status = 1;
		if (store_candidate_status_parse(status, &q->status))
			core_field_errorf(
			    fe, "status",
			    "not one of proposed, rejected, training, "
			    "trained, failed, final_training, final_done");
	}
	if (source) {
		q->has_source = 1;
		if (store_candidate_source_parse(source, &q->source))
			core_field_errorf(fe, "source",
					  "not one of llm, evolution, random, "
					  "user");
	}
	if (front) {
		if (strcmp(front, "true") == 0)
			q->front = 1;
		else if (strcmp(front, "false") == 0)
			q->front = 0;
		else
			core_field_errorf(fe, "front", "not true or false");
	}
	if (cursor && queue_cand_cursor_parse(cursor, q))
		core_field_errorf(fe, "cursor",
				  "not a next_cursor this list returned");
	if (limit) {
		n = http_parse_count(limit);
		if (n < 1)
			core_field_errorf(fe, "limit",
					  "not a whole number from 1");
		else
			q->limit = n > CANDIDATES_LIMIT_MAX
				       ? CANDIDATES_LIMIT_MAX
				       : (int)n;
	}
}

static void candidates_list(struct http_request *req, struct http_response *res)
{
	long long id = http_job_id_param(req);
	struct queue_cand_query q;
	struct core_field_errors fe;
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
	core_field_errors_clear(&fe);
	list_query(req, &q, &fe);
	if (fe.n) {
		http_reply_error(res, HTTP_E_INVALID_PARAMETER,
				 "invalid query parameters", &fe);
		return;
	}
	st = queue_job_candidates_json(req->app->pool, id,
				       http_caller_team(&req->caller), &q,
				       &json, err, sizeof err);
	http_job_read_reply(res, id, st, err, json);
}

static void candidate_get(struct http_request *req, struct http_response *res)
{
	long long id = http_job_id_param(req);
	long long cid = http_parse_count(http_request_param(req, "cid"));
	char err[CORE_ERR_LEN], detail[96], *json = NULL;
	enum core_status st = CORE_ERR_NOT_FOUND;
	json_error_t je;

	if (!req->app || !req->app->pool) {
		http_reply_error(res, HTTP_E_DATABASE_UNAVAILABLE,
				 "no database is configured", NULL);
		return;
	}
	if (id > 0 && cid > 0)
		st = queue_candidate_json(req->app->pool, id, cid,
					  http_caller_team(&req->caller), &json,
					  err, sizeof err);
	if (st == CORE_ERR_NOT_FOUND) {
		snprintf(detail, sizeof detail, "no candidate %s in job %s",
			 cid > 0 ? http_request_param(req, "cid") : "(bad id)",
			 id > 0 ? http_request_param(req, "id") : "(bad id)");
		http_reply_error(res, HTTP_E_CANDIDATE_NOT_FOUND, detail, NULL);
	} else if (st == CORE_ERR_NOMEM) {
		http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
	} else if (st) {
		LOG_ERROR("candidate %lld of job %lld: %s", cid, id, err);
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

enum core_status http_candidates_routes_add(struct http_router *r, char *err,
					    size_t errlen)
{
	enum core_status st = http_router_add(
	    r, HTTP_GET, "/v1/jobs/{id}/candidates", candidates_list,
	    HTTP_ROUTE_TEAM_SCOPED, err, errlen);

	if (st)
		return st;
	return http_router_add(r, HTTP_GET, "/v1/jobs/{id}/candidates/{cid}",
			       candidate_get, HTTP_ROUTE_TEAM_SCOPED, err,
			       errlen);
}
