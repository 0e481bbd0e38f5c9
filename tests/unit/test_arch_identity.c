/* SPDX-License-Identifier: Apache-2.0 */
/* test_arch_identity.c - arch identity: the canonical form, hash invariance
 * and sensitivity, round trips, the JSON helpers, allocation failures. */
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
