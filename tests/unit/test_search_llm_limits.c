/* SPDX-License-Identifier: Apache-2.0 */
/* test_search_llm_limits.c - search: the worst case of a hung or failing
 * LLM server per round (job.yaml "Llm") is computed as documented, the
 * client settings the spec gives match it, and a spec above the cap is
 * refused with the field named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "search/search.h"

#include "../support/archtest.h"
#include "../support/searchtest.h"

#include <stdio.h>
#include <string.h>

/* Parses {'name', 'dataset', 'llm': llm}; the reason for llm.timeout_s
 * when it is refused, else NULL (and *s is filled). */
static const char *parse_llm(const char *llm, struct search_spec *s)
{
	static struct core_field_errors fe;
	static char reason[CORE_ERR_LEN];
	char doc[1024];
	const char *q, *why;

	snprintf(doc, sizeof doc,
		 "{'name': 't', 'dataset': {'path': '/d'}, 'llm': %s}", llm);
	q = archtest_q(doc);
	if (search_spec_parse(q, strlen(q), s, &fe) == CORE_OK)
		return NULL;
	why = archtest_reason(&fe, "llm.timeout_s");
	if (!why) {
		archtest_dump(&fe);
		fail_msg("refused, but not for llm.timeout_s");
	}
	snprintf(reason, sizeof reason, "%s", why);
	return reason;
}

static void worst_case_and_cap(void **state)
{
	struct search_spec s;
	struct llm_settings ls;
	const char *why;

	/* the defaults: 3 calls x (7 requests x 300 s + 3 x 60 s) = 1.9 h */
	assert_null(parse_llm("{}", &s));
	assert_int_equal(search_llm_round_worst_s(&s.llm), 3 * (7 * 300 + 180));
	/* what that assumes of the client */
	search_spec_llm_settings(&s, NULL, &ls);
	assert_int_equal(ls.max_attempts, SEARCH_LLM_ATTEMPTS);
	assert_int_equal(ls.retry_after_max_ms, SEARCH_LLM_WAIT_MAX_S * 1000L);
	assert_true(ls.backoff_max_ms <= SEARCH_LLM_WAIT_MAX_S * 1000L);
	assert_int_equal(LLM_FORMAT_FALLBACKS, 3);
	/* 3 x (7 x 600 + 180) = 13140 s: within 4 h */
	assert_null(parse_llm("{'timeout_s': 600, 'repair_attempts': 2}", &s));
	/* 3 x (7 x 700 + 180) = 15240 s: above */
	why = parse_llm("{'timeout_s': 700, 'repair_attempts': 2}", &s);
	assert_non_null(why);
	if (!strstr(why, "700 s x 7 requests per call") ||
	    !strstr(why, "x 3 calls per round") || !strstr(why, "4.2 h") ||
	    !strstr(why, "above the 4 h cap"))
		fail_msg("reason: %s", why);
	/* the schema's own maximum is no longer enough on its own */
	assert_non_null(
	    parse_llm("{'timeout_s': 3600, 'repair_attempts': 0}", &s));
	assert_null(parse_llm("{'timeout_s': 2000, 'repair_attempts': 0}", &s));
	/* a field that is wrong itself is reported once, not twice */
	why = parse_llm("{'timeout_s': 0}", &s);
	assert_non_null(why);
	assert_null(strstr(why, "cap"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(worst_case_and_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
