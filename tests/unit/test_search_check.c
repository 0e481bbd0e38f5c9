/* SPDX-License-Identifier: Apache-2.0 */
/* test_search_check.c - checking proposals (each outcome with its exact
 * reason: invalid, outside the space, infeasible with the right numbers,
 * duplicate, ok), the set of known hashes, and parsing whole LLM replies
 * (object, bare array, single arch, malformed entries, reply-level errors,
 * allocation failures). */
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

/* A small member of the default space (32x32, 5 stages, cheap). */
#define ARCH_OK                                                                \
	"{'format': 'lmnas-arch/1', 'input': {'resolution': 32}, 'stages': ["  \
	"{'block': 'dwsep', 'out': 16, 'layers': 1, 'kernel': 3, 'stride': "   \
	"2},"                                                                  \
	"{'block': 'mbconv', 'out': 24, 'layers': 2, 'kernel': 5, 'expand': "  \
	"4, 'skip': 'residual'},"                                              \
	"{'block': 'dwsep', 'out': 32, 'layers': 1, 'kernel': 3, 'stride': "   \
	"2},"                                                                  \
	"{'block': 'dwsep', 'out': 48, 'layers': 1, 'kernel': 3},"             \
	"{'block': 'dwsep', 'out': 64, 'layers': 1, 'kernel': 3, 'stride': "   \
	"2}], 'head': {'classes': 100}}"

static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(archtest_q(text), 0, &jerr);

	if (!j)
		fail_msg("bad test JSON: %s", jerr.text);
	return j;
}

static void ok_arch(struct arch *a)
{
	struct core_field_errors fe;
	const char *q = archtest_q(ARCH_OK);

	if (arch_parse(q, strlen(q), a, &fe))
		archtest_dump(&fe);
	assert_int_equal(arch_parse(q, strlen(q), a, &fe), CORE_OK);
}

static void check(const struct search_spec *s, const struct search_seen *k,
		  const struct arch *a, struct search_proposal *p)
{
	char err[CORE_ERR_LEN];

	assert_int_equal(search_check_arch(s, k, NULL, a, p, err, sizeof err),
			 CORE_OK);
}

static void a_good_proposal(void **state)
{
	struct search_spec s;
	struct search_proposal p;
	struct cost_report r;
	json_t *j = load(ARCH_OK);
	char err[CORE_ERR_LEN], hash[65];
	struct arch a;

	assert_int_equal(searchtest_spec("", &s), 0);
	assert_int_equal(
	    search_check_proposal(&s, NULL, j, &p, err, sizeof err), CORE_OK);
	assert_int_equal(p.verdict, SEARCH_VERDICT_OK);
	assert_string_equal(p.reason, "");
	assert_int_equal(p.have_arch, 1);
	assert_int_equal(p.have_cost, 1);
	ok_arch(&a);
	assert_int_equal(arch_hash(&a, hash), CORE_OK);
	assert_string_equal(p.hash, hash);
	assert_int_equal(cost_report_build(&a, &r, err, sizeof err), CORE_OK);
	assert_int_equal(p.cost.macs, r.macs);
	assert_int_equal(p.cost.sram, r.sram_bytes);
	assert_int_equal(p.cost.flash, r.flash.total);
	assert_int_equal(p.cost.params_deployed, r.params_deployed);
	cost_report_free(&r);
	/* canonical JSON for storage */
	assert_non_null(strstr(p.arch_json, "{\"format\":\"lmnas-arch/1\","
					    "\"name\":\"\",\"input\":"));
	assert_int_equal(p.duplicate_of, -1);
	search_proposal_free(&p);
	json_decref(j);
}

static void invalid_proposals(void **state)
{
	struct search_spec s;
	struct search_proposal p;
	json_t *j;
	char err[CORE_ERR_LEN];

	assert_int_equal(searchtest_spec("", &s), 0);
	j = load("{'format': 'lmnas-arch/1', 'input': {'resolution': 32}, "
		 "'stages': [{'block': 'dwsep', 'out': 16, 'layers': 1, "
		 "'kernel': 4}], 'head': {'classes': 100}, 'colour': 'red'}");
	assert_int_equal(
	    search_check_proposal(&s, NULL, j, &p, err, sizeof err), CORE_OK);
	assert_int_equal(p.verdict, SEARCH_VERDICT_INVALID);
	assert_string_equal(p.reason,
			    "colour: unknown field; stages[0].kernel: 4 is not "
			    "odd");
	assert_int_equal(p.have_arch, 0);
	/* stored as written */
	assert_non_null(strstr(p.arch_json, "\"colour\":\"red\""));
	search_proposal_free(&p);
	json_decref(j);
	/* not even an object */
	j = json_integer(3);
	assert_int_equal(
	    search_check_proposal(&s, NULL, j, &p, err, sizeof err), CORE_OK);
	assert_int_equal(p.verdict, SEARCH_VERDICT_INVALID);
	assert_string_equal(p.reason, "$: expected an object, got integer");
	assert_string_equal(p.arch_json, "3");
	search_proposal_free(&p);
	json_decref(j);
	/* nothing at all */
	assert_int_equal(
	    search_check_proposal(&s, NULL, NULL, &p, err, sizeof err),
	    CORE_OK);
	assert_int_equal(p.verdict, SEARCH_VERDICT_MALFORMED);
	assert_string_equal(p.arch_json, "null");
	search_proposal_free(&p);
}

static void outside_the_space_or_the_task(void **state)
{
	struct search_spec s;
	struct search_proposal p;
	struct arch a;

	assert_int_equal(searchtest_spec("", &s), 0);
	ok_arch(&a);
	a.stages[1].kernel = 9;
	a.nstages = 5;
	check(&s, NULL, &a, &p);
	assert_int_equal(p.verdict, SEARCH_VERDICT_OUTSIDE_SPACE);
	assert_string_equal(p.reason,
			    "stages[1].kernel: 9 is not in the space {3,5,7}");
	assert_int_equal(p.have_arch, 1);
	assert_int_equal(p.have_cost, 0);
	search_proposal_free(&p);
	/* the data set fixes the classes */
	ok_arch(&a);
	a.classes = 10;
	check(&s, NULL, &a, &p);
	assert_int_equal(p.verdict, SEARCH_VERDICT_OUTSIDE_SPACE);
	assert_string_equal(p.reason,
			    "head.classes: 10, but cifar100 has 100 classes");
	search_proposal_free(&p);
	/* a space may allow 1 channel; CIFAR still has 3 */
	assert_int_equal(searchtest_spec("'space': {'format': 'lmnas-space/1', "
					 "'channels': [1, 3]}",
					 &s),
			 0);
	ok_arch(&a);
	a.channels = 1;
	check(&s, NULL, &a, &p);
	assert_int_equal(p.verdict, SEARCH_VERDICT_OUTSIDE_SPACE);
	assert_string_equal(p.reason, "input.channels: 1, but cifar100 images "
				      "have 3 channels");
	search_proposal_free(&p);
	/* several at once, and the stage count */
	assert_int_equal(searchtest_spec("", &s), 0);
	ok_arch(&a);
	a.nstages = 4;
	a.resolution = 40;
	check(&s, NULL, &a, &p);
	assert_string_equal(p.reason,
			    "stages: 4 stages is not in the space 5..5; "
			    "input.resolution: 40 is not in the space "
			    "{32,64,96,128,160}");
	search_proposal_free(&p);
}

static void infeasible_reasons_have_the_numbers(void **state)
{
	struct search_spec s;
	struct search_cost c = {0};
	char out[512];

	assert_int_equal(searchtest_spec("", &s), 0);
	c.macs = 123400000;
	c.sram = 422400;   /* 412.5 KB */
	c.flash = 1258292; /* 1.2 MB */
	assert_int_equal(search_cost_excess(&s, &c, out, sizeof out), 1);
	assert_string_equal(out,
			    "max_macs: 123.4 M exceeds the limit of 100 M by "
			    "23.4%; max_sram: 412.5 KB exceeds the limit of "
			    "320 KB by 28.9%; max_flash: 1.2 MB exceeds the "
			    "limit of 1 MB by 20.0%");
	/* within the limits: no text */
	c.macs = 100000000;
	c.sram = 327680;
	c.flash = 1048576;
	assert_int_equal(search_cost_excess(&s, &c, out, sizeof out), 0);
	assert_string_equal(out, "");
	/* too close to tell apart in units: exact counts */
	c.macs = 100000001;
	assert_int_equal(search_cost_excess(&s, &c, out, sizeof out), 1);
	assert_string_equal(out, "max_macs: 100000001 exceeds the limit of "
				 "100000000 by 1e-06%");
	/* no limit, no excess */
	assert_int_equal(searchtest_spec("'constraints': {'target': null}", &s),
			 0);
	c.macs = 1ULL << 40;
	assert_int_equal(search_cost_excess(&s, &c, out, sizeof out), 0);
	search_format_macs(2.5e6, out, sizeof out);
	assert_string_equal(out, "2.5 M");
	search_format_bytes(2048, out, sizeof out);
	assert_string_equal(out, "2 KB");
	search_format_bytes(3 * 1048576.0, out, sizeof out);
	assert_string_equal(out, "3 MB");
}

/* End to end: a wide 160x160 network is over the H743 limits, never
 * trained, and the reason carries its costed numbers. */
static void infeasible_proposal(void **state)
{
	struct search_spec s;
	struct search_proposal p;
	struct arch a;
	char want[512];

	assert_int_equal(searchtest_spec("", &s), 0);
	ok_arch(&a);
	a.resolution = 160;
	a.stages[0].stride = 1;
	a.stages[0].out = 160;
	check(&s, NULL, &a, &p);
	assert_int_equal(p.verdict, SEARCH_VERDICT_INFEASIBLE);
	assert_int_equal(p.have_cost, 1);
	assert_true(p.cost.sram > 320 * 1024);
	assert_int_equal(search_cost_excess(&s, &p.cost, want, sizeof want), 1);
	assert_string_equal(p.reason, want);
	assert_non_null(strstr(p.reason, "max_sram: "));
	/* 160x160x160 int8 activations alone are 4000 KB */
	assert_non_null(
	    strstr(p.reason, " KB exceeds the limit of 320 KB by "));
	search_proposal_free(&p);
}

static void duplicates_name_the_candidate(void **state)
{
	struct search_spec s;
	struct search_proposal p;
	struct search_seen known, batch;
	struct arch a;
	char hash[65], err[CORE_ERR_LEN];

	assert_int_equal(searchtest_spec("", &s), 0);
	ok_arch(&a);
	assert_int_equal(arch_hash(&a, hash), CORE_OK);
	search_seen_init(&known);
	search_seen_init(&batch);
	assert_int_equal(search_seen_add(&known, hash, 17), CORE_OK);
	/* the same network under another name and field order */
	snprintf(a.name, sizeof a.name, "renamed");
	check(&s, &known, &a, &p);
	assert_int_equal(p.verdict, SEARCH_VERDICT_DUPLICATE);
	assert_int_equal(p.duplicate_of, 17);
	assert_string_equal(p.reason, "duplicate of candidate 17");
	assert_int_equal(p.have_cost, 1);
	search_proposal_free(&p);
	/* of an earlier proposal of the batch */
	assert_int_equal(search_seen_add(&batch, hash, 2), CORE_OK);
	assert_int_equal(
	    search_check_arch(&s, NULL, &batch, &a, &p, err, sizeof err),
	    CORE_OK);
	assert_int_equal(p.verdict, SEARCH_VERDICT_DUPLICATE);
	assert_int_equal(p.duplicate_of, -1);
	assert_int_equal(p.duplicate_index, 2);
	assert_string_equal(p.reason, "duplicate of proposal 2 of this round");
	search_proposal_free(&p);
	search_seen_free(&known);
	search_seen_free(&batch);
}

static void the_set_of_known_hashes(void **state)
{
	struct search_seen s;
	char h[65];
	long id = 0;
	int zero = 0;

	search_seen_init(&s);
	assert_int_equal(search_seen_find(&s, "x", &id), 0);
	for (int i = 0; i < 3000; i++) {
		core_sha256_hex(&i, sizeof i, h);
		assert_int_equal(search_seen_add(&s, h, i), CORE_OK);
	}
	assert_int_equal(s.n, 3000);
	assert_true(s.cap >= 6000);
	for (int i = 0; i < 3000; i++) {
		core_sha256_hex(&i, sizeof i, h);
		assert_int_equal(search_seen_find(&s, h, &id), 1);
		assert_int_equal(id, i);
	}
	core_sha256_hex("other", 5, h);
	assert_int_equal(search_seen_find(&s, h, NULL), 0);
	/* the first id stays */
	core_sha256_hex(&zero, sizeof zero, h);
	assert_int_equal(search_seen_add(&s, h, 99), CORE_ERR_CONFLICT);
	assert_int_equal(search_seen_find(&s, h, &id), 1);
	assert_int_equal(id, 0);
	assert_int_equal(search_seen_add(&s, "ABC", 1), CORE_ERR_INVALID);
	memset(h, 'G', 64);
	assert_int_equal(search_seen_add(&s, h, 1), CORE_ERR_INVALID);
	search_seen_free(&s);
	/* growing fails cleanly */
	search_seen_init(&s);
	core_sha256_hex("a", 1, h);
	core_alloc_fail_after(0);
	assert_int_equal(search_seen_add(&s, h, 1), CORE_ERR_NOMEM);
	core_alloc_fail_after(-1);
	assert_int_equal(s.n, 0);
	assert_int_equal(search_seen_add(&s, h, 1), CORE_OK);
	search_seen_free(&s);
}

/* ---- replies ----------------------------------------------------------------
 */

static enum core_status parse(const struct search_spec *s,
			      const struct search_seen *known,
			      struct search_seen *batch, const char *text,
			      int max, struct search_proposals *ps, char *err)
{
	char *q = strdup(archtest_q(text));
	enum core_status rc;

	assert_non_null(q);
	rc = search_parse_reply(s, known, batch, q, strlen(q), max, ps, err,
				CORE_ERR_LEN);
	free(q);
	return rc;
}

static void reply_with_candidates(void **state)
{
	struct search_spec s;
	struct search_proposals ps;
	char err[CORE_ERR_LEN], doc[8192];

	assert_int_equal(searchtest_spec("", &s), 0);
	search_proposals_init(&ps);
	snprintf(
	    doc, sizeof doc,
	    "{'candidates': [{'rationale': 'small and\\nsafe', 'arch': %s, "
	    "'expected_accuracy': 0.6}, {'rationale': 'again', 'arch': %s}, "
	    "'oops', {'rationale': 'no arch'}, {'rationale': 7, 'arch': "
	    "%s}, {'rationale': 'bare', 'format': 'lmnas-arch/1'}], "
	    "'note': 'ignored'}",
	    ARCH_OK, ARCH_OK, ARCH_OK);
	assert_int_equal(parse(&s, NULL, NULL, doc, 4, &ps, err), CORE_OK);
	assert_int_equal(ps.n, 6);
	assert_int_equal(ps.v[0].verdict, SEARCH_VERDICT_OK);
	assert_int_equal(ps.v[0].index, 0);
	assert_int_equal(ps.v[0].source, SEARCH_SOURCE_LLM);
	/* control characters become spaces */
	assert_string_equal(ps.v[0].rationale, "small and safe");
	assert_int_equal(ps.v[1].verdict, SEARCH_VERDICT_DUPLICATE);
	assert_string_equal(ps.v[1].reason,
			    "duplicate of candidates[0] of this reply");
	assert_int_equal(ps.v[1].duplicate_index, 0);
	assert_int_equal(ps.v[2].verdict, SEARCH_VERDICT_MALFORMED);
	assert_string_equal(ps.v[2].reason,
			    "expected an object {\"rationale\", "
			    "\"arch\"}, got string");
	assert_int_equal(ps.v[3].verdict, SEARCH_VERDICT_MALFORMED);
	assert_string_equal(ps.v[3].reason, "no \"arch\" member");
	assert_string_equal(ps.v[3].rationale, "no arch");
	assert_int_equal(ps.v[4].verdict, SEARCH_VERDICT_MALFORMED);
	assert_string_equal(ps.v[4].reason,
			    "beyond the 4 candidates asked for (ignored)");
	assert_int_equal(ps.v[5].verdict, SEARCH_VERDICT_MALFORMED);
	assert_int_equal(search_proposals_count(&ps, SEARCH_VERDICT_OK), 1);
	search_proposals_free(&ps);
	/* with room for them: a rationale of the wrong type, a bare arch
	 * (its rationale taken out), invalid */
	assert_int_equal(parse(&s, NULL, NULL, doc, 10, &ps, err), CORE_OK);
	assert_string_equal(ps.v[4].reason,
			    "rationale: expected a string, got integer");
	assert_int_equal(ps.v[5].verdict, SEARCH_VERDICT_INVALID);
	assert_string_equal(ps.v[5].rationale, "bare");
	assert_string_equal(
	    ps.v[5].reason,
	    "input: required; stages: required; head: required");
	search_proposals_free(&ps);
}

static void other_reply_shapes(void **state)
{
	struct search_spec s;
	struct search_proposals ps;
	struct search_seen batch;
	char err[CORE_ERR_LEN], doc[8192];

	assert_int_equal(searchtest_spec("", &s), 0);
	search_proposals_init(&ps);
	/* a bare array of entries */
	snprintf(doc, sizeof doc, "[{'rationale': 'r', 'arch': %s}]", ARCH_OK);
	assert_int_equal(parse(&s, NULL, NULL, doc, 4, &ps, err), CORE_OK);
	assert_int_equal(ps.n, 1);
	assert_int_equal(ps.v[0].verdict, SEARCH_VERDICT_OK);
	search_proposals_free(&ps);
	/* an architecture alone */
	assert_int_equal(parse(&s, NULL, NULL, ARCH_OK, 4, &ps, err), CORE_OK);
	assert_int_equal(ps.n, 1);
	assert_int_equal(ps.v[0].verdict, SEARCH_VERDICT_OK);
	assert_string_equal(ps.v[0].rationale, "");
	/* a second reply in the same batch repeats it */
	search_seen_init(&batch);
	assert_int_equal(search_seen_add(&batch, ps.v[0].hash, 0), CORE_OK);
	snprintf(doc, sizeof doc, "{'candidates': [%s]}", ARCH_OK);
	assert_int_equal(parse(&s, NULL, &batch, doc, 4, &ps, err), CORE_OK);
	assert_int_equal(ps.n, 2);
	assert_int_equal(ps.v[1].verdict, SEARCH_VERDICT_DUPLICATE);
	assert_string_equal(ps.v[1].reason, "duplicate of a candidate already "
					    "accepted this round");
	search_seen_free(&batch);
	search_proposals_free(&ps);
}

static void reply_level_errors(void **state)
{
	struct search_spec s;
	struct search_proposals ps;
	char err[CORE_ERR_LEN], *big;
	const struct {
		const char *doc, *err;
	} cases[] = {
	    {"{'candidates': ", "not valid JSON (line 1, column 15)"},
	    {"42", "expected {\"candidates\": [...]}, got integer"},
	    {"{'answer': []}",
	     "expected {\"candidates\": [...]}, got an object "
	     "without \"candidates\""},
	    {"{'candidates': {'a': 1}}",
	     "\"candidates\" must be an array, got object"},
	    {"{'candidates': []}", "the reply holds no candidates"},
	    {"[]", "the reply holds no candidates"},
	    {"{'candidates': [], 'candidates': [1]}", "duplicate object key"},
	};

	assert_int_equal(searchtest_spec("", &s), 0);
	search_proposals_init(&ps);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(
		    parse(&s, NULL, NULL, cases[i].doc, 4, &ps, err),
		    CORE_ERR_INVALID);
		if (!strstr(err, cases[i].err))
			fail_msg("case %zu: '%s' lacks '%s'", i, err,
				 cases[i].err);
		assert_int_equal(ps.n, 0);
	}
	big = malloc(SEARCH_REPLY_MAX_BYTES + 2);
	assert_non_null(big);
	memset(big, ' ', SEARCH_REPLY_MAX_BYTES + 1);
	big[0] = '[';
	big[SEARCH_REPLY_MAX_BYTES] = ']';
	big[SEARCH_REPLY_MAX_BYTES + 1] = '\0';
	assert_int_equal(search_parse_reply(&s, NULL, NULL, big,
					    SEARCH_REPLY_MAX_BYTES + 1, 4, &ps,
					    err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "bytes, at most"));
	free(big);
}

/* Hundreds of entries: a few reported, the rest dropped unseen. */
static void flooded_reply(void **state)
{
	struct search_spec s;
	struct search_proposals ps;
	char err[CORE_ERR_LEN];
	char *doc = malloc(64 * 1024);
	size_t used = 0;

	assert_non_null(doc);
	assert_int_equal(searchtest_spec("", &s), 0);
	search_proposals_init(&ps);
	used += (size_t)sprintf(doc, "[");
	for (int i = 0; i < 500; i++)
		used += (size_t)sprintf(doc + used, "%s%d", i ? "," : "", i);
	sprintf(doc + used, "]");
	assert_int_equal(search_parse_reply(&s, NULL, NULL, doc, strlen(doc), 4,
					    &ps, err, sizeof err),
			 CORE_OK);
	assert_int_equal(ps.n, 4 + SEARCH_REPLY_EXTRA_REPORTED);
	search_proposals_free(&ps);
	free(doc);
}

static void rationale_is_capped(void **state)
{
	struct search_spec s;
	struct search_proposals ps;
	char err[CORE_ERR_LEN], *doc = malloc(16384), *r = malloc(4000);
	size_t n;

	assert_non_null(doc);
	assert_non_null(r);
	assert_int_equal(searchtest_spec("", &s), 0);
	search_proposals_init(&ps);
	/* 1998 bytes of two-byte characters: the cut keeps whole ones */
	for (n = 0; n < 1998; n += 2)
		memcpy(r + n, "\xc3\xa9", 2);
	r[n] = '\0';
	snprintf(doc, 16384,
		 "{\"candidates\":[{\"rationale\":\"%s\",\"arch\":%s}]}", r,
		 archtest_q(ARCH_OK));
	assert_int_equal(search_parse_reply(&s, NULL, NULL, doc, strlen(doc), 4,
					    &ps, err, sizeof err),
			 CORE_OK);
	n = strlen(ps.v[0].rationale);
	assert_true(n < SEARCH_RATIONALE_MAX);
	assert_string_equal(ps.v[0].rationale + n - 3, "...");
	assert_int_equal((n - 3) % 2, 0); /* no half character */
	search_proposals_free(&ps);
	free(doc);
	free(r);
}

static void reply_allocation_failures(void **state)
{
	struct search_spec s;
	struct search_proposals ps;
	char err[CORE_ERR_LEN], doc[8192], *q;
	int n;

	assert_int_equal(searchtest_spec("", &s), 0);
	snprintf(doc, sizeof doc, "[{'rationale': 'r', 'arch': %s}, 5, %s]",
		 ARCH_OK, ARCH_OK);
	q = strdup(archtest_q(doc));
	assert_non_null(q);
	search_proposals_init(&ps);
	for (n = 0;; n++) {
		enum core_status rc;

		core_alloc_fail_after(n);
		rc = search_parse_reply(&s, NULL, NULL, q, strlen(q), 4, &ps,
					err, sizeof err);
		core_alloc_fail_after(-1);
		if (rc == CORE_OK)
			break;
		assert_int_equal(rc, CORE_ERR_NOMEM);
		assert_int_equal(ps.n, 0);
	}
	assert_true(n > 5);
	assert_int_equal(ps.n, 3);
	assert_int_equal(ps.v[2].verdict, SEARCH_VERDICT_DUPLICATE);
	search_proposals_free(&ps);
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(a_good_proposal),
	    cmocka_unit_test(invalid_proposals),
	    cmocka_unit_test(outside_the_space_or_the_task),
	    cmocka_unit_test(infeasible_reasons_have_the_numbers),
	    cmocka_unit_test(infeasible_proposal),
	    cmocka_unit_test(duplicates_name_the_candidate),
	    cmocka_unit_test(the_set_of_known_hashes),
	    cmocka_unit_test(reply_with_candidates),
	    cmocka_unit_test(other_reply_shapes),
	    cmocka_unit_test(reply_level_errors),
	    cmocka_unit_test(flooded_reply),
	    cmocka_unit_test(rationale_is_capped),
	    cmocka_unit_test(reply_allocation_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
