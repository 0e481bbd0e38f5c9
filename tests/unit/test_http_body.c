/* SPDX-License-Identifier: Apache-2.0 */
/* test_http_body.c - request bodies: the JSON media-type check, JSON parsing
 * with line/column on errors, the nesting limit, duplicate keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http.h"

#include <stdio.h>
#include <string.h>

static void content_types(void **state)
{
	assert_true(http_content_type_is_json("application/json"));
	assert_true(http_content_type_is_json("Application/JSON"));
	assert_true(
	    http_content_type_is_json("application/json; charset=utf-8"));
	assert_true(
	    http_content_type_is_json(" application/json ;charset=UTF-8"));
	assert_false(http_content_type_is_json(NULL));
	assert_false(http_content_type_is_json(""));
	assert_false(http_content_type_is_json("text/plain"));
	assert_false(http_content_type_is_json("application/jsonx"));
	assert_false(http_content_type_is_json("application/json-patch+json"));
	assert_false(
	    http_content_type_is_json("application/x-www-form-urlencoded"));
	assert_false(
	    http_content_type_is_json("multipart/form-data; boundary=x"));
}

static enum core_status parse(const char *text, int depth, json_t **out,
			      int *line, int *col, char *err)
{
	return http_json_parse(text, strlen(text), depth, out, line, col, err,
			       CORE_ERR_LEN);
}

static void parses_any_value(void **state)
{
	char err[CORE_ERR_LEN];
	int line, col;
	json_t *j = NULL;

	assert_int_equal(
	    parse("{\"a\": [1, 2, {\"b\": \"}]\"}]}", 64, &j, &line, &col, err),
	    CORE_OK);
	assert_int_equal(json_array_size(json_object_get(j, "a")), 3);
	json_decref(j);
	assert_int_equal(parse("42", 64, &j, &line, &col, err), CORE_OK);
	assert_int_equal(json_integer_value(j), 42);
	json_decref(j);
}

static void errors_have_line_and_column(void **state)
{
	char err[CORE_ERR_LEN];
	int line, col;
	json_t *j = (json_t *)1;

	assert_int_equal(
	    parse("{\n  \"a\": 1,\n  \"b\": }\n", 64, &j, &line, &col, err),
	    CORE_ERR_INVALID);
	assert_null(j);
	assert_int_equal(line, 3);
	assert_int_equal(col, 8);
	assert_true(strlen(err) > 0);

	assert_int_equal(parse("", 64, &j, &line, &col, err), CORE_ERR_INVALID);
	assert_int_equal(line, 1);
	assert_int_equal(parse("{} x", 64, &j, &line, &col, err),
			 CORE_ERR_INVALID);
	assert_int_equal(parse("{\"k\":1,\"k\":2}", 64, &j, &line, &col, err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "duplicate"));
	assert_int_equal(parse("\"\xff\"", 64, &j, &line, &col, err),
			 CORE_ERR_INVALID);
	/* an embedded NUL byte */
	assert_int_equal(http_json_parse("{\"a\":\0}", 7, 64, &j, &line, &col,
					 err, sizeof err),
			 CORE_ERR_INVALID);
}

static void nesting_limit(void **state)
{
	char text[512], err[CORE_ERR_LEN];
	int line, col, n = 0;
	json_t *j = NULL;

	/* 8 levels of arrays pass a limit of 8 */
	for (int i = 0; i < 8; i++)
		text[n++] = '[';
	for (int i = 0; i < 8; i++)
		text[n++] = ']';
	text[n] = '\0';
	assert_int_equal(parse(text, 8, &j, &line, &col, err), CORE_OK);
	json_decref(j);
	/* the 9th level fails, located at its bracket */
	snprintf(text, sizeof text, "{\"a\":\n [[[[[[[[1]]]]]]]]}");
	assert_int_equal(parse(text, 8, &j, &line, &col, err),
			 CORE_ERR_INVALID);
	assert_null(j);
	assert_int_equal(line, 2);
	assert_int_equal(col, 9);
	assert_non_null(strstr(err, "deeper than 8"));
	/* brackets inside strings (and escaped quotes) do not count */
	assert_int_equal(parse("{\"a\\\"[[[[[[[[[[\": \"{{{{{{{{{{{\"}", 2, &j,
			       &line, &col, err),
			 CORE_OK);
	json_decref(j);
	/* far beyond Jansson's own limit: refused by the scan, no recursion */
	{
		static char deep[100001];
		memset(deep, '[', sizeof deep - 1);
		assert_int_equal(
		    parse(deep, HTTP_JSON_MAX_DEPTH, &j, &line, &col, err),
		    CORE_ERR_INVALID);
		assert_int_equal(col, HTTP_JSON_MAX_DEPTH + 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(content_types),
	    cmocka_unit_test(parses_any_value),
	    cmocka_unit_test(errors_have_line_and_column),
	    cmocka_unit_test(nesting_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
