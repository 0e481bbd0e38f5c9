/* SPDX-License-Identifier: Apache-2.0 */
/* test_cost.c - cost model: MACs and parameter counts against PyTorch
 * (tests/fixtures/cost, made by tools/gen_cost_fixtures.py), flash and SRAM
 * of hand-worked networks, report formatting, bad input and allocation
 * failure. */
/* cmocka.h needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "cost/cost.h"
#include "graph/graph.h"

#include "../support/costtest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- fixtures ----------------------------------------------------------- */

static json_t *load_json(const char *path)
{
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);

	if (!j)
		fail_msg("%s:%d: %s", path, je.line, je.text);
	return j;
}

/* The graph op a PyTorch Conv2d/Linear path names: "stages.1.0.dw.conv"
 * is op "stages.1.0.dw", "stages.0.0.se.reduce" and "head.fc" are as is. */
static const struct graph_op *op_by_module(const struct graph *g,
					   const char *module)
{
	char name[GRAPH_NAME_LEN + 8];
	size_t n;

	snprintf(name, sizeof name, "%s", module);
	n = strlen(name);
	if (n > 5 && strcmp(name + n - 5, ".conv") == 0)
		name[n - 5] = '\0';
	for (int i = 0; i < g->nops; i++)
		if (strcmp(g->ops[i].name, name) == 0)
			return &g->ops[i];
	return NULL;
}

static void check_fixture(const char *path)
{
	json_t *doc = load_json(path);
	json_t *layers = json_object_get(doc, "layers"), *row;
	struct arch a;
	struct cost_report r;
	char err[CORE_ERR_LEN];
	int weighted = 0;
	size_t i;

	assert_int_equal(costtest_arch_from_json(json_object_get(doc, "arch"),
						 &a, err, sizeof err),
			 CORE_OK);
	assert_int_equal(cost_report_build(&a, &r, err, sizeof err), CORE_OK);
	if (r.macs !=
		(uint64_t)json_integer_value(json_object_get(doc, "macs")) ||
	    r.params_trainable != (uint64_t)json_integer_value(json_object_get(
				      doc, "params_trainable")) ||
	    r.params_deployed != (uint64_t)json_integer_value(
				     json_object_get(doc, "params_deployed")))
		fail_msg("%s: macs %llu trainable %llu deployed %llu differ "
			 "from PyTorch",
			 path, (unsigned long long)r.macs,
			 (unsigned long long)r.params_trainable,
			 (unsigned long long)r.params_deployed);
	/* each Conv2d/Linear matches one op: MACs and output shape */
	json_array_foreach(layers, i, row)
	{
		const char *module = json_string_value(json_array_get(row, 0));
		const struct graph_op *op = op_by_module(&r.graph, module);
		const json_t *shape = json_array_get(row, 2);
		const struct graph_tensor *t;

		if (!op)
			fail_msg("%s: no op for module %s", path, module);
		t = &r.graph.tensors[op->out];
		assert_int_equal(r.ops[op - r.graph.ops].macs,
				 json_integer_value(json_array_get(row, 1)));
		assert_int_equal(t->h,
				 json_integer_value(json_array_get(shape, 0)));
		assert_int_equal(t->w,
				 json_integer_value(json_array_get(shape, 1)));
		assert_int_equal(t->c,
				 json_integer_value(json_array_get(shape, 2)));
	}
	for (int k = 0; k < r.graph.nops; k++)
		weighted += graph_op_has_weights(&r.graph.ops[k]);
	assert_int_equal(weighted, (int)json_array_size(layers));
	cost_report_free(&r);
	json_decref(doc);
}

static void fixtures_match_pytorch(void **state)
{
	char dir[1024], path[1300];
	DIR *d = opendir(costtest_fixture_path("cost", dir, sizeof dir));
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		check_fixture(path);
		n++;
	}
	closedir(d);
	assert_true(n >= 8);
}

/* ---- hand-worked networks ---------------------------------------------- */

/* 8x8x1 input, dwsep (k3, stride 1, no SE, no skip, relu) -> 2, 2 classes. */
static void tiny_dwsep(struct arch *a)
{
	memset(a, 0, sizeof *a);
	a->resolution = 8;
	a->channels = 1;
	a->nstages = 1;
	a->stages[0] = (struct arch_stage){
	    ARCH_BLOCK_DWSEP, 2, 1, 3, 1, 1, 0.0, ARCH_SKIP_NONE,
	    ARCH_ACT_RELU};
	a->classes = 2;
}

/* 4x4x2 input, mbconv (expand 2, k3, SE 0.5, residual, hswish) -> 2,
 * 3 classes. */
static void tiny_mbconv_se(struct arch *a)
{
	memset(a, 0, sizeof *a);
	a->resolution = 4;
	a->channels = 2;
	a->nstages = 1;
	a->stages[0] = (struct arch_stage){
	    ARCH_BLOCK_MBCONV, 2, 1, 3, 1, 2, 0.5, ARCH_SKIP_RESIDUAL,
	    ARCH_ACT_HSWISH};
	a->classes = 3;
}

static void tiny_dwsep_by_hand(void **state)
{
	struct arch a;
	struct cost_report r;
	char err[CORE_ERR_LEN];

	tiny_dwsep(&a);
	assert_int_equal(cost_report_build(&a, &r, err, sizeof err), CORE_OK);
	/* dw 8*8*1*9 + project 8*8*2*1 + fc 2*2 */
	assert_int_equal(r.macs, 576 + 128 + 4);
	assert_int_equal(r.elementwise, 128); /* head pool reads 8*8*2 */
	assert_int_equal(r.params_trainable, (9 + 2) + (2 + 4) + (4 + 2));
	assert_int_equal(r.params_deployed, (9 + 1) + (2 + 2) + (4 + 2));
	/* dw 9 + project packed to 2 rows x 4 (pack_s8.h) + fc 4 */
	assert_int_equal(r.flash.weights, 21);
	assert_int_equal(r.flash.biases, 5 * 4);
	assert_int_equal(r.flash.requant, 5 * 8 + 8);
	assert_int_equal(r.flash.luts, 0);
	/* code: one call per op; runtime: the STM32H743 base and the kernel
	 * families this net uses (no kxk conv, add, mul or table; the
	 * depthwise layer runs in place) */
	assert_int_equal(r.flash.ops, COST_OP_DEPTHWISE + COST_OP_POINTWISE +
					  COST_OP_GAP + COST_OP_LINEAR);
	assert_int_equal(r.flash.target, COST_TARGET_STM32H743);
	assert_int_equal(
	    r.flash.runtime,
	    COST_BASE_STM32H743 + COST_KERNEL_MATMUL + COST_KERNEL_POINTWISE +
		COST_KERNEL_FC + COST_KERNEL_DEPTHWISE +
		COST_KERNEL_DEPTHWISE_INPLACE + COST_KERNEL_AVGPOOL);
	assert_int_equal(r.flash.total,
			 21 + 20 + 48 + r.flash.ops + r.flash.runtime);
	/* on QEMU only the base changes */
	cost_report_set_target(&r, COST_TARGET_QEMU);
	assert_int_equal(
	    r.flash.runtime,
	    COST_BASE_QEMU + COST_KERNEL_MATMUL + COST_KERNEL_POINTWISE +
		COST_KERNEL_FC + COST_KERNEL_DEPTHWISE +
		COST_KERNEL_DEPTHWISE_INPLACE + COST_KERNEL_AVGPOOL);
	assert_int_equal(r.flash.total,
			 21 + 20 + 48 + r.flash.ops + r.flash.runtime);
	/* buffers: {input, dw out} 64 B in place [0,1], project out 128 B
	 * [1,2], pooled 2->4 B [2,3], logits 2->4 B [3,3]; scratch (the
	 * kernels' own sizes): dw ring 2 rows * 8 * 1 = 16 B, project four
	 * int16 columns of ceil4(1) = 32 B and its per-channel table 2 * 16
	 * B, fc 2 int16 = 4 B, pool none. Live: 80, 256, 132, 12. */
	assert_int_equal(r.ops[0].scratch_bytes, 16);
	assert_int_equal(r.ops[1].scratch_bytes, 64);
	assert_int_equal(r.ops[2].scratch_bytes, 0);
	assert_int_equal(r.ops[3].scratch_bytes, 4);
	assert_int_equal(r.ops[0].live_bytes, 80);
	assert_int_equal(r.ops[1].live_bytes, 256);
	assert_int_equal(r.ops[2].live_bytes, 132);
	assert_int_equal(r.ops[3].live_bytes, 12);
	assert_int_equal(r.plan.peak_op, 1);
	assert_int_equal(r.sram_bytes, 256);
	assert_int_equal(cost_plan_tensor_offset(&r.plan, 2), 0);
	assert_int_equal(cost_plan_tensor_offset(&r.plan, 0), 128);
	assert_int_equal(cost_plan_tensor_offset(&r.plan, 1), 128);
	cost_report_free(&r);
}

static void tiny_mbconv_se_by_hand(void **state)
{
	/* scratch: expand 32 + 64, dw ring 32, reduce 32 + 32, se.expand
	 * 32 + 64, project 32 + 32, fc 4 (four int16 columns of ceil4(C_in)
	 * and 16 B per output channel for 1x1 convs) */
	static const size_t live[10] = {192, 128, 100, 168, 200,
					100, 192, 64,  36,  12};
	struct arch a;
	struct cost_report r;
	char err[CORE_ERR_LEN];

	tiny_mbconv_se(&a);
	assert_int_equal(cost_report_build(&a, &r, err, sizeof err), CORE_OK);
	assert_int_equal(r.graph.nops, 10);
	/* expand 16*4*2, dw 16*4*9, reduce 2*4, expand 4*2, project 16*2*4,
	 * fc 2*3 */
	assert_int_equal(r.macs, 128 + 576 + 8 + 8 + 128 + 6);
	assert_int_equal(r.elementwise, 64 + 64 + 32 + 32);
	assert_int_equal(r.params_trainable, 16 + 44 + 10 + 12 + 12 + 9);
	assert_int_equal(r.params_deployed, 12 + 40 + 10 + 12 + 10 + 9);
	/* 1x1 weights packed (pack_s8.h): expand 4 x ceil4(2), reduce
	 * 2 x 4, se.expand 4 x ceil4(2), project 2 x 4 */
	assert_int_equal(r.flash.weights, 90);
	assert_int_equal(r.flash.biases, 19 * 4);
	assert_int_equal(r.flash.requant, 19 * 8 + 8 + 8 + 24 + 8);
	/* hswish on expand and dw, sigmoid on se.expand; relu needs none */
	assert_int_equal(r.flash.luts, 3 * 256);
	for (int i = 0; i < 10; i++)
		assert_int_equal(r.ops[i].live_bytes, live[i]);
	assert_int_equal(r.plan.peak_live_bytes, 200);
	assert_int_equal(r.plan.peak_op, 4);
	assert_int_equal(r.sram_bytes, 200);
	/* the size-ordered placement (scratch regions placed with the
	 * tensors) */
	assert_int_equal(cost_plan_tensor_offset(&r.plan, 1), 96);  /* expand */
	assert_int_equal(cost_plan_tensor_offset(&r.plan, 6), 96);  /* scale */
	assert_int_equal(cost_plan_tensor_offset(&r.plan, 0), 160); /* input */
	assert_int_equal(cost_plan_tensor_offset(&r.plan, 8), 64);  /* add */
	cost_report_free(&r);
}

static void flash_rows_sum_to_total(void **state)
{
	struct core_rng rng;
	struct arch a;
	struct cost_report r;
	char err[CORE_ERR_LEN];

	core_rng_seed(&rng, 7);
	for (int n = 0; n < 50; n++) {
		uint64_t flash = 0, macs = 0, pt = 0, pd = 0;

		costtest_arch_random(&rng, &a);
		assert_int_equal(cost_report_build(&a, &r, err, sizeof err),
				 CORE_OK);
		for (int i = 0; i < r.graph.nops; i++) {
			flash += r.ops[i].flash_bytes;
			macs += r.ops[i].macs;
			pt += r.ops[i].params_trainable;
			pd += r.ops[i].params_deployed;
		}
		assert_int_equal(flash + r.flash.runtime, r.flash.total);
		assert_int_equal(macs, r.macs);
		assert_int_equal(pt, r.params_trainable);
		assert_int_equal(pd, r.params_deployed);
		assert_true(r.params_deployed <= r.params_trainable);
		assert_int_equal(r.sram_bytes, r.plan.arena_bytes);
		cost_report_free(&r);
	}
}

/* ---- formatting --------------------------------------------------------- */

static void text_and_json_report(void **state)
{
	struct arch a;
	struct cost_report r;
	struct core_buf b;
	char err[CORE_ERR_LEN];
	json_t *j;

	tiny_mbconv_se(&a);
	assert_int_equal(cost_report_build(&a, &r, err, sizeof err), CORE_OK);
	core_buf_init(&b, 1 << 20);
	assert_int_equal(cost_report_format_text(&r, &b), CORE_OK);
	assert_non_null(strstr(b.data, "MACs               854"));
	assert_non_null(strstr(b.data, "peak SRAM (arena)  200 B"));
	assert_non_null(strstr(b.data, "stages.0.0.se.reduce"));
	assert_non_null(strstr(b.data, "   4> stages.0.0.se.expand"));
	assert_non_null(strstr(
	    b.data, "B = weights 90 + biases 76 + requant 200 + LUTs 768 + op "
		    "calls 1,078 + kernels and runtime 25,779 (stm32h743)"));
	core_buf_free(&b);
	/* a buffer too small for the table fails and frees itself */
	core_buf_init(&b, 100);
	assert_int_equal(cost_report_format_text(&r, &b), CORE_ERR_NOMEM);
	assert_null(b.data);
	core_buf_free(&b);

	j = cost_report_to_json(&r);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "macs")), 854);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(j, "sram"), "arena_bytes")),
			 200);
	assert_int_equal(json_array_size(json_object_get(j, "ops")), 10);
	assert_true(json_is_true(json_object_get(
	    json_array_get(json_object_get(j, "ops"), 5), "inplace")));
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(j, "ops"), 3), "name")),
	    "stages.0.0.se.reduce");
	json_decref(j);
	cost_report_free(&r);
}

/* ---- failures ----------------------------------------------------------- */

static void bad_arch_is_refused(void **state)
{
	struct arch a;
	struct cost_report r;
	char err[CORE_ERR_LEN];

	tiny_dwsep(&a);
	a.stages[0].kernel = 4;
	assert_int_equal(cost_report_build(&a, &r, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "stages[0]"));
	assert_null(r.ops);
	assert_null(r.graph.ops);

	tiny_dwsep(&a);
	a.resolution = 0;
	assert_int_equal(cost_report_build(&a, &r, err, sizeof err),
			 CORE_ERR_INVALID);
	tiny_dwsep(&a);
	a.stem = (struct arch_stem){1, 8, 3, 3, ARCH_ACT_RELU}; /* stride 3 */
	assert_int_equal(cost_report_build(&a, &r, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "stem"));
	tiny_mbconv_se(&a);
	a.stages[0].expand = 8;
	a.stages[0].out = 300;
	a.stages[0].layers = 2; /* 300 * 8 = 2400 > 2048 in block 1 */
	assert_int_equal(cost_report_build(&a, &r, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "expanded width"));
	tiny_mbconv_se(&a);
	a.stages[0].se = 1.5;
	assert_int_equal(cost_report_build(&a, &r, err, sizeof err),
			 CORE_ERR_INVALID);
	tiny_mbconv_se(&a);
	a.stages[0].act = (enum arch_act)9;
	assert_int_equal(cost_report_build(&a, &r, err, sizeof err),
			 CORE_ERR_INVALID);
}

static void allocation_failure_leaves_report_empty(void **state)
{
	struct arch a;
	struct cost_report r;
	char err[CORE_ERR_LEN];
	enum core_status rc;
	int n = 0;

	tiny_mbconv_se(&a);
	do {
		core_alloc_fail_after(n++);
		rc = cost_report_build(&a, &r, err, sizeof err);
		core_alloc_fail_after(-1);
		if (rc) {
			assert_int_equal(rc, CORE_ERR_NOMEM);
			assert_null(r.ops);
			assert_null(r.graph.ops);
			assert_null(r.plan.buffers);
		}
	} while (rc && n < 100);
	assert_int_equal(rc, CORE_OK);
	assert_true(n > 5); /* graph, plan and report allocations were hit */
	cost_report_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fixtures_match_pytorch),
	    cmocka_unit_test(tiny_dwsep_by_hand),
	    cmocka_unit_test(tiny_mbconv_se_by_hand),
	    cmocka_unit_test(flash_rows_sum_to_total),
	    cmocka_unit_test(text_and_json_report),
	    cmocka_unit_test(bad_arch_is_refused),
	    cmocka_unit_test(allocation_failure_leaves_report_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
