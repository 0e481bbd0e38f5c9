/* SPDX-License-Identifier: Apache-2.0 */
/* test_http_server.c - the HTTP server in-process over real sockets, with
 * test-only routes registered by this test (never built into lmnas): JSON
 * bodies (415, 413 by length and by chunks, 400 with line/column, depth),
 * params and query, 404/405, request ids, static files, the access log, and
 * the graceful stop (drain, deadline, idle keep-alive, refused connects).
 * (Bytes that are not UTF-8, oversized queries and slow clients:
 * test_http_limits.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/testsupport.h"
#include "http/http.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY  4096
#define MAX_DEPTH 8

static struct http_router *router;
static struct http_server *server; /* shared by most tests */
static char base_url[64];
static char web[64]; /* temp web root */
static atomic_int slow_ms;

/* ---- test-only routes ---------------------------------------------------- */

static void echo(struct http_request *req, struct http_response *res)
{
	http_reply_json(res, 200,
			json_pack("{s:O, s:s, s:s}", "got", req->body, "id",
				  req->id, "method", req->method_name));
}

static void item_get(struct http_request *req, struct http_response *res)
{
	const char *q = http_request_query(req, "q");
	const char *h = http_request_header(req, "x-test");

	http_reply_json(res, 200,
			json_pack("{s:s, s:s?, s:s?}", "id",
				  http_request_param(req, "id"), "q", q, "h",
				  h));
}

static void item_stats(struct http_request *req, struct http_response *res)
{
	http_reply_json(res, 200, json_pack("{s:b}", "stats", 1));
}

static void silent(struct http_request *req, struct http_response *res)
{
}

static void validate(struct http_request *req, struct http_response *res)
{
	struct core_field_errors fe;

	core_field_errors_clear(&fe);
	if (!json_is_string(json_object_get(req->body, "name")))
		core_field_errorf(&fe, "name", "is required");
	core_field_errorf(&fe, "size", "must be positive");
	http_reply_problem(res, 422, "invalid_item", NULL,
			   "the item has problems", &fe);
}

static void slow(struct http_request *req, struct http_response *res)
{
	int ms = atomic_load(&slow_ms);
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
	http_reply_json(res, 200, json_pack("{s:i}", "slept", ms));
}

static void add_routes(struct http_router *r)
{
	char err[CORE_ERR_LEN];

	assert_int_equal(http_router_add(r, HTTP_POST, "/echo", echo,
					 HTTP_ROUTE_BODY, err, sizeof err),
			 CORE_OK);
	assert_int_equal(http_router_add(r, HTTP_GET, "/items/{id}", item_get,
					 0, err, sizeof err),
			 CORE_OK);
	assert_int_equal(http_router_add(r, HTTP_GET, "/items/stats",
					 item_stats, 0, err, sizeof err),
			 CORE_OK);
	assert_int_equal(
	    http_router_add(r, HTTP_GET, "/silent", silent, 0, err, sizeof err),
	    CORE_OK);
	assert_int_equal(http_router_add(r, HTTP_POST, "/validate", validate,
					 HTTP_ROUTE_BODY, err, sizeof err),
			 CORE_OK);
	assert_int_equal(
	    http_router_add(r, HTTP_GET, "/slow", slow, 0, err, sizeof err),
	    CORE_OK);
	assert_int_equal(http_api_routes_add(r, err, sizeof err), CORE_OK);
}

static void write_web_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", web, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void config_for(struct http_server_config *c)
{
	http_server_config_defaults(c);
	c->port = 0;
	c->threads = 2;
	c->max_body_bytes = MAX_BODY;
	c->json_max_depth = MAX_DEPTH;
	c->connection_timeout_s = 10;
	c->web_dir = web;
}

static struct http_server *start(void)
{
	struct http_server_config c;
	struct http_server *s = NULL;
	char err[CORE_ERR_LEN];

	config_for(&c);
	assert_int_equal(http_server_start(&c, router, &s, err, sizeof err),
			 CORE_OK);
	assert_true(http_server_port(s) > 0);
	return s;
}

static int group_setup(void **state)
{
	char err[CORE_ERR_LEN];

	core_log_init(CORE_LOG_INFO, CORE_LOG_FORMAT_JSON);
	snprintf(web, sizeof web, "/tmp/lmnas-web-XXXXXX");
	if (!mkdtemp(web))
		return -1;
	write_web_file("index.html", "<p>lmnas test page</p>");
	write_web_file("app.js", "console.log(1);");
	write_web_file(".hidden", "no");
	if (http_router_new(&router, err, sizeof err))
		return -1;
	add_routes(router);
	server = start();
	snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d",
		 http_server_port(server));
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	http_server_stop(server, 1);
	http_router_free(router);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", web);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ------------------------------------------------------------- */

static void request(const char *method, const char *path,
		    const char *const *headers, const char *body,
		    struct ts_http_reply *r)
{
	char url[HTTP_PATH_MAX];

	snprintf(url, sizeof url, "%s%s", base_url, path);
	assert_int_equal(
	    ts_http(method, url, headers, body, body ? strlen(body) : 0, 10, r),
	    0);
}

static json_t *reply_json(const struct ts_http_reply *r)
{
	json_error_t e;
	json_t *j = json_loads(r->body, 0, &e);

	if (!j)
		fail_msg("not JSON (%s): %s", e.text, r->body);
	return j;
}

/* Checks a problem reply and returns it (caller decrefs). */
static json_t *expect_problem(const struct ts_http_reply *r, long status,
			      const char *code)
{
	char ct[128];
	json_t *j;

	assert_int_equal(r->status, status);
	assert_non_null(ts_http_header(r, "Content-Type", ct, sizeof ct));
	assert_string_equal(ct, "application/problem+json");
	j = reply_json(r);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    code);
	assert_int_equal(json_integer_value(json_object_get(j, "status")),
			 status);
	assert_non_null(json_string_value(json_object_get(j, "title")));
	assert_non_null(json_string_value(json_object_get(j, "type")));
	return j;
}

static const char *const json_ct[] = {
    "Content-Type: application/json; charset=utf-8", NULL};

/* Sends raw bytes on a fresh connection and reads until close. */
static char *raw(const char *text)
{
	int fd = ts_tcp_connect(http_server_port(server));
	char *out;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	out = ts_tcp_read_all(fd, 5);
	close(fd);
	return out;
}

/* ---- bodies -------------------------------------------------------------- */

static void json_body_is_parsed(void **state)
{
	struct ts_http_reply r;
	char h[128];
	json_t *j;

	request("POST", "/echo", json_ct, "{\"a\": [1, \"x\"]}", &r);
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	assert_int_equal(
	    json_integer_value(json_array_get(
		json_object_get(json_object_get(j, "got"), "a"), 0)),
	    1);
	assert_string_equal(json_string_value(json_object_get(j, "method")),
			    "POST");
	assert_non_null(ts_http_header(&r, "Content-Type", h, sizeof h));
	assert_string_equal(h, "application/json");
	assert_non_null(
	    ts_http_header(&r, "X-Content-Type-Options", h, sizeof h));
	assert_string_equal(h, "nosniff");
	assert_non_null(ts_http_header(&r, "Cache-Control", h, sizeof h));
	assert_string_equal(h, "no-store");
	json_decref(j);
	ts_http_reply_free(&r);
}

static void wrong_media_type_is_415(void **state)
{
	static const char *const text[] = {"Content-Type: text/plain", NULL};
	static const char *const none[] = {"Content-Type:", NULL};
	struct ts_http_reply r;
	json_t *j;

	request("POST", "/echo", text, "{}", &r);
	j = expect_problem(&r, 415, "unsupported_media_type");
	assert_non_null(strstr(json_string_value(json_object_get(j, "detail")),
			       "text/plain"));
	json_decref(j);
	ts_http_reply_free(&r);

	request("POST", "/echo", none, "{}", &r);
	json_decref(expect_problem(&r, 415, "unsupported_media_type"));
	ts_http_reply_free(&r);
}

static void oversized_body_is_413(void **state)
{
	static char big[MAX_BODY + 2];
	struct ts_http_reply r;

	/* exactly the limit passes */
	memset(big, ' ', MAX_BODY);
	big[0] = '1';
	big[MAX_BODY] = '\0';
	request("POST", "/echo", json_ct, big, &r);
	assert_int_equal(r.status, 200);
	ts_http_reply_free(&r);

	/* one byte more is refused from Content-Length, before reading */
	big[MAX_BODY] = ' ';
	big[MAX_BODY + 1] = '\0';
	request("POST", "/echo", json_ct, big, &r);
	json_decref(expect_problem(&r, 413, "body_too_large"));
	ts_http_reply_free(&r);

	/* the server is fine afterwards */
	request("GET", "/healthz", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	ts_http_reply_free(&r);
}

static void oversized_chunked_body_is_413(void **state)
{
	char chunk[1100], req[8192];
	char *out;
	size_t n;

	n = (size_t)snprintf(req, sizeof req,
			     "POST /echo HTTP/1.1\r\nHost: t\r\n"
			     "Content-Type: application/json\r\n"
			     "Transfer-Encoding: chunked\r\n"
			     "Connection: close\r\n\r\n");
	memset(chunk, ' ', 1000);
	chunk[1000] = '\0';
	for (int i = 0; i < 5; i++) /* 5000 bytes > MAX_BODY */
		n += (size_t)snprintf(req + n, sizeof req - n, "3e8\r\n%s\r\n",
				      chunk);
	snprintf(req + n, sizeof req - n, "0\r\n\r\n");
	out = raw(req);
	assert_true(strncmp(out, "HTTP/1.1 413", 12) == 0);
	assert_non_null(strstr(out, "body_too_large"));
	free(out);
}

static void bad_json_is_400_with_position(void **state)
{
	struct ts_http_reply r;
	json_t *j;

	request("POST", "/echo", json_ct, "{\n  \"a\": }", &r);
	j = expect_problem(&r, 400, "invalid_json");
	assert_int_equal(json_integer_value(json_object_get(j, "line")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "column")), 8);
	assert_true(strlen(json_string_value(json_object_get(j, "detail"))));
	json_decref(j);
	ts_http_reply_free(&r);

	/* one level deeper than the server's limit */
	request("POST", "/echo", json_ct, "[[[[[[[[[1]]]]]]]]]", &r);
	j = expect_problem(&r, 400, "invalid_json");
	assert_non_null(
	    strstr(json_string_value(json_object_get(j, "detail")), "deeper"));
	assert_int_equal(json_integer_value(json_object_get(j, "column")),
			 MAX_DEPTH + 1);
	json_decref(j);
	ts_http_reply_free(&r);

	/* an empty body on a body route */
	request("POST", "/echo", json_ct, "", &r);
	json_decref(expect_problem(&r, 400, "invalid_json"));
	ts_http_reply_free(&r);
}

static void validation_errors_are_listed(void **state)
{
	struct ts_http_reply r;
	json_t *j, *errors;

	request("POST", "/validate", json_ct, "{}", &r);
	j = expect_problem(&r, 422, "invalid_item");
	errors = json_object_get(j, "errors");
	assert_int_equal(json_array_size(errors), 2);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(errors, 0), "field")),
			    "name");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(errors, 1), "reason")),
			    "must be positive");
	json_decref(j);
	ts_http_reply_free(&r);
}

/* ---- routing ------------------------------------------------------------- */

static void params_query_and_headers(void **state)
{
	static const char *const hdr[] = {"X-Test: yes", NULL};
	struct ts_http_reply r;
	json_t *j;

	request("GET", "/items/42?q=a%20b&z=1", hdr, NULL, &r);
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "42");
	assert_string_equal(json_string_value(json_object_get(j, "q")), "a b");
	assert_string_equal(json_string_value(json_object_get(j, "h")), "yes");
	json_decref(j);
	ts_http_reply_free(&r);

	request("GET", "/items/a%2Db", NULL, NULL, &r); /* decoded */
	j = reply_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "a-b");
	assert_true(json_is_null(json_object_get(j, "q")));
	json_decref(j);
	ts_http_reply_free(&r);

	request("GET", "/items/stats", NULL, NULL, &r);
	assert_string_equal(r.body, "{\"stats\":true}");
	ts_http_reply_free(&r);
}

static void unknown_path_and_method(void **state)
{
	struct ts_http_reply r;
	char allow[64];
	json_t *j;

	request("GET", "/nope", NULL, NULL, &r);
	j = expect_problem(&r, 404, "not_found");
	assert_string_equal(json_string_value(json_object_get(j, "type")),
			    "urn:lmnas:problem:not_found");
	json_decref(j);
	ts_http_reply_free(&r);

	request("DELETE", "/items/1", NULL, NULL, &r);
	json_decref(expect_problem(&r, 405, "method_not_allowed"));
	assert_non_null(ts_http_header(&r, "Allow", allow, sizeof allow));
	assert_string_equal(allow, "GET, HEAD");
	ts_http_reply_free(&r);

	request("BREW", "/echo", NULL, NULL, &r);
	json_decref(expect_problem(&r, 405, "method_not_allowed"));
	assert_non_null(ts_http_header(&r, "Allow", allow, sizeof allow));
	assert_string_equal(allow, "POST");
	ts_http_reply_free(&r);

	request("GET", "/silent", NULL, NULL, &r);
	json_decref(expect_problem(&r, 500, "internal_error"));
	ts_http_reply_free(&r);
}

static void head_has_no_body(void **state)
{
	struct ts_http_reply r;
	char len[32];

	request("HEAD", "/items/1", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);
	assert_non_null(ts_http_header(&r, "Content-Length", len, sizeof len));
	assert_true(atoi(len) > 0);
	ts_http_reply_free(&r);
}

static void request_ids(void **state)
{
	static const char *const mine[] = {"X-Request-Id: job-7.retry_2", NULL};
	static const char *const bad[] = {"X-Request-Id: no spaces!", NULL};
	struct ts_http_reply r;
	char id[128], id2[128];
	json_t *j;

	request("POST", "/echo",
		(const char *const[]){"X-Request-Id: job-7.retry_2", json_ct[0],
				      NULL},
		"1", &r);
	assert_non_null(ts_http_header(&r, "X-Request-Id", id, sizeof id));
	assert_string_equal(id, "job-7.retry_2");
	j = reply_json(&r);
	/* the handler saw the same id */
	assert_string_equal(json_string_value(json_object_get(j, "id")), id);
	json_decref(j);
	ts_http_reply_free(&r);

	request("GET", "/nope", mine, NULL, &r); /* errors carry it too */
	assert_non_null(ts_http_header(&r, "X-Request-Id", id, sizeof id));
	assert_string_equal(id, "job-7.retry_2");
	ts_http_reply_free(&r);

	request("GET", "/healthz", bad, NULL, &r);
	assert_non_null(ts_http_header(&r, "X-Request-Id", id, sizeof id));
	assert_int_equal(strlen(id), 32);
	assert_true(http_request_id_valid(id));
	ts_http_reply_free(&r);
	request("GET", "/healthz", NULL, NULL, &r);
	assert_non_null(ts_http_header(&r, "X-Request-Id", id2, sizeof id2));
	assert_int_equal(strlen(id2), 32);
	assert_string_not_equal(id, id2);
	ts_http_reply_free(&r);
}

static void static_files(void **state)
{
	struct ts_http_reply r;
	char ct[128];
	char *out;

	request("GET", "/", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "<p>lmnas test page</p>");
	assert_non_null(ts_http_header(&r, "Content-Type", ct, sizeof ct));
	assert_string_equal(ct, "text/html; charset=utf-8");
	ts_http_reply_free(&r);

	request("GET", "/app.js", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(ts_http_header(&r, "Content-Type", ct, sizeof ct));
	assert_string_equal(ct, "text/javascript; charset=utf-8");
	ts_http_reply_free(&r);

	request("GET", "/.hidden", NULL, NULL, &r);
	json_decref(expect_problem(&r, 404, "not_found"));
	ts_http_reply_free(&r);

	request("POST", "/app.js", json_ct, "{}", &r);
	json_decref(expect_problem(&r, 405, "method_not_allowed"));
	ts_http_reply_free(&r);

	/* curl would normalize the dots: send them raw */
	out = raw("GET /../../../etc/passwd HTTP/1.1\r\nHost: t\r\n"
		  "Connection: close\r\n\r\n");
	assert_true(strncmp(out, "HTTP/1.1 404", 12) == 0);
	assert_null(strstr(out, "root:"));
	free(out);
	out = raw("GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: t\r\n"
		  "Connection: close\r\n\r\n");
	assert_true(strncmp(out, "HTTP/1.1 404", 12) == 0);
	free(out);
}

static void api_resources_mounted(void **state)
{
	struct ts_http_reply r;
	char ct[64];

	request("GET", "/openapi.yaml", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(ts_http_header(&r, "Content-Type", ct, sizeof ct));
	assert_string_equal(ct, "application/yaml");
	assert_non_null(strstr(r.body, "openapi: 3.1.0"));
	ts_http_reply_free(&r);
}

/* The access log line: method, path, status, bytes, ms, with the id. */
static void access_log_line(void **state)
{
	static const char *const mine[] = {"X-Request-Id: log-check-1", NULL};
	char path[] = "/tmp/lmnas-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2), found = 0;
	struct ts_http_reply r;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	request("GET", "/items/7", mine, NULL, &r);
	/* written when the response has gone out: may trail the client */
	for (int i = 0; i < 100 && !found; i++) {
		FILE *f = fopen(path, "r");
		char line[1024];
		while (f && fgets(line, sizeof line, f))
			if (strstr(line, "\"id\":\"log-check-1\"") &&
			    strstr(line, "GET /items/7 200 ") &&
			    strstr(line, " bytes ") && strstr(line, " ms"))
				found = 1;
		if (f)
			fclose(f);
		if (!found)
			usleep(10000);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	unlink(path);
	assert_int_equal(r.status, 200);
	ts_http_reply_free(&r);
	assert_true(found);
}

/* ---- stopping -------------------------------------------------------------
 */

struct client {
	pthread_t t;
	char url[128];
	struct ts_http_reply r;
};

static void *client_main(void *arg)
{
	struct client *c = arg;

	ts_http("GET", c->url, NULL, NULL, 0, 10, &c->r);
	return NULL;
}

static void wait_inflight(struct http_server *s, int n)
{
	for (int i = 0; i < 500 && http_server_inflight(s) != n; i++)
		usleep(2000);
	assert_int_equal(http_server_inflight(s), n);
}

struct connector {
	pthread_t t;
	int port;
	int fd;
	double closed_at; /* when the server closed it (0: never) */
};

static void *connector_main(void *arg)
{
	struct connector *c = arg;
	char *got;

	usleep(150000); /* while the stop is draining */
	c->fd = ts_tcp_connect(c->port);
	c->closed_at = 0;
	if (c->fd < 0)
		return NULL;
	got = ts_tcp_read_all(c->fd, 5);
	if (got && !got[0])
		c->closed_at = core_now_seconds();
	free(got);
	return NULL;
}

static void stop_lets_inflight_finish(void **state)
{
	struct http_server *s = start();
	struct client c;
	struct connector k;
	char conn[32];
	double t0, t1;
	int left;

	atomic_store(&slow_ms, 600);
	snprintf(c.url, sizeof c.url, "http://127.0.0.1:%d/slow",
		 http_server_port(s));
	k.port = http_server_port(s);
	assert_int_equal(pthread_create(&c.t, NULL, client_main, &c), 0);
	wait_inflight(s, 1);
	assert_int_equal(pthread_create(&k.t, NULL, connector_main, &k), 0);
	t0 = core_now_seconds();
	left = http_server_stop(s, 5);
	t1 = core_now_seconds();
	pthread_join(k.t, NULL);
	pthread_join(c.t, NULL);
	assert_int_equal(left, 0);
	/* it waited for the handler, and not for the whole timeout */
	assert_true(core_now_seconds() - t0 > 0.2);
	assert_true(core_now_seconds() - t0 < 4);
	assert_int_equal(c.r.status, 200);
	assert_string_equal(c.r.body, "{\"slept\":600}");
	assert_non_null(ts_http_header(&c.r, "Connection", conn, sizeof conn));
	assert_string_equal(conn, "close");
	/* a client that connected during the drain was refused then (closed
	 * without an answer), not left in the backlog until the stop ended */
	assert_true(k.fd >= 0);
	assert_true(k.closed_at > 0 && k.closed_at < t1);
	close(k.fd);
	ts_http_reply_free(&c.r);
}

static void stop_deadline_cuts_short(void **state)
{
	struct http_server *s = start();
	struct client c;

	atomic_store(&slow_ms, 700);
	snprintf(c.url, sizeof c.url, "http://127.0.0.1:%d/slow",
		 http_server_port(s));
	assert_int_equal(pthread_create(&c.t, NULL, client_main, &c), 0);
	wait_inflight(s, 1);
	assert_int_equal(http_server_stop(s, 0.1), 1);
	pthread_join(c.t, NULL);
	ts_http_reply_free(&c.r);
}

static void idle_keepalive_does_not_hold_stop(void **state)
{
	struct http_server *s = start();
	const char *req = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
	char buf[1024];
	double t0;
	ssize_t n;
	int fd = ts_tcp_connect(http_server_port(s));

	assert_true(fd >= 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	n = read(fd, buf, sizeof buf - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	assert_null(strstr(buf, "Connection: close"));
	/* the connection stays open and idle (the completion notice may
	 * trail the response by a moment) */
	wait_inflight(s, 0);
	t0 = core_now_seconds();
	assert_int_equal(http_server_stop(s, 5), 0);
	assert_true(core_now_seconds() - t0 < 1.0);
	close(fd);
}

static void start_errors(void **state)
{
	struct http_server_config c;
	struct http_server *s = NULL;
	char err[CORE_ERR_LEN];

	config_for(&c);
	c.port = http_server_port(server); /* taken */
	assert_int_equal(http_server_start(&c, router, &s, err, sizeof err),
			 CORE_ERR_IO);
	assert_null(s);
	assert_non_null(strstr(err, "in use"));

	/* IPv6 in URL brackets (where the machine has IPv6 loopback) */
	config_for(&c);
	c.host = "[::1]";
	if (http_server_start(&c, router, &s, err, sizeof err) == CORE_OK) {
		char url[64];
		struct ts_http_reply r;
		snprintf(url, sizeof url, "http://[::1]:%d/healthz",
			 http_server_port(s));
		assert_int_equal(ts_http("GET", url, NULL, NULL, 0, 5, &r), 0);
		assert_int_equal(r.status, 200);
		ts_http_reply_free(&r);
		assert_int_equal(http_server_stop(s, 1), 0);
		s = NULL;
	}
	config_for(&c);
	c.host = "no-such-host.invalid";
	assert_int_equal(http_server_start(&c, router, &s, err, sizeof err),
			 CORE_ERR_INVALID);
	config_for(&c);
	c.threads = 0;
	assert_int_equal(http_server_start(&c, router, &s, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(http_server_stop(NULL, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(json_body_is_parsed),
	    cmocka_unit_test(wrong_media_type_is_415),
	    cmocka_unit_test(oversized_body_is_413),
	    cmocka_unit_test(oversized_chunked_body_is_413),
	    cmocka_unit_test(bad_json_is_400_with_position),
	    cmocka_unit_test(validation_errors_are_listed),
	    cmocka_unit_test(params_query_and_headers),
	    cmocka_unit_test(unknown_path_and_method),
	    cmocka_unit_test(head_has_no_body),
	    cmocka_unit_test(request_ids),
	    cmocka_unit_test(static_files),
	    cmocka_unit_test(api_resources_mounted),
	    cmocka_unit_test(access_log_line),
	    cmocka_unit_test(stop_lets_inflight_finish),
	    cmocka_unit_test(stop_deadline_cuts_short),
	    cmocka_unit_test(idle_keepalive_does_not_hold_stop),
	    cmocka_unit_test(start_errors),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
