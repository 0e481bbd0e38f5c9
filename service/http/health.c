/* SPDX-License-Identifier: Apache-2.0 */
/* health.c - the health resources: GET /healthz (the process answers) and
 * GET /readyz (the database answers and its schema matches this binary). */
#include "http.h"
#include "store/store.h"

#include <stdatomic.h>
#include <stdio.h>

static void healthz(struct http_request *req, struct http_response *res)
{
	http_reply_json(res, 200, json_pack("{s:s}", "status", "ok"));
}

/* Readiness is polled every few seconds: log when it changes, not on every
 * poll. */
enum readiness {
	READY_UNKNOWN = 0,
	READY_OK,
	READY_DB_DOWN,
	READY_PENDING,
	READY_NEWER
};

static atomic_int last_readiness;

static void readiness_note(enum readiness now, const char *why)
{
	int prev = atomic_exchange(&last_readiness, (int)now);

	if (prev == (int)now)
		return;
	if (now == READY_OK)
		LOG_INFO("readiness: ready");
	else
		LOG_WARN("readiness: not ready: %s", why);
}

/* detail goes to the client; log_detail (NULL: detail) only to the log. */
static void not_ready(struct http_response *res, enum readiness why,
		      enum http_error code, const char *detail,
		      const char *log_detail,
		      const struct store_schema_state *st)
{
	json_t *p = http_error_new(code, detail, NULL);

	readiness_note(why, log_detail ? log_detail : detail);
	if (p && st) {
		json_object_set_new(p, "schema_version",
				    json_integer(st->db_version));
		json_object_set_new(p, "binary_version",
				    json_integer(st->binary_version));
		json_object_set_new(p, "pending", json_integer(st->pending));
		json_object_set_new(p, "unknown", json_integer(st->unknown));
	}
	http_reply_problem_json(res, p);
	http_reply_header(res, "Retry-After", "5");
}

static void readyz(struct http_request *req, struct http_response *res)
{
	struct store_schema_state st;
	char err[CORE_ERR_LEN], detail[CORE_ERR_LEN + 128];

	if (!req->app || !req->app->pool) {
		not_ready(res, READY_DB_DOWN, HTTP_E_DATABASE_UNAVAILABLE,
			  "no database is configured", NULL, NULL);
		return;
	}
	/* /readyz answers anyone: the reason (host names, user names, and in
	 * libpq's parse errors the whole URL) stays in the log, scrubbed of
	 * passwords by the store */
	if (store_schema_check(req->app->pool, &st, err, sizeof err)) {
		not_ready(res, READY_DB_DOWN, HTTP_E_DATABASE_UNAVAILABLE,
			  "database unavailable", err, NULL);
		return;
	}
	if (st.unknown) {
		snprintf(detail, sizeof detail,
			 "the database carries %d migration(s) newer than this "
			 "binary (database at version %d, binary at %d): run "
			 "a newer lmnas",
			 st.unknown, st.db_version, st.binary_version);
		not_ready(res, READY_NEWER, HTTP_E_MIGRATIONS_NEWER, detail,
			  NULL, &st);
		return;
	}
	if (st.pending) {
		snprintf(detail, sizeof detail,
			 "%d migration(s) pending (database at version %d, "
			 "binary at %d): run `lmnas migrate`",
			 st.pending, st.db_version, st.binary_version);
		not_ready(res, READY_PENDING, HTTP_E_MIGRATIONS_PENDING, detail,
			  NULL, &st);
		return;
	}
	readiness_note(READY_OK, NULL);
	http_reply_json(res, 200,
			json_pack("{s:s, s:i}", "status", "ready",
				  "schema_version", st.db_version));
}

enum core_status http_health_routes_add(struct http_router *r, char *err,
					size_t errlen)
{
	enum core_status st;

	st = http_router_add(r, HTTP_GET, "/healthz", healthz, 0, err, errlen);
	if (st)
		return st;
	return http_router_add(r, HTTP_GET, "/readyz", readyz, 0, err, errlen);
}
