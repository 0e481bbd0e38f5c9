/* SPDX-License-Identifier: Apache-2.0 */
/* test_http_limits.c - the HTTP server in-process over real sockets, against
 * what clients outside send: bytes that are not UTF-8 (path, query, method,
 * Content-Type), oversized queries (too many arguments, too long a target:
 * libmicrohttpd's own reply to those never left), and slow-header clients
 * (the header deadline, connections per address and in all). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/testsupport.h"
#include "http/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct http_router *router;
static struct http_server *server; /* shared by most tests */
static char base_url[64];

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

static void echo(struct http_request *req, struct http_response *res)
{
	http_reply_json(res, 200, json_pack("{s:O}", "got", req->body));
}

static void config_for(struct http_server_config *c)
{
	http_server_config_defaults(c);
	c->port = 0;
	c->threads = 2;
	c->connection_timeout_s = 10;
}

static int group_setup(void **state)
{
	struct http_server_config c;
	char err[CORE_ERR_LEN];

	core_log_init(CORE_LOG_INFO, CORE_LOG_FORMAT_JSON);
	if (http_router_new(&router, err, sizeof err) ||
	    http_router_add(router, HTTP_GET, "/items/{id}", item_get, 0, err,
			    sizeof err) ||
	    http_router_add(router, HTTP_GET, "/items/stats", item_stats, 0,
			    err, sizeof err) ||
	    http_router_add(router, HTTP_POST, "/echo", echo, HTTP_ROUTE_BODY,
			    err, sizeof err) ||
	    http_api_routes_add(router, err, sizeof err))
		return -1;
	config_for(&c);
	if (http_server_start(&c, router, &server, err, sizeof err))
		return -1;
	snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d",
		 http_server_port(server));
	return 0;
}

static int group_teardown(void **state)
{
	http_server_stop(server, 1);
	http_router_free(router);
	return 0;
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

/* Checks a problem reply and returns it (caller decrefs). */
static json_t *expect_problem(const struct ts_http_reply *r, long status,
			      const char *code)
{
	char ct[128];
	json_error_t e;
	json_t *j;

	assert_int_equal(r->status, status);
	assert_non_null(ts_http_header(r, "Content-Type", ct, sizeof ct));
	assert_string_equal(ct, "application/problem+json");
	j = json_loads(r->body, 0, &e);
	if (!j)
		fail_msg("not JSON (%s): %s", e.text, r->body);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    code);
	assert_int_equal(json_integer_value(json_object_get(j, "status")),
			 status);
	return j;
}

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

/* A JSON problem in a raw response (after the blank line). */
static json_t *raw_problem(const char *resp, const char *status_line,
			   const char *code)
{
	const char *body = strstr(resp, "\r\n\r\n");
	json_error_t e;
	json_t *j;

	if (strncmp(resp, status_line, strlen(status_line)) != 0)
		fail_msg("want %s, got: %.200s", status_line, resp);
	assert_non_null(body);
	j = json_loads(body + 4, 0, &e);
	if (!j)
		fail_msg("not JSON (%s): %s", e.text, body + 4);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    code);
	return j;
}

/* Bytes that are not UTF-8 (percent-encoded or raw) in the path, the query,
 * the method or Content-Type: a 4xx problem, never a 500 out_of_memory
 * (Jansson refuses such text in the problem's detail). */
static void bytes_not_utf8_are_client_errors(void **state)
{
	static const char *const bad_ct[] = {"Content-Type: text/\xff\xfeplain",
					     NULL};
	struct ts_http_reply r;
	char *resp;
	json_t *j;

	request("GET", "/%ff", NULL, NULL, &r);
	json_decref(expect_problem(&r, 400, "invalid_path"));
	ts_http_reply_free(&r);
	request("GET", "/items/%c3", NULL, NULL, &r);
	json_decref(expect_problem(&r, 400, "invalid_path"));
	ts_http_reply_free(&r);
	request("GET", "/items/7?q=%ff%fe", NULL, NULL, &r);
	json_decref(expect_problem(&r, 400, "invalid_query"));
	ts_http_reply_free(&r);
	/* valid UTF-8, percent-encoded, passes */
	request("GET", "/items/%c3%a9?q=%e2%82%ac", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(
	    r.body, "{\"id\":\"\xc3\xa9\",\"q\":\"\xe2\x82\xac\",\"h\":null}");
	ts_http_reply_free(&r);
	request("POST", "/echo", bad_ct, "{}", &r);
	json_decref(expect_problem(&r, 415, "unsupported_media_type"));
	ts_http_reply_free(&r);

	resp = raw("GET /\xff\xfe HTTP/1.1\r\nHost: t\r\n"
		   "Connection: close\r\n\r\n");
	json_decref(raw_problem(resp, "HTTP/1.1 400", "invalid_path"));
	free(resp);
	resp = raw("G\xc3T /items/1 HTTP/1.1\r\nHost: t\r\n"
		   "Connection: close\r\n\r\n");
	j = raw_problem(resp, "HTTP/1.1 405", "method_not_allowed");
	assert_non_null(strstr(json_string_value(json_object_get(j, "detail")),
			       "G\xef\xbf\xbdT is not allowed"));
	json_decref(j);
	free(resp);
}

/* ~600 query arguments (or 64 in a long target) exhausted libmicrohttpd's
 * connection memory and its error reply never left: the client waited 60 s.
 * Past the caps: a prompt 414 (the client's own timeout here is 10 s). */
static void many_query_args_answered_at_once(void **state)
{
	char path[8192], url[8300];
	size_t n = 0;
	struct ts_http_reply r;

	n += (size_t)snprintf(path, sizeof path, "/items/7?q=x");
	for (int i = 1; i < HTTP_QUERY_ARGS_MAX; i++)
		n += (size_t)snprintf(path + n, sizeof path - n, "&a%d=%d", i,
				      i);
	request("GET", path, NULL, NULL, &r); /* at the cap: served */
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"id\":\"7\",\"q\":\"x\",\"h\":null}");
	ts_http_reply_free(&r);
	for (int i = HTTP_QUERY_ARGS_MAX; i < 600; i++)
		n += (size_t)snprintf(path + n, sizeof path - n, "&a%d=%d", i,
				      i);
	assert_true(n < sizeof path - 1);
	snprintf(url, sizeof url, "%s%s", base_url, path);
	assert_true(strlen(url) < sizeof url - 1);
	assert_int_equal(ts_http("GET", url, NULL, NULL, 0, 10, &r), 0);
	json_decref(expect_problem(&r, 414, "too_many_query_args"));
	assert_non_null(strstr(r.body, "600 arguments"));
	ts_http_reply_free(&r);
	/* 64 arguments in a 29 KB target exhausted the same memory */
	{
		size_t cap = 32768, m;
		char *big = malloc(cap);
		assert_non_null(big);
		m = (size_t)snprintf(big, cap, "%s/items/7?q=x", base_url);
		for (int i = 1; i < HTTP_QUERY_ARGS_MAX; i++) {
			m += (size_t)snprintf(big + m, cap - m, "&a%d=", i);
			memset(big + m, 'v', 450);
			m += 450;
			big[m] = '\0';
		}
		assert_true(m > 28000 && m < cap);
		assert_int_equal(ts_http("GET", big, NULL, NULL, 0, 10, &r), 0);
		free(big);
	}
	json_decref(expect_problem(&r, 414, "uri_too_long"));
	ts_http_reply_free(&r);
	/* the server is fine afterwards */
	request("GET", "/items/stats", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	ts_http_reply_free(&r);
}

/* A TCP connection to 127.0.0.1:port from source address src. */
static int connect_from(const char *src, int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	inet_pton(AF_INET, src, &a.sin_addr);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
		goto fail;
	a.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* 1 when the peer has closed fd (EOF or reset) within timeout_ms. */
static int peer_closed(int fd, int timeout_ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	char buf[256];

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	return read(fd, buf, sizeof buf) <= 0;
}

/* A GET /healthz from source address src answers 200. */
static int healthz_from(const char *src, int port)
{
	static const char req[] =
	    "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	int fd = connect_from(src, port), ok;
	char *resp;

	if (fd < 0)
		return 0;
	ok = write(fd, req, strlen(req)) == (ssize_t)strlen(req);
	resp = ts_tcp_read_all(fd, 5);
	close(fd);
	ok = ok && strncmp(resp, "HTTP/1.1 200", 12) == 0;
	free(resp);
	return ok;
}

#define SLOW_CONNS 300
#define PER_CLIENT 50

/* 300 connections that send half a header (slowloris) from one address:
 * at most PER_CLIENT are taken, the global limit (below 300) is never
 * reached, another address is served meanwhile, and the taken ones are
 * closed at the header deadline (2 s here), long before the idle timeout. */
static void slow_headers_do_not_take_the_server(void **state)
{
	static const char half[] =
	    "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ";
	struct http_server_config c;
	struct http_server *s = NULL;
	char err[CORE_ERR_LEN];
	int fds[SLOW_CONNS], open_now = 0, closed = 0, port;

	config_for(&c);
	c.connection_timeout_s = 60;
	c.header_timeout_s = 2;
	c.max_connections = 200;
	c.max_per_client = PER_CLIENT;
	assert_int_equal(http_server_start(&c, router, &s, err, sizeof err),
			 CORE_OK);
	port = http_server_port(s);
	for (int i = 0; i < SLOW_CONNS; i++) {
		fds[i] = connect_from("127.0.0.1", port);
		if (fds[i] >= 0 && write(fds[i], half, strlen(half)) !=
				       (ssize_t)strlen(half)) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	/* another client is served while they hang */
	assert_true(healthz_from("127.0.0.2", port));
	/* the ones over the per-address limit were refused at once; the
	 * others are still open (before the deadline) */
	for (int i = 0; i < SLOW_CONNS; i++)
		if (fds[i] >= 0 && !peer_closed(fds[i], 0))
			open_now++;
	assert_true(open_now > 0 && open_now <= PER_CLIENT);
	/* the deadline closes them all (bounded wait, far below the 60 s
	 * idle timeout that used to be the only limit) */
	for (int i = 0; i < SLOW_CONNS; i++) {
		if (fds[i] < 0)
			continue;
		closed += peer_closed(fds[i], 8000) || peer_closed(fds[i], 0);
		close(fds[i]);
		fds[i] = -1;
	}
	assert_int_equal(closed, SLOW_CONNS);
	/* and the address is welcome again, once the server has counted the
	 * closes (its worker threads see them a moment after the client) */
	for (int i = 0; i < 50 && !healthz_from("127.0.0.1", port); i++)
		usleep(100000);
	assert_true(healthz_from("127.0.0.1", port));
	assert_int_equal(http_server_stop(s, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bytes_not_utf8_are_client_errors),
	    cmocka_unit_test(many_query_args_answered_at_once),
	    cmocka_unit_test(slow_headers_do_not_take_the_server),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
