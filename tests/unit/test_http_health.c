/* SPDX-License-Identifier: Apache-2.0 */
/* test_http_health.c - the API resources called in-process through the
 * router: /healthz, /readyz without a database, /openapi.yaml and
 * /schemas/{file}. (With a real database: tests/integration/test_serve.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Calls the route for GET path like the server would. */
static void call(struct http_router *r, struct http_app *app, const char *path,
		 struct http_response *res)
{
	struct http_match m;
	struct http_request req = {0};

	memset(res, 0, sizeof *res);
	assert_int_equal(http_router_match(r, HTTP_GET, path, &m),
			 HTTP_MATCH_FOUND);
	req.method = HTTP_GET;
	req.method_name = "GET";
	req.path = path;
	req.id = "test";
	req.app = app;
	req.match = &m;
	m.fn(&req, res);
}

static struct http_router *api(void)
{
	struct http_router *r = NULL;
	char err[CORE_ERR_LEN];

	assert_int_equal(http_router_new(&r, err, sizeof err), CORE_OK);
	assert_int_equal(http_api_routes_add(r, err, sizeof err), CORE_OK);
	return r;
}

static json_t *body_json(const struct http_response *res)
{
	json_error_t e;
	json_t *j = json_loadb(res->body, res->len, 0, &e);

	assert_non_null(j);
	return j;
}

static void healthz_ok(void **state)
{
	struct http_router *r = api();
	struct http_response res;

	call(r, NULL, "/healthz", &res);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.content_type, "application/json");
	assert_string_equal(res.body, "{\"status\":\"ok\"}");
	http_response_clear(&res);
	http_router_free(r);
}

static void readyz_without_database(void **state)
{
	struct http_router *r = api();
	struct http_response res;
	struct http_app app = {0};
	char err[CORE_ERR_LEN], hdr[8] = "";
	json_t *j;

	/* no pool at all */
	call(r, NULL, "/readyz", &res);
	assert_int_equal(res.status, 503);
	j = body_json(&res);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    "database_unavailable");
	json_decref(j);
	http_response_clear(&res);

	/* a pool whose server does not exist: the URL's password must not
	 * reach the problem body */
	assert_int_equal(store_pool_open("postgresql://lmnas:s3cret@/lmnas?"
					 "host=/nonexistent-lmnas-sock",
					 1, &app.pool, err, sizeof err),
			 CORE_OK);
	call(r, &app, "/readyz", &res);
	assert_int_equal(res.status, 503);
	assert_string_equal(res.content_type, "application/problem+json");
	for (int i = 0; i < res.nheaders; i++)
		if (strcmp(res.headers[i].name, "Retry-After") == 0)
			strcpy(hdr, res.headers[i].value);
	assert_string_equal(hdr, "5");
	j = body_json(&res);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    "database_unavailable");
	/* the reason stays in the log: clients learn only this */
	assert_string_equal(json_string_value(json_object_get(j, "detail")),
			    "database unavailable");
	assert_null(strstr(res.body, "s3cret"));
	json_decref(j);
	http_response_clear(&res);
	store_pool_close(app.pool);
	http_router_free(r);
}

/* An unparsable URL: libpq quotes it whole in its error, password and all. */
static void readyz_hides_unparsable_url(void **state)
{
	struct http_router *r = api();
	struct http_response res;
	struct http_app app = {0};
	char err[CORE_ERR_LEN], path[] = "/tmp/lmnas-log-XXXXXX";
	char logtext[4096] = "";
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;
	json_t *j;

	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(store_pool_open("postgresql://u:hunter2@[::1", 1,
					 &app.pool, err, sizeof err),
			 CORE_OK);
	fflush(stderr);
	dup2(fd, 2);
	call(r, &app, "/readyz", &res);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, logtext, sizeof logtext - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	logtext[n] = '\0';
	assert_int_equal(res.status, 503);
	j = body_json(&res);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    "database_unavailable");
	assert_string_equal(json_string_value(json_object_get(j, "detail")),
			    "database unavailable");
	assert_null(strstr(res.body, "hunter2"));
	json_decref(j);
	/* the log says why, with the password masked */
	assert_non_null(strstr(logtext, "readiness: not ready"));
	assert_non_null(strstr(logtext, "IPv6"));
	assert_non_null(strstr(logtext, "u:***@[::1"));
	assert_null(strstr(logtext, "hunter2"));
	http_response_clear(&res);
	store_pool_close(app.pool);
	http_router_free(r);
}

static void openapi_served(void **state)
{
	struct http_router *r = api();
	struct http_response res;
	struct http_match m;

	call(r, NULL, "/openapi.yaml", &res);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.content_type, "application/yaml");
	assert_true(res.body_static);
	assert_non_null(strstr(res.body, "openapi: 3.1.0"));
	assert_non_null(strstr(res.body, "/readyz:"));
	assert_non_null(strstr(res.body, "Problem:"));
	assert_int_equal(res.len, strlen(res.body));
	http_response_clear(&res);

	call(r, NULL, "/schemas/nope.yaml", &res);
	assert_int_equal(res.status, 404);
	http_response_clear(&res);
	/* the parameter is one segment: no way up */
	assert_int_equal(
	    http_router_match(r, HTTP_GET, "/schemas/../openapi.yaml", &m),
	    HTTP_MATCH_NO_PATH);
	assert_non_null(http_asset_find("openapi.yaml"));
	assert_null(http_asset_find("../Makefile"));
	http_router_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(healthz_ok),
	    /* first of the /readyz tests: readiness is logged when it
	     * changes, and this one reads the log */
	    cmocka_unit_test(readyz_hides_unparsable_url),
	    cmocka_unit_test(readyz_without_database),
	    cmocka_unit_test(openapi_served),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
