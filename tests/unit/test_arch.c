/* SPDX-License-Identifier: Apache-2.0 */
/* test_arch.c - arch parsing: field-path errors (one test per error class),
 * hostile input, cross-field limits, validation of code-built records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four above, which it needs */

#include "../support/archtest.h"
#include "arch/arch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXAMPLE archtest_example

static struct core_field_errors fe;
static struct arch A;

/* Test documents are written with ' for " to stay readable. */
#define q(s)			  archtest_q(s)
#define reason(field)		  archtest_reason(&fe, field)
#define dump_errors()		  archtest_dump(&fe)
#define assert_error(field, text) archtest_assert_error(&fe, field, text)
#define assert_error_contains(field, text)                                     \
	archtest_assert_error_contains(&fe, field, text)
#define assert_only_error(field, text)                                         \
	archtest_assert_only_error(&fe, field, text)

static enum core_status parse(const char *text)
{
	return arch_parse(text, strlen(text), &A, &fe);
}

static enum core_status parse_q(const char *s)
{
	return parse(q(s));
}

/* A valid document around a list of stages. */
#define DOC(stages)                                                            \
	"{'format':'lmnas-arch/1','input':{'resolution':64},'stages':[" stages \
	"],'head':{'classes':10}}"
#define ST "{'block':'dwsep','out':16,'layers':1,'kernel':3}"

/* ---- parsing: the good cases ------------------------------------------- */

static void parses_the_example(void **state)
{
	assert_int_equal(parse(EXAMPLE), CORE_OK);
	assert_int_equal(fe.n, 0);
	assert_string_equal(A.name, "optional label");
	assert_int_equal(A.resolution, 160);
	assert_int_equal(A.channels, 3);
	assert_false(A.stem.present);
	assert_int_equal(A.nstages, 2);
	assert_int_equal(A.stages[0].block, ARCH_BLOCK_DWSEP);
	assert_int_equal(A.stages[0].expand, 3); /* kept, though ignored */
	assert_int_equal(A.stages[0].act, ARCH_ACT_RELU6);
	assert_int_equal(A.stages[1].block, ARCH_BLOCK_MBCONV);
	assert_int_equal(A.stages[1].out, 48);
	assert_int_equal(A.stages[1].kernel, 5);
	assert_true(A.stages[1].se == 0.25);
	assert_int_equal(A.stages[1].skip, ARCH_SKIP_RESIDUAL);
	assert_int_equal(A.stages[1].act, ARCH_ACT_LEAKYRELU);
	assert_true(A.dropout == 0.05);
	assert_int_equal(A.classes, 100);
	assert_int_equal(arch_stage_in_channels(&A, 0), 3);
	assert_int_equal(arch_stage_in_channels(&A, 1), 16);
	assert_int_equal(arch_stage_in_channels(&A, 2), 48);
}

static void fills_defaults(void **state)
{
	assert_int_equal(parse_q(DOC(ST)), CORE_OK);
	assert_string_equal(A.name, "");
	assert_int_equal(A.channels, 3);
	assert_false(A.stem.present);
	assert_int_equal(A.stages[0].stride, 1);
	assert_int_equal(A.stages[0].expand, 1);
	assert_true(A.stages[0].se == 0.0);
	assert_int_equal(A.stages[0].skip, ARCH_SKIP_NONE);
	assert_int_equal(A.stages[0].act, ARCH_ACT_RELU6);
	assert_true(A.dropout == 0.0);

	assert_int_equal(parse_q("{'format':'lmnas-arch/1','input':{"
				 "'resolution':64},'stem':{'out':24},"
				 "'stages':[" ST "],'head':{'classes':10}}"),
			 CORE_OK);
	assert_true(A.stem.present);
	assert_int_equal(A.stem.out, 24);
	assert_int_equal(A.stem.kernel, 3);
	assert_int_equal(A.stem.stride, 2);
	assert_int_equal(A.stem.act, ARCH_ACT_RELU6);
	assert_int_equal(arch_stage_in_channels(&A, 0), 24);
}

static void names_round_trip(void **state)
{
	enum arch_act act;
	enum arch_block block;
	enum arch_skip skip;

	for (int i = 0; i < ARCH_ACT_COUNT; i++) {
		assert_int_equal(arch_act_parse(arch_act_name(i), &act),
				 CORE_OK);
		assert_int_equal(act, i);
	}
	assert_int_equal(arch_block_parse("mbconv", &block), CORE_OK);
	assert_int_equal(block, ARCH_BLOCK_MBCONV);
	assert_int_equal(arch_skip_parse("residual", &skip), CORE_OK);
	assert_int_equal(skip, ARCH_SKIP_RESIDUAL);
	assert_int_equal(arch_act_parse("ReLU", &act), CORE_ERR_INVALID);
	assert_int_equal(arch_act_parse(NULL, &act), CORE_ERR_INVALID);
	assert_int_equal(arch_block_parse("convnext", &block),
			 CORE_ERR_INVALID);
	assert_int_equal(arch_skip_parse("dense", &skip), CORE_ERR_INVALID);
	assert_string_equal(arch_act_name((enum arch_act)99), "unknown");
	assert_string_equal(arch_block_name((enum arch_block) - 1), "unknown");
	assert_string_equal(arch_skip_name((enum arch_skip)2), "unknown");
}

/* ---- parsing: one test per error class --------------------------------- */

static void error_kernel_not_odd(void **state)
{
	assert_int_equal(
	    parse_q(DOC(ST "," ST ",{'block':'dwsep','out':16,'layers':1,"
			   "'kernel':4}")),
	    CORE_ERR_INVALID);
	assert_only_error("stages[2].kernel", "4 is not odd");
	parse_q(DOC("{'block':'dwsep','out':16,'layers':1,'kernel':13}"));
	assert_only_error("stages[0].kernel", "13 is outside 1..11");
}

static void error_unknown_enum_value(void **state)
{
	assert_int_equal(parse_q(DOC("{'block':'convnext','out':16,'layers':"
				     "1,'kernel':3}")),
			 CORE_ERR_INVALID);
	assert_only_error("stages[0].block",
			  "'convnext' is not one of dwsep, mbconv");
	parse_q(DOC("{'block':'dwsep','out':16,'layers':1,'kernel':3,"
		    "'act':'gelu','skip':'dense'}"));
	assert_int_equal(fe.n, 2);
	assert_error("stages[0].act", "'gelu' is not one of relu, relu6, "
				      "leakyrelu, swish, hswish");
	assert_error("stages[0].skip", "'dense' is not one of none, residual");
}

static void error_out_of_range(void **state)
{
	assert_int_equal(parse_q("{'format':'lmnas-arch/1','input':{"
				 "'resolution':1000000,'channels':17},"
				 "'stages':[" ST "],'head':{'classes':1,"
				 "'dropout':1}}"),
			 CORE_ERR_INVALID);
	assert_int_equal(fe.n, 4);
	assert_error("input.resolution", "1000000 is outside 8..512");
	assert_error("input.channels", "17 is outside 1..16");
	assert_error("head.classes", "1 is outside 2..10000");
	assert_error("head.dropout", "1 is outside [0, 1)");
	parse_q(DOC("{'block':'mbconv','out':0,'layers':17,'kernel':3,"
		    "'stride':3,'expand':9,'se':1.5}"));
	assert_int_equal(fe.n, 5);
	assert_error("stages[0].out", "0 is outside 1..2048");
	assert_error("stages[0].layers", "17 is outside 1..16");
	assert_error("stages[0].stride", "3 is outside 1..2");
	assert_error("stages[0].expand", "9 is outside 1..8");
	assert_error("stages[0].se", "1.5 is outside [0, 1]");
	parse_q(DOC("{'block':'dwsep','out':16,'layers':1,'kernel':3,"
		    "'se':-0.25}"));
	assert_only_error("stages[0].se", "-0.25 is outside [0, 1]");
	/* Rounded to 6 decimals first: 0.9999999 is 1. */
	parse_q("{'format':'lmnas-arch/1','input':{'resolution':64},"
		"'stages':[" ST "],'head':{'classes':10,'dropout':0.9999999}}");
	assert_only_error("head.dropout",
			  "0.9999999 (to 6 decimals) is outside [0, 1)");
}

static void error_wrong_types(void **state)
{
	assert_int_equal(
	    parse_q(DOC(ST ",{'block':'dwsep','out':'16','layers':true,"
			   "'kernel':3.0,'stride':null,'se':'0.25',"
			   "'act':3}")),
	    CORE_ERR_INVALID);
	assert_int_equal(fe.n, 6);
	assert_error("stages[1].out", "expected an integer, got string");
	assert_error("stages[1].layers", "expected an integer, got boolean");
	assert_error("stages[1].kernel", "expected an integer, got real");
	assert_error("stages[1].stride", "expected an integer, got null");
	assert_error("stages[1].se", "expected a number, got string");
	assert_error("stages[1].act", "expected a string, got integer");

	parse_q("{'format':1,'name':[],'input':[],'stem':'yes','stages':{},"
		"'head':7}");
	assert_int_equal(fe.n, 6);
	assert_error("format", "expected a string, got integer");
	assert_error("name", "expected a string, got array");
	assert_error("input", "expected an object, got array");
	assert_error("stem", "expected an object or null, got string");
	assert_error("stages", "expected an array, got object");
	assert_error("head", "expected an object, got integer");

	parse_q(DOC(ST ",[],3"));
	assert_int_equal(fe.n, 2);
	assert_error("stages[1]", "expected an object, got array");
	assert_error("stages[2]", "expected an object, got integer");
}

static void error_unknown_fields(void **state)
{
	assert_int_equal(
	    parse_q("{'format':'lmnas-arch/1','input':{'resolution':64,"
		    "'depth':3},'stages':[{'block':'dwsep','out':16,"
		    "'layers':1,'kernal':3}],'head':{'classes':10},"
		    "'optimizer':'sgd','stem':{'out':8,'pad':1}}"),
	    CORE_ERR_INVALID);
	assert_int_equal(fe.n, 5);
	assert_error("stages[0].kernal", "unknown field");
	assert_error("stages[0].kernel", "required");
	assert_error("input.depth", "unknown field");
	assert_error("optimizer", "unknown field");
	assert_error("stem.pad", "unknown field");
}

static void error_missing_required(void **state)
{
	assert_int_equal(parse_q("{}"), CORE_ERR_INVALID);
	assert_int_equal(fe.n, 4);
	assert_error("format", "required");
	assert_error("input", "required");
	assert_error("stages", "required");
	assert_error("head", "required");

	parse_q("{'format':'lmnas-arch/1','input':{},'stem':{},'stages':[{}],"
		"'head':{}}");
	assert_int_equal(fe.n, 7);
	assert_error("input.resolution", "required");
	assert_error("stem.out", "required");
	assert_error("stages[0].block", "required");
	assert_error("stages[0].out", "required");
	assert_error("stages[0].layers", "required");
	assert_error("stages[0].kernel", "required");
	assert_error("head.classes", "required");

	/* expand: required for mbconv only. */
	parse_q(DOC("{'block':'mbconv','out':16,'layers':1,'kernel':3}"));
	assert_only_error("stages[0].expand", "required");
	assert_int_equal(parse_q(DOC(ST)), CORE_OK);
}

static void error_format_and_stage_count(void **state)
{
	assert_int_equal(parse_q("{'format':'lmnas-arch/2','input':{"
				 "'resolution':64},'stages':[],'head':{"
				 "'classes':10}}"),
			 CORE_ERR_INVALID);
	assert_int_equal(fe.n, 2);
	assert_error("format", "'lmnas-arch/2' is not lmnas-arch/1");
	assert_error("stages", "must not be empty");

	/* 13 stages: reported once; the first 12 are still checked. */
	parse_q(DOC(ST "," ST "," ST "," ST "," ST "," ST "," ST "," ST "," ST
		       "," ST ",{'block':'x','out':16,'layers':1,"
		       "'kernel':3}," ST "," ST));
	assert_int_equal(fe.n, 2);
	assert_error("stages", "13 entries, at most 12");
	assert_error("stages[10].block", "'x' is not one of dwsep, mbconv");
}

static void error_collects_all_within_bound(void **state)
{
	const char *bad = "{'block':'dwsep','out':16,'layers':1,'kernel':3,"
			  "'a':1,'b':2,'c':3}";
	char doc[4096], joined[4096];
	int n = 0;

	n += snprintf(doc + n, sizeof doc - (size_t)n, "%s",
		      "{'format':'lmnas-arch/1','input':{'resolution':64},"
		      "'stages':[");
	for (int i = 0; i < 12; i++)
		n += snprintf(doc + n, sizeof doc - (size_t)n, "%s%s",
			      i ? "," : "", bad);
	snprintf(doc + n, sizeof doc - (size_t)n, "],'head':{'classes':10}}");
	assert_int_equal(parse_q(doc), CORE_ERR_INVALID);
	assert_int_equal(fe.n, CORE_FIELD_ERRORS_MAX);
	assert_int_equal(fe.dropped, 36 - CORE_FIELD_ERRORS_MAX);
	assert_string_equal(fe.e[0].field, "stages[0].a");
	core_field_errors_join(&fe, joined, sizeof joined);
	assert_non_null(strstr(joined, "(and 4 more)"));
}

/* ---- cross-field limits ------------------------------------------------ */

static void error_channels_after_expansion(void **state)
{
	assert_int_equal(
	    parse_q(DOC("{'block':'dwsep','out':512,'layers':1,'kernel':3},"
			"{'block':'mbconv','out':64,'layers':1,'kernel':3,"
			"'expand':8}")),
	    CORE_ERR_INVALID);
	assert_only_error("stages[1].expand",
			  "8 expands 512 channels to 4096, more than 2048");
	/* Later blocks expand `out`: 16 -> 300, 300 * 8 > 2048. */
	parse_q(DOC("{'block':'mbconv','out':300,'layers':2,'kernel':3,"
		    "'expand':8}"));
	assert_only_error("stages[0].expand",
			  "8 expands 300 channels to 2400, more than 2048");
	/* One block: only C_in * expand counts. */
	assert_int_equal(parse_q(DOC("{'block':'mbconv','out':300,'layers':1,"
				     "'kernel':3,'expand':8}")),
			 CORE_OK);
	/* dwsep ignores expand. */
	assert_int_equal(parse_q(DOC("{'block':'dwsep','out':2048,'layers':2,"
				     "'kernel':3,'expand':8}")),
			 CORE_OK);
}

static void error_spatial_collapse(void **state)
{
	const char *s2 = "{'block':'dwsep','out':16,'layers':1,'kernel':3,"
			 "'stride':2}";
	char doc[2048];
	int sizes[ARCH_MAX_STAGES + 1];

	/* 8 -> 4 -> 2 -> 1, then a fourth stride 2. */
	snprintf(doc, sizeof doc,
		 "{'format':'lmnas-arch/1','input':{'resolution':8},'stages':["
		 "%s,%s,%s," ST ",%s,%s],'head':{'classes':10}}",
		 s2, s2, s2, s2, s2);
	assert_int_equal(parse_q(doc), CORE_ERR_INVALID);
	assert_int_equal(fe.n, 2);
	assert_error("stages[4].stride",
		     "the spatial size has collapsed to 1x1 before this stage "
		     "(8 -> 4 -> 2 -> 1), stride 2 has nothing to downsample");
	assert_non_null(reason("stages[5].stride"));
	/* With a stem: 9 -> 5 -> 3 -> 2 -> 1, then a stride 2. */
	snprintf(doc, sizeof doc,
		 "{'format':'lmnas-arch/1','input':{'resolution':9},'stem':{"
		 "'out':8},'stages':[%s,%s,%s,%s],'head':{'classes':10}}",
		 s2, s2, s2, s2);
	parse_q(doc);
	assert_only_error("stages[3].stride",
			  "the spatial size has collapsed to 1x1 before this "
			  "stage (9 -> 5 -> 3 -> 2 -> 1), stride 2 has "
			  "nothing to downsample");
	/* Reaching 1x1 exactly is fine: 32 / 2^5. */
	snprintf(doc, sizeof doc,
		 "{'format':'lmnas-arch/1','input':{'resolution':32},'stages':["
		 "%s,%s,%s,%s,%s],"
		 "'head':{'classes':10}}",
		 s2, s2, s2, s2, s2);
	assert_int_equal(parse_q(doc), CORE_OK);
	assert_int_equal(arch_spatial_sizes(&A, sizes), ARCH_NO_COLLAPSE);
	assert_int_equal(sizes[0], 32);
	assert_int_equal(sizes[5], 1);
	/* Odd sizes round up (pad k/2): 9 -> 5. */
	A.resolution = 9;
	assert_int_equal(arch_spatial_sizes(&A, sizes), 4);
	assert_int_equal(sizes[1], 5);
}

static void cross_field_checks_wait_for_clean_fields(void **state)
{
	/* The expansion would be too wide, but a field error comes first:
	 * only that one is reported. */
	parse_q(DOC("{'block':'dwsep','out':512,'layers':1,'kernel':3},"
		    "{'block':'mbconv','out':64,'layers':1,'kernel':4,"
		    "'expand':8}"));
	assert_only_error("stages[1].kernel", "4 is not odd");
}

/* ---- hostile input ----------------------------------------------------- */

static void hostile_numbers(void **state)
{
	parse_q(DOC("{'block':'dwsep','out':1e300,'layers':1,'kernel':3,"
		    "'se':1e300}"));
	assert_int_equal(fe.n, 2);
	assert_error("stages[0].out", "expected an integer, got real");
	assert_error("stages[0].se", "1e+300 is outside [0, 1]");
	parse_q(DOC("{'block':'dwsep','out':3000000000,'layers':-"
		    "9223372036854775808,'kernel':3,'se':-1e-300}"));
	assert_int_equal(fe.n, 2);
	assert_error("stages[0].out", "3000000000 is outside 1..2048");
	assert_error("stages[0].layers",
		     "-9223372036854775808 is outside 1..16");
	/* Beyond 64 bits and beyond double: refused by the JSON reader. */
	assert_int_equal(parse_q(DOC("{'block':'dwsep','out':"
				     "99999999999999999999,'layers':1,"
				     "'kernel':3}")),
			 CORE_ERR_INVALID);
	assert_error_contains("$", "too big integer");
	parse_q(DOC("{'block':'dwsep','out':16,'layers':1,'kernel':3,"
		    "'se':1e400}"));
	assert_error_contains("$", "real number overflow");
	/* Tiny reals round to 0 and are fine. */
	assert_int_equal(parse_q(DOC("{'block':'dwsep','out':16,'layers':1,"
				     "'kernel':3,'se':-1e-300}")),
			 CORE_OK);
	assert_true(A.stages[0].se == 0.0 && !signbit(A.stages[0].se));
}

static void hostile_nan_like(void **state)
{
	const char *docs[] = {"{'se':NaN}", "{'se':Infinity}", "{'se':-inf}",
			      "{'se':nan}", "{'se':0x10}",     "{'se':.5}",
			      "{'se':+1}",  "{'se':01}"};

	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		assert_int_equal(parse_q(docs[i]), CORE_ERR_INVALID);
		assert_only_error("$", reason("$")); /* a syntax error */
		assert_non_null(strstr(fe.e[0].reason, "line 1"));
	}
}

static void hostile_structure(void **state)
{
	char *big;
	size_t n = 70000;

	/* Non-object roots. */
	assert_int_equal(parse("[1,2]"), CORE_ERR_INVALID);
	assert_only_error("$", "expected an object, got array");
	parse("42");
	assert_only_error("$", "expected an object, got integer");
	parse("\"lmnas-arch/1\"");
	assert_only_error("$", "expected an object, got string");
	parse("null");
	assert_only_error("$", "expected an object, got null");
	/* Empty, truncated, trailing garbage, NUL inside a string. */
	assert_int_equal(arch_parse("", 0, &A, &fe), CORE_ERR_INVALID);
	assert_string_equal(fe.e[0].field, "$");
	parse("{\"format\":");
	assert_string_equal(fe.e[0].field, "$");
	parse("{} {}");
	assert_error_contains("$", "end of file expected");
	assert_int_equal(arch_parse("{\"a\":\"x\0y\"}", 11, &A, &fe),
			 CORE_ERR_INVALID);
	assert_string_equal(fe.e[0].field, "$");
	parse_q("{'name':'\\u0000'}");
	assert_error_contains("$", "\\u0000 is not allowed");
	/* Duplicate keys, also nested. */
	parse_q("{'format':'lmnas-arch/1','format':'lmnas-arch/1'}");
	assert_error_contains("$", "duplicate object key");
	parse_q(DOC("{'block':'dwsep','out':16,'out':32,'layers':1,"
		    "'kernel':3}"));
	assert_error_contains("$", "duplicate object key");
	/* Invalid UTF-8. */
	parse("{\"name\":\"\xff\xfe\"}");
	assert_error_contains("$", "unable to decode byte");
	assert_int_equal(arch_parse(NULL, 0, &A, &fe), CORE_ERR_INVALID);
	/* Too big. */
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "{}", 2);
	big[n] = '\0';
	assert_int_equal(arch_parse(big, n, &A, &fe), CORE_ERR_INVALID);
	assert_only_error("$", "70000 bytes, more than 65536");
	free(big);
}

static void hostile_nesting(void **state)
{
	char doc[65536];
	size_t n = 0;

	/* 8 levels is allowed (and the unknown field is reported)... */
	parse_q("{'format':'lmnas-arch/1','x':[[[[[[[1]]]]]]]}");
	assert_error("x", "unknown field");
	/* ...9 is not. */
	parse_q("{'format':'lmnas-arch/1','x':[[[[[[[[1]]]]]]]]}");
	assert_only_error("$", "nested deeper than 8 levels");
	/* Brackets inside strings do not count. */
	parse_q("{'name':'[[[[[[[[[[{{{{{{{{{{','x':1}");
	assert_null(reason("$"));
	assert_error("x", "unknown field");
	/* 60000 open brackets: refused before the JSON reader sees them. */
	doc[n++] = '{';
	memcpy(doc + n, "\"x\":", 4);
	n += 4;
	while (n < 60000)
		doc[n++] = '[';
	assert_int_equal(arch_parse(doc, n, &A, &fe), CORE_ERR_INVALID);
	assert_only_error("$", "nested deeper than 8 levels");
}

static void hostile_strings(void **state)
{
	char doc[8192], name[300], val[5000];

	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	snprintf(doc, sizeof doc,
		 "{'format':'lmnas-arch/1','name':'%s','input':{"
		 "'resolution':64},'stages':[" ST "],'head':{'classes':10}}",
		 name);
	assert_int_equal(parse_q(doc), CORE_ERR_INVALID);
	assert_only_error("name", "299 bytes, at most 127");
	/* A 127-byte name is fine. */
	name[127] = '\0';
	snprintf(doc, sizeof doc,
		 "{'format':'lmnas-arch/1','name':'%s','input':{"
		 "'resolution':64},'stages':[" ST "],'head':{'classes':10}}",
		 name);
	assert_int_equal(parse_q(doc), CORE_OK);
	assert_int_equal(strlen(A.name), 127);
	/* Control characters in the name. */
	parse(q("{'format':'lmnas-arch/1','name':'a\\nb','input':{"
		"'resolution':64},'stages':[" ST "],'head':{'classes':10}}"));
	assert_only_error("name", "contains a control character at byte 1");
	/* A long enum value is quoted cut and printable; so is a key. */
	memset(val, 'v', sizeof val - 1);
	val[sizeof val - 1] = '\0';
	memcpy(val, "\\u00e9", 6);
	snprintf(doc, sizeof doc,
		 DOC("{'block':'%s','out':16,'layers':1,'kernel':3,"
		     "'\\n%s':1}"),
		 val, "k");
	parse_q(doc);
	assert_int_equal(fe.n, 2);
	assert_error("stages[0].block",
		     "'??vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv...' is not one "
		     "of dwsep, mbconv");
	assert_error("stages[0].?k", "unknown field");
	/* UTF-8 names are fine. */
	assert_int_equal(parse_q("{'format':'lmnas-arch/1','name':'r\\u00e9"
				 "seau \\u4e2d','input':{'resolution':64},"
				 "'stages':[" ST "],'head':{'classes':10}}"),
			 CORE_OK);
	assert_string_equal(A.name, "r\xc3\xa9seau \xe4\xb8\xad");
}

static void from_json_rejects_non_objects(void **state)
{
	json_t *j = json_array();

	assert_int_equal(arch_from_json(NULL, &A, &fe), CORE_ERR_INVALID);
	assert_only_error("$", "expected an object, got nothing");
	assert_int_equal(arch_from_json(j, &A, &fe), CORE_ERR_INVALID);
	assert_only_error("$", "expected an object, got array");
	json_decref(j);
	/* A name with NUL can only come from a json_t built in code. */
	j = json_loads(q(DOC(ST)), 0, NULL);
	assert_non_null(j);
	json_object_set_new(j, "name", json_stringn("a\0b", 3));
	assert_int_equal(arch_from_json(j, &A, &fe), CORE_ERR_INVALID);
	assert_only_error("name", "contains a NUL byte");
	json_decref(j);
}

/* ---- validation of code-built records ---------------------------------- */

static void validate_code_built(void **state)
{
	struct arch a;

	memset(&a, 0, sizeof a);
	assert_int_equal(arch_validate(&a, &fe), CORE_ERR_INVALID);
	assert_int_equal(fe.n, 4);
	assert_error("input.resolution", "0 is outside 8..512");
	assert_error("input.channels", "0 is outside 1..16");
	assert_error("stages", "0 stages is outside 1..12");
	assert_error("head.classes", "0 is outside 2..10000");

	assert_int_equal(parse(EXAMPLE), CORE_OK);
	a = A;
	a.stages[0].block = (enum arch_block)7;
	a.stages[0].skip = (enum arch_skip) - 1;
	a.stages[1].act = (enum arch_act)ARCH_ACT_COUNT;
	a.stages[1].se = NAN;
	a.stages[1].stride = 3;
	a.dropout = -INFINITY;
	a.stem.present = 1; /* with all-zero stem fields */
	a.stem.act = (enum arch_act)9;
	assert_int_equal(arch_validate(&a, &fe), CORE_ERR_INVALID);
	assert_error("stages[0].block", "7 is not a valid block");
	assert_error("stages[0].skip", "-1 is not a valid skip");
	assert_error("stages[1].act", "5 is not a valid activation");
	assert_error("stages[1].se", "nan is outside [0, 1]");
	assert_error("stages[1].stride", "3 is not 1 or 2");
	assert_error("head.dropout", "-inf is outside [0, 1)");
	assert_error("stem.out", "0 is outside 1..2048");
	assert_error("stem.kernel", "0 is outside 1..11");
	assert_error("stem.stride", "0 is not 1 or 2");
	assert_error("stem.act", "9 is not a valid activation");
	assert_int_equal(fe.n, 10);

	a = A;
	for (int i = 2; i < ARCH_MAX_STAGES; i++)
		a.stages[i] = a.stages[1];
	a.nstages = 13;
	assert_int_equal(arch_validate(&a, &fe), CORE_ERR_INVALID);
	assert_only_error("stages", "13 stages is outside 1..12");
	memcpy(a.name, "bad \xc3(", 7);
	a.nstages = 2;
	assert_int_equal(arch_validate(&a, &fe), CORE_ERR_INVALID);
	assert_only_error("name", "is not valid UTF-8");
	memset(a.name, 'x', sizeof a.name); /* no NUL */
	arch_validate(&a, &fe);
	assert_only_error("name", "is not NUL-terminated within 128 bytes");
	assert_int_equal(arch_validate(&A, &fe), CORE_OK);
	assert_int_equal(fe.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_the_example),
	    cmocka_unit_test(fills_defaults),
	    cmocka_unit_test(names_round_trip),
	    cmocka_unit_test(error_kernel_not_odd),
	    cmocka_unit_test(error_unknown_enum_value),
	    cmocka_unit_test(error_out_of_range),
	    cmocka_unit_test(error_wrong_types),
	    cmocka_unit_test(error_unknown_fields),
	    cmocka_unit_test(error_missing_required),
	    cmocka_unit_test(error_format_and_stage_count),
	    cmocka_unit_test(error_collects_all_within_bound),
	    cmocka_unit_test(error_channels_after_expansion),
	    cmocka_unit_test(error_spatial_collapse),
	    cmocka_unit_test(cross_field_checks_wait_for_clean_fields),
	    cmocka_unit_test(hostile_numbers),
	    cmocka_unit_test(hostile_nan_like),
	    cmocka_unit_test(hostile_structure),
	    cmocka_unit_test(hostile_nesting),
	    cmocka_unit_test(hostile_strings),
	    cmocka_unit_test(from_json_rejects_non_objects),
	    cmocka_unit_test(validate_code_built),
	};

	/* Jansson allocates through the core wrappers, so that the fault
	 * injector reaches its allocations too. */
	json_set_alloc_funcs(core_malloc, core_free);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
