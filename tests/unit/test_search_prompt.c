/* SPDX-License-Identifier: Apache-2.0 */
/* test_search_prompt.c - the template renderer, the system and user
 * messages (every required fact present), trimming to the token budget in
 * the documented order, the repair message and the reply schema. */
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

#define SMALL_SPACE "'space': {'format': 'lmnas-space/1', 'resolution': [32]}"

static enum core_status render(const char *tpl, size_t max, char **out,
			       char *err)
{
	const struct search_template_var vars[] = {{"a", "1"},
						   {"long_name", "xyz"},
						   {"braces", "{{a}}"},
						   {"nul", NULL}};

	return search_template_render(tpl, strlen(tpl), vars, 4, max, out, NULL,
				      err, CORE_ERR_LEN);
}

static void template_substitution(void **state)
{
	char err[CORE_ERR_LEN], *out = NULL;
	size_t len = 0;

	assert_int_equal(
	    render("x={{a}}, y={{long_name}}{{a}}", 100, &out, err), CORE_OK);
	assert_string_equal(out, "x=1, y=xyz1");
	core_free(out);
	/* values are not expanded again; NULL is empty; lone braces stay */
	assert_int_equal(render("{{braces}}|{{nul}}|{a}|}}|{", 100, &out, err),
			 CORE_OK);
	assert_string_equal(out, "{{a}}||{a}|}}|{");
	core_free(out);
	assert_int_equal(render("", 100, &out, err), CORE_OK);
	assert_string_equal(out, "");
	core_free(out);
	/* only len bytes are read */
	assert_int_equal(search_template_render("ab{{a}}", 2, NULL, 0, 10, &out,
						&len, err, sizeof err),
			 CORE_OK);
	assert_string_equal(out, "ab");
	assert_int_equal(len, 2);
	core_free(out);
}

static void template_errors(void **state)
{
	char err[CORE_ERR_LEN], *out = (char *)1;

	assert_int_equal(render("hello {{who}}!", 100, &out, err),
			 CORE_ERR_INVALID);
	assert_null(out);
	assert_string_equal(err,
			    "template: unknown placeholder {{who}} at byte 6");
	assert_int_equal(render("{{ a }}", 100, &out, err), CORE_ERR_INVALID);
	assert_non_null(strstr(err, "malformed placeholder at byte 0"));
	assert_int_equal(render("x {{A}}", 100, &out, err), CORE_ERR_INVALID);
	assert_non_null(strstr(err, "at byte 2"));
	assert_int_equal(render("x {{a", 100, &out, err), CORE_ERR_INVALID);
	assert_int_equal(render("x {{a}", 100, &out, err), CORE_ERR_INVALID);
	assert_int_equal(render("{{}}", 100, &out, err), CORE_ERR_INVALID);
	/* the output cap */
	assert_int_equal(render("0123456789{{long_name}}", 12, &out, err),
			 CORE_ERR_NOMEM);
	assert_null(out);
	assert_int_equal(render("0123456789{{a}}", 11, &out, err), CORE_OK);
	core_free(out);
	/* allocation failure */
	core_alloc_fail_after(0);
	assert_int_equal(render("{{a}}", 100, &out, err), CORE_ERR_NOMEM);
	core_alloc_fail_after(-1);
}

static void templates_are_embedded(void **state)
{
	const char *names[] = {"system.txt", "user.txt", "repair.txt"};
	size_t len = 0;

	for (int i = 0; i < 3; i++) {
		const char *t = search_prompt_template(names[i], &len);
		assert_non_null(t);
		assert_true(len > 100);
		assert_int_equal(strlen(t), len);
	}
	assert_null(search_prompt_template("nope.txt", &len));
	assert_non_null(
	    strstr(search_prompt_template("user.txt", NULL), "{{front}}"));
}

static void first_round_prompt_has_every_fact(void **state)
{
	struct search_spec s;
	struct search_prompt p;
	char err[CORE_ERR_LEN];

	assert_int_equal(searchtest_spec("'budget': {'rounds': 7}", &s), 0);
	assert_int_equal(search_prompt_build(&s, NULL, 4, &p, err, sizeof err),
			 CORE_OK);
	/* the task and the data set */
	assert_non_null(strstr(p.system, "CIFAR-100 image classification"));
	assert_non_null(strstr(p.system, "100 classes"));
	assert_non_null(strstr(p.system, "\"classes\": 100"));
	assert_non_null(strstr(p.system, "stm32h743"));
	assert_non_null(strstr(p.system, "3 epochs on 20% of the training"));
	/* the limits, in units and exactly */
	assert_non_null(strstr(p.system, "at most 100 M (100000000)"));
	assert_non_null(strstr(p.system, "at most 320 KB (327680 bytes)"));
	assert_non_null(strstr(p.system, "at most 1 MB (1048576 bytes)"));
	/* the space, as space_render_prompt writes it */
	assert_non_null(strstr(p.system, "stages: exactly 5"));
	assert_non_null(strstr(p.system, "every stage: block {dwsep,mbconv}"));
	assert_non_null(
	    strstr(p.system, "input.resolution {32,64,96,128,160}"));
	/* an example in the format and the reply shape */
	assert_non_null(strstr(p.system, "{\"format\":\"lmnas-arch/1\""));
	assert_non_null(strstr(p.system, "{\"candidates\": [{\"rationale\""));
	assert_null(strstr(p.system, "{{"));
	/* the user message: round, empty history, the ask */
	assert_non_null(strstr(p.user, "Round 1 of 7."));
	assert_non_null(strstr(p.user, "trained so far: 0."));
	assert_non_null(strstr(p.user, "(none yet)"));
	assert_non_null(strstr(p.user, "(this is the first round)"));
	assert_non_null(strstr(p.user, "Propose 4 new architectures"));
	assert_null(strstr(p.user, "{{"));
	assert_int_equal(p.tokens, search_tokens_estimate(p.system_len) +
				       search_tokens_estimate(p.user_len));
	assert_int_equal(p.budget, 6000 - 1024);
	assert_true(p.tokens <= p.budget);
	search_prompt_free(&p);
}

static void limits_without_a_target(void **state)
{
	struct search_spec s;
	struct search_prompt p;
	char err[CORE_ERR_LEN];

	assert_int_equal(searchtest_spec("'constraints': {'target': null, "
					 "'max_macs': 12345678}",
					 &s),
			 0);
	assert_int_equal(search_prompt_build(&s, NULL, 2, &p, err, sizeof err),
			 CORE_OK);
	assert_non_null(strstr(p.system, "at most 12.3 M (12345678)"));
	assert_non_null(strstr(p.system, "peak SRAM: no limit"));
	assert_non_null(strstr(p.system, "flash: no limit"));
	assert_non_null(strstr(p.system, "on a microcontroller"));
	search_prompt_free(&p);
}

/* A history: n front members (ids 100.., rounds spread), nr rejects. */
struct hist {
	struct search_member front[40];
	struct search_member best;
	struct search_reject rej[30];
	char reasons[30][96];
	long entered[2], left[1];
	struct search_history h;
};

static void make_history(const struct search_spec *s, struct hist *x, int n,
			 int nr)
{
	struct core_rng rng;

	core_rng_seed(&rng, 5);
	for (int i = 0; i < n; i++)
		assert_int_equal(searchtest_random_member(s, &rng, 100 + i,
							  i / 4, &x->front[i]),
				 0);
	x->best = x->front[n - 1];
	x->best.id = 7;
	x->best.pt.acc = 0.712;
	for (int i = 0; i < nr; i++) {
		snprintf(x->reasons[i], sizeof x->reasons[i],
			 "reject-%02d: stages[1].kernel: 9 is not in the "
			 "space {3,5,7}",
			 i);
		x->rej[i] = (struct search_reject){0, i / 3,
						   SEARCH_VERDICT_OUTSIDE_SPACE,
						   NULL, x->reasons[i]};
	}
	x->entered[0] = 14;
	x->entered[1] = 15;
	x->left[0] = 3;
	x->h = (struct search_history){.round = 4,
				       .evaluated = 17,
				       .front = x->front,
				       .nfront = n,
				       .best = &x->best,
				       .rejects = x->rej,
				       .nrejects = nr,
				       .entered = x->entered,
				       .nentered = 2,
				       .left = x->left,
				       .nleft = 1,
				       .hv_before = 0.1,
				       .hv_after = 0.15};
}

static void history_prompt_has_every_fact(void **state)
{
	struct search_spec s;
	struct search_prompt p;
	struct hist *x = calloc(1, sizeof *x);
	char err[CORE_ERR_LEN], line[96], *json = NULL;
	const char *at[3];

	assert_non_null(x);
	assert_int_equal(searchtest_spec("", &s), 0);
	make_history(&s, x, 3, 2);
	x->rej[1].verdict = SEARCH_VERDICT_INFEASIBLE;
	x->rej[1].reason =
	    "max_macs: 123.4 M exceeds the limit of 100 M by 23.4%";
	x->rej[1].arch_json = "{\"format\":\"lmnas-arch/1\"}";
	x->rej[1].id = 42;
	assert_int_equal(search_prompt_build(&s, &x->h, 3, &p, err, sizeof err),
			 CORE_OK);
	assert_non_null(strstr(p.user, "Round 5 of 10. Candidates trained so "
				       "far: 17."));
	/* every front member with its figures and compact arch, by MACs */
	for (int i = 0; i < 3; i++) {
		const struct search_member *m = &x->front[i];
		char macs[32];

		search_format_macs(m->pt.macs, macs, sizeof macs);
		snprintf(line, sizeof line,
			 "- #%ld (round %d): %.1f%% accuracy; %s MACs;", m->id,
			 m->round + 1, m->pt.acc * 100, macs);
		at[i] = strstr(p.user, line);
		if (!at[i])
			fail_msg("missing front line '%s' in:\n%s", line,
				 p.user);
		json = searchtest_compact(&m->arch);
		assert_non_null(json);
		assert_non_null(strstr(at[i], json));
		core_free(json);
	}
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			if (x->front[i].pt.macs < x->front[j].pt.macs)
				assert_true(at[i] < at[j]);
	/* the best, the change, the rejects with their exact reasons */
	assert_non_null(strstr(p.user, "- #7 (round"));
	assert_non_null(strstr(p.user, "71.2% accuracy"));
	assert_non_null(strstr(p.user, "#14, #15 entered the front. #3 left "
				       "it (dominated). Hypervolume 0.1000 -> "
				       "0.1500."));
	assert_non_null(strstr(p.user,
			       "- (round 1, outside_space): reject-00: "
			       "stages[1].kernel: 9 is not in the space "
			       "{3,5,7}"));
	assert_non_null(strstr(p.user, "- #42 (round 1, infeasible): max_macs: "
				       "123.4 M exceeds the limit of 100 M by "
				       "23.4%; proposed: "
				       "{\"format\":\"lmnas-arch/1\"}"));
	assert_non_null(strstr(p.user, "Propose 3 new"));
	assert_int_equal(p.front_shown, 3);
	assert_int_equal(p.rejects_shown, 2);
	assert_int_equal(p.change_shown, 1);
	search_prompt_free(&p);
	free(x);
}

/* Shrinking the budget trims in the documented order, and what stays is
 * what matters: the newest front members and rejects, the best, the ask. */
static void trimming_follows_the_documented_order(void **state)
{
	struct search_spec s;
	struct hist *x = calloc(1, sizeof *x);
	char err[CORE_ERR_LEN], extra[256];
	int last_front = 1 << 30, last_rej = 1 << 30, saw_fail = 0;
	int saw_phase[6] = {0};

	/* one resolution keeps the example draw and the costs cheap */
	assert_non_null(x);
	assert_int_equal(searchtest_spec(SMALL_SPACE, &s), 0);
	make_history(&s, x, 30, 20);
	for (int budget = 12000; budget >= 1024;
	     budget -= budget > 2600 ? 200 : 15) {
		struct search_prompt p;
		enum core_status rc;

		snprintf(extra, sizeof extra,
			 "%s, 'llm': {'prompt_token_budget': %d}", SMALL_SPACE,
			 budget);
		assert_int_equal(searchtest_spec(extra, &s), 0);
		rc = search_prompt_build(&s, &x->h, 4, &p, err, sizeof err);
		if (rc) {
			assert_int_equal(rc, CORE_ERR_INVALID);
			assert_non_null(strstr(err, "even with the history "
						    "trimmed"));
			saw_fail = 1;
			continue;
		}
		assert_false(saw_fail); /* once too small, always too small */
		assert_true(p.tokens <= p.budget);
		/* monotone: items only go away as the budget shrinks */
		assert_true(p.front_shown <= last_front);
		assert_true(p.rejects_shown <= last_rej);
		last_front = p.front_shown;
		last_rej = p.rejects_shown;
		/* the order: phase k only starts once phase k-1 is done */
		if (p.rejects_omitted)
			assert_true(p.front_shown <= SEARCH_PROMPT_FRONT_KEEP);
		if (p.front_shown < SEARCH_PROMPT_FRONT_KEEP)
			assert_true(p.rejects_shown <=
				    SEARCH_PROMPT_REJECTS_KEEP);
		if (p.rejects_shown < SEARCH_PROMPT_REJECTS_KEEP)
			assert_int_equal(p.front_shown, 0);
		if (!p.change_shown)
			assert_int_equal(p.rejects_shown, 0);
		saw_phase[p.front_shown == 30 && p.rejects_shown == 20 ? 0
			  : p.front_shown > 3			       ? 1
			  : p.rejects_shown > 3			       ? 2
			  : p.front_shown > 0			       ? 3
			  : p.rejects_shown > 0			       ? 4
								       : 5] = 1;
		/* never trimmed */
		assert_non_null(strstr(p.user, "Round 5 of 10"));
		assert_non_null(strstr(p.user, "- #7 (round"));
		assert_non_null(strstr(p.user, "Propose 4 new"));
		/* the newest front member (id 129, round 8) goes last */
		if (p.front_shown > 0)
			assert_non_null(strstr(p.user, "- #129 (round 8)"));
		if (p.front_omitted)
			assert_null(strstr(p.user, "- #100 (round 1)"));
		/* the most recent reject goes last */
		if (p.rejects_shown > 0)
			assert_non_null(strstr(p.user, "reject-19"));
		if (p.rejects_omitted)
			assert_null(strstr(p.user, "reject-00"));
		if (p.front_omitted) {
			snprintf(extra, sizeof extra,
				 "(%d older members not shown)",
				 p.front_omitted);
			assert_non_null(strstr(p.user, extra));
		}
		search_prompt_free(&p);
	}
	for (int i = 0; i < 6; i++)
		if (!saw_phase[i])
			fail_msg("phase %d never seen", i);
	assert_true(saw_fail);
	free(x);
}

static void repair_message(void **state)
{
	struct search_spec s;
	struct search_proposals ps;
	char err[CORE_ERR_LEN], *out = NULL, reply[2048];
	const char *tmpl =
	    ("{'candidates': [{'rationale': 'ok', 'arch': {'format': "
	     "'lmnas-arch/1', 'input': {'resolution': 32}, 'stages': "
	     "[{'block': "
	     "'dwsep', 'out': 16, 'layers': 1, 'kernel': 3, 'stride': 2}, "
	     "{'block': 'dwsep', 'out': 32, 'layers': 1, 'kernel': 3}, "
	     "{'block': "
	     "'dwsep', 'out': 32, 'layers': 1, 'kernel': 3}, {'block': "
	     "'dwsep', "
	     "'out': 32, 'layers': 1, 'kernel': 3}, {'block': 'dwsep', 'out': "
	     "64, "
	     "'layers': 1, 'kernel': 3}], 'head': {'classes': 100}}}, "
	     "{'rationale': 'bad', 'arch': {'format': 'lmnas-arch/1'}}, 17]}");

	snprintf(reply, sizeof reply, "%s", archtest_q(tmpl));
	assert_int_equal(searchtest_spec("", &s), 0);
	search_proposals_init(&ps);
	if (search_parse_reply(&s, NULL, NULL, reply, strlen(reply), 4, &ps,
			       err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(ps.n, 3);
	assert_int_equal(ps.v[0].verdict, SEARCH_VERDICT_OK);
	assert_int_equal(search_prompt_repair(&s, NULL, &ps, 0, 1, 3, 4096,
					      &out, NULL, err, sizeof err),
			 CORE_OK);
	assert_non_null(strstr(out, "Your reply could not be used as it was:\n"
				    "- candidates[1] (invalid): input: "
				    "required"));
	assert_non_null(strstr(out, "- candidates[2] (malformed): expected an "
				    "object"));
	assert_non_null(strstr(out, "Accepted so far this round: 1 (from this "
				    "reply: candidates[0]); do not send them "
				    "again."));
	assert_non_null(strstr(out, "Send 3 corrected or new candidates"));
	assert_null(strstr(out, "{{"));
	core_free(out);
	/* a tight cap drops problems from the end and says so */
	assert_int_equal(search_prompt_repair(&s, NULL, &ps, 0, 1, 3, 500, &out,
					      NULL, err, sizeof err),
			 CORE_OK);
	assert_true(strlen(out) <= 500);
	assert_non_null(strstr(out, "- candidates[1] (invalid)"));
	assert_non_null(strstr(out, "(1 more problem not shown)"));
	assert_null(strstr(out, "candidates[2] (malformed)"));
	core_free(out);
	/* a reply-level problem */
	assert_int_equal(search_prompt_repair(&s, "not valid JSON (line 1)",
					      NULL, 0, 0, 4, 4096, &out, NULL,
					      err, sizeof err),
			 CORE_OK);
	assert_non_null(strstr(out, "- not valid JSON (line 1)\n"));
	assert_null(strstr(out, "Accepted"));
	core_free(out);
	/* nothing fits */
	assert_int_equal(search_prompt_repair(&s, NULL, &ps, 0, 1, 3, 50, &out,
					      NULL, err, sizeof err),
			 CORE_ERR_NOMEM);
	assert_null(out);
	search_proposals_free(&ps);
}

static void reply_schema_follows_the_space(void **state)
{
	struct search_spec s;
	char err[CORE_ERR_LEN], *text = NULL;
	json_t *j, *arch, *stages, *item;
	json_error_t jerr;

	assert_int_equal(
	    searchtest_spec("'dataset': {'kind': 'cifar10', 'path': '/d'}", &s),
	    0);
	assert_int_equal(
	    search_reply_schema(&s, 1, &text, NULL, err, sizeof err), CORE_OK);
	assert_non_null(strstr(text, "\"classes\":{\"type\":\"integer\","
				     "\"enum\":[10]}"));
	core_free(text);
	assert_int_equal(
	    searchtest_spec("'space': {'format': 'lmnas-space/1', 'stages': "
			    "{'min': 2, 'max': 3}, 'resolution': [32, 48], "
			    "'block': ['mbconv'], 'stem': {'optional': true, "
			    "'out': [8, 16]}, 'overrides': [{'stage': 2, "
			    "'kernel': [9]}]}",
			    &s),
	    0);
	assert_int_equal(
	    search_reply_schema(&s, 6, &text, NULL, err, sizeof err), CORE_OK);
	j = json_loads(text, 0, &jerr);
	assert_non_null(j);
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(j, "properties"), "candidates"),
		"maxItems")),
	    6);
	arch = json_object_get(
	    json_object_get(
		json_object_get(
		    json_object_get(
			json_object_get(json_object_get(j, "properties"),
					"candidates"),
			"items"),
		    "properties"),
		"arch"),
	    "properties");
	assert_non_null(arch);
	stages = json_object_get(arch, "stages");
	assert_int_equal(
	    json_integer_value(json_object_get(stages, "minItems")), 2);
	assert_int_equal(
	    json_integer_value(json_object_get(stages, "maxItems")), 3);
	item = json_object_get(json_object_get(stages, "items"), "properties");
	/* the union of the stage lists: 9 from the override of stage 2 */
	assert_non_null(strstr(text, "\"kernel\":{\"type\":\"integer\","
				     "\"enum\":[3,5,7,9]}"));
	/* mbconv only: no expand 1 */
	assert_non_null(strstr(text, "\"expand\":{\"type\":\"integer\","
				     "\"enum\":[2,3,4,6]}"));
	assert_non_null(json_object_get(item, "se"));
	assert_non_null(strstr(text, "\"resolution\":{\"type\":\"integer\","
				     "\"enum\":[32,48]}"));
	assert_non_null(strstr(text, "\"classes\":{\"type\":\"integer\","
				     "\"enum\":[100]}"));
	assert_non_null(
	    strstr(text, "\"stem\":{\"anyOf\":[{\"type\":\"null\"}"));
	assert_non_null(strstr(text, "\"additionalProperties\":false"));
	json_decref(j);
	core_free(text);
}

static void prompt_too_small_and_alloc_failures(void **state)
{
	struct search_spec s;
	struct search_prompt p;
	struct hist *x = calloc(1, sizeof *x);
	char err[CORE_ERR_LEN];
	int n;

	assert_non_null(x);
	assert_int_equal(
	    searchtest_spec("'llm': {'prompt_token_budget': 1024}", &s), 0);
	assert_int_equal(search_prompt_build(&s, NULL, 4, &p, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_null(p.system);
	assert_non_null(strstr(err, "llm.prompt_token_budget 1024"));
	assert_int_equal(searchtest_spec(SMALL_SPACE, &s), 0);
	make_history(&s, x, 4, 3);
	for (n = 0;; n++) {
		enum core_status rc;

		core_alloc_fail_after(n);
		rc = search_prompt_build(&s, &x->h, 4, &p, err, sizeof err);
		core_alloc_fail_after(-1);
		if (rc == CORE_OK)
			break;
		assert_int_equal(rc, CORE_ERR_NOMEM);
		assert_null(p.system);
		assert_null(p.user);
	}
	assert_true(n > 10);
	search_prompt_free(&p);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(template_substitution),
	    cmocka_unit_test(template_errors),
	    cmocka_unit_test(templates_are_embedded),
	    cmocka_unit_test(first_round_prompt_has_every_fact),
	    cmocka_unit_test(limits_without_a_target),
	    cmocka_unit_test(history_prompt_has_every_fact),
	    cmocka_unit_test(trimming_follows_the_documented_order),
	    cmocka_unit_test(repair_message),
	    cmocka_unit_test(reply_schema_follows_the_space),
	    cmocka_unit_test(prompt_too_small_and_alloc_failures),
	};
	if (getenv("TEST_CASE"))
		cmocka_set_test_filter(getenv("TEST_CASE"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
