/* SPDX-License-Identifier: Apache-2.0 */
/* test_http_range.c - the Range and If-None-Match parsers of the downloads
 * (ranges.c), table-driven: every single-range form, clamping, what is
 * unsatisfiable, and what is ignored (malformed, other units, several
 * ranges); entity-tag lists, weak tags and "*". Expected values are worked
 * out from RFC 9110 14.1.2 and 13.1.2 by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http.h"

#include <stdio.h>

struct range_case {
	const char *header;
	long long size;
	enum http_range want;
	long long first, last; /* for HTTP_RANGE_PARTIAL */
};

static const struct range_case range_cases[] = {
    {NULL, 100, HTTP_RANGE_NONE, 0, 0},
    {"bytes=0-0", 100, HTTP_RANGE_PARTIAL, 0, 0},
    {"bytes=0-99", 100, HTTP_RANGE_PARTIAL, 0, 99},
    {"bytes=10-19", 100, HTTP_RANGE_PARTIAL, 10, 19},
    {"bytes=10-1000", 100, HTTP_RANGE_PARTIAL, 10, 99}, /* cut to the end */
    {"bytes=99-", 100, HTTP_RANGE_PARTIAL, 99, 99},
    {"bytes=0-", 100, HTTP_RANGE_PARTIAL, 0, 99},
    {"bytes=-1", 100, HTTP_RANGE_PARTIAL, 99, 99},
    {"bytes=-100", 100, HTTP_RANGE_PARTIAL, 0, 99},
    {"bytes=-101", 100, HTTP_RANGE_PARTIAL, 0, 99}, /* whole */
    {"bytes=-99999999999999999999999", 100, HTTP_RANGE_PARTIAL, 0, 99},
    {"Bytes=5-6", 100, HTTP_RANGE_PARTIAL, 5, 6}, /* the unit: any case */
    {"  bytes=5-6  ", 100, HTTP_RANGE_PARTIAL, 5, 6},
    /* unsatisfiable */
    {"bytes=100-", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0},
    {"bytes=100-200", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0},
    {"bytes=99999999999999999999999-", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0},
    {"bytes=-0", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0},
    {"bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0},
    {"bytes=-5", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0},
    /* ignored: the whole representation */
    {"bytes=5-4", 100, HTTP_RANGE_NONE, 0, 0},
    {"bytes=0-1,3-4", 100, HTTP_RANGE_NONE, 0, 0},
    {"bytes=0-1, 3-4", 100, HTTP_RANGE_NONE, 0, 0},
    {"bytes=", 100, HTTP_RANGE_NONE, 0, 0},
    {"bytes=-", 100, HTTP_RANGE_NONE, 0, 0},
    {"bytes=a-b", 100, HTTP_RANGE_NONE, 0, 0},
    {"bytes=1-2x", 100, HTTP_RANGE_NONE, 0, 0},
    {"bytes=+1-2", 100, HTTP_RANGE_NONE, 0, 0},
    {"bytes = 1-2", 100, HTTP_RANGE_NONE, 0, 0},
    {"items=0-1", 100, HTTP_RANGE_NONE, 0, 0},
    {"bytes 0-1", 100, HTTP_RANGE_NONE, 0, 0},
    {"", 100, HTTP_RANGE_NONE, 0, 0},
};

static void ranges_follow_rfc_9110(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof range_cases / sizeof range_cases[0];
	     i++) {
		const struct range_case *c = &range_cases[i];
		long long first = -7, last = -7;
		enum http_range got =
		    http_range_parse(c->header, c->size, &first, &last);

		if (got != c->want)
			fail_msg("'%s' of %lld: %d, wanted %d",
				 c->header ? c->header : "(none)", c->size,
				 (int)got, (int)c->want);
		if (got == HTTP_RANGE_PARTIAL &&
		    (first != c->first || last != c->last))
			fail_msg("'%s' of %lld: %lld-%lld, wanted %lld-%lld",
				 c->header, c->size, first, last, c->first,
				 c->last);
		if (got != HTTP_RANGE_PARTIAL && (first != -7 || last != -7))
			fail_msg("'%s': wrote a range it did not find",
				 c->header ? c->header : "(none)");
	}
}

static void if_none_match_lists(void **state)
{
	static const char etag[] = "\"abc123\"";

	(void)state;
	assert_true(http_etag_match_any("\"abc123\"", etag));
	assert_true(http_etag_match_any("W/\"abc123\"", etag));
	assert_true(http_etag_match_any("\"x\", \"abc123\"", etag));
	assert_true(http_etag_match_any("\"x\",W/\"abc123\" ,\"y\"", etag));
	assert_true(http_etag_match_any("*", etag));
	assert_true(http_etag_match_any(" *", etag));
	assert_false(http_etag_match_any("\"abc12\"", etag));
	assert_false(http_etag_match_any("\"abc1234\"", etag));
	assert_false(http_etag_match_any("abc123", etag)); /* unquoted */
	assert_false(http_etag_match_any("\"ABC123\"", etag));
	assert_false(http_etag_match_any("", etag));
	assert_false(http_etag_match_any(",,, ,", etag));
	assert_false(http_etag_match_any("W/", etag));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ranges_follow_rfc_9110),
	    cmocka_unit_test(if_none_match_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
