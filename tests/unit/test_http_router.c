/* SPDX-License-Identifier: Apache-2.0 */
/* test_http_router.c - http router: patterns, params, precedence, 404 versus
 * 405 with the allowed methods, pattern validation, conflicts, allocation
 * failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http.h"

#include <stdio.h>
#include <string.h>

static void h_a(struct http_request *req, struct http_response *res)
{
}
static void h_b(struct http_request *req, struct http_response *res)
{
}
static void h_c(struct http_request *req, struct http_response *res)
{
}

static struct http_router *router_with(void)
{
	struct http_router *r = NULL;
	char err[CORE_ERR_LEN];

	assert_int_equal(http_router_new(&r, err, sizeof err), CORE_OK);
	assert_int_equal(
	    http_router_add(r, HTTP_GET, "/", h_a, 0, err, sizeof err),
	    CORE_OK);
	assert_int_equal(http_router_add(r, HTTP_GET | HTTP_DELETE,
					 "/v1/jobs/{id}", h_a, 0, err,
					 sizeof err),
			 CORE_OK);
	assert_int_equal(http_router_add(r, HTTP_POST, "/v1/jobs", h_b,
					 HTTP_ROUTE_BODY, err, sizeof err),
			 CORE_OK);
	assert_int_equal(http_router_add(r, HTTP_GET, "/v1/jobs/stats", h_c, 0,
					 err, sizeof err),
			 CORE_OK);
	assert_int_equal(http_router_add(r, HTTP_GET,
					 "/v1/jobs/{id}/candidates/{cand}", h_b,
					 0, err, sizeof err),
			 CORE_OK);
	return r;
}

static void match_with_params(void **state)
{
	struct http_router *r = router_with();
	struct http_match m;

	assert_int_equal(http_router_match(r, HTTP_GET, "/v1/jobs/42", &m),
			 HTTP_MATCH_FOUND);
	assert_ptr_equal(m.fn, h_a);
	assert_string_equal(m.pattern, "/v1/jobs/{id}");
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.names[0], "id");
	assert_string_equal(m.values[0], "42");

	assert_int_equal(
	    http_router_match(r, HTTP_GET, "/v1/jobs/j-7/candidates/c.3", &m),
	    HTTP_MATCH_FOUND);
	assert_ptr_equal(m.fn, h_b);
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.names[0], "id");
	assert_string_equal(m.values[0], "j-7");
	assert_string_equal(m.names[1], "cand");
	assert_string_equal(m.values[1], "c.3");

	{
		struct http_request req = {0};
		req.match = &m;
		assert_string_equal(http_request_param(&req, "cand"), "c.3");
		assert_null(http_request_param(&req, "nope"));
		assert_null(http_request_query(&req, "q")); /* no conn */
	}

	assert_int_equal(http_router_match(r, HTTP_POST, "/v1/jobs", &m),
			 HTTP_MATCH_FOUND);
	assert_ptr_equal(m.fn, h_b);
	assert_int_equal(m.flags, HTTP_ROUTE_BODY);
	assert_int_equal(m.nparams, 0);

	assert_int_equal(http_router_match(r, HTTP_GET, "/", &m),
			 HTTP_MATCH_FOUND);
	assert_ptr_equal(m.fn, h_a);
	http_router_free(r);
}

static void literal_beats_param(void **state)
{
	struct http_router *r = router_with();
	struct http_match m;

	assert_int_equal(http_router_match(r, HTTP_GET, "/v1/jobs/stats", &m),
			 HTTP_MATCH_FOUND);
	assert_ptr_equal(m.fn, h_c);
	assert_int_equal(m.nparams, 0);
	/* DELETE is only on the parameter route: it still matches there */
	assert_int_equal(
	    http_router_match(r, HTTP_DELETE, "/v1/jobs/stats", &m),
	    HTTP_MATCH_FOUND);
	assert_ptr_equal(m.fn, h_a);
	assert_string_equal(m.values[0], "stats");
	http_router_free(r);
}

static void not_found_versus_not_allowed(void **state)
{
	struct http_router *r = router_with();
	struct http_match m;
	char allow[64];

	assert_int_equal(http_router_match(r, HTTP_GET, "/v2/jobs", &m),
			 HTTP_MATCH_NO_PATH);
	assert_int_equal(http_router_match(r, HTTP_GET, "/v1/jobs/1/x", &m),
			 HTTP_MATCH_NO_PATH);
	/* empty segments and trailing slashes are not the same path */
	assert_int_equal(http_router_match(r, HTTP_GET, "/v1/jobs/", &m),
			 HTTP_MATCH_NO_PATH);
	assert_int_equal(http_router_match(r, HTTP_GET, "/v1//jobs", &m),
			 HTTP_MATCH_NO_PATH);
	assert_int_equal(http_router_match(r, HTTP_GET, "v1/jobs", &m),
			 HTTP_MATCH_NO_PATH);

	assert_int_equal(http_router_match(r, HTTP_PUT, "/v1/jobs/9", &m),
			 HTTP_MATCH_NO_METHOD);
	http_methods_format(m.allow, allow, sizeof allow);
	assert_string_equal(allow, "GET, HEAD, DELETE");

	assert_int_equal(http_router_match(r, HTTP_GET, "/v1/jobs", &m),
			 HTTP_MATCH_NO_METHOD);
	http_methods_format(m.allow, allow, sizeof allow);
	assert_string_equal(allow, "POST");

	/* /v1/jobs/stats: its own GET plus the parameter route's methods */
	assert_int_equal(http_router_match(r, HTTP_PATCH, "/v1/jobs/stats", &m),
			 HTTP_MATCH_NO_METHOD);
	http_methods_format(m.allow, allow, sizeof allow);
	assert_string_equal(allow, "GET, HEAD, DELETE");

	/* an unknown method on a known path is 405, not 404 */
	assert_int_equal(
	    http_router_match(r, http_method_parse("BREW"), "/v1/jobs/1", &m),
	    HTTP_MATCH_NO_METHOD);
	http_router_free(r);
}

static void head_follows_get(void **state)
{
	struct http_router *r = router_with();
	struct http_match m;

	assert_int_equal(http_router_match(r, HTTP_HEAD, "/v1/jobs/1", &m),
			 HTTP_MATCH_FOUND);
	assert_ptr_equal(m.fn, h_a);
	assert_int_equal(http_router_match(r, HTTP_HEAD, "/v1/jobs", &m),
			 HTTP_MATCH_NO_METHOD);
	http_router_free(r);
}

static void too_long_path(void **state)
{
	struct http_router *r = router_with();
	static char path[HTTP_PATH_MAX + 10];
	struct http_match m;

	memset(path, 'a', sizeof path - 1);
	path[0] = '/';
	path[sizeof path - 1] = '\0';
	assert_int_equal(http_router_match(r, HTTP_GET, path, &m),
			 HTTP_MATCH_TOO_LONG);
	http_router_free(r);
}

static void bad_patterns_refused(void **state)
{
	static const char *const bad[] = {
	    "",		  "jobs",
	    "/jobs/",	  "//jobs",
	    "/jobs/{}",	  "/jobs/{Id}",
	    "/jobs/{1d}", "/jobs/{id",
	    "/jobs/id}",  "/a/{x}/b/{x}",
	    "/jobs/a b",  "/jobs/..",
	    "/jobs/.",	  "/jobs/a%20",
	    "/a/{b}c",	  "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}",
	};
	struct http_router *r = NULL;
	char err[CORE_ERR_LEN];

	assert_int_equal(http_router_new(&r, err, sizeof err), CORE_OK);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(http_router_add(r, HTTP_GET, bad[i], h_a, 0,
						 err, sizeof err),
				 CORE_ERR_INVALID);
		assert_true(strlen(err) > 0);
	}
	assert_int_equal(
	    http_router_add(r, HTTP_HEAD, "/x", h_a, 0, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_int_equal(http_router_add(r, 0, "/x", h_a, 0, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(
	    http_router_add(r, 1u << 20, "/x", h_a, 0, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_int_equal(
	    http_router_add(r, HTTP_GET, "/x", NULL, 0, err, sizeof err),
	    CORE_ERR_INVALID);
	http_router_free(r);
}

static void conflicts_refused(void **state)
{
	struct http_router *r = router_with();
	char err[CORE_ERR_LEN];

	/* same shape, overlapping method, even with another param name */
	assert_int_equal(http_router_add(r, HTTP_GET, "/v1/jobs/{job}", h_b, 0,
					 err, sizeof err),
			 CORE_ERR_CONFLICT);
	assert_non_null(strstr(err, "/v1/jobs/{id}"));
	assert_int_equal(http_router_add(r, HTTP_POST | HTTP_PUT, "/v1/jobs",
					 h_b, 0, err, sizeof err),
			 CORE_ERR_CONFLICT);
	/* another method on the same shape is fine */
	assert_int_equal(http_router_add(r, HTTP_PUT, "/v1/jobs/{id}", h_b,
					 HTTP_ROUTE_BODY, err, sizeof err),
			 CORE_OK);
	http_router_free(r);
}

static void allocation_failures(void **state)
{
	int ok_seen = 0;

	for (long n = 0; n < 200 && !ok_seen; n++) {
		struct http_router *r = NULL;
		char err[CORE_ERR_LEN];
		enum core_status st = CORE_OK;

		core_alloc_fail_after(n);
		if (http_router_new(&r, err, sizeof err) == CORE_OK) {
			for (int i = 0; i < 20 && st == CORE_OK; i++) {
				char pat[32];
				snprintf(pat, sizeof pat, "/r%d/{id}", i);
				st = http_router_add(r, HTTP_GET, pat, h_a, 0,
						     err, sizeof err);
			}
			if (st == CORE_OK)
				ok_seen = 1;
			else
				assert_int_equal(st, CORE_ERR_NOMEM);
		}
		core_alloc_fail_after(-1);
		if (r) {
			struct http_match m;
			/* whatever was added before the failure works */
			if (ok_seen)
				assert_int_equal(http_router_match(
						     r, HTTP_GET, "/r19/x", &m),
						 HTTP_MATCH_FOUND);
		}
		http_router_free(r);
	}
	assert_true(ok_seen);
}

static void methods_parse_and_format(void **state)
{
	char out[128];

	assert_int_equal(http_method_parse("GET"), HTTP_GET);
	assert_int_equal(http_method_parse("OPTIONS"), HTTP_OPTIONS);
	assert_int_equal(http_method_parse("get"), 0);
	assert_int_equal(http_method_parse("BREW"), 0);
	assert_int_equal(http_method_parse(NULL), 0);
	http_methods_format(HTTP_POST | HTTP_GET, out, sizeof out);
	assert_string_equal(out, "GET, HEAD, POST");
	http_methods_format(0, out, sizeof out);
	assert_string_equal(out, "");
	http_methods_format(HTTP_GET | HTTP_POST, out, 8); /* truncates */
	assert_string_equal(out, "GET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(match_with_params),
	    cmocka_unit_test(literal_beats_param),
	    cmocka_unit_test(not_found_versus_not_allowed),
	    cmocka_unit_test(head_follows_get),
	    cmocka_unit_test(too_long_path),
	    cmocka_unit_test(bad_patterns_refused),
	    cmocka_unit_test(conflicts_refused),
	    cmocka_unit_test(allocation_failures),
	    cmocka_unit_test(methods_parse_and_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
