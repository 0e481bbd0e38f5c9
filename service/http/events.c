/* SPDX-License-Identifier: Apache-2.0 */
/* events.c - GET /v1/jobs/{id}/events: a job's events as a JSON list,
 * oldest first, `after` an event id (the previous page's next_after), so a
 * client polling with it sees every event once. Team scoped like jobs.c.
 * With `Accept: text/event-stream` the same route streams them live as
 * Server-Sent Events (sse.c) from Last-Event-ID (else `after`) until the
 * job has ended. */
#include "http.h"
#include "http_internal.h"

#include "queue/queue.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define EVENTS_LIMIT_DEFAULT 100
#define EVENTS_LIMIT_MAX     1000 /* a larger limit is capped */

/* 1 when the Accept header names text/event-stream (case-insensitive). */
static int wants_stream(const struct http_request *req)
{
	static const char want[] = "text/event-stream";
	const char *a = http_request_header(req, "Accept");
	size_t n = sizeof want - 1;

	for (; a && *a; a++)
		if (strncasecmp(a, want, n) == 0)
			return 1;
	return 0;
}

/* Starts the stream: the first batch is read here, so that an unknown job
 * or another team's is a 404 like the JSON form, not an empty stream. */
static void events_stream(struct http_request *req, struct http_response *res,
			  long long id, long long after)
{
	struct queue_events ev;
	char err[CORE_ERR_LEN];
	enum core_status st;

	st = queue_job_events_read(req->app->pool, id,
				   http_caller_team(&req->caller), after,
				   EVENTS_LIMIT_DEFAULT, &ev, err, sizeof err);
	if (st) {
		http_job_read_reply(res, id, st, err, NULL);
		return;
	}
	if (http_sse_reply(res, req->app->pool, id,
			   http_caller_team(&req->caller), after, &ev))
		http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
	queue_events_free(&ev);
}

static void events_list(struct http_request *req, struct http_response *res)
{
	long long id = http_job_id_param(req);
	const char *last_s = http_request_header(req, "Last-Event-ID");
	int stream = wants_stream(req);
	long long after = 0, limit = EVENTS_LIMIT_DEFAULT;
	struct core_field_errors fe;
	char err[CORE_ERR_LEN], *json = NULL;
	enum core_status st;

	core_field_errors_clear(&fe);
	http_page_query(req, "an event id", EVENTS_LIMIT_MAX, &after, &limit,
			&fe);
	/* a reconnecting EventSource sends the id it saw last (and the
	 * URL it first used): that id wins */
	if (stream && last_s) {
		after = http_parse_count(last_s);
		if (after < 0)
			core_field_errorf(&fe, "Last-Event-ID",
					  "not an event id (a whole number)");
	}
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
				 "invalid parameters", &fe);
		return;
	}
	if (stream) {
		events_stream(req, res, id, after);
		return;
	}
	st = queue_job_events_json(req->app->pool, id,
				   http_caller_team(&req->caller), after,
				   (int)limit, &json, err, sizeof err);
	http_job_read_reply(res, id, st, err, json);
}

enum core_status http_events_routes_add(struct http_router *r, char *err,
					size_t errlen)
{
	return http_router_add(r, HTTP_GET, "/v1/jobs/{id}/events", events_list,
			       HTTP_ROUTE_TEAM_SCOPED, err, errlen);
}
