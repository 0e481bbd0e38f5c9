/* SPDX-License-Identifier: Apache-2.0 */
/* test_search_llm_summary.c - search: the closing line about the LLM of a
 * run (calls by outcome, accepted, rejected by kind, fallbacks) from a
 * stored job, and the kinds of rejection reasons as check.c and reply.c
 * write them (so that a changed reason text fails here, not silently in
 * the summary). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "search/search.h"

#include "../support/archtest.h"
#include "../support/searchtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_of(enum search_verdict v)
{
	switch (v) {
	case SEARCH_VERDICT_DUPLICATE: return "duplicate";
	case SEARCH_VERDICT_INFEASIBLE: return "over the limits";
	case SEARCH_VERDICT_MALFORMED: return "malformed";
	case SEARCH_VERDICT_INVALID:
	case SEARCH_VERDICT_OUTSIDE_SPACE:
		return "invalid or outside the space";
	case SEARCH_VERDICT_OK: break;
	}
	return "?";
}

/* Parses reply against spec and checks every rejected proposal's reason
 * kind against its verdict; returns the verdicts seen as a bit set. */
static unsigned check_kinds(const char *spec_extra, const char *reply)
{
	struct search_spec s;
	struct search_proposals ps;
	char err[CORE_ERR_LEN];
	unsigned seen = 0;

	assert_int_equal(searchtest_spec(spec_extra, &s), 0);
	search_proposals_init(&ps);
	if (search_parse_reply(&s, NULL, NULL, reply, strlen(reply), 8, &ps,
			       err, sizeof err))
		fail_msg("parse: %s", err);
	for (int i = 0; i < ps.n; i++) {
		const struct search_proposal *p = &ps.v[i];
		seen |= 1u << p->verdict;
		if (p->verdict == SEARCH_VERDICT_OK)
			continue;
		if (strcmp(search_reason_kind(p->reason), kind_of(p->verdict)))
			fail_msg("verdict %s, reason \"%s\" taken for %s",
				 search_verdict_name(p->verdict), p->reason,
				 search_reason_kind(p->reason));
	}
	search_proposals_free(&ps);
	return seen;
}

static void reason_kinds(void **state)
{
	struct search_spec s;
	struct search_member m;
	struct core_rng rng;
	char *a, *bad, reply[16384];
	json_t *arch;
	unsigned seen;

	assert_int_equal(searchtest_spec("", &s), 0);
	core_rng_seed(&rng, 3);
	assert_int_equal(searchtest_random_member(&s, &rng, 1, 0, &m), 0);
	arch = arch_to_json(&m.arch);
	a = json_dumps(arch, JSON_COMPACT);
	json_object_set_new(json_array_get(json_object_get(arch, "stages"), 0),
			    "kernel", json_integer(4));
	bad = json_dumps(arch, JSON_COMPACT);
	snprintf(reply, sizeof reply,
		 "{\"candidates\": [{\"arch\": %s}, {\"arch\": %s}, \"oops\", "
		 "{\"arch\": %s}, {\"rationale\": 5, \"arch\": %s}, {}]}",
		 a, a, bad, a);
	seen = check_kinds("", reply);
	assert_true(seen & 1u << SEARCH_VERDICT_DUPLICATE);
	assert_true(seen & 1u << SEARCH_VERDICT_MALFORMED);
	assert_true(seen & (1u << SEARCH_VERDICT_INVALID |
			    1u << SEARCH_VERDICT_OUTSIDE_SPACE));
	snprintf(reply, sizeof reply, "{\"candidates\": [{\"arch\": %s}]}", a);
	seen = check_kinds("'constraints': {'max_macs': 1000}", reply);
	assert_true(seen & 1u << SEARCH_VERDICT_INFEASIBLE);
	assert_string_equal(search_reason_kind(NULL), "other");
	free(a);
	free(bad);
	json_decref(arch);
}

static void summary_line(void **state)
{
	json_t *job = json_loads(
	    "{\"job\": {\"spec\": {\"proposer\": \"llm\"}},"
	    " \"candidates\": ["
	    "  {\"source\": \"llm\", \"status\": \"trained\"},"
	    "  {\"source\": \"llm\", \"status\": \"proposed\"},"
	    "  {\"source\": \"evolution\", \"status\": \"trained\"},"
	    "  {\"source\": \"llm\", \"status\": \"rejected\","
	    "   \"rejection_reason\": \"duplicate of candidate 3\"},"
	    "  {\"source\": \"llm\", \"status\": \"rejected\","
	    "   \"rejection_reason\": \"duplicate of proposal 0 of this "
	    "round\"},"
	    "  {\"source\": \"llm\", \"status\": \"rejected\","
	    "   \"rejection_reason\": \"max_macs: 120.3 M over 100 M\"},"
	    "  {\"source\": \"evolution\", \"status\": \"rejected\","
	    "   \"rejection_reason\": \"max_macs\"}],"
	    " \"rounds\": [{\"proposer\": \"llm\"}, {\"proposer\": "
	    "\"evolution\"}, {\"proposer\": \"llm+evolution\"}]}",
	    0, NULL);
	json_t *calls = json_loads("{\"ok\": 4, \"bad_reply\": 2, "
				   "\"http_error\": 1}",
				   0, NULL);
	json_t *none = json_object();
	char line[512], small[40];

	assert_non_null(job);
	assert_non_null(calls);
	assert_int_equal(search_llm_summary(job, calls, line, sizeof line),
			 CORE_OK);
	assert_string_equal(line,
			    "LLM: 7 calls (4 ok, 2 bad_reply, 1 http_error); 2 "
			    "candidates accepted, 3 rejected (2 duplicate, 1 "
			    "over the limits); 2 of 3 rounds fell back to "
			    "evolution (1 topped up)");
	/* cut to the buffer */
	assert_int_equal(search_llm_summary(job, calls, small, sizeof small),
			 CORE_OK);
	assert_int_equal(strlen(small), sizeof small - 1);
	/* an evolution job without calls: no line */
	json_object_set_new(
	    json_object_get(json_object_get(job, "job"), "spec"), "proposer",
	    json_string("evolution"));
	assert_int_equal(search_llm_summary(job, none, line, sizeof line),
			 CORE_OK);
	assert_string_equal(line, "");
	json_decref(job);
	json_decref(calls);
	json_decref(none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reason_kinds),
	    cmocka_unit_test(summary_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
