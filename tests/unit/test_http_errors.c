/* SPDX-License-Identifier: Apache-2.0 */
/* test_http_errors.c - the error registry: every code unique, well formed,
 * with an error status and a title; found by its code; replied with its own
 * status, code and title; and listed with the same status in the table of
 * api/openapi.yaml (the copy built into the binary), so the contract cannot
 * drift from the code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http.h"

#include <stdio.h>
#include <string.h>

static void registry_entries_are_unique_and_well_formed(void **state)
{
	for (int i = 0; i < HTTP_E_COUNT; i++) {
		const struct http_error_info *e = http_error_info(i);

		assert_non_null(e->code);
		assert_non_null(e->title);
		assert_true(e->status >= 400 && e->status <= 599);
		for (const char *c = e->code; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') || *c == '_');
		assert_ptr_equal(http_error_find(e->code), e);
		for (int k = 0; k < i; k++)
			if (strcmp(http_error_info(k)->code, e->code) == 0)
				fail_msg("code %s registered twice", e->code);
	}
	assert_null(http_error_find("no_such_code"));
	/* out of range: internal_error, never a crash */
	assert_string_equal(http_error_info(HTTP_E_COUNT)->code,
			    "internal_error");
}

static void reply_error_carries_the_registry_entry(void **state)
{
	struct http_response res = {0};
	struct core_field_errors fe;
	json_t *j;
	json_error_t je;

	core_field_errors_clear(&fe);
	core_field_errorf(&fe, "dataset.path", "must be under the data root");
	http_reply_error(&res, HTTP_E_VALIDATION_FAILED, "bad spec", &fe);
	assert_int_equal(res.status, 422);
	assert_string_equal(res.content_type, "application/problem+json");
	j = json_loadb(res.body, res.len, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    "validation_failed");
	assert_string_equal(json_string_value(json_object_get(j, "title")),
			    "Request failed validation");
	assert_string_equal(json_string_value(json_object_get(j, "type")),
			    "urn:lmnas:problem:validation_failed");
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(j, "errors"), 0), "field")),
	    "dataset.path");
	json_decref(j);
	http_response_clear(&res);
}

static void openapi_lists_every_code_with_its_status(void **state)
{
	const struct http_asset *a = http_asset_find("openapi.yaml");
	char row[160];

	assert_non_null(a);
	for (int i = 0; i < HTTP_E_COUNT; i++) {
		const struct http_error_info *e = http_error_info(i);

		snprintf(row, sizeof row, "| `%s` | %d | %s |", e->code,
			 e->status, e->title);
		if (!strstr((const char *)a->data, row))
			fail_msg("api/openapi.yaml lacks the row %s", row);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(registry_entries_are_unique_and_well_formed),
	    cmocka_unit_test(reply_error_carries_the_registry_entry),
	    cmocka_unit_test(openapi_lists_every_code_with_its_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
