/* SPDX-License-Identifier: Apache-2.0 */
/* test_search_spec.c - the job spec: defaults and presets, one test per
 * class of error (unknown, type, range, required, enum, duplicates,
 * hostile documents), the canonical JSON round trip, and the mappings to
 * training and LLM settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "search/search.h"

#include "../support/archtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINIMAL "{'name': 'j', 'dataset': {'path': '/data/c100'}"

/* Parses MINIMAL plus extra members (text after a comma, ' for "). */
static enum core_status parse_with(const char *extra, struct search_spec *s,
				   struct core_field_errors *fe)
{
	char doc[8192];
	const char *q;

	snprintf(doc, sizeof doc, "%s%s%s}", MINIMAL, *extra ? ", " : "",
		 extra);
	q = archtest_q(doc);
	return search_spec_parse(q, strlen(q), s, fe);
}

/* The document must fail with field: reason among its errors. */
static void expect_error(const char *extra, const char *field,
			 const char *reason)
{
	struct search_spec s;
	struct core_field_errors fe;

	assert_int_equal(parse_with(extra, &s, &fe), CORE_ERR_INVALID);
	archtest_assert_error(&fe, field, reason);
}

static void expect_error_contains(const char *extra, const char *field,
				  const char *part)
{
	struct search_spec s;
	struct core_field_errors fe;

	assert_int_equal(parse_with(extra, &s, &fe), CORE_ERR_INVALID);
	archtest_assert_error_contains(&fe, field, part);
}

static void minimal_spec_gets_every_default(void **state)
{
	struct search_spec s;
	struct core_field_errors fe;
	struct space def;
	json_t *a, *b;

	if (parse_with("", &s, &fe))
		archtest_dump(&fe);
	assert_int_equal(parse_with("", &s, &fe), CORE_OK);
	assert_string_equal(s.name, "j");
	assert_string_equal(s.dataset_path, "/data/c100");
	assert_int_equal(s.dataset_kind, DATA_KIND_CIFAR100);
	assert_int_equal(search_spec_classes(&s), 100);
	space_default(&def);
	a = space_to_json(&def);
	b = space_to_json(&s.space);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	assert_string_equal(s.constraints.target, "stm32h743");
	assert_int_equal(s.constraints.max_macs, 100000000);
	assert_int_equal(s.constraints.max_sram, 320 * 1024);
	assert_int_equal(s.constraints.max_flash, 1024 * 1024);
	assert_int_equal(s.proposer, SEARCH_PROPOSER_LLM);
	assert_string_equal(s.llm.base_url, "http://127.0.0.1:11434/v1");
	assert_string_equal(s.llm.api_key_env, "");
	assert_int_equal(s.llm.candidates_per_round, 4);
	assert_int_equal(s.llm.repair_attempts, 2);
	assert_int_equal(s.llm.prompt_token_budget, 6000);
	assert_int_equal(s.evolution.population, 20);
	assert_int_equal(s.evolution.sample_size, 5);
	assert_int_equal(s.budget.rounds, 10);
	assert_int_equal(s.budget.max_candidates, 100);
	assert_int_equal(s.budget.proxy.epochs, 3);
	assert_true(s.budget.proxy.train_fraction == 0.2);
	assert_int_equal(s.budget.proxy.resolution, 0);
	assert_int_equal(s.budget.final.top_k, 3);
	assert_string_equal(s.budget.final.teacher_logits, "");
	assert_true(s.budget.final.kd_alpha0 == 0.5);
	assert_true(s.budget.final.kd_alpha1 < 0);
	assert_int_equal(s.threads, 0);
	assert_int_equal(s.seed, 1);
}

static void presets_and_explicit_limits(void **state)
{
	struct search_spec s;
	struct core_field_errors fe;
	struct search_limits lim;

	assert_int_equal(
	    parse_with("'constraints': {'target': 'stm32f746'}", &s, &fe),
	    CORE_OK);
	assert_int_equal(s.constraints.max_macs, 60000000);
	assert_int_equal(s.constraints.max_sram, 320 * 1024);
	assert_int_equal(
	    parse_with("'constraints': {'target': 'stm32f412'}", &s, &fe),
	    CORE_OK);
	assert_int_equal(s.constraints.max_macs, 30000000);
	assert_int_equal(s.constraints.max_sram, 256 * 1024);
	assert_int_equal(s.constraints.max_flash, 1024 * 1024);
	/* explicit values override the preset; null removes a limit */
	assert_int_equal(parse_with("'constraints': {'target': 'stm32f412', "
				    "'max_macs': 50000000, 'max_flash': null}",
				    &s, &fe),
			 CORE_OK);
	assert_int_equal(s.constraints.max_macs, 50000000);
	assert_int_equal(s.constraints.max_sram, 256 * 1024);
	assert_int_equal(s.constraints.max_flash, 0);
	search_spec_limits(&s, &lim);
	assert_true(lim.max_macs == 5e7 && lim.max_flash == 0);
	/* no target: only what is given */
	assert_int_equal(parse_with("'constraints': {'target': null, "
				    "'max_sram': 65536}",
				    &s, &fe),
			 CORE_OK);
	assert_string_equal(s.constraints.target, "");
	assert_int_equal(s.constraints.max_macs, 0);
	assert_int_equal(s.constraints.max_sram, 65536);
	assert_int_equal(s.constraints.max_flash, 0);
	/* an empty constraints object keeps the default target */
	assert_int_equal(parse_with("'constraints': {}", &s, &fe), CORE_OK);
	assert_int_equal(s.constraints.max_macs, 100000000);
	assert_non_null(search_target_find("stm32h743"));
	assert_null(search_target_find("esp32"));
}

static void every_member_can_be_set(void **state)
{
	struct search_spec s;
	struct core_field_errors fe;
	const char *all =
	    "'dataset': {'kind': 'cifar10', 'path': '/d'}, "
	    "'space': {'format': 'lmnas-space/1', 'resolution': [32, 64]}, "
	    "'proposer': 'evolution', "
	    "'llm': {'base_url': 'https://api.example.com/v1', 'model': 'm', "
	    "'api_key_env': 'LMNAS_KEY', 'temperature': 0, "
	    "'candidates_per_round': 8, 'max_tokens': 0, 'timeout_s': 30, "
	    "'repair_attempts': 0, 'prompt_token_budget': 2048}, "
	    "'evolution': {'population': 10, 'sample_size': 10}, "
	    "'budget': {'rounds': 3, 'max_candidates': 12, "
	    "'proxy': {'epochs': 1, 'train_fraction': 1, 'resolution': 32, "
	    "'batch': 64, 'lr': 0.1}, "
	    "'final': {'top_k': 0, 'epochs': 2, 'teacher_logits': '/t.npy', "
	    "'kd_T': 2, 'kd_alpha': [0.9, 0.1], 'batch': 32, 'lr': 1e-2}}, "
	    "'threads': 2, 'seed': 9007199254740991";
	char doc[4096];
	const char *q;

	/* MINIMAL's dataset would be a duplicate: write the whole thing */
	snprintf(doc, sizeof doc, "{'name': 'all', %s}", all);
	q = archtest_q(doc);
	if (search_spec_parse(q, strlen(q), &s, &fe))
		archtest_dump(&fe);
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe), CORE_OK);
	assert_int_equal(s.dataset_kind, DATA_KIND_CIFAR10);
	assert_int_equal(search_spec_classes(&s), 10);
	assert_int_equal(s.space.resolution.n, 2);
	assert_int_equal(s.proposer, SEARCH_PROPOSER_EVOLUTION);
	assert_string_equal(s.llm.api_key_env, "LMNAS_KEY");
	assert_int_equal(s.llm.max_tokens, 0);
	assert_int_equal(s.evolution.sample_size, 10);
	assert_int_equal(s.budget.proxy.resolution, 32);
	assert_string_equal(s.budget.final.teacher_logits, "/t.npy");
	assert_true(s.budget.final.kd_alpha0 == 0.9);
	assert_true(s.budget.final.kd_alpha1 == 0.1);
	assert_true(s.budget.final.lr == 0.01);
	assert_int_equal(s.seed, 9007199254740991ULL);
}

static void unknown_members(void **state)
{
	expect_error("'nmae': 'x'", "nmae", "unknown field");
	expect_error("'budget': {'proxy': {'epoch': 3}}", "budget.proxy.epoch",
		     "unknown field");
	expect_error("'llm': {'api_key': 'sk-123'}", "llm.api_key",
		     "unknown field");
	expect_error("'constraints': {'max_ram': 1}", "constraints.max_ram",
		     "unknown field");
}

static void wrong_types(void **state)
{
	struct search_spec s;
	struct core_field_errors fe;
	const char *q = archtest_q("{'name': 5, 'dataset': {'path': '/d'}}");

	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe),
			 CORE_ERR_INVALID);
	archtest_assert_only_error(&fe, "name",
				   "expected a string, got integer");
	expect_error("'budget': {'rounds': '3'}", "budget.rounds",
		     "expected an integer, got string");
	expect_error("'budget': {'rounds': 3.0}", "budget.rounds",
		     "expected an integer, got real");
	expect_error("'llm': {'temperature': 'hot'}", "llm.temperature",
		     "expected a number, got string");
	expect_error("'budget': []", "budget", "expected an object, got array");
	expect_error("'constraints': {'max_macs': '100M'}",
		     "constraints.max_macs",
		     "expected an integer or null, got string");
	expect_error("'constraints': {'target': 7}", "constraints.target",
		     "expected a string or null, got integer");
	expect_error("'budget': {'final': {'kd_alpha': 'high'}}",
		     "budget.final.kd_alpha",
		     "expected a number or [a0, a1], got string");
	expect_error("'budget': {'final': {'teacher_logits': false}}",
		     "budget.final.teacher_logits",
		     "expected a string or null, got boolean");
	expect_error("'space': [1]", "space", "expected an object, got array");
}

static void values_out_of_range(void **state)
{
	expect_error("'budget': {'rounds': 0}", "budget.rounds",
		     "0 is outside 1..1000");
	expect_error("'llm': {'temperature': 2.5}", "llm.temperature",
		     "2.5 is outside [0, 2]");
	expect_error("'budget': {'proxy': {'train_fraction': 0}}",
		     "budget.proxy.train_fraction", "0 is outside (0, 1]");
	expect_error("'budget': {'proxy': {'resolution': 4}}",
		     "budget.proxy.resolution", "4 is neither 0 nor in 8..512");
	expect_error("'budget': {'final': {'kd_alpha': 1.5}}",
		     "budget.final.kd_alpha", "1.5 is outside [0, 1]");
	expect_error("'budget': {'final': {'kd_alpha': [0.1]}}",
		     "budget.final.kd_alpha",
		     "1 entries, expected 2 ([a0, a1])");
	expect_error("'budget': {'final': {'kd_alpha': [0.1, 2]}}",
		     "budget.final.kd_alpha[1]", "2 is outside [0, 1]");
	expect_error("'llm': {'candidates_per_round': 33}",
		     "llm.candidates_per_round", "33 is outside 1..32");
	expect_error("'llm': {'prompt_token_budget': 100}",
		     "llm.prompt_token_budget", "100 is outside 1024..1000000");
	expect_error("'constraints': {'max_sram': 0}", "constraints.max_sram",
		     "0 is outside 1..1000000000000000");
	expect_error("'seed': -1", "seed", "-1 is outside 0..9007199254740991");
	expect_error("'seed': 9007199254740992", "seed",
		     "9007199254740992 is outside 0..9007199254740991");
	expect_error("'threads': 100000000000", "threads",
		     "100000000000 is outside 0..256");
	expect_error("'evolution': {'population': 4, 'sample_size': 5}",
		     "evolution.sample_size",
		     "5 is larger than the population (4)");
}

static void required_members(void **state)
{
	struct search_spec s;
	struct core_field_errors fe;
	const char *q = archtest_q("{'dataset': {'kind': 'cifar10'}}");

	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe),
			 CORE_ERR_INVALID);
	archtest_assert_error(&fe, "name", "required");
	archtest_assert_error(&fe, "dataset.path", "required");
	assert_int_equal(fe.n, 2);
	q = archtest_q("{'name': 'x'}");
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe),
			 CORE_ERR_INVALID);
	archtest_assert_only_error(&fe, "dataset", "required");
	q = archtest_q("{'name': '', 'dataset': {'path': '/d'}}");
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe),
			 CORE_ERR_INVALID);
	archtest_assert_only_error(&fe, "name", "must not be empty");
}

static void dataset_by_id_or_name(void **state)
{
	struct search_spec s, b;
	struct core_field_errors fe;
	const char *q = archtest_q("{'name': 'x', 'dataset': {'id': 7}}");
	json_t *j;
	char *text;

	/* a team's dataset needs no path */
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe), CORE_OK);
	assert_int_equal(s.dataset_id, 7);
	/* the canonical form keeps the id (and the path the server wrote) */
	snprintf(s.dataset_path, sizeof s.dataset_path, "/root/datasets/7");
	j = search_spec_to_json(&s);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_int_equal(search_spec_parse(text, strlen(text), &b, &fe),
			 CORE_OK);
	free(text);
	assert_int_equal(b.dataset_id, 7);
	assert_string_equal(b.dataset_path, "/root/datasets/7");
	q = archtest_q("{'name': 'x', 'dataset': {'name': 'parts'}}");
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe), CORE_OK);
	assert_string_equal(s.dataset_name, "parts");
	assert_int_equal(s.dataset_id, 0);
	q = archtest_q("{'name': 'x', 'dataset': {'id': 0}}");
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe),
			 CORE_ERR_INVALID);
	archtest_assert_only_error(&fe, "dataset.id",
				   "0 is outside 1..4611686018427387904");
	q = archtest_q("{'name': 'x', 'dataset': {'id': 'seven'}}");
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe),
			 CORE_ERR_INVALID);
	archtest_assert_only_error(&fe, "dataset.id",
				   "expected an integer, got string");
}

static void names_that_are_not_allowed(void **state)
{
	struct search_spec s;
	struct core_field_errors fe;
	const char *q;

	expect_error("'proposer': 'genetic'", "proposer",
		     "'genetic' is not one of llm, evolution, random");
	q = archtest_q(
	    "{'name': 'x', 'dataset': {'kind': 'imagenet', 'path': '/d'}}");
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe),
			 CORE_ERR_INVALID);
	archtest_assert_only_error(
	    &fe, "dataset.kind",
	    "'imagenet' is not one of cifar10, cifar100, cache");
	expect_error("'constraints': {'target': 'esp32'}", "constraints.target",
		     "'esp32' is not one of stm32h743, stm32f746, stm32f412 "
		     "(or null)");
	expect_error("'llm': {'base_url': 'ftp://host/v1'}", "llm.base_url",
		     "must start with http:// or https://");
	expect_error("'llm': {'base_url': 'http://a b/v1'}", "llm.base_url",
		     "contains a space");
}

/* A key pasted into api_key_env is refused without being quoted back. */
static void api_key_env_is_a_name_not_a_key(void **state)
{
	struct search_spec s;
	struct core_field_errors fe;
	char all[4096];

	assert_int_equal(
	    parse_with("'llm': {'api_key_env': 'sk-proj-SECRET1'}", &s, &fe),
	    CORE_ERR_INVALID);
	archtest_assert_error_contains(&fe, "llm.api_key_env",
				       "must be the name of an environment "
				       "variable");
	core_field_errors_join(&fe, all, sizeof all);
	assert_null(strstr(all, "SECRET1"));
	assert_int_equal(
	    parse_with("'llm': {'api_key_env': '9LIVES'}", &s, &fe),
	    CORE_ERR_INVALID);
	assert_int_equal(parse_with("'llm': {'api_key_env': null}", &s, &fe),
			 CORE_OK);
	assert_string_equal(s.llm.api_key_env, "");
	assert_int_equal(
	    parse_with("'llm': {'api_key_env': '_OPENAI_KEY2'}", &s, &fe),
	    CORE_OK);
}

static void space_errors_carry_the_space_prefix(void **state)
{
	expect_error_contains("'space': {'format': 'lmnas-space/1', "
			      "'kernel': [3, 4]}",
			      "space.kernel[1]", "odd");
	expect_error_contains("'space': {'kernel': [3]}", "space.format",
			      "required");
	expect_error("'space': {'format': 'lmnas-space/1', 'channels': [1]}",
		     "space.channels",
		     "must allow 3 (CIFAR images have 3 channels)");
}

static void strings_are_bounded_and_clean(void **state)
{
	char big[400], extra[600];

	memset(big, 'a', sizeof big);
	big[300] = '\0';
	snprintf(extra, sizeof extra, "'llm': {'model': '%s'}", big);
	expect_error(extra, "llm.model", "300 bytes, at most 127");
	expect_error("'llm': {'model': 'a\\tb'}", "llm.model",
		     "contains a control character at byte 1");
}

static void hostile_documents(void **state)
{
	struct search_spec s;
	struct core_field_errors fe;
	char *doc;
	size_t n = SEARCH_SPEC_MAX_JSON_BYTES + 10;
	const char *q;

	/* duplicate keys (Jansson alone would keep the last) */
	q = archtest_q("{'name': 'a', 'name': 'b', 'dataset': {'path': '/d'}}");
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe),
			 CORE_ERR_INVALID);
	archtest_assert_error_contains(&fe, "$", "duplicate");
	/* too large */
	doc = malloc(n + 1);
	assert_non_null(doc);
	memset(doc, ' ', n);
	memcpy(doc, "{\"name\":\"x\"", 11);
	doc[n - 1] = '}';
	doc[n] = '\0';
	assert_int_equal(search_spec_parse(doc, n, &s, &fe), CORE_ERR_INVALID);
	archtest_assert_error_contains(&fe, "$", "bytes, more than");
	free(doc);
	/* nesting */
	q = "{\"name\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}";
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe),
			 CORE_ERR_INVALID);
	archtest_assert_error_contains(&fe, "$", "nested deeper");
	/* NUL inside a string */
	q = "{\"name\":\"a\\u0000b\",\"dataset\":{\"path\":\"/d\"}}";
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe),
			 CORE_ERR_INVALID);
	/* not JSON, not an object, nothing */
	q = "{\"name\": ";
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe),
			 CORE_ERR_INVALID);
	q = "[1, 2]";
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe),
			 CORE_ERR_INVALID);
	archtest_assert_error_contains(&fe, "$", "expected an object");
	assert_int_equal(search_spec_from_json(NULL, &s, &fe),
			 CORE_ERR_INVALID);
	/* a number beyond double is a syntax error; beyond int64 a range
	 * error before any narrowing */
	expect_error_contains("'threads': 1e400", "$", "real number overflow");
	expect_error("'threads': 1e300", "threads",
		     "expected an integer, got real");
	/* invalid UTF-8 */
	q = "{\"name\":\"\xff\xfe\",\"dataset\":{\"path\":\"/d\"}}";
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe),
			 CORE_ERR_INVALID);
}

/* Many problems: every one reported up to the cap, the rest counted. */
static void many_errors_are_counted(void **state)
{
	struct search_spec s;
	struct core_field_errors fe;
	char doc[8192];
	size_t used;

	used = (size_t)snprintf(doc, sizeof doc, "{\"name\": \"x\"");
	for (int i = 0; i < 50; i++)
		used += (size_t)snprintf(doc + used, sizeof doc - used,
					 ", \"junk%d\": %d", i, i);
	snprintf(doc + used, sizeof doc - used, "}");
	assert_int_equal(search_spec_parse(doc, strlen(doc), &s, &fe),
			 CORE_ERR_INVALID);
	assert_int_equal(fe.n, CORE_FIELD_ERRORS_MAX);
	assert_true(fe.dropped > 0);
}

/* The export section: defaults, every member, and its errors by field. */
static void export_section(void **state)
{
	struct search_spec s;
	struct core_field_errors fe;

	assert_int_equal(parse_with("", &s, &fe), CORE_OK);
	assert_int_equal(s.export.target, CODEGEN_TARGET_STM32H743);
	assert_int_equal(s.export.calibration_images, 500);
	assert_int_equal(s.export.calibration, SEARCH_CALIBRATION_MINMAX);
	assert_int_equal(s.export.test_images, 3);
	assert_int_equal(s.export.eval_images, 1000);
	assert_int_equal(
	    parse_with("'export': {'target': 'qemu', 'calibration_images': 64, "
		       "'calibration': 'percentile', 'percentile': 99.5, "
		       "'test_images': 16, 'eval_images': 0}",
		       &s, &fe),
	    CORE_OK);
	assert_int_equal(s.export.target, CODEGEN_TARGET_QEMU);
	assert_int_equal(s.export.calibration_images, 64);
	assert_int_equal(s.export.calibration, SEARCH_CALIBRATION_PERCENTILE);
	assert_true(s.export.percentile == 99.5);
	assert_int_equal(s.export.test_images, 16);
	assert_int_equal(s.export.eval_images, 0);
	expect_error_contains("'export': {'target': 'esp32'}", "export.target",
			      "esp32");
	expect_error_contains("'export': {'calibration': 'max'}",
			      "export.calibration", "max");
	expect_error_contains("'export': {'calibration_images': 0}",
			      "export.calibration_images", "outside");
	expect_error_contains("'export': {'percentile': 100}",
			      "export.percentile", "100");
	expect_error_contains("'export': {'test_images': 17}",
			      "export.test_images", "outside");
	expect_error_contains("'export': {'eval_images': 10001}",
			      "export.eval_images", "outside");
	expect_error("'export': {'calib': 5}", "export.calib", "unknown field");
}

static void canonical_json_round_trips(void **state)
{
	const char *specs[] = {
	    "",
	    "'constraints': {'target': null, 'max_macs': 1234567}",
	    "'budget': {'final': {'kd_alpha': [0.2, 0.8], "
	    "'teacher_logits': '/t.npy'}}, 'llm': {'api_key_env': 'K'}",
	    /* more digits than the canonical JSON keeps */
	    "'llm': {'temperature': 0.12345678901234567}, 'budget': {'final': "
	    "{'kd_alpha': [0.91111111111111111111, 0.1], 'lr': 3e-7}}",
	    "'space': {'format': 'lmnas-space/1', 'stages': {'min': 2, 'max': "
	    "4}, 'overrides': [{'stage': 0, 'stride': [2]}]}, 'proposer': "
	    "'random'",
	    "'export': {'target': 'qemu', 'calibration': 'percentile', "
	    "'percentile': 99.9, 'calibration_images': 64, 'test_images': 5, "
	    "'eval_images': 0}",
	};

	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
		struct search_spec a, b;
		struct core_field_errors fe;
		json_t *ja, *jb;
		char *text = NULL;

		assert_int_equal(parse_with(specs[i], &a, &fe), CORE_OK);
		ja = search_spec_to_json(&a);
		assert_non_null(ja);
		assert_int_equal(arch_json_dump(ja, 0, &text, NULL), CORE_OK);
		if (search_spec_parse(text, strlen(text), &b, &fe))
			archtest_dump(&fe);
		assert_int_equal(search_spec_parse(text, strlen(text), &b, &fe),
				 CORE_OK);
		jb = search_spec_to_json(&b);
		assert_true(json_equal(ja, jb));
		assert_int_equal(a.constraints.max_macs,
				 b.constraints.max_macs);
		assert_true(a.budget.final.kd_alpha1 ==
			    b.budget.final.kd_alpha1);
		/* every member is written, in the documented order */
		assert_non_null(strstr(text, "{\"name\":"));
		assert_non_null(strstr(text, "\"threads\":0,\"seed\":1}"));
		core_free(text);
		json_decref(ja);
		json_decref(jb);
	}
}

static void train_configs_from_the_spec(void **state)
{
	struct search_spec s;
	struct core_field_errors fe;
	struct train_config c;
	char err[CORE_ERR_LEN];

	assert_int_equal(
	    parse_with("'budget': {'proxy': {'epochs': 2, 'train_fraction': "
		       "0.25, 'resolution': 48, 'batch': 64, 'lr': 0.2}, "
		       "'final': {'epochs': 30, 'teacher_logits': '/t.npy', "
		       "'kd_T': 3, 'kd_alpha': [0.7, 0.3], 'batch': 96, "
		       "'lr': 0.04}}, 'threads': 2, 'seed': 77",
		       &s, &fe),
	    CORE_OK);
	search_spec_train_config(&s, SEARCH_PHASE_PROXY, &c);
	assert_int_equal(train_config_validate(&c, err, sizeof err), CORE_OK);
	assert_string_equal(c.data_dir, "/data/c100");
	assert_int_equal(c.kind, DATA_KIND_CIFAR100);
	assert_int_equal(c.epochs, 2);
	assert_true(c.train_fraction == 0.25);
	assert_int_equal(c.resolution, 48);
	assert_int_equal(c.batch, 64);
	assert_true(c.lr == 0.2);
	assert_null(c.teacher_logits);
	assert_int_equal(c.eval_test, 0);
	assert_int_equal(c.threads, 2);
	assert_int_equal(c.seed, 77);
	search_spec_train_config(&s, SEARCH_PHASE_FINAL, &c);
	assert_int_equal(train_config_validate(&c, err, sizeof err), CORE_OK);
	assert_int_equal(c.epochs, 30);
	assert_true(c.train_fraction == 1.0);
	assert_int_equal(c.resolution, 0);
	assert_string_equal(c.teacher_logits, "/t.npy");
	assert_true(c.kd_temperature == 3);
	assert_true(c.kd_alpha0 == 0.7 && c.kd_alpha1 == 0.3);
	assert_int_equal(c.batch, 96);
	assert_int_equal(c.eval_test, 1);
	/* the smallest settings still validate (warmup fits one epoch) */
	assert_int_equal(
	    parse_with("'budget': {'proxy': {'epochs': 1, 'batch': "
		       "2}, 'final': {'epochs': 1}}",
		       &s, &fe),
	    CORE_OK);
	search_spec_train_config(&s, SEARCH_PHASE_PROXY, &c);
	assert_int_equal(train_config_validate(&c, err, sizeof err), CORE_OK);
	search_spec_train_config(&s, SEARCH_PHASE_FINAL, &c);
	assert_int_equal(train_config_validate(&c, err, sizeof err), CORE_OK);
	assert_null(c.teacher_logits);
}

static void llm_settings_from_the_spec(void **state)
{
	struct search_spec s;
	struct core_field_errors fe;
	struct llm_settings ls;

	assert_int_equal(
	    parse_with("'llm': {'model': 'm1', 'temperature': 0.3, "
		       "'max_tokens': 900, 'timeout_s': 12}",
		       &s, &fe),
	    CORE_OK);
	search_spec_llm_settings(&s, "value", &ls);
	assert_string_equal(ls.base_url, "http://127.0.0.1:11434/v1");
	assert_string_equal(ls.model, "m1");
	assert_string_equal(ls.api_key, "value");
	assert_true(ls.temperature == 0.3);
	assert_int_equal(ls.max_tokens, 900);
	assert_int_equal(ls.timeout_ms, 12000);
	assert_string_equal(search_proposer_kind_name(SEARCH_PROPOSER_RANDOM),
			    "random");
}

static void allocation_failure(void **state)
{
	struct search_spec s;
	struct core_field_errors fe;
	const char *q = archtest_q(MINIMAL "}");

	core_alloc_fail_after(0);
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe),
			 CORE_ERR_NOMEM);
	core_alloc_fail_after(-1);
	assert_int_equal(search_spec_parse(q, strlen(q), &s, &fe), CORE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(minimal_spec_gets_every_default),
	    cmocka_unit_test(presets_and_explicit_limits),
	    cmocka_unit_test(every_member_can_be_set),
	    cmocka_unit_test(unknown_members),
	    cmocka_unit_test(wrong_types),
	    cmocka_unit_test(values_out_of_range),
	    cmocka_unit_test(required_members),
	    cmocka_unit_test(dataset_by_id_or_name),
	    cmocka_unit_test(names_that_are_not_allowed),
	    cmocka_unit_test(api_key_env_is_a_name_not_a_key),
	    cmocka_unit_test(space_errors_carry_the_space_prefix),
	    cmocka_unit_test(strings_are_bounded_and_clean),
	    cmocka_unit_test(hostile_documents),
	    cmocka_unit_test(many_errors_are_counted),
	    cmocka_unit_test(export_section),
	    cmocka_unit_test(canonical_json_round_trips),
	    cmocka_unit_test(train_configs_from_the_spec),
	    cmocka_unit_test(llm_settings_from_the_spec),
	    cmocka_unit_test(allocation_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
