/* SPDX-License-Identifier: Apache-2.0 */
/* test_http_problem.c - problem+json objects, the http_reply_* functions
 * (including out-of-memory fallbacks) and request-id rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse_body(const struct http_response *res)
{
	json_error_t e;
	json_t *j = json_loadb(res->body, res->len, 0, &e);

	assert_non_null(j);
	return j;
}

static void problem_shape(void **state)
{
	json_t *p = http_problem_new(404, "not_found", NULL, "no job 7", NULL);

	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(p, "type")),
			    "urn:lmnas:problem:not_found");
	assert_string_equal(json_string_value(json_object_get(p, "title")),
			    "Not Found");
	assert_int_equal(json_integer_value(json_object_get(p, "status")), 404);
	assert_string_equal(json_string_value(json_object_get(p, "detail")),
			    "no job 7");
	assert_string_equal(json_string_value(json_object_get(p, "code")),
			    "not_found");
	assert_null(json_object_get(p, "errors"));
	json_decref(p);

	/* no detail: no member; an explicit title wins */
	p = http_problem_new(409, "job_running", "Job is running", NULL, NULL);
	assert_null(json_object_get(p, "detail"));
	assert_string_equal(json_string_value(json_object_get(p, "title")),
			    "Job is running");
	json_decref(p);
}

static void problem_field_errors(void **state)
{
	struct core_field_errors fe;
	json_t *p, *errors, *e;

	core_field_errors_clear(&fe);
	core_field_errorf(&fe, "stages[2].kernel", "%d is not odd", 4);
	core_field_errorf(&fe, "name", "must not be empty");
	p = http_problem_new(422, "invalid_arch", NULL, "2 problems", &fe);
	errors = json_object_get(p, "errors");
	assert_true(json_is_array(errors));
	assert_int_equal(json_array_size(errors), 2);
	e = json_array_get(errors, 0);
	assert_string_equal(json_string_value(json_object_get(e, "field")),
			    "stages[2].kernel");
	assert_string_equal(json_string_value(json_object_get(e, "reason")),
			    "4 is not odd");
	assert_int_equal(json_object_size(e), 2);
	assert_null(json_object_get(p, "errors_dropped"));
	json_decref(p);

	/* an overflowing list says how many were left out */
	core_field_errors_clear(&fe);
	for (int i = 0; i < CORE_FIELD_ERRORS_MAX + 3; i++)
		core_field_errorf(&fe, "f", "bad %d", i);
	p = http_problem_new(422, "invalid", NULL, NULL, &fe);
	assert_int_equal(json_array_size(json_object_get(p, "errors")),
			 CORE_FIELD_ERRORS_MAX);
	assert_int_equal(
	    json_integer_value(json_object_get(p, "errors_dropped")), 3);
	json_decref(p);

	/* an empty list: no errors member */
	core_field_errors_clear(&fe);
	p = http_problem_new(400, "x", NULL, NULL, &fe);
	assert_null(json_object_get(p, "errors"));
	json_decref(p);
}

static void reply_problem_and_json(void **state)
{
	struct http_response res = {0};
	struct core_field_errors fe;
	json_t *j;

	core_field_errors_clear(&fe);
	core_field_errorf(&fe, "epochs", "must be 1..1000");
	http_reply_problem(&res, 422, "invalid_job", NULL, "bad job", &fe);
	assert_int_equal(res.status, 422);
	assert_string_equal(res.content_type, "application/problem+json");
	assert_int_equal(res.body[res.len], '\0');
	j = parse_body(&res);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    "invalid_job");
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(j, "errors"), 0), "field")),
	    "epochs");
	json_decref(j);

	/* a second reply replaces the first (no leak) */
	http_reply_json(&res, 201, json_pack("{s:i}", "id", 5));
	assert_int_equal(res.status, 201);
	assert_string_equal(res.content_type, "application/json");
	assert_string_equal(res.body, "{\"id\":5}");

	http_reply_static(&res, 200, "application/yaml", "a: 1\n", 5);
	assert_int_equal(res.body_static, 1);
	assert_int_equal(res.len, 5);
	http_response_clear(&res);
	assert_int_equal(res.status, 0);

	/* a problem object extended by the caller keeps its extras */
	j = http_problem_new(400, "invalid_json", NULL, "bad", NULL);
	json_object_set_new(j, "line", json_integer(3));
	http_reply_problem_json(&res, j);
	assert_int_equal(res.status, 400);
	assert_non_null(strstr(res.body, "\"line\":3"));
	http_response_clear(&res);

	/* a problem without a sane status becomes a 500 */
	http_reply_problem_json(&res, json_pack("{s:i}", "status", 200));
	assert_int_equal(res.status, 500);
	http_response_clear(&res);
}

static void reply_null_json_is_500(void **state)
{
	struct http_response res = {0};
	json_t *j;

	http_reply_json(&res, 200, NULL);
	assert_int_equal(res.status, 500);
	assert_string_equal(res.content_type, "application/problem+json");
	j = parse_body(&res);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    "out_of_memory");
	json_decref(j);
	http_response_clear(&res);
}

/* With Jansson allocating through core_malloc, every allocation of problem
 * building and serialization fails in turn: the result is either the full
 * reply or the static 500, never a crash or a leak. */
static void allocation_failures(void **state)
{
	struct core_field_errors fe;
	int full = 0;

	core_field_errors_clear(&fe);
	core_field_errorf(&fe, "a", "b");
	core_field_errorf(&fe, "c", "d");
	json_set_alloc_funcs(core_malloc, core_free);
	for (long n = 0; n < 200 && !full; n++) {
		struct http_response res = {0};

		core_alloc_fail_after(n);
		http_reply_problem(&res, 422, "invalid", NULL, "detail", &fe);
		core_alloc_fail_after(-1);
		if (res.status == 422) {
			full = 1;
			assert_non_null(strstr(res.body, "\"errors\""));
		} else {
			assert_int_equal(res.status, 500);
			assert_non_null(strstr(res.body, "out_of_memory"));
		}
		http_response_clear(&res);
	}
	json_set_alloc_funcs(malloc, free);
	assert_true(full);
}

static void reply_headers(void **state)
{
	struct http_response res = {0};
	char big[300];

	assert_int_equal(http_reply_header(&res, "Allow", "GET, HEAD"),
			 CORE_OK);
	assert_string_equal(res.headers[0].name, "Allow");
	assert_string_equal(res.headers[0].value, "GET, HEAD");
	assert_int_equal(http_reply_header(&res, "X-Bad", "a\r\nSet-Cookie: x"),
			 CORE_ERR_INVALID);
	assert_int_equal(http_reply_header(&res, "X:Bad", "v"),
			 CORE_ERR_INVALID);
	assert_int_equal(http_reply_header(&res, "", "v"), CORE_ERR_INVALID);
	memset(big, 'v', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(http_reply_header(&res, "X-Big", big),
			 CORE_ERR_INVALID);
	for (int i = 1; i < HTTP_HEADERS_MAX; i++)
		assert_int_equal(http_reply_header(&res, "X-N", "1"), CORE_OK);
	assert_int_equal(http_reply_header(&res, "X-N", "1"), CORE_ERR_NOMEM);
	assert_int_equal(res.nheaders, HTTP_HEADERS_MAX);
}

static void request_ids(void **state)
{
	char id[HTTP_REQUEST_ID_MAX + 1], s[80];

	assert_true(http_request_id_valid("abc"));
	assert_true(http_request_id_valid("A.b_c-9"));
	memset(s, 'x', 64);
	s[64] = '\0';
	assert_true(http_request_id_valid(s));
	s[64] = 'x';
	s[65] = '\0';
	assert_false(http_request_id_valid(s));
	assert_false(http_request_id_valid(""));
	assert_false(http_request_id_valid(NULL));
	assert_false(http_request_id_valid("a b"));
	assert_false(http_request_id_valid("a/b"));
	assert_false(http_request_id_valid("a\nb"));
	assert_false(http_request_id_valid("caf\xc3\xa9"));

	http_request_id_choose("client-1", id);
	assert_string_equal(id, "client-1");
	http_request_id_choose("bad id", id);
	assert_int_equal(strlen(id), 32);
	assert_true(http_request_id_valid(id));
	http_request_id_choose(NULL, s);
	assert_string_not_equal(s, id); /* random */
}

static void reasons(void **state)
{
	assert_string_equal(http_status_reason(404), "Not Found");
	assert_string_equal(http_status_reason(413), "Content Too Large");
	assert_string_equal(http_status_reason(599), "Unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(problem_shape),
	    cmocka_unit_test(problem_field_errors),
	    cmocka_unit_test(reply_problem_and_json),
	    cmocka_unit_test(reply_null_json_is_500),
	    cmocka_unit_test(allocation_failures),
	    cmocka_unit_test(reply_headers),
	    cmocka_unit_test(request_ids),
	    cmocka_unit_test(reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
