/* test_arch.c - arch: parsing with field-path errors (one test per error
 * class, hostile input), validation of code-built records, canonical form,
 * hash invariance and sensitivity, round trips, allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four above, which it needs */

#include "arch/arch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The example of issue 3. */
static const char EXAMPLE[] =
    "{\"format\": \"lmnas-arch/1\", \"name\": \"optional label\", "
    "\"input\": {\"resolution\": 160, \"channels\": 3}, \"stem\": null,\n"
    " \"stages\": [\n"
    "  {\"block\": \"dwsep\",  \"out\": 16, \"layers\": 2, \"kernel\": 3, "
    "\"stride\": 2, \"expand\": 3, \"se\": 0,    \"skip\": \"none\",     "
    "\"act\": \"relu6\"},\n"
    "  {\"block\": \"mbconv\", \"out\": 48, \"layers\": 2, \"kernel\": 5, "
    "\"stride\": 2, \"expand\": 3, \"se\": 0.25, \"skip\": \"residual\", "
    "\"act\": \"leakyrelu\"}],\n"
    " \"head\": {\"dropout\": 0.05, \"classes\": 100}}";

static const char EXAMPLE_CANONICAL[] =
    "{\"format\":\"lmnas-arch/1\",\"name\":\"optional label\",\"input\":"
    "{\"resolution\":160,\"channels\":3},\"stem\":null,\"stages\":[{"
    "\"block\":\"dwsep\",\"out\":16,\"layers\":2,\"kernel\":3,\"stride\":2,"
    "\"expand\":3,\"se\":0.0,\"skip\":\"none\",\"act\":\"relu6\"},{\"block\":"
    "\"mbconv\",\"out\":48,\"layers\":2,\"kernel\":5,\"stride\":2,\"expand\":"
    "3,\"se\":0.25,\"skip\":\"residual\",\"act\":\"leakyrelu\"}],\"head\":{"
    "\"dropout\":0.05,\"classes\":100}}";

/* sha256 of EXAMPLE_CANONICAL without "name" and with the dwsep stage's
 * expand as 1, i.e. of {"format":"lmnas-arch/1","input":{...},...} as
 * computed independently with Python's hashlib: pinned, since stored
 * candidates are keyed by it. */
static const char EXAMPLE_HASH[] =
    "8b9913e56ee6179981b9da9fd7ee6ac49fa85174b7c0d7be53f7b411d6185fc8";

static struct core_field_errors fe;
static struct arch A;

/* Test documents are written with ' for " to stay readable. */
static const char *q(const char *s)
{
	static char buf[8192];
	size_t n = strlen(s);

	assert_true(n < sizeof buf);
	for (size_t i = 0; i <= n; i++)
		buf[i] = s[i] == '\'' ? '"' : s[i];
	return buf;
}

static enum core_status parse(const char *text)
{
	return arch_parse(text, strlen(text), &A, &fe);
}

static enum core_status parse_q(const char *s)
{
	return parse(q(s));
}

static void dump_errors(void)
{
	for (int i = 0; i < fe.n; i++)
		fprintf(stderr, "  # %s: %s\n", fe.e[i].field, fe.e[i].reason);
}

/* The reason reported for field, or NULL. */
static const char *reason(const char *field)
{
	for (int i = 0; i < fe.n; i++)
		if (strcmp(fe.e[i].field, field) == 0)
			return fe.e[i].reason;
	return NULL;
}

#define assert_error(field, text)                                              \
	do {                                                                   \
		const char *r_ = reason(field);                                \
		if (!r_ || strcmp(r_, text) != 0)                              \
			dump_errors();                                         \
		assert_non_null(r_);                                           \
		assert_string_equal(r_, text);                                 \
	} while (0)

#define assert_error_contains(field, text)                                     \
	do {                                                                   \
		const char *r_ = reason(field);                                \
		if (!r_ || !strstr(r_, text))                                  \
			dump_errors();                                         \
		assert_non_null(r_);                                           \
		assert_non_null(strstr(r_, text));                             \
	} while (0)

#define assert_only_error(field, text)                                         \
	do {                                                                   \
		if (fe.n != 1)                                                 \
			dump_errors();                                         \
		assert_int_equal(fe.n, 1);                                     \
		assert_error(field, text);                                     \
	} while (0)

/* A valid document around a list of stages. */
#define DOC(stages)                                                            \
	"{'format':'lmnas-arch/1','input':{'resolution':64},'stages':[" stages \
	"],'head':{'classes':10}}"
#define ST "{'block':'dwsep','out':16,'layers':1,'kernel':3}"

static void assert_arch_equal(const struct arch *x, const struct arch *y)
{
	assert_string_equal(x->name, y->name);
	assert_int_equal(x->resolution, y->resolution);
	assert_int_equal(x->channels, y->channels);
	assert_int_equal(x->stem.present, y->stem.present);
	if (x->stem.present) {
		assert_int_equal(x->stem.out, y->stem.out);
		assert_int_equal(x->stem.kernel, y->stem.kernel);
		assert_int_equal(x->stem.stride, y->stem.stride);
		assert_int_equal(x->stem.act, y->stem.act);
	}
	assert_int_equal(x->nstages, y->nstages);
	for (int i = 0; i < x->nstages; i++) {
		const struct arch_stage *a = &x->stages[i], *b = &y->stages[i];

		assert_int_equal(a->block, b->block);
		assert_int_equal(a->out, b->out);
		assert_int_equal(a->layers, b->layers);
		assert_int_equal(a->kernel, b->kernel);
		assert_int_equal(a->stride, b->stride);
		assert_int_equal(a->expand, b->expand);
		assert_true(a->se == b->se);
		assert_int_equal(a->skip, b->skip);
		assert_int_equal(a->act, b->act);
	}
	assert_true(x->dropout == y->dropout);
	assert_int_equal(x->classes, y->classes);
}

static void hash_of(const char *text, char hex[65])
{
	struct arch a;

	if (arch_parse(text, strlen(text), &a, &fe) != CORE_OK)
		dump_errors();
	assert_int_equal(arch_parse(text, strlen(text), &a, &fe), CORE_OK);
	assert_int_equal(arch_hash(&a, hex), CORE_OK);
}

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

/* ---- canonical form and hash ------------------------------------------- */

static void canonical_text_is_fixed(void **state)
{
	char *text = NULL;
	size_t len = 0;
	char hex[65];

	assert_int_equal(parse(EXAMPLE), CORE_OK);
	assert_int_equal(arch_to_text(&A, 0, &text, &len), CORE_OK);
	assert_string_equal(text, EXAMPLE_CANONICAL);
	assert_int_equal(len, strlen(EXAMPLE_CANONICAL));
	core_free(text);
	assert_int_equal(arch_to_text(&A, 1, &text, NULL), CORE_OK);
	assert_non_null(strstr(text, "\n  \"input\": {\n    \"resolution\": "
				     "160,\n"));
	core_free(text);
	assert_int_equal(arch_hash(&A, hex), CORE_OK);
	assert_string_equal(hex, EXAMPLE_HASH);
}

static void hash_ignores_order_spacing_defaults_and_spelling(void **state)
{
	char h0[65], h[65];
	const char *variants[] = {
	    /* keys reordered, no whitespace, name dropped */
	    "{'head':{'classes':100,'dropout':0.05},'stages':[{'act':"
	    "'relu6','skip':'none','se':0,'expand':3,'stride':2,'kernel':3,"
	    "'layers':2,'out':16,'block':'dwsep'},{'act':'leakyrelu','skip':"
	    "'residual','se':0.25,'expand':3,'stride':2,'kernel':5,'layers':"
	    "2,'out':48,'block':'mbconv'}],'input':{'channels':3,"
	    "'resolution':160},'format':'lmnas-arch/1'}",
	    /* defaulted fields left out (the dwsep expand too: ignored) */
	    "{'format':'lmnas-arch/1','input':{'resolution':160},'stages':["
	    "{'block':'dwsep','out':16,'layers':2,'kernel':3,'stride':2},"
	    "{'block':'mbconv','out':48,'layers':2,'kernel':5,'stride':2,"
	    "'expand':3,'se':0.25,'skip':'residual','act':'leakyrelu'}],"
	    "'head':{'dropout':0.05,'classes':100}}",
	    /* numbers spelled differently, other name, more whitespace */
	    "\n\t{ 'format' : 'lmnas-arch/1' , 'name' : 'other' ,\n 'input'"
	    ": { 'resolution' : 160 , 'channels' : 3 } , 'stem' : null , "
	    "'stages' : [ { 'block' : 'dwsep' , 'out' : 16 , 'layers' : 2 "
	    ", 'kernel' : 3 , 'stride' : 2 , 'expand' : 1 , 'se' : -0.0 , "
	    "'skip' : 'none' , 'act' : 'relu6' } , { 'block' : 'mbconv' , "
	    "'out' : 48 , 'layers' : 2 , 'kernel' : 5 , 'stride' : 2 , "
	    "'expand' : 3 , 'se' : 2.5e-1 , 'skip' : 'residual' , 'act' : "
	    "'leakyrelu' } ] , 'head' : { 'dropout' : 5E-2 , 'classes' : "
	    "100 } }\n",
	    /* 0.250, 0.0500, 25e-2, 0.2500000001 (rounds to 0.25) */
	    "{'format':'lmnas-arch/1','input':{'resolution':160},'stages':["
	    "{'block':'dwsep','out':16,'layers':2,'kernel':3,'stride':2,"
	    "'se':0.0},{'block':'mbconv','out':48,'layers':2,'kernel':5,"
	    "'stride':2,'expand':3,'se':0.2500000001,'skip':'residual',"
	    "'act':'leakyrelu'}],'head':{'dropout':0.0500,'classes':100}}",
	    "{'format':'lmnas-arch/1','input':{'resolution':160},'stages':["
	    "{'block':'dwsep','out':16,'layers':2,'kernel':3,'stride':2,"
	    "'se':0},{'block':'mbconv','out':48,'layers':2,'kernel':5,"
	    "'stride':2,'expand':3,'se':25e-2,'skip':'residual',"
	    "'act':'leakyrelu'}],'head':{'dropout':0.050,'classes':100}}",
	};

	hash_of(EXAMPLE, h0);
	for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
		hash_of(q(variants[i]), h);
		assert_string_equal(h, h0);
	}
}

static void hash_normalises_ignored_fields(void **state)
{
	char h1[65], h2[65];

	/* dwsep ignores expand. */
	hash_of(q(DOC("{'block':'dwsep','out':16,'layers':2,'kernel':3,"
		      "'expand':6}")),
		h1);
	hash_of(q(DOC("{'block':'dwsep','out':16,'layers':2,'kernel':3}")), h2);
	assert_string_equal(h1, h2);
	/* A residual on one stride-2 block adds nothing. */
	hash_of(q(DOC("{'block':'dwsep','out':16,'layers':1,'kernel':3,"
		      "'stride':2,'skip':'residual'}")),
		h1);
	hash_of(q(DOC("{'block':'dwsep','out':16,'layers':1,'kernel':3,"
		      "'stride':2}")),
		h2);
	assert_string_equal(h1, h2);
	/* ...but on two blocks the second one adds it. */
	hash_of(q(DOC("{'block':'dwsep','out':16,'layers':2,'kernel':3,"
		      "'stride':2,'skip':'residual'}")),
		h1);
	hash_of(q(DOC("{'block':'dwsep','out':16,'layers':2,'kernel':3,"
		      "'stride':2}")),
		h2);
	assert_string_not_equal(h1, h2);
	/* arch_hash does not change its argument. */
	assert_int_equal(parse(EXAMPLE), CORE_OK);
	assert_int_equal(arch_hash(&A, h1), CORE_OK);
	assert_int_equal(A.stages[0].expand, 3);
	assert_string_equal(A.name, "optional label");
}

#define NMUT 22

static void mutate(struct arch *a, int m)
{
	struct arch_stage *s0 = &a->stages[0], *s1 = &a->stages[1];

	switch (m) {
	case 0: a->resolution = 96; break;
	case 1: a->channels = 1; break;
	case 2: a->stem.present = 0; break;
	case 3: a->stem.out = 24; break;
	case 4: a->stem.kernel = 5; break;
	case 5: a->stem.stride = 1; break;
	case 6: a->stem.act = ARCH_ACT_HSWISH; break;
	case 7: s0->block = ARCH_BLOCK_DWSEP; break;
	case 8: s0->out = 48; break;
	case 9: s0->layers = 3; break;
	case 10: s0->kernel = 7; break;
	case 11: s0->stride = 1; break;
	case 12: s0->expand = 6; break;
	case 13: s0->se = 0.5; break;
	case 14: s0->skip = ARCH_SKIP_NONE; break;
	case 15: s0->act = ARCH_ACT_RELU; break;
	case 16: a->dropout = 0.2; break;
	case 17: a->classes = 100; break;
	case 18: a->nstages = 1; break;
	case 19:
		a->stages[2] = *s1;
		a->nstages = 3;
		break;
	case 20: s1->se = 0.000001; break;
	case 21: s1->kernel = 1; break;
	}
}

static void hash_changes_with_every_field(void **state)
{
	static const char base[] =
	    "{'format':'lmnas-arch/1','name':'base','input':{'resolution':"
	    "64,'channels':3},'stem':{'out':16,'kernel':3,'stride':2,'act':"
	    "'relu6'},'stages':[{'block':'mbconv','out':24,'layers':2,"
	    "'kernel':3,'stride':2,'expand':4,'se':0.25,'skip':'residual',"
	    "'act':'swish'},{'block':'dwsep','out':32,'layers':2,'kernel':5,"
	    "'stride':1,'se':0,'skip':'none','act':'relu6'}],'head':{"
	    "'dropout':0.1,'classes':10}}";
	char h0[65], h[NMUT][65];
	struct arch b, m;

	assert_int_equal(parse_q(base), CORE_OK);
	b = A;
	assert_int_equal(arch_hash(&b, h0), CORE_OK);
	m = b;
	snprintf(m.name, sizeof m.name, "renamed");
	assert_int_equal(arch_hash(&m, h[0]), CORE_OK);
	assert_string_equal(h[0], h0);
	for (int i = 0; i < NMUT; i++) {
		m = b;
		mutate(&m, i);
		if (arch_validate(&m, &fe))
			dump_errors();
		assert_int_equal(arch_validate(&m, &fe), CORE_OK);
		assert_int_equal(arch_hash(&m, h[i]), CORE_OK);
		if (strcmp(h[i], h0) == 0)
			fprintf(stderr, "# mutation %d keeps the hash\n", i);
		assert_string_not_equal(h[i], h0);
		for (int k = 0; k < i; k++)
			assert_string_not_equal(h[i], h[k]);
	}
	/* An invalid record has no hash. */
	m = b;
	m.stages[0].kernel = 4;
	assert_int_equal(arch_hash(&m, h[0]), CORE_ERR_INVALID);
	assert_string_equal(h[0], "");
}

static void round_trips(void **state)
{
	const char *docs[] = {EXAMPLE,
			      q("{'format':'lmnas-arch/1','name':'r\\u00e9',"
				"'input':{'resolution':9,'channels':1},'stem':{"
				"'out':8,'kernel':7,'stride':1,'act':'hswish'},"
				"'stages':[{'block':'mbconv','out':2048,"
				"'layers':16,'kernel':11,'stride':2,'expand':1,"
				"'se':0.123456,'skip':'residual','act':'swish'"
				"}],'head':{'dropout':0.999999,'classes':"
				"10000}}")};

	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		struct arch first, second;
		char *text = NULL, *again = NULL;

		assert_int_equal(parse(docs[i]), CORE_OK);
		first = A;
		assert_int_equal(arch_to_text(&first, (int)i, &text, NULL),
				 CORE_OK);
		assert_int_equal(parse(text), CORE_OK);
		second = A;
		assert_arch_equal(&first, &second);
		/* The canonical text is a fixed point. */
		assert_int_equal(arch_to_text(&second, (int)i, &again, NULL),
				 CORE_OK);
		assert_string_equal(text, again);
		core_free(text);
		core_free(again);
	}
	/* Reals keep 6 decimals. */
	assert_true(arch_real_canonical(0.1234567) == 0.123457);
	assert_true(arch_real_canonical(0.25) == 0.25);
	assert_false(signbit(arch_real_canonical(-0.0)));
	assert_true(isnan(arch_real_canonical(NAN)));
	assert_true(arch_real_canonical(1e300) == 1e300);
}

static void json_load_helper(void **state)
{
	json_t *j = NULL;
	char out[48];

	core_field_errors_clear(&fe);
	assert_int_equal(arch_json_load("{\"a\":1}", 7, 6, &j, &fe),
			 CORE_ERR_INVALID);
	assert_null(j);
	assert_only_error("$", "7 bytes, more than 6");
	core_field_errors_clear(&fe);
	assert_int_equal(arch_json_load("{\"a\":1}", 7, 7, &j, &fe), CORE_OK);
	assert_non_null(j);
	assert_int_equal(
	    arch_json_check_keys(j, "p", (const char *[]){"b", NULL}, &fe), 1);
	assert_only_error("p.a", "unknown field");
	json_decref(j);
	arch_json_printable("ok\x01\xc3\xa9", out, sizeof out);
	assert_string_equal(out, "ok???");
	arch_json_printable("", out, sizeof out);
	assert_string_equal(out, "");
	arch_json_printable("abcdef", out, 4);
	assert_string_equal(out, "abc");
}

/* ---- allocation failures ----------------------------------------------- */

static void allocation_failures(void **state)
{
	long n;
	enum core_status rc;
	struct arch a;
	char hex[65], *text;
	json_t *j;

	assert_int_equal(parse(EXAMPLE), CORE_OK);
	a = A;
	for (n = 0;; n++) {
		core_alloc_fail_after(n);
		rc = arch_parse(EXAMPLE, strlen(EXAMPLE), &A, &fe);
		core_alloc_fail_after(-1);
		if (rc == CORE_OK)
			break;
		/* Jansson's lexer turns some of its allocation failures into
		 * an invalid token, i.e. a syntax error at "$" (see
		 * arch_json_load); anything else must be NOMEM. */
		if (rc == CORE_ERR_INVALID)
			assert_only_error("$", reason("$"));
		else
			assert_int_equal(rc, CORE_ERR_NOMEM);
		assert_true(n < 100000);
	}
	assert_true(n > 0);
	assert_arch_equal(&A, &a);
	for (n = 0;; n++) {
		core_alloc_fail_after(n);
		j = arch_to_json(&a);
		core_alloc_fail_after(-1);
		if (j)
			break;
	}
	assert_true(n > 0);
	json_decref(j);
	for (n = 0;; n++) {
		core_alloc_fail_after(n);
		rc = arch_hash(&a, hex);
		core_alloc_fail_after(-1);
		if (rc == CORE_OK)
			break;
		assert_int_equal(rc, CORE_ERR_NOMEM);
		assert_string_equal(hex, "");
	}
	assert_true(n > 0);
	assert_string_equal(hex, EXAMPLE_HASH);
	for (n = 0;; n++) {
		core_alloc_fail_after(n);
		rc = arch_to_text(&a, 1, &text, NULL);
		core_alloc_fail_after(-1);
		if (rc == CORE_OK)
			break;
		assert_int_equal(rc, CORE_ERR_NOMEM);
		assert_null(text);
	}
	assert_true(n > 0);
	core_free(text);
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
	    cmocka_unit_test(canonical_text_is_fixed),
	    cmocka_unit_test(hash_ignores_order_spacing_defaults_and_spelling),
	    cmocka_unit_test(hash_normalises_ignored_fields),
	    cmocka_unit_test(hash_changes_with_every_field),
	    cmocka_unit_test(round_trips),
	    cmocka_unit_test(json_load_helper),
	    cmocka_unit_test(allocation_failures),
	};

	/* Jansson allocates through the core wrappers, so that the fault
	 * injector reaches its allocations too. */
	json_set_alloc_funcs(core_malloc, core_free);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
