/* SPDX-License-Identifier: Apache-2.0 */
/* test_api_jobs.c - the /v1 API in process over real HTTP against a real
 * PostgreSQL: bearer tokens (missing, malformed, unknown, revoked, expired:
 * 401; failures rate limited per address), the jobs endpoints (submit, get,
 * list with cursor and status, cancel, delete), team isolation generated
 * over the router's table, bad input (malformed JSON, wrong types, unknown
 * fields, a body over the cap, deep nesting, impossible constraints, paths
 * outside the data root) answered with 4xx problems naming the field, the
 * Idempotency-Key, the per-team queue limit and open mode. Every problem
 * body's code must be in the error registry with its status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/testsupport.h"
#include "../support/ts_cifar.h"
#include "auth/auth.h"
#include "http/http.h"
#include "queue/queue.h"
#include "space/space.h"
#include "store/store.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BODY 65536

static struct ts_pg pg;
static struct store_pool *pool;
static struct http_router *router;
static struct http_server *srv;
static struct http_app app;
static char base[64], root[PATH_MAX], outside[PATH_MAX];
static char tok_a[AUTH_TOKEN_MAX], tok_b[AUTH_TOKEN_MAX],
    tok_admin[AUTH_TOKEN_MAX], tok_revoked[AUTH_TOKEN_MAX],
    tok_expired[AUTH_TOKEN_MAX];

static const char spec_ok[] =
    "{\"name\": \"t\", \"dataset\": {\"path\": \"cifar\"}}";

/* ---- helpers --------------------------------------------------------------
 */

/* Sends method path with token (NULL: no Authorization) and body (NULL:
 * none), plus one extra header (may be NULL). */
static void req(const char *method, const char *path, const char *token,
		const char *body, const char *extra, struct ts_http_reply *r)
{
	char url[512], auth[AUTH_TOKEN_MAX + 32];
	const char *h[4];
	int n = 0;

	snprintf(url, sizeof url, "%s%s", base, path);
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		h[n++] = auth;
	}
	if (body)
		h[n++] = "Content-Type: application/json";
	if (extra)
		h[n++] = extra;
	h[n] = NULL;
	assert_int_equal(
	    ts_http(method, url, h, body, body ? strlen(body) : 0, 20, r), 0);
}

static json_t *body_json(const struct ts_http_reply *r)
{
	json_error_t je;
	json_t *j = json_loads(r->body, 0, &je);

	if (!j)
		fail_msg("not JSON (%s): %s", je.text, r->body);
	return j;
}

/* Asserts a problem body with code (registered, with this status). */
static void check_problem(const struct ts_http_reply *r, int status,
			  const char *code)
{
	char ct[128];
	json_t *j;
	const struct http_error_info *info;

	if (r->status != status)
		fail_msg("status %ld, wanted %d: %s", r->status, status,
			 r->body);
	assert_non_null(ts_http_header(r, "Content-Type", ct, sizeof ct));
	assert_string_equal(ct, "application/problem+json");
	j = body_json(r);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    code);
	info = http_error_find(code);
	assert_non_null(info);
	assert_int_equal(info->status, status);
	assert_int_equal(json_integer_value(json_object_get(j, "status")),
			 status);
	assert_string_equal(json_string_value(json_object_get(j, "title")),
			    info->title);
	json_decref(j);
}

/* 1 when the problem's errors name field. */
static int names_field(const struct ts_http_reply *r, const char *field)
{
	json_t *j = body_json(r), *e;
	size_t i;
	int found = 0;

	json_array_foreach(
	    json_object_get(j, "errors"), i,
	    e) if (strcmp(json_string_value(json_object_get(e, "field")),
			  field) == 0) found = 1;
	json_decref(j);
	return found;
}

/* Submits spec as token's team; returns the new job's id. */
static long long submit(const char *token, const char *spec)
{
	struct ts_http_reply r;
	json_t *j;
	long long id;

	req("POST", "/v1/jobs", token, spec, NULL, &r);
	if (r.status != 201)
		fail_msg("submit: %ld %s", r.status, r.body);
	j = body_json(&r);
	id = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	ts_http_reply_free(&r);
	assert_true(id > 0);
	return id;
}

/* The job's status as admin sees it ("" when it is gone). */
static void job_status(long long id, char *out, size_t outlen)
{
	char path[64];
	struct ts_http_reply r;
	json_t *j;

	snprintf(path, sizeof path, "/v1/jobs/%lld", id);
	req("GET", path, tok_admin, NULL, NULL, &r);
	out[0] = '\0';
	if (r.status == 200) {
		j = body_json(&r);
		snprintf(out, outlen, "%s",
			 json_string_value(json_object_get(j, "status")));
		json_decref(j);
	}
	ts_http_reply_free(&r);
}

/* ---- setup ----------------------------------------------------------------
 */

static int group_setup(void **state)
{
	char url[256], err[CORE_ERR_LEN], dir[PATH_MAX + 16];
	char tmp[] = "/tmp/lmapi-XXXXXX", tmp2[] = "/tmp/lmout-XXXXXX";
	struct http_server_config c;
	long long id;

	if (ts_pg_start(&pg))
		return -1;
	ts_pg_url(&pg, NULL, url, sizeof url);
	if (store_pool_open(url, 4, &pool, err, sizeof err) ||
	    store_migrate(pool, NULL, err, sizeof err)) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	if (!mkdtemp(tmp) || !realpath(tmp, root) || !mkdtemp(tmp2) ||
	    !realpath(tmp2, outside))
		return -1;
	snprintf(dir, sizeof dir, "%s/cifar", root);
	if (mkdir(dir, 0755) || ts_cifar100_write(dir, 200, 50, 100, 1) ||
	    ts_cifar100_write(outside, 200, 50, 100, 2))
		return -1;
	snprintf(dir, sizeof dir, "%s/escape", root);
	if (symlink(outside, dir))
		return -1;
	if (auth_token_create(pool, "a", 0, 0, tok_a, &id, err, sizeof err) ||
	    auth_token_create(pool, "b", 0, 0, tok_b, &id, err, sizeof err) ||
	    auth_token_create(pool, "ops", 1, 0, tok_admin, &id, err,
			      sizeof err) ||
	    auth_token_create(pool, "a", 0, 0, tok_revoked, &id, err,
			      sizeof err) ||
	    auth_token_revoke(pool, id, err, sizeof err) ||
	    auth_token_create(pool, "a", 0, 3600, tok_expired, &id, err,
			      sizeof err)) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	/* expired an hour early, without waiting for it */
	snprintf(dir, sizeof dir,
		 "UPDATE tokens SET expires_at = now() - interval '1 s' "
		 "WHERE id = %lld",
		 id);
	if (ts_pg_exec(&pg, NULL, dir, err, sizeof err))
		return -1;
	app.pool = pool;
	app.data_root = root;
	app.limiter = http_auth_limiter_new(1000);
	if (http_router_new(&router, err, sizeof err) ||
	    http_api_routes_add(router, err, sizeof err))
		return -1;
	http_server_config_defaults(&c);
	c.port = 0;
	c.threads = 2;
	c.max_body_bytes = MAX_BODY;
	c.app = &app;
	if (http_server_start(&c, router, &srv, err, sizeof err))
		return -1;
	snprintf(base, sizeof base, "http://127.0.0.1:%d",
		 http_server_port(srv));
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[2 * PATH_MAX + 32];

	http_server_stop(srv, 1);
	http_router_free(router);
	http_auth_limiter_free(app.limiter);
	store_pool_close(pool);
	ts_pg_destroy(&pg);
	if (root[0] && strncmp(root, "/tmp/lmapi-", 11) == 0 &&
	    strncmp(outside, "/tmp/lmout-", 11) == 0) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", root, outside);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", root);
	}
	return 0;
}

/* ---- authentication -------------------------------------------------------
 */

static void
tokens_missing_malformed_unknown_revoked_expired_get_401(void **state)
{
	static const char unknown[] = "lmnas_999999_"
				      "0000000000000000000000000000000000000000"
				      "000000000000000000000000";
	char wrong[AUTH_TOKEN_MAX], ct[128];
	struct ts_http_reply r;

	/* a real id with a wrong secret: unknown, not revoked or expired */
	snprintf(wrong, sizeof wrong, "%s", tok_a);
	wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == '0' ? '1' : '0';
	req("GET", "/v1/jobs", NULL, NULL, NULL, &r);
	check_problem(&r, 401, "unauthenticated");
	assert_non_null(ts_http_header(&r, "WWW-Authenticate", ct, sizeof ct));
	ts_http_reply_free(&r);
	req("GET", "/v1/jobs", NULL, NULL, "Authorization: Basic YTpi", &r);
	check_problem(&r, 401, "token_malformed");
	ts_http_reply_free(&r);
	req("GET", "/v1/jobs", "not-a-token", NULL, NULL, &r);
	check_problem(&r, 401, "token_malformed");
	ts_http_reply_free(&r);
	req("GET", "/v1/jobs", unknown, NULL, NULL, &r);
	check_problem(&r, 401, "token_invalid");
	ts_http_reply_free(&r);
	req("GET", "/v1/jobs", wrong, NULL, NULL, &r);
	check_problem(&r, 401, "token_invalid");
	ts_http_reply_free(&r);
	req("GET", "/v1/jobs", tok_revoked, NULL, NULL, &r);
	check_problem(&r, 401, "token_revoked");
	ts_http_reply_free(&r);
	req("GET", "/v1/jobs", tok_expired, NULL, NULL, &r);
	check_problem(&r, 401, "token_expired");
	ts_http_reply_free(&r);
	/* a body is never parsed for a stranger */
	req("POST", "/v1/jobs", NULL, "{not json", NULL, &r);
	check_problem(&r, 401, "unauthenticated");
	ts_http_reply_free(&r);
	req("GET", "/v1/jobs", tok_a, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	ts_http_reply_free(&r);
}

static void failed_authentications_are_rate_limited_per_address(void **state)
{
	struct http_auth_limiter *saved = app.limiter;
	struct ts_http_reply r;
	char ra[32];

	app.limiter = http_auth_limiter_new(3);
	assert_non_null(app.limiter);
	for (int i = 0; i < 3; i++) {
		req("GET", "/v1/jobs", "bad", NULL, NULL, &r);
		check_problem(&r, 401, "token_malformed");
		ts_http_reply_free(&r);
	}
	req("GET", "/v1/jobs", "bad", NULL, NULL, &r);
	check_problem(&r, 429, "auth_rate_limited");
	assert_non_null(ts_http_header(&r, "Retry-After", ra, sizeof ra));
	assert_true(atoi(ra) >= 1 && atoi(ra) <= 60);
	ts_http_reply_free(&r);
	/* the address is blocked, whatever it sends */
	req("GET", "/v1/jobs", tok_a, NULL, NULL, &r);
	check_problem(&r, 429, "auth_rate_limited");
	ts_http_reply_free(&r);
	/* public routes are not behind the limit */
	req("GET", "/healthz", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	ts_http_reply_free(&r);
	http_auth_limiter_free(app.limiter);
	app.limiter = saved;
}

/* ---- the jobs endpoints
 * ------------------------------------------------------ */

static void job_submit_get_list_cancel_delete(void **state)
{
	struct ts_http_reply r;
	char loc[128], path[64], st[32];
	json_t *j;
	long long id;

	req("POST", "/v1/jobs", tok_a, spec_ok, NULL, &r);
	assert_int_equal(r.status, 201);
	j = body_json(&r);
	id = json_integer_value(json_object_get(j, "id"));
	assert_true(id > 0);
	assert_string_equal(json_string_value(json_object_get(j, "status")),
			    "queued");
	assert_string_equal(json_string_value(json_object_get(j, "team")), "a");
	assert_string_equal(json_string_value(json_object_get(j, "name")), "t");
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(j, "counts"), "candidates")),
			 0);
	json_decref(j);
	snprintf(path, sizeof path, "/v1/jobs/%lld", id);
	assert_non_null(ts_http_header(&r, "Location", loc, sizeof loc));
	assert_string_equal(loc, path);
	ts_http_reply_free(&r);

	/* the stored spec names the data by its real path under the root */
	{
		char sql[PATH_MAX + 128], out[PATH_MAX + 8];
		snprintf(sql, sizeof sql,
			 "SELECT spec->'dataset'->>'path' FROM jobs WHERE id = "
			 "%lld",
			 id);
		assert_int_equal(ts_pg_exec(&pg, NULL, sql, out, sizeof out),
				 0);
		snprintf(sql, sizeof sql, "%s/cifar", root);
		assert_string_equal(out, sql);
	}

	req("GET", path, tok_a, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), id);
	assert_non_null(json_object_get(j, "created_at"));
	assert_true(json_is_null(json_object_get(j, "finished_at")));
	json_decref(j);
	ts_http_reply_free(&r);

	/* a queued job cannot be deleted */
	req("DELETE", path, tok_a, NULL, NULL, &r);
	check_problem(&r, 409, "job_not_finished");
	ts_http_reply_free(&r);

	snprintf(loc, sizeof loc, "%s/cancel", path);
	req("POST", loc, tok_a, NULL, NULL, &r);
	assert_int_equal(r.status, 202);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "status")),
			    "cancelled"); /* queued: cancelled at once */
	assert_true(json_is_true(json_object_get(j, "cancel_requested")));
	json_decref(j);
	ts_http_reply_free(&r);
	req("POST", loc, tok_a, NULL, NULL, &r);
	check_problem(&r, 409, "job_ended");
	ts_http_reply_free(&r);

	{ /* what the job produced goes with it */
		char e2[CORE_ERR_LEN];
		assert_int_equal(
		    store_event_insert(pool, NULL, id, STORE_EVENT_INFO,
				       "state", "ended", NULL, e2, sizeof e2),
		    CORE_OK);
	}
	req("DELETE", path, tok_a, NULL, NULL, &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.len, 0);
	ts_http_reply_free(&r);
	{
		char sql[96], out[16];
		snprintf(sql, sizeof sql,
			 "SELECT count(*) FROM events WHERE job_id = %lld", id);
		assert_int_equal(ts_pg_exec(&pg, NULL, sql, out, sizeof out),
				 0);
		assert_string_equal(out, "0");
	}
	job_status(id, st, sizeof st);
	assert_string_equal(st, "");
	req("GET", path, tok_a, NULL, NULL, &r);
	check_problem(&r, 404, "job_not_found");
	ts_http_reply_free(&r);
	req("GET", "/v1/jobs/abc", tok_a, NULL, NULL, &r);
	check_problem(&r, 404, "job_not_found");
	ts_http_reply_free(&r);
}

static void running_job_cancel_sets_the_flag_only(void **state)
{
	struct ts_http_reply r;
	char path[64], sql[160], out[16];
	json_t *j;
	long long id = submit(tok_a, spec_ok);

	/* as a worker's claim leaves it */
	snprintf(sql, sizeof sql,
		 "UPDATE jobs SET status = 'running', lease_owner = 'w', "
		 "lease_expires_at = now() + interval '1 h' WHERE id = %lld",
		 id);
	assert_int_equal(ts_pg_exec(&pg, NULL, sql, out, sizeof out), 0);
	snprintf(path, sizeof path, "/v1/jobs/%lld/cancel", id);
	req("POST", path, tok_a, NULL, NULL, &r);
	assert_int_equal(r.status, 202);
	j = body_json(&r);
	/* the worker stops at its next safe point and ends it */
	assert_string_equal(json_string_value(json_object_get(j, "status")),
			    "running");
	assert_true(json_is_true(json_object_get(j, "cancel_requested")));
	json_decref(j);
	ts_http_reply_free(&r);
	snprintf(path, sizeof path, "/v1/jobs/%lld", id);
	req("DELETE", path, tok_a, NULL, NULL, &r);
	check_problem(&r, 409, "job_not_finished");
	ts_http_reply_free(&r);
}

static void list_pages_newest_first_and_filters_by_status(void **state)
{
	char tok[AUTH_TOKEN_MAX], err[CORE_ERR_LEN], path[128], cursor[32];
	long long ids[5], tid, seen[5];
	struct ts_http_reply r;
	int nseen = 0, pages = 0;
	json_t *j, *e;
	size_t i;

	assert_int_equal(
	    auth_token_create(pool, "pager", 0, 0, tok, &tid, err, sizeof err),
	    CORE_OK);
	for (int k = 0; k < 5; k++)
		ids[k] = submit(tok, spec_ok);
	cursor[0] = '\0';
	do {
		snprintf(path, sizeof path, "/v1/jobs?limit=2%s%s",
			 cursor[0] ? "&cursor=" : "", cursor);
		req("GET", path, tok, NULL, NULL, &r);
		assert_int_equal(r.status, 200);
		j = body_json(&r);
		assert_true(json_array_size(json_object_get(j, "jobs")) <= 2);
		json_array_foreach(json_object_get(j, "jobs"), i, e)
		{
			assert_true(nseen < 5);
			seen[nseen++] =
			    json_integer_value(json_object_get(e, "id"));
		}
		e = json_object_get(j, "next_cursor");
		snprintf(cursor, sizeof cursor, "%s",
			 json_is_string(e) ? json_string_value(e) : "");
		json_decref(j);
		ts_http_reply_free(&r);
		pages++;
	} while (cursor[0] && pages < 10);
	assert_int_equal(pages, 3);
	assert_int_equal(nseen, 5);
	for (int k = 0; k < 5; k++) /* newest first, each once */
		assert_int_equal(seen[k], ids[4 - k]);

	snprintf(path, sizeof path, "/v1/jobs/%lld/cancel", ids[2]);
	req("POST", path, tok, NULL, NULL, &r);
	assert_int_equal(r.status, 202);
	ts_http_reply_free(&r);
	req("GET", "/v1/jobs?status=cancelled", tok, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "jobs")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(j, "jobs"), 0), "id")),
	    ids[2]);
	json_decref(j);
	ts_http_reply_free(&r);

	/* a limit above the cap is capped, not refused */
	req("GET", "/v1/jobs?limit=100000", tok, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	ts_http_reply_free(&r);
	req("GET", "/v1/jobs?status=done&limit=0&cursor=x", tok, NULL, NULL,
	    &r);
	check_problem(&r, 400, "invalid_parameter");
	assert_true(names_field(&r, "status"));
	assert_true(names_field(&r, "limit"));
	assert_true(names_field(&r, "cursor"));
	ts_http_reply_free(&r);
}

/* ---- team isolation over the route table -----------------------------------
 */

struct walk {
	long long job_b; /* team b's job */
	int routes, scoped;
};

static const unsigned methods_all[] = {HTTP_GET, HTTP_POST, HTTP_PUT,
				       HTTP_PATCH, HTTP_DELETE};
static const char *const method_names[] = {"GET", "POST", "PUT", "PATCH",
					   "DELETE"};

/* The pattern with every {param} replaced by value. */
static void fill_pattern(const char *pattern, const char *value, char *out,
			 size_t outlen)
{
	size_t n = 0;

	for (const char *p = pattern; *p && n + 32 < outlen; p++) {
		if (*p == '{') {
			n += (size_t)snprintf(out + n, outlen - n, "%s", value);
			while (*p && *p != '}')
				p++;
			continue;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
}

static void walk_route(void *ctx, const char *pattern, unsigned methods,
		       unsigned flags)
{
	struct walk *w = ctx;
	char path[256], id[32], needle[48];
	struct ts_http_reply r;
	unsigned scope = flags & (HTTP_ROUTE_TEAM_SCOPED | HTTP_ROUTE_PUBLIC);

	if (strncmp(pattern, "/v1/", 4) != 0)
		return;
	w->routes++;
	/* every /v1 route says whose data it serves */
	if (scope != HTTP_ROUTE_TEAM_SCOPED && scope != HTTP_ROUTE_PUBLIC)
		fail_msg("route %s is neither HTTP_ROUTE_TEAM_SCOPED nor "
			 "HTTP_ROUTE_PUBLIC",
			 pattern);
	if (scope == HTTP_ROUTE_PUBLIC)
		return;
	w->scoped++;
	snprintf(id, sizeof id, "%lld", w->job_b);
	snprintf(needle, sizeof needle, "\"id\":%lld,", w->job_b);
	fill_pattern(pattern, id, path, sizeof path);
	for (size_t m = 0; m < sizeof methods_all / sizeof methods_all[0];
	     m++) {
		if (!(methods & methods_all[m]))
			continue;
		if (!strchr(pattern, '{') && methods_all[m] == HTTP_POST)
			continue; /* a creation: checked by the caller */
		req(method_names[m], path, tok_a,
		    (flags & HTTP_ROUTE_BODY) ? spec_ok : NULL, NULL, &r);
		if (strchr(pattern, '{')) {
			/* another team's id is a 404, never a 403 */
			if (r.status != 404)
				fail_msg("%s %s as team a: %ld %s",
					 method_names[m], pattern, r.status,
					 r.body);
		} else if (strstr(r.body, needle)) {
			fail_msg("%s %s as team a shows team b's job: %s",
				 method_names[m], pattern, r.body);
		}
		ts_http_reply_free(&r);
	}
}

static void team_a_cannot_reach_team_b_jobs_on_any_route(void **state)
{
	struct walk w = {0};
	struct ts_http_reply r;
	char st[32], path[64], needle[48];
	json_t *j;

	w.job_b = submit(tok_b, spec_ok);
	http_router_each(router, walk_route, &w);
	assert_true(w.routes >= 4);
	assert_true(w.scoped >= 4);
	/* nothing happened to it */
	job_status(w.job_b, st, sizeof st);
	assert_string_equal(st, "queued");
	/* a job team a creates is team a's */
	req("POST", "/v1/jobs", tok_a, spec_ok, NULL, &r);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "team")), "a");
	json_decref(j);
	ts_http_reply_free(&r);
	/* the admin sees and touches every team's */
	snprintf(needle, sizeof needle, "\"id\":%lld,", w.job_b);
	req("GET", "/v1/jobs?limit=100", tok_admin, NULL, NULL, &r);
	assert_non_null(strstr(r.body, needle));
	ts_http_reply_free(&r);
	snprintf(path, sizeof path, "/v1/jobs/%lld/cancel", w.job_b);
	req("POST", path, tok_admin, NULL, NULL, &r);
	assert_int_equal(r.status, 202);
	ts_http_reply_free(&r);
}

/* ---- bad input
 * ---------------------------------------------------------------- */

static void bad_input_gets_4xx_problems_naming_the_field(void **state)
{
	char *big, *deep;
	struct ts_http_reply r;
	size_t depth = 10000;

	req("POST", "/v1/jobs", tok_a, "{\"name\": ", NULL, &r);
	check_problem(&r, 400, "invalid_json");
	ts_http_reply_free(&r);

	req("POST", "/v1/jobs", tok_a,
	    "{\"name\": 5, \"dataset\": {\"path\": \"cifar\"}}", NULL, &r);
	check_problem(&r, 422, "validation_failed");
	assert_true(names_field(&r, "name"));
	ts_http_reply_free(&r);

	req("POST", "/v1/jobs", tok_a,
	    "{\"name\": \"t\", \"dataset\": {\"path\": \"cifar\"}, "
	    "\"bogus\": 1}",
	    NULL, &r);
	check_problem(&r, 422, "validation_failed");
	assert_true(names_field(&r, "bogus"));
	ts_http_reply_free(&r);

	req("POST", "/v1/jobs", tok_a, "[1, 2]", NULL, &r);
	check_problem(&r, 422, "validation_failed");
	ts_http_reply_free(&r);

	req("POST", "/v1/jobs", tok_a,
	    "{\"name\": \"t\", \"dataset\": {\"path\": \"cifar\"}, "
	    "\"budget\": {\"proxy\": {\"epochs\": \"3\"}}}",
	    NULL, &r);
	check_problem(&r, 422, "validation_failed");
	assert_true(names_field(&r, "budget.proxy.epochs"));
	ts_http_reply_free(&r);

	/* no member of the space fits 1000 MACs */
	req("POST", "/v1/jobs", tok_a,
	    "{\"name\": \"t\", \"dataset\": {\"path\": \"cifar\"}, "
	    "\"constraints\": {\"max_macs\": 1000}}",
	    NULL, &r);
	check_problem(&r, 422, "validation_failed");
	assert_true(names_field(&r, "constraints"));
	ts_http_reply_free(&r);

	/* a body over --max-body */
	big = calloc(1, MAX_BODY + 64);
	assert_non_null(big);
	memset(big, ' ', MAX_BODY + 10);
	big[0] = '{';
	big[MAX_BODY + 10] = '}';
	req("POST", "/v1/jobs", tok_a, big, NULL, &r);
	check_problem(&r, 413, "body_too_large");
	ts_http_reply_free(&r);
	free(big);

	/* 10,000 levels of nesting */
	deep = calloc(1, 2 * depth + 1);
	assert_non_null(deep);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	req("POST", "/v1/jobs", tok_a, deep, NULL, &r);
	check_problem(&r, 400, "invalid_json");
	ts_http_reply_free(&r);
	free(deep);

	/* llm.api_key_env may not name a server secret */
	req("POST", "/v1/jobs", tok_a,
	    "{\"name\": \"t\", \"dataset\": {\"path\": \"cifar\"}, "
	    "\"llm\": {\"api_key_env\": \"LMNAS_DATABASE_URL\"}}",
	    NULL, &r);
	check_problem(&r, 422, "validation_failed");
	assert_true(names_field(&r, "llm.api_key_env"));
	ts_http_reply_free(&r);

	/* a job's LLM endpoint is limited by --llm-allow (loopback by
	 * default): the worker would call it from the server's network */
	req("POST", "/v1/jobs", tok_a,
	    "{\"name\": \"t\", \"dataset\": {\"path\": \"cifar\"}, "
	    "\"proposer\": \"llm\", "
	    "\"llm\": {\"base_url\": \"http://10.0.0.5:11434/v1\"}}",
	    NULL, &r);
	check_problem(&r, 422, "validation_failed");
	assert_true(names_field(&r, "llm.base_url"));
	ts_http_reply_free(&r);
	/* the evolutionary proposer never calls it */
	req("POST", "/v1/jobs", tok_a,
	    "{\"name\": \"t\", \"dataset\": {\"path\": \"cifar\"}, "
	    "\"proposer\": \"evolution\", "
	    "\"llm\": {\"base_url\": \"http://10.0.0.5:11434/v1\"}}",
	    NULL, &r);
	assert_false(names_field(&r, "llm.base_url"));
	ts_http_reply_free(&r);

	/* not sent as JSON */
	req("POST", "/v1/jobs", tok_a, NULL, "Content-Type: text/plain", &r);
	check_problem(&r, 415, "unsupported_media_type");
	ts_http_reply_free(&r);
}

static void dataset_paths_outside_the_root_are_refused(void **state)
{
	const char *paths[6];
	char abs_out[PATH_MAX + 8], abs_in[PATH_MAX + 8], spec[2 * PATH_MAX],
	    up[PATH_MAX + 16];
	struct ts_http_reply r;

	snprintf(abs_out, sizeof abs_out, "%s", outside);
	snprintf(abs_in, sizeof abs_in, "%s/cifar", root);
	snprintf(up, sizeof up, "cifar/../../%s", outside + 5);
	paths[0] = abs_out;   /* absolute, outside */
	paths[1] = up;	      /* climbs out */
	paths[2] = "escape";  /* a symbolic link leaving the root */
	paths[3] = "missing"; /* nothing there */
	paths[4] = "/etc";
	paths[5] = "..";
	for (int i = 0; i < 6; i++) {
		snprintf(spec, sizeof spec,
			 "{\"name\": \"t\", \"dataset\": {\"path\": \"%s\"}}",
			 paths[i]);
		req("POST", "/v1/jobs", tok_a, spec, NULL, &r);
		check_problem(&r, 422, "validation_failed");
		if (!names_field(&r, "dataset.path"))
			fail_msg("%s: %s", paths[i], r.body);
		ts_http_reply_free(&r);
	}
	snprintf(spec, sizeof spec,
		 "{\"name\": \"t\", \"dataset\": {\"path\": \"cifar\"}, "
		 "\"budget\": {\"final\": {\"teacher_logits\": \"%s/x.npy\"}}}",
		 outside);
	req("POST", "/v1/jobs", tok_a, spec, NULL, &r);
	check_problem(&r, 422, "validation_failed");
	assert_true(names_field(&r, "budget.final.teacher_logits"));
	ts_http_reply_free(&r);
	/* an absolute path under the root is fine */
	snprintf(spec, sizeof spec,
		 "{\"name\": \"t\", \"dataset\": {\"path\": \"%s\"}}", abs_in);
	submit(tok_a, spec);
}

/* ---- idempotency, limits, open mode
 * ------------------------------------------- */

static void idempotency_key_replays_the_same_job(void **state)
{
	static const char other[] =
	    "{\"name\": \"u\", \"dataset\": {\"path\": \"cifar\"}}";
	struct ts_http_reply r;
	char loc[64], path[64], hv[16];
	json_t *j;
	long long id, id2;

	req("POST", "/v1/jobs", tok_a, spec_ok, "Idempotency-Key: k-1", &r);
	assert_int_equal(r.status, 201);
	j = body_json(&r);
	id = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	ts_http_reply_free(&r);
	req("POST", "/v1/jobs", tok_a, spec_ok, "Idempotency-Key: k-1", &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), id);
	json_decref(j);
	snprintf(path, sizeof path, "/v1/jobs/%lld", id);
	assert_non_null(ts_http_header(&r, "Location", loc, sizeof loc));
	assert_string_equal(loc, path);
	assert_non_null(
	    ts_http_header(&r, "Idempotent-Replayed", hv, sizeof hv));
	ts_http_reply_free(&r);
	req("POST", "/v1/jobs", tok_a, other, "Idempotency-Key: k-1", &r);
	check_problem(&r, 422, "idempotency_key_reused");
	ts_http_reply_free(&r);
	/* keys are per team */
	req("POST", "/v1/jobs", tok_b, spec_ok, "Idempotency-Key: k-1", &r);
	assert_int_equal(r.status, 201);
	j = body_json(&r);
	id2 = json_integer_value(json_object_get(j, "id"));
	assert_true(id2 != id);
	json_decref(j);
	ts_http_reply_free(&r);
	req("POST", "/v1/jobs", tok_a, spec_ok, "Idempotency-Key: a b", &r);
	check_problem(&r, 400, "idempotency_key_invalid");
	ts_http_reply_free(&r);
}

static void team_queue_limit_gets_429(void **state)
{
	char tok[AUTH_TOKEN_MAX], err[CORE_ERR_LEN], ra[16];
	struct ts_http_reply r;
	long long tid;

	assert_int_equal(
	    auth_token_create(pool, "small", 0, 0, tok, &tid, err, sizeof err),
	    CORE_OK);
	app.team_max_queued = 2;
	submit(tok, spec_ok);
	submit(tok, spec_ok);
	req("POST", "/v1/jobs", tok, spec_ok, NULL, &r);
	check_problem(&r, 429, "team_queue_full");
	assert_non_null(ts_http_header(&r, "Retry-After", ra, sizeof ra));
	ts_http_reply_free(&r);
	/* other teams are not held back by it */
	app.team_max_queued = 1000;
	req("POST", "/v1/jobs", tok, spec_ok, NULL, &r);
	assert_int_equal(r.status, 201);
	ts_http_reply_free(&r);
	app.team_max_queued = 0;
}

struct racer {
	long long team;
	const char *key;
	enum queue_submit_outcome outcome;
	long long id;
	enum core_status st;
	atomic_int *done;
};

static void *race_submit(void *arg)
{
	struct racer *r = arg;
	struct queue_submit s = {r->team,
				 "race",
				 "{}",
				 r->key,
				 "0000000000000000000000000000000000000000000"
				 "000000000000000000000",
				 3,
				 0};
	char err[CORE_ERR_LEN];

	r->st =
	    queue_job_submit(pool, &s, &r->outcome, &r->id, err, sizeof err);
	atomic_fetch_add(r->done, 1);
	return NULL;
}

/* Runs sql on c; 0 on success. */
static int pq(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
		 PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return ok ? 0 : -1;
}

/* Submissions of a team take turns under its lock: while another
 * transaction holds it and fills the team's queue (uncommitted), every
 * submission waits, then sees the queue full. Without the lock they would
 * not wait, count the queue without the uncommitted jobs, and pass the
 * limit. Deterministic: the commit happens only once every submission is
 * seen waiting for the lock (or, wrongly, done). */
static void concurrent_submissions_wait_for_the_team_lock(void **state)
{
	enum { N = 3 };
	struct racer r[N];
	pthread_t t[N];
	char url[256], err[CORE_ERR_LEN], sql[256];
	atomic_int done = 0;
	long long team;
	struct store_conn *cs[4];
	PGconn *c;
	int waiting = 0;

	/* every pool connection open first, so that what the racers wait
	 * for can only be the lock */
	for (int i = 0; i < 4; i++)
		assert_int_equal(
		    store_conn_acquire(pool, 5, &cs[i], err, sizeof err),
		    CORE_OK);
	for (int i = 0; i < 4; i++)
		store_conn_release(pool, cs[i]);
	assert_int_equal(
	    auth_team_ensure(pool, "racers", &team, err, sizeof err), CORE_OK);
	ts_pg_url(&pg, NULL, url, sizeof url);
	c = PQconnectdb(url);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(4712, %lld)",
		 team);
	assert_int_equal(pq(c, "BEGIN"), 0);
	assert_int_equal(pq(c, sql), 0);
	snprintf(sql, sizeof sql,
		 "INSERT INTO jobs (name, spec, team_id) SELECT 'held', '{}', "
		 "%lld FROM generate_series(1, 3)",
		 team);
	assert_int_equal(pq(c, sql), 0);
	for (int i = 0; i < N; i++) {
		r[i] = (struct racer){team, NULL, 0, 0, 0, &done};
		assert_int_equal(
		    pthread_create(&t[i], NULL, race_submit, &r[i]), 0);
	}
	for (int k = 0; k < 2000 && waiting < N && atomic_load(&done) < N;
	     k++) {
		PGresult *q = PQexec(c, "SELECT count(*) FROM pg_stat_activity "
					"WHERE wait_event = 'advisory'");
		waiting = atoi(PQgetvalue(q, 0, 0));
		PQclear(q);
		usleep(5000);
	}
	assert_int_equal(pq(c, "COMMIT"), 0);
	PQfinish(c);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].st, CORE_OK);
		if (r[i].outcome != QUEUE_SUBMIT_QUEUE_FULL)
			fail_msg("submission %d passed the limit (job %lld)", i,
				 r[i].id);
	}
	assert_int_equal(waiting, N);
}

/* One key, racing: one job, the others replay it. */
static void concurrent_submissions_with_one_key_make_one_job(void **state)
{
	enum { N = 4 };
	struct racer r[N];
	pthread_t t[N];
	char err[CORE_ERR_LEN];
	atomic_int done = 0;
	long long team;
	int created = 0;

	assert_int_equal(
	    auth_team_ensure(pool, "keyed", &team, err, sizeof err), CORE_OK);
	for (int i = 0; i < N; i++) {
		r[i] = (struct racer){team, "k", 0, 0, 0, &done};
		assert_int_equal(
		    pthread_create(&t[i], NULL, race_submit, &r[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].st, CORE_OK);
		assert_int_equal(r[i].id, r[0].id);
		created += r[i].outcome == QUEUE_SUBMIT_CREATED;
		if (r[i].outcome != QUEUE_SUBMIT_CREATED)
			assert_int_equal(r[i].outcome, QUEUE_SUBMIT_REPLAYED);
	}
	assert_int_equal(created, 1);
}

static void open_mode_acts_as_admin_of_the_default_team(void **state)
{
	char err[CORE_ERR_LEN];
	struct ts_http_reply r;
	long long team;
	json_t *j;

	assert_int_equal(
	    auth_team_ensure(pool, "default", &team, err, sizeof err), CORE_OK);
	app.open_team_id = team;
	app.auth_open = 1;
	req("POST", "/v1/jobs", NULL, spec_ok, NULL, &r);
	app.auth_open = 0;
	assert_int_equal(r.status, 201);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "team")),
			    "default");
	json_decref(j);
	ts_http_reply_free(&r);
	req("GET", "/v1/jobs", NULL, NULL, NULL, &r);
	check_problem(&r, 401, "unauthenticated");
	ts_http_reply_free(&r);
}

static void events_page_by_after_and_rounds_list(void **state)
{
	char err[CORE_ERR_LEN], path[96], after[32];
	struct ts_http_reply r;
	long long id = submit(tok_a, spec_ok), seen = 0, last = 0;
	int pages = 0;
	json_t *j, *e;
	size_t i;

	for (int k = 0; k < 5; k++) {
		char msg[32];
		snprintf(msg, sizeof msg, "event %d", k);
		assert_int_equal(store_event_insert(
				     pool, NULL, id, STORE_EVENT_INFO, "state",
				     msg, "{\"k\": 1}", err, sizeof err),
				 CORE_OK);
	}
	assert_int_equal(store_round_put(pool, NULL, id, 1, "random",
					 "[{\"id\": 3}]", 0.25, "one", 1, err,
					 sizeof err),
			 CORE_OK);
	snprintf(after, sizeof after, "0");
	do { /* polling with next_after sees every event once, in order */
		snprintf(path, sizeof path,
			 "/v1/jobs/%lld/events?limit=2&after=%s", id, after);
		req("GET", path, tok_a, NULL, NULL, &r);
		assert_int_equal(r.status, 200);
		j = body_json(&r);
		json_array_foreach(json_object_get(j, "events"), i, e)
		{
			long long eid =
			    json_integer_value(json_object_get(e, "id"));
			assert_true(eid > last);
			last = eid;
			seen++;
			assert_string_equal(
			    json_string_value(json_object_get(e, "kind")),
			    "state");
		}
		snprintf(after, sizeof after, "%lld",
			 (long long)json_integer_value(
			     json_object_get(j, "next_after")));
		i = json_array_size(json_object_get(j, "events"));
		json_decref(j);
		ts_http_reply_free(&r);
		pages++;
	} while (i > 0 && pages < 10);
	/* the job's own 'queued' state event (migration 0008) and the 5 */
	assert_int_equal(seen, 6);
	assert_int_equal(pages, 4); /* 2 + 2 + 2, then an empty page */

	snprintf(path, sizeof path, "/v1/jobs/%lld/events?after=x", id);
	req("GET", path, tok_a, NULL, NULL, &r);
	check_problem(&r, 400, "invalid_parameter");
	assert_true(names_field(&r, "after"));
	ts_http_reply_free(&r);

	snprintf(path, sizeof path, "/v1/jobs/%lld/rounds", id);
	req("GET", path, tok_a, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	e = json_array_get(json_object_get(j, "rounds"), 0);
	assert_int_equal(json_integer_value(json_object_get(e, "round")), 1);
	assert_string_equal(json_string_value(json_object_get(e, "proposer")),
			    "random");
	assert_true(json_real_value(json_object_get(e, "hypervolume")) == 0.25);
	assert_int_equal(json_array_size(json_object_get(e, "front")), 1);
	json_decref(j);
	ts_http_reply_free(&r);
}

/* A job's models and one model: figures from the stored report, artifacts'
 * size and digest, team scoped through the job. */
static void models_list_and_get_are_team_scoped(void **state)
{
	char err[CORE_ERR_LEN], sql[1024], path[96];
	struct ts_http_reply r;
	long long id = submit(tok_a, spec_ok), mid;
	json_t *j, *m;

	snprintf(
	    sql, sizeof sql,
	    "WITH c AS (INSERT INTO candidates (job_id, round, source, "
	    "arch, arch_hash, status, macs, params, flash_bytes, "
	    "sram_bytes) VALUES (%lld, 1, 'random', '{}', 'h1', "
	    "'final_done', 4100, 152, 999, 888) RETURNING id) "
	    "INSERT INTO models (job_id, candidate_id, zip, zip_sha256, "
	    "zip_size, report) SELECT %lld, c.id, '\\x504b0304', 'abc', 4, "
	    "'{\"accuracy\": {\"float_top1\": 0.5, \"int8_top1\": 0.25}, "
	    "\"flash\": {\"estimate\": {\"total\": 3000}}, \"sram\": "
	    "{\"arena_bytes\": 2000}}' FROM c",
	    id, id);
	assert_int_equal(ts_pg_exec(&pg, NULL, sql, err, sizeof err), 0);

	snprintf(path, sizeof path, "/v1/jobs/%lld/models", id);
	req("GET", path, tok_a, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "models")), 1);
	m = json_array_get(json_object_get(j, "models"), 0);
	mid = json_integer_value(json_object_get(m, "id"));
	assert_true(json_real_value(json_object_get(m, "float_top1")) == 0.5);
	assert_true(json_real_value(json_object_get(m, "int8_top1")) == 0.25);
	assert_int_equal(json_integer_value(json_object_get(m, "macs")), 4100);
	/* the report's figures win over the candidate's estimate */
	assert_int_equal(json_integer_value(json_object_get(m, "flash_bytes")),
			 3000);
	assert_int_equal(json_integer_value(json_object_get(m, "sram_bytes")),
			 2000);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(m, "zip"), "size")),
			 4);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(m, "zip"), "sha256")),
			    "abc");
	assert_true(json_is_null(json_object_get(m, "checkpoint")));
	json_decref(j);
	ts_http_reply_free(&r);

	snprintf(path, sizeof path, "/v1/models/%lld", mid);
	req("GET", path, tok_a, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "job_id")), id);
	assert_int_equal(json_integer_value(json_object_get(j, "params")), 152);
	json_decref(j);
	ts_http_reply_free(&r);

	/* another team's model is a missing one; the admin sees it */
	req("GET", path, tok_b, NULL, NULL, &r);
	check_problem(&r, 404, "model_not_found");
	ts_http_reply_free(&r);
	req("GET", path, tok_admin, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	ts_http_reply_free(&r);
	snprintf(path, sizeof path, "/v1/jobs/%lld/models", id);
	req("GET", path, tok_b, NULL, NULL, &r);
	check_problem(&r, 404, "job_not_found");
	ts_http_reply_free(&r);
	req("GET", "/v1/models/x1", tok_a, NULL, NULL, &r);
	check_problem(&r, 404, "model_not_found");
	ts_http_reply_free(&r);
}

/* The default space needs a token and is what `lmnas space show --json` prints.
 */
static void default_search_space_needs_a_token(void **state)
{
	struct ts_http_reply r;
	struct space s;
	json_t *j, *want;

	req("GET", "/v1/search-spaces/default", NULL, NULL, NULL, &r);
	check_problem(&r, 401, "unauthenticated");
	ts_http_reply_free(&r);
	req("GET", "/v1/search-spaces/default", tok_a, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	space_default(&s);
	want = space_to_json(&s);
	assert_true(json_equal(j, want));
	assert_string_equal(json_string_value(json_object_get(j, "format")),
			    "lmnas-space/1");
	json_decref(want);
	json_decref(j);
	ts_http_reply_free(&r);
}

static void claims_keep_a_team_under_its_running_limit(void **state)
{
	char tok[AUTH_TOKEN_MAX], err[CORE_ERR_LEN], out[16];
	struct queue_claim c1, c2, c3, c4;
	long long tid, r1, r2, o1;

	/* only this test's jobs are claimable */
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "UPDATE jobs SET status = 'cancelled' "
				    "WHERE status IN ('queued', 'running')",
				    out, sizeof out),
			 0);
	assert_int_equal(
	    auth_token_create(pool, "busy", 0, 0, tok, &tid, err, sizeof err),
	    CORE_OK);
	r1 = submit(tok, spec_ok);
	r2 = submit(tok, spec_ok);
	o1 = submit(tok_b, spec_ok);
	queue_team_max_running_set(1);
	assert_int_equal(queue_job_claim(pool, "w1", 60, &c1, err, sizeof err),
			 CORE_OK);
	assert_int_equal(c1.id, r1);
	/* team busy runs one: its second job waits, team b's goes first */
	assert_int_equal(queue_job_claim(pool, "w2", 60, &c2, err, sizeof err),
			 CORE_OK);
	assert_int_equal(c2.id, o1);
	assert_int_equal(queue_job_claim(pool, "w3", 60, &c3, err, sizeof err),
			 CORE_ERR_NOT_FOUND);
	assert_int_equal(queue_job_finish(pool, r1, "w1", QUEUE_JOB_SUCCEEDED,
					  NULL, err, sizeof err),
			 CORE_OK);
	assert_int_equal(queue_job_claim(pool, "w3", 60, &c4, err, sizeof err),
			 CORE_OK);
	assert_int_equal(c4.id, r2);
	queue_team_max_running_set(0);
	queue_claim_free(&c1);
	queue_claim_free(&c2);
	queue_claim_free(&c4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		tokens_missing_malformed_unknown_revoked_expired_get_401),
	    cmocka_unit_test(
		failed_authentications_are_rate_limited_per_address),
	    cmocka_unit_test(job_submit_get_list_cancel_delete),
	    cmocka_unit_test(running_job_cancel_sets_the_flag_only),
	    cmocka_unit_test(list_pages_newest_first_and_filters_by_status),
	    cmocka_unit_test(team_a_cannot_reach_team_b_jobs_on_any_route),
	    cmocka_unit_test(bad_input_gets_4xx_problems_naming_the_field),
	    cmocka_unit_test(dataset_paths_outside_the_root_are_refused),
	    cmocka_unit_test(idempotency_key_replays_the_same_job),
	    cmocka_unit_test(team_queue_limit_gets_429),
	    cmocka_unit_test(concurrent_submissions_wait_for_the_team_lock),
	    cmocka_unit_test(concurrent_submissions_with_one_key_make_one_job),
	    cmocka_unit_test(open_mode_acts_as_admin_of_the_default_team),
	    cmocka_unit_test(events_page_by_after_and_rounds_list),
	    cmocka_unit_test(models_list_and_get_are_team_scoped),
	    cmocka_unit_test(default_search_space_needs_a_token),
	    cmocka_unit_test(claims_keep_a_team_under_its_running_limit),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
