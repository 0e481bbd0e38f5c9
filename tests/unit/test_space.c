/* SPDX-License-Identifier: Apache-2.0 */
/* test_space.c - space: the default space, parsing with field-path errors,
 * membership, prompt rendering, canonical JSON, uniform sampling (validity,
 * membership, coverage, reproducibility), allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four above, which it needs */

#include "../support/archtest.h"
#include "space/space.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct core_field_errors fe;
static struct space S;

/* Test documents are written with ' for " to stay readable. */
#define q(s)			  archtest_q(s)
#define reason(field)		  archtest_reason(&fe, field)
#define dump_errors()		  archtest_dump(&fe)
#define assert_error(field, text) archtest_assert_error(&fe, field, text)
#define assert_only_error(field, text)                                         \
	archtest_assert_only_error(&fe, field, text)

static enum core_status parse_q(const char *s)
{
	const char *t = q(s);

	return space_parse(t, strlen(t), &S, &fe);
}

#define SPACE(rest) "{'format':'lmnas-space/1'" rest "}"

static struct arch parse_arch(const char *s)
{
	struct arch a;
	const char *t = q(s);

	if (arch_parse(t, strlen(t), &a, &fe))
		dump_errors();
	assert_int_equal(arch_parse(t, strlen(t), &a, &fe), CORE_OK);
	return a;
}

/* The example of issue 3, and the same stages repeated to 5. */
#define EX_ST0                                                                 \
	"{'block':'dwsep','out':16,'layers':2,'kernel':3,'stride':2,"          \
	"'expand':3,'se':0,'skip':'none','act':'relu6'}"
#define EX_ST1                                                                 \
	"{'block':'mbconv','out':48,'layers':2,'kernel':5,'stride':2,"         \
	"'expand':3,'se':0.25,'skip':'residual','act':'leakyrelu'}"
#define EX_HEAD                                                                \
	"'format':'lmnas-arch/1','name':'optional label','input':{"            \
	"'resolution':160,'channels':3},'stem':null"
#define EX_TAIL "'head':{'dropout':0.05,'classes':100}"
#define EXAMPLE "{" EX_HEAD ",'stages':[" EX_ST0 "," EX_ST1 "]," EX_TAIL "}"
#define EXAMPLE5                                                               \
	"{" EX_HEAD ",'stages':[" EX_ST0 "," EX_ST1 "," EX_ST1 "," EX_ST0      \
	"," EX_ST1 "]," EX_TAIL "}"

static void assert_space_equal(const struct space *a, const struct space *b)
{
	json_t *ja = space_to_json(a), *jb = space_to_json(b);

	assert_non_null(ja);
	assert_non_null(jb);
	assert_true(json_equal(ja, jb));
	json_decref(ja);
	json_decref(jb);
	for (int i = 0; i < ARCH_MAX_STAGES; i++) {
		assert_int_equal(a->overridden[i], b->overridden[i]);
		assert_memory_equal(&a->stage[i].out, &b->stage[i].out,
				    sizeof a->stage[i].out);
		assert_memory_equal(&a->stage[i].stride, &b->stage[i].stride,
				    sizeof a->stage[i].stride);
		assert_int_equal(a->stage[i].se.n, b->stage[i].se.n);
		for (int k = 0; k < a->stage[i].se.n; k++)
			assert_true(a->stage[i].se.v[k] == b->stage[i].se.v[k]);
	}
}

/* ---- the default space ------------------------------------------------- */

static void default_is_the_seed_space(void **state)
{
	static const int out[] = {16, 24, 32, 48, 64, 96, 128, 160};

	space_default(&S);
	assert_int_equal(S.stages_min, 5);
	assert_int_equal(S.stages_max, 5);
	assert_int_equal(S.stem.mode, SPACE_STEM_NONE);
	assert_int_equal(S.all.out.n, 8);
	assert_memory_equal(S.all.out.v, out, sizeof out);
	assert_int_equal(S.all.kernel.n, 3);
	assert_int_equal(S.all.stride.n, 2);
	assert_int_equal(S.all.expand.n, 4);
	assert_int_equal(S.all.expand.v[3], 6);
	assert_int_equal(S.all.se.n, 3);
	assert_true(S.all.se.v[1] == 0.25);
	assert_int_equal(S.all.block.n, 2);
	assert_int_equal(S.all.skip.n, 2);
	assert_int_equal(S.all.act.n, 3);
	assert_int_equal(S.all.act.v[0], ARCH_ACT_RELU6);
	assert_int_equal(S.all.layers.n, 5);
	assert_int_equal(S.all.layers.v[4], 6);
	assert_int_equal(S.resolution.n, 5);
	assert_int_equal(S.resolution.v[4], 160);
	assert_int_equal(S.channels.n, 1);
	assert_int_equal(S.dropout.n, 4);
	for (int i = 0; i < ARCH_MAX_STAGES; i++)
		assert_int_equal(S.overridden[i], 0);
	/* {"format":...} alone is the default space. */
	{
		struct space d = S;

		assert_int_equal(parse_q(SPACE("")), CORE_OK);
		assert_space_equal(&S, &d);
	}
}

static void example_membership(void **state)
{
	struct arch a = parse_arch(EXAMPLE);

	space_default(&S);
	/* The example has 2 stages; the seed space has exactly 5. */
	assert_int_equal(space_check(&S, &a, &fe), CORE_ERR_INVALID);
	assert_only_error("stages", "2 stages is not in the space 5..5");
	/* The same stages repeated to 5 are a member (the dwsep stage's
	 * expand 3 is not checked: dwsep ignores it). */
	a = parse_arch(EXAMPLE5);
	if (space_check(&S, &a, &fe))
		dump_errors();
	assert_int_equal(space_check(&S, &a, &fe), CORE_OK);
	assert_int_equal(fe.n, 0);
}

static void check_reports_every_field_outside(void **state)
{
	struct arch a = parse_arch(EXAMPLE5);

	space_default(&S);
	a.resolution = 48;
	a.channels = 1;
	a.stages[1].kernel = 9;
	a.stages[1].expand = 8;
	a.stages[0].expand = 8; /* dwsep: ignored */
	a.stages[2].act = ARCH_ACT_HSWISH;
	a.stages[2].se = 0.3;
	a.stages[3].out = 17;
	a.stages[3].layers = 5;
	a.stages[4].skip = ARCH_SKIP_NONE; /* in the space */
	a.dropout = 0.5;
	a.stem = (struct arch_stem){1, 8, 3, 2, ARCH_ACT_RELU6};
	assert_int_equal(space_check(&S, &a, &fe), CORE_ERR_INVALID);
	assert_int_equal(fe.n, 10);
	assert_error("input.resolution",
		     "48 is not in the space {32,64,96,128,160}");
	assert_error("input.channels", "1 is not in the space {3}");
	assert_error("stem", "the space has no stem (null)");
	assert_error("stages[1].kernel", "9 is not in the space {3,5,7}");
	assert_error("stages[1].expand", "8 is not in the space {2,3,4,6}");
	assert_error("stages[2].act",
		     "'hswish' is not in the space {relu6,leakyrelu,swish}");
	assert_error("stages[2].se", "0.3 is not in the space {0,0.25,0.5}");
	assert_error("stages[3].out",
		     "17 is not in the space {16,24,32,48,64,96,128,160}");
	assert_error("stages[3].layers", "5 is not in the space {1,2,3,4,6}");
	assert_error("head.dropout",
		     "0.5 is not in the space {0,0.05,0.1,0.2}");

	/* A space that requires a stem. */
	assert_int_equal(parse_q(SPACE(",'stem':{'out':[16,32],'act':["
				       "'relu','relu6']}")),
			 CORE_OK);
	a = parse_arch(EXAMPLE5);
	space_check(&S, &a, &fe);
	assert_only_error("stem", "the space requires a stem");
	a.stem = (struct arch_stem){1, 24, 5, 1, ARCH_ACT_SWISH};
	space_check(&S, &a, &fe);
	assert_int_equal(fe.n, 4);
	assert_error("stem.out", "24 is not in the space {16,32}");
	assert_error("stem.kernel", "5 is not in the space {3}");
	assert_error("stem.stride", "1 is not in the space {2}");
	assert_error("stem.act", "'swish' is not in the space {relu,relu6}");
	a.stem = (struct arch_stem){1, 32, 3, 2, ARCH_ACT_RELU};
	assert_int_equal(space_check(&S, &a, &fe), CORE_OK);
	/* Optional: both are members (the stem act list defaults to relu6). */
	a.stem.act = ARCH_ACT_RELU6;
	assert_int_equal(parse_q(SPACE(",'stem':{'optional':true,'out':[32]"
				       "}")),
			 CORE_OK);
	assert_int_equal(space_check(&S, &a, &fe), CORE_OK);
	a.stem.present = 0;
	assert_int_equal(space_check(&S, &a, &fe), CORE_OK);
}

/* ---- parsing ----------------------------------------------------------- */

static void parse_partial_space_keeps_defaults(void **state)
{
	assert_int_equal(
	    parse_q(SPACE(",'name':'small','stages':{'min':3,'max':4},"
			  "'resolution':[64,32],'kernel':[7,3],'act':["
			  "'swish','relu'],'se':[0.5,0,2.5e-1],"
			  "'dropout':[0.1]")),
	    CORE_OK);
	assert_string_equal(S.name, "small");
	assert_int_equal(S.stages_min, 3);
	assert_int_equal(S.stages_max, 4);
	/* Sorted: numbers ascending, names in enum order. */
	assert_int_equal(S.resolution.n, 2);
	assert_int_equal(S.resolution.v[0], 32);
	assert_int_equal(S.all.kernel.v[0], 3);
	assert_int_equal(S.all.kernel.v[1], 7);
	assert_int_equal(S.all.act.v[0], ARCH_ACT_RELU);
	assert_int_equal(S.all.act.v[1], ARCH_ACT_SWISH);
	assert_true(S.all.se.v[0] == 0.0 && S.all.se.v[1] == 0.25 &&
		    S.all.se.v[2] == 0.5);
	/* Untouched lists keep the seed values, in every stage. */
	assert_int_equal(S.all.out.n, 8);
	assert_int_equal(S.stage[3].kernel.v[1], 7);
	assert_int_equal(S.stage[3].out.n, 8);
}

static void parse_errors_name_the_field(void **state)
{
	assert_int_equal(parse_q("{'kernel':[3,4,'5',13],'block':['dwsep',"
				 "'convnext'],'out':[],'stride':7,"
				 "'layers':[1,1],'se':[0.25,0.250,1.5],"
				 "'dropout':[1],'colour':[1]}"),
			 CORE_ERR_INVALID);
	assert_error("format", "required");
	assert_error("kernel[1]", "4 is not odd");
	assert_error("kernel[2]", "expected an integer, got string");
	assert_error("kernel[3]", "13 is outside 1..11");
	assert_error("block[1]", "'convnext' is not one of dwsep, mbconv");
	assert_error("out", "must not be empty");
	assert_error("stride", "expected an array, got integer");
	assert_error("layers", "1 appears twice");
	assert_error("se[2]", "1.5 is outside [0, 1]");
	assert_error("dropout[0]", "1 is outside [0, 1)");
	assert_error("colour", "unknown field");
	assert_int_equal(fe.n, 11);
	/* Duplicates are found in canonical form. */
	parse_q(SPACE(",'se':[0.25,0.250]"));
	assert_only_error("se", "0.25 appears twice");
	parse_q(SPACE(",'act':['swish','relu','swish']"));
	assert_only_error("act", "'swish' appears twice");
	parse_q(SPACE(",'format':'x'") /* duplicate key */);
	assert_string_equal(fe.e[0].field, "$");
	parse_q("{'format':'lmnas-space/0'}");
	assert_only_error("format", "'lmnas-space/0' is not lmnas-space/1");
}

static void parse_errors_lists_and_stages(void **state)
{
	char doc[1024];
	int n = 0;

	n += snprintf(doc, sizeof doc, "{'format':'lmnas-space/1','out':[");
	for (int i = 1; i <= SPACE_MAX_VALUES + 1; i++)
		n += snprintf(doc + n, sizeof doc - (size_t)n, "%s%d",
			      i > 1 ? "," : "", i);
	snprintf(doc + n, sizeof doc - (size_t)n, "]}");
	assert_int_equal(parse_q(doc), CORE_ERR_INVALID);
	assert_only_error("out", "33 values, at most 32");

	parse_q(SPACE(",'stages':{'min':4,'max':3}"));
	assert_only_error("stages", "min 4 is above max 3");
	parse_q(SPACE(",'stages':{'min':0,'maximum':3}"));
	assert_int_equal(fe.n, 3);
	assert_error("stages.min", "0 is outside 1..12");
	assert_error("stages.max", "required");
	assert_error("stages.maximum", "unknown field");
	parse_q(SPACE(",'stages':[5]"));
	assert_only_error("stages", "expected an object, got array");
	parse_q(SPACE(",'stem':{'kernel':[2],'optional':1,'se':[0]}"));
	assert_int_equal(fe.n, 4);
	assert_error("stem.out", "required");
	assert_error("stem.kernel[0]", "2 is not odd");
	assert_error("stem.optional", "expected a boolean, got integer");
	assert_error("stem.se", "unknown field");
	parse_q(SPACE(",'stem':[]"));
	assert_only_error("stem", "expected an object or null, got array");
	parse_q(SPACE(",'name':7"));
	assert_only_error("name", "expected a string, got integer");
}

static void parse_errors_overrides(void **state)
{
	parse_q(SPACE(",'overrides':[{'stage':5,'stride':[2]},{'stage':0},"
		      "{'stage':1,'kernel':[4]},{'stride':[1]},{'stage':1,"
		      "'out':[16]},{'stage':2,'colour':[1]},7]"));
	assert_error("overrides[0].stage",
		     "5 is beyond the last stage (stages.max is 5)");
	assert_error("overrides[1]",
		     "overrides no list (give at least one of block, out, "
		     "layers, ...)");
	assert_error("overrides[2].kernel[0]", "4 is not odd");
	assert_error("overrides[3].stage", "required");
	assert_error("overrides[4].stage",
		     "stage 1 is already overridden by overrides[2]");
	assert_error("overrides[5].colour", "unknown field");
	assert_error("overrides[6]", "expected an object, got integer");
	assert_int_equal(fe.n, 8); /* overrides[5] also overrides nothing */
	parse_q(SPACE(",'overrides':{}"));
	assert_only_error("overrides", "expected an array, got object");
	parse_q(SPACE(",'overrides':[{'stage':-1,'se':[0]}]"));
	assert_only_error("overrides[0].stage", "-1 is outside 0..11");
}

static void parse_rejects_spaces_without_valid_members(void **state)
{
	/* 8 -> 4 -> 2 -> 1 and a fourth stride 2: every member collapses. */
	assert_int_equal(parse_q(SPACE(",'resolution':[8],'stride':[2]")),
			 CORE_ERR_INVALID);
	assert_only_error("$", "no architecture in this space is valid: even "
			       "the narrowest fails with stages[3].stride: "
			       "the spatial size has collapsed to 1x1 before "
			       "this stage (8 -> 4 -> 2 -> 1), stride 2 has "
			       "nothing to downsample");
	/* With stride 1 allowed, some members are fine. */
	assert_int_equal(parse_q(SPACE(",'resolution':[8]")), CORE_OK);
	/* mbconv only, 2048 wide, 8x expansion: stage 1 (fed 2048 channels)
	 * is always too wide. */
	parse_q(SPACE(",'block':['mbconv'],'out':[2048],'expand':[8]"));
	assert_only_error("$", "no architecture in this space is valid: even "
			       "the narrowest fails with stages[1].expand: 8 "
			       "expands 2048 channels to 16384, more than "
			       "2048");
	/* dwsep allowed: fine. */
	assert_int_equal(parse_q(SPACE(",'out':[2048],'expand':[8]")), CORE_OK);
}

static void parse_hostile_documents(void **state)
{
	char big[SPACE_MAX_JSON_BYTES + 2];

	assert_int_equal(space_parse("[]", 2, &S, &fe), CORE_ERR_INVALID);
	assert_only_error("$", "expected an object, got array");
	parse_q(SPACE(",'x':[[[[[[[[1]]]]]]]]"));
	assert_only_error("$", "nested deeper than 8 levels");
	parse_q(SPACE(",'out':[1e300]"));
	assert_only_error("out[0]", "expected an integer, got real");
	parse_q(SPACE(",'out':[99999999999]"));
	assert_only_error("out[0]", "99999999999 is outside 1..2048");
	parse_q(SPACE(",'se':[NaN]"));
	assert_string_equal(fe.e[0].field, "$");
	memset(big, ' ', sizeof big);
	memcpy(big, "{}", 2);
	assert_int_equal(space_parse(big, sizeof big, &S, &fe),
			 CORE_ERR_INVALID);
	assert_only_error("$", "65538 bytes, more than 65536");
	assert_int_equal(space_from_json(NULL, &S, &fe), CORE_ERR_INVALID);
	assert_only_error("$", "expected an object, got nothing");
}

/* ---- overrides --------------------------------------------------------- */

static void overrides_apply_to_one_stage(void **state)
{
	struct arch a = parse_arch(EXAMPLE5);
	struct core_rng rng;
	char err[CORE_ERR_LEN];

	assert_int_equal(parse_q(SPACE(",'overrides':[{'stage':4,'out':[256],"
				       "'se':[0]},{'stage':0,'stride':[2]}]")),
			 CORE_OK);
	assert_int_equal(S.overridden[0], SPACE_FIELD_STRIDE);
	assert_int_equal(S.overridden[4], SPACE_FIELD_OUT | SPACE_FIELD_SE);
	assert_int_equal(S.stage[0].stride.n, 1);
	assert_int_equal(S.stage[1].stride.n, 2);
	assert_int_equal(S.stage[4].out.v[0], 256);
	assert_int_equal(S.stage[4].kernel.n, 3);
	space_check(&S, &a, &fe);
	assert_int_equal(fe.n, 2);
	assert_error("stages[4].out", "48 is not in the space {256}");
	assert_error("stages[4].se", "0.25 is not in the space {0}");
	core_rng_seed(&rng, 1);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(
		    space_sample(&S, &rng, 10, &a, err, sizeof err), CORE_OK);
		assert_int_equal(a.stages[0].stride, 2);
		assert_int_equal(a.stages[4].out, 256);
		assert_true(a.stages[4].se == 0.0);
	}
}

/* ---- canonical JSON ---------------------------------------------------- */

static void canonical_json(void **state)
{
	static const char expected[] =
	    "{\"format\":\"lmnas-space/1\",\"name\":\"\",\"stages\":{\"min\":"
	    "5,\"max\":5},\"resolution\":[32,64,96,128,160],\"channels\":[3]"
	    ",\"stem\":null,\"block\":[\"dwsep\",\"mbconv\"],\"out\":[16,24,"
	    "32,48,64,96,128,160],\"layers\":[1,2,3,4,6],\"kernel\":[3,5,7],"
	    "\"stride\":[1,2],\"expand\":[2,3,4,6],\"se\":[0.0,0.25,0.5],"
	    "\"skip\":[\"none\",\"residual\"],\"act\":[\"relu6\","
	    "\"leakyrelu\",\"swish\"],\"dropout\":[0.0,0.05,0.1,0.2],"
	    "\"overrides\":[]}";
	const char *custom =
	    SPACE(",'stages':{'min':1,'max':3},'stem':{'optional':true,"
		  "'out':[24,8]},'block':['mbconv'],'overrides':[{'stage':"
		  "2,'act':['hswish'],'block':['dwsep','mbconv']}]");
	struct space first, second;
	json_t *j;
	char *text = NULL;

	space_default(&S);
	j = space_to_json(&S);
	assert_non_null(j);
	assert_int_equal(arch_json_dump(j, 0, &text, NULL), CORE_OK);
	assert_string_equal(text, expected);
	json_decref(j);
	/* Round trip through the text, from the default and a custom one. */
	for (int pass = 0; pass < 2; pass++) {
		first = S;
		assert_int_equal(space_parse(text, strlen(text), &second, &fe),
				 CORE_OK);
		assert_space_equal(&first, &second);
		core_free(text);
		text = NULL;
		if (pass == 0) {
			assert_int_equal(parse_q(custom), CORE_OK);
			j = space_to_json(&S);
			assert_non_null(j);
			assert_int_equal(arch_json_dump(j, 1, &text, NULL),
					 CORE_OK);
			json_decref(j);
			assert_non_null(strstr(text, "\"optional\": true"));
			assert_non_null(strstr(text, "\"out\": [\n      8,\n"));
			/* Override keys: stage first, lists in field order. */
			assert_non_null(strstr(text, "\"stage\": 2,\n      "
						     "\"block\": ["));
		}
	}
}

/* ---- prompt ------------------------------------------------------------ */

static void prompt_lists_every_value(void **state)
{
	struct core_buf b;
	int lines = 0;

	space_default(&S);
	core_buf_init(&b, 1 << 16);
	assert_int_equal(space_render_prompt(&S, &b), CORE_OK);
	for (size_t i = 0; i < b.len; i++)
		lines += b.data[i] == '\n';
	assert_int_equal(lines, 5);
	assert_non_null(strstr(b.data, "stages: exactly 5"));
	assert_non_null(strstr(b.data, "input.resolution {32,64,96,128,160}; "
				       "input.channels {3}\nstem: null\n"));
	assert_non_null(strstr(
	    b.data,
	    "every stage: block {dwsep,mbconv}; out {16,24,32,48,64,96,"
	    "128,160}; layers {1,2,3,4,6}; kernel {3,5,7}; stride {1,2}; "
	    "expand {2,3,4,6} (mbconv only); se {0,0.25,0.5}; skip {none,"
	    "residual}; act {relu6,leakyrelu,swish}\n"));
	assert_non_null(strstr(b.data, "head.dropout {0,0.05,0.1,0.2}\n"));
	core_buf_free(&b);

	assert_int_equal(
	    parse_q(SPACE(",'stages':{'min':2,'max':6},'stem':{'optional':"
			  "true,'out':[8,16]},'overrides':[{'stage':0,"
			  "'stride':[2],'kernel':[3]}]")),
	    CORE_OK);
	core_buf_init(&b, 1 << 16);
	assert_int_equal(space_render_prompt(&S, &b), CORE_OK);
	assert_non_null(strstr(b.data, "stages: 2 to 6"));
	assert_non_null(strstr(b.data,
			       "stem (null or an object): out {8,16}; kernel "
			       "{3}; stride {2}; act {relu6}\n"));
	assert_non_null(
	    strstr(b.data, "stages[0] instead: kernel {3}; stride {2}\n"));
	core_buf_free(&b);
	/* A cap too small fails cleanly. */
	core_buf_init(&b, 64);
	assert_int_equal(space_render_prompt(&S, &b), CORE_ERR_NOMEM);
	assert_null(b.data);
	core_buf_free(&b);
}

/* ---- sampling ---------------------------------------------------------- */

static int index_of(const struct space_ints *l, int v)
{
	for (int i = 0; i < l->n; i++)
		if (l->v[i] == v)
			return i;
	return -1;
}

static int index_of_real(const struct space_reals *l, double v)
{
	for (int i = 0; i < l->n; i++)
		if (l->v[i] == v)
			return i;
	return -1;
}

/* Counts per value, and the number of draws, of each field. */
struct tally {
	int c[16][SPACE_MAX_VALUES];
	int draws[16];
};

static void count(struct tally *t, int field, int idx)
{
	assert_true(idx >= 0);
	t->c[field][idx]++;
	t->draws[field]++;
}

/* Every value seen, and none far from its share (draws / n): the bound is
 * loose (+-35 %), some 6 standard deviations for the smallest counts. */
static void assert_uniform(const struct tally *t, int field, int n,
			   const char *what)
{
	double share = (double)t->draws[field] / n;

	for (int i = 0; i < n; i++) {
		if (t->c[field][i] < share * 0.65 ||
		    t->c[field][i] > share * 1.35)
			fprintf(stderr, "# %s value %d: %d draws, share %.1f\n",
				what, i, t->c[field][i], share);
		assert_true(t->c[field][i] >= share * 0.65);
		assert_true(t->c[field][i] <= share * 1.35);
	}
}

static void samples_are_valid_members_covering_every_value(void **state)
{
	static struct tally t;
	struct core_rng rng;
	struct arch a;
	char err[CORE_ERR_LEN];
	const struct space_stage *l = &S.all;

	space_default(&S);
	memset(&t, 0, sizeof t);
	core_rng_seed(&rng, 20240601);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(
		    space_sample(&S, &rng, 100, &a, err, sizeof err), CORE_OK);
		assert_int_equal(arch_validate(&a, &fe), CORE_OK);
		if (space_check(&S, &a, &fe))
			dump_errors();
		assert_int_equal(space_check(&S, &a, &fe), CORE_OK);
		assert_int_equal(a.classes, 100);
		assert_string_equal(a.name, "");
		count(&t, 0, index_of(&S.resolution, a.resolution));
		count(&t, 1, index_of_real(&S.dropout, a.dropout));
		for (int k = 0; k < a.nstages; k++) {
			const struct arch_stage *st = &a.stages[k];

			count(&t, 2, index_of(&l->block, (int)st->block));
			count(&t, 3, index_of(&l->out, st->out));
			count(&t, 4, index_of(&l->layers, st->layers));
			count(&t, 5, index_of(&l->kernel, st->kernel));
			count(&t, 6, index_of(&l->stride, st->stride));
			if (st->block == ARCH_BLOCK_MBCONV)
				count(&t, 7, index_of(&l->expand, st->expand));
			else
				assert_int_equal(st->expand, 1);
			count(&t, 8, index_of_real(&l->se, st->se));
			count(&t, 9, index_of(&l->skip, (int)st->skip));
			count(&t, 10, index_of(&l->act, (int)st->act));
		}
	}
	assert_int_equal(t.draws[0], 1000);
	assert_int_equal(t.draws[2], 5000);
	assert_uniform(&t, 0, S.resolution.n, "resolution");
	assert_uniform(&t, 1, S.dropout.n, "dropout");
	assert_uniform(&t, 2, l->block.n, "block");
	assert_uniform(&t, 3, l->out.n, "out");
	assert_uniform(&t, 4, l->layers.n, "layers");
	assert_uniform(&t, 5, l->kernel.n, "kernel");
	assert_uniform(&t, 6, l->stride.n, "stride");
	assert_uniform(&t, 7, l->expand.n, "expand");
	assert_uniform(&t, 8, l->se.n, "se");
	assert_uniform(&t, 9, l->skip.n, "skip");
	assert_uniform(&t, 10, l->act.n, "act");
}

static void sampling_is_reproducible(void **state)
{
	struct core_rng r1, r2, r3;
	struct arch a, b;
	char err[CORE_ERR_LEN], h1[65], h2[65];
	int differ = 0;

	space_default(&S);
	core_rng_seed(&r1, 7);
	core_rng_seed(&r2, 7);
	core_rng_seed(&r3, 8);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(space_sample(&S, &r1, 10, &a, err, sizeof err),
				 CORE_OK);
		assert_int_equal(space_sample(&S, &r2, 10, &b, err, sizeof err),
				 CORE_OK);
		assert_int_equal(arch_hash(&a, h1), CORE_OK);
		assert_int_equal(arch_hash(&b, h2), CORE_OK);
		assert_string_equal(h1, h2);
		assert_int_equal(space_sample(&S, &r3, 10, &b, err, sizeof err),
				 CORE_OK);
		assert_int_equal(arch_hash(&b, h2), CORE_OK);
		differ += strcmp(h1, h2) != 0;
	}
	assert_true(differ >= 49);
}

static void sampling_stage_counts_and_optional_stem(void **state)
{
	struct core_rng rng;
	struct arch a;
	char err[CORE_ERR_LEN];
	int stages[ARCH_MAX_STAGES + 1] = {0}, stem = 0;

	assert_int_equal(parse_q(SPACE(",'stages':{'min':1,'max':4},'stem':{"
				       "'optional':true,'out':[8]}")),
			 CORE_OK);
	core_rng_seed(&rng, 3);
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(space_sample(&S, &rng, 2, &a, err, sizeof err),
				 CORE_OK);
		assert_int_equal(space_check(&S, &a, &fe), CORE_OK);
		stages[a.nstages]++;
		stem += a.stem.present;
	}
	for (int n = 1; n <= 4; n++)
		assert_true(stages[n] > 400 && stages[n] < 600);
	assert_true(stem > 850 && stem < 1150);
}

static void sampling_rejects_invalid_draws(void **state)
{
	struct core_rng rng;
	struct arch a;
	char err[CORE_ERR_LEN];
	int sizes[ARCH_MAX_STAGES + 1];

	/* 8 -> 4 -> 2 -> 1: a fourth stride 2 collapses, 1 draw in 16. */
	assert_int_equal(parse_q(SPACE(",'stages':{'min':4,'max':4},"
				       "'resolution':[8]")),
			 CORE_OK);
	core_rng_seed(&rng, 11);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(
		    space_sample(&S, &rng, 10, &a, err, sizeof err), CORE_OK);
		assert_int_equal(arch_spatial_sizes(&a, sizes),
				 ARCH_NO_COLLAPSE);
	}
	/* Valid members exist, but almost no draw is one: 7 of 8 widths are
	 * too wide for the next mbconv (x8), so 11 stages in a row must all
	 * draw out 1 (8^-11). Sampling gives up, with a reason. */
	assert_int_equal(parse_q(SPACE(",'stages':{'min':12,'max':12},"
				       "'block':['mbconv'],'expand':[8],"
				       "'layers':[1],'out':[1,300,400,500,"
				       "600,700,800,900]")),
			 CORE_OK);
	assert_int_equal(space_sample(&S, &rng, 10, &a, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "no valid architecture in 1000 draws"));
	assert_non_null(strstr(err, ".expand: 8 expands"));
	/* Bad classes. */
	space_default(&S);
	assert_int_equal(space_sample(&S, &rng, 1, &a, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_string_equal(err, "classes: 1 is outside 2..10000");
	assert_int_equal(space_sample(&S, &rng, 10001, &a, err, sizeof err),
			 CORE_ERR_INVALID);
}

/* ---- allocation failures ----------------------------------------------- */

static void allocation_failures(void **state)
{
	const char *custom =
	    q(SPACE(",'stem':{'optional':true,'out':[8]},'overrides':[{"
		    "'stage':0,'stride':[2]}]"));
	struct space ref, s;
	struct core_buf b;
	enum core_status rc;
	json_t *j;
	long n;

	assert_int_equal(space_parse(custom, strlen(custom), &ref, &fe),
			 CORE_OK);
	for (n = 0;; n++) {
		core_alloc_fail_after(n);
		rc = space_parse(custom, strlen(custom), &s, &fe);
		core_alloc_fail_after(-1);
		if (rc == CORE_OK)
			break;
		/* NOMEM, or Jansson's lexer turning it into a syntax error
		 * at "$" (see arch_json_load). */
		if (rc == CORE_ERR_INVALID)
			assert_only_error("$", reason("$"));
		else
			assert_int_equal(rc, CORE_ERR_NOMEM);
		assert_true(n < 100000);
	}
	assert_true(n > 0);
	assert_space_equal(&s, &ref);
	for (n = 0;; n++) {
		core_alloc_fail_after(n);
		j = space_to_json(&ref);
		core_alloc_fail_after(-1);
		if (j)
			break;
	}
	assert_true(n > 0);
	json_decref(j);
	for (n = 0;; n++) {
		core_buf_init(&b, 1 << 16);
		core_alloc_fail_after(n);
		rc = space_render_prompt(&ref, &b);
		core_alloc_fail_after(-1);
		if (rc == CORE_OK)
			break;
		assert_int_equal(rc, CORE_ERR_NOMEM);
		assert_null(b.data);
	}
	assert_true(n > 0);
	core_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(default_is_the_seed_space),
	    cmocka_unit_test(example_membership),
	    cmocka_unit_test(check_reports_every_field_outside),
	    cmocka_unit_test(parse_partial_space_keeps_defaults),
	    cmocka_unit_test(parse_errors_name_the_field),
	    cmocka_unit_test(parse_errors_lists_and_stages),
	    cmocka_unit_test(parse_errors_overrides),
	    cmocka_unit_test(parse_rejects_spaces_without_valid_members),
	    cmocka_unit_test(parse_hostile_documents),
	    cmocka_unit_test(overrides_apply_to_one_stage),
	    cmocka_unit_test(canonical_json),
	    cmocka_unit_test(prompt_lists_every_value),
	    cmocka_unit_test(samples_are_valid_members_covering_every_value),
	    cmocka_unit_test(sampling_is_reproducible),
	    cmocka_unit_test(sampling_stage_counts_and_optional_stem),
	    cmocka_unit_test(sampling_rejects_invalid_draws),
	    cmocka_unit_test(allocation_failures),
	};

	/* Jansson allocates through the core wrappers, so that the fault
	 * injector reaches its allocations too. */
	json_set_alloc_funcs(core_malloc, core_free);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
