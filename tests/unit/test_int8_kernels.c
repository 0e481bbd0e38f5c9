/* SPDX-License-Identifier: Apache-2.0 */
/* test_int8_kernels.c - the MCU int8 kernels (service/codegen/kernels):
 * their requantization helpers against a 64-bit model of TFLite's rounding,
 * and every kernel against the reference (service/quant) byte for byte over
 * the case table (tests/support/int8_cases.c), plus argument checks.
 *
 * The MCU kernels are not part of liblmnas (they are text that generated
 * projects receive), so this file compiles them in. test_int8_kernels_dsp.c
 * includes this file with S8_DSP_EMULATE defined: the same tests then run
 * the DSP (SMLAD/SXTB16) code paths on the host, through exact C models of
 * the instructions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../support/int8_cases.h"
#include "../support/int8_model.h"
#include "cost/cost.h"
#include "quant/quant.h"

#include "codegen/kernels/add_s8.c"
#include "codegen/kernels/avgpool_s8.c"
#include "codegen/kernels/conv2d_s8.c"
#include "codegen/kernels/depthwise_band_s8.c"
#include "codegen/kernels/depthwise_conv2d_s8.c"
#include "codegen/kernels/fully_connected_s8.c"
#include "codegen/kernels/lut_s8.c"
#include "codegen/kernels/mat_mult_s8_s16.c"
#include "codegen/kernels/mul_channel_s8.c"
#include "codegen/kernels/pointwise_conv2d_s8.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* requant.h's helpers against the model. */
static void kernel_requant_matches_64bit_model(void **state)
{
	struct core_rng r;

	core_rng_seed(&r, 43);
	for (int i = 0; i < 300000; i++) {
		const struct int8_rq_args a = int8_rand_rq_args(&r);
		const int32_t x = a.x, m = a.m;
		const int shift = a.shift, e = a.e;
		int32_t want = int8_model_mbqm(x, m, shift);
		int32_t got = s8_requantize(x, m, shift);

		if (got != want)
			fail_msg("x %d m %d shift %d: model %d kernel %d", x, m,
				 shift, want, got);
		assert_int_equal(s8_srdhm(x, m), int8_model_srdhm(x, m));
		assert_int_equal(s8_rdbpot(x, e), int8_model_rdbpot(x, e));
	}
	assert_int_equal(s8_requantize(INT32_MIN, INT32_MIN, 0), INT32_MAX);
	assert_int_equal(s8_rdbpot(INT32_MIN, 31), -1);
}

/* The kernels' fused requantize + offset + clamp (on DSP builds a shorter
 * route for right shifts 1..23, and the SMMULR route for |acc| < 2^30)
 * against clamp(model + offset). */
static void requantize_out_matches_model(void **state)
{
	struct core_rng r;

	core_rng_seed(&r, 4242);
	for (int i = 0; i < 300000; i++) {
		int32_t acc = int8_rand_edge_i32(&r);
		int32_t m =
		    core_rng_below(&r, 4) == 0
			? int8_rand_edge_i32(&r)
			: (int32_t)((1u << 30) + core_rng_below(&r, 1u << 30));
		int shift = core_rng_below(&r, 2)
				? -(int)core_rng_below(&r, 25)
				: (int)core_rng_below(&r, 62) - 31;
		int32_t off = (int32_t)core_rng_below(&r, 256) - 128;
		int32_t amin = (int32_t)core_rng_below(&r, 256) - 128;
		int32_t amax = amin + (int32_t)core_rng_below(&r, 128 - amin);
		int64_t want = (int64_t)int8_model_mbqm(acc, m, shift) + off;

		if (core_rng_below(&r, 3) == 0) {
			amin = -128;
			amax = 127;
		}
		want = want < amin ? amin : (want > amax ? amax : want);
		int8_t got = s8_requantize_out(acc, m, shift, off, amin - off,
					       amax - off);
		if (got != want)
			fail_msg("acc %d m %d shift %d off %d [%d, %d]: got %d "
				 "want %lld",
				 acc, m, shift, off, amin, amax, got,
				 (long long)want);
#if S8_DSP
		/* the SMMULR route, for accumulators below 2^30 */
		int32_t small = acc / 2;
		if (s8_rq_fast(m, shift)) {
			int32_t e = -shift;
			int64_t v = (int64_t)s8_rq_fast_value_small(
					small, m, e, 1 << (e - 1)) +
				    off;
			int64_t w =
			    (int64_t)int8_model_mbqm(small, m, shift) + off;
			v = v < amin ? amin : (v > amax ? amax : v);
			w = w < amin ? amin : (w > amax ? amax : w);
			assert_int_equal(v, w);
		}
#endif
	}
}

/* ---- MCU kernels against the reference ---------------------------------- */

/* Runs the kernel of c into out (n_out bytes), with lut (NULL: none) as
 * the convolutions' fused activation table. Scratch is allocated at
 * exactly the size the kernel asks for, so ASan sees any overrun. */
static enum s8_status run_kernel(const struct int8_case *c, int8_t *out,
				 const int8_t *lut)
{
	struct s8_conv_params conv;
	struct s8_fc_params fc;
	struct s8_add_params add;
	struct s8_pool_params pool;
	struct s8_mul_params mul;
	struct s8_per_channel q;
	struct s8_dims in, f, o;
	void *scratch = NULL;
	enum s8_status st = S8_ERR_ARG;
	int32_t n = 0;

	int8_case_kernel_params(c, &conv, &fc, &add, &pool, &mul, &q, &in, &f,
				&o);
	conv.lut = lut;
	switch (c->s.op) {
	case INT8_OP_CONV2D:
		n = conv2d_s8_scratch_size(&in, &f, &o);
		/* the planner reserves what the kernel asks for */
		assert_int_equal(n,
				 cost_conv2d_s8_scratch_size(f.h, in.c, o.c));
		break;
	case INT8_OP_DEPTHWISE:
		n = depthwise_conv2d_s8_scratch_size(&conv, &in, &f, &o);
		/* the planner reserves what the kernel asks for */
		assert_int_equal(n, cost_depthwise_conv2d_s8_scratch_size(
					f.h, conv.stride, conv.padding, in.h,
					in.w, in.c, 0));
		break;
	case INT8_OP_DEPTHWISE_INPLACE:
		n = depthwise_conv2d_inplace_s8_scratch_size(&in, &f);
		/* the planner reserves what the kernel asks for */
		assert_int_equal(n, cost_depthwise_conv2d_s8_scratch_size(
					f.h, 1, f.h / 2, in.h, in.w, in.c, 1));
		break;
	case INT8_OP_POINTWISE:
		n = pointwise_conv2d_s8_scratch_size(&in, &o);
		assert_int_equal(
		    n, cost_pointwise_conv2d_s8_scratch_size(in.c, o.c));
		break;
	case INT8_OP_FC: n = fully_connected_s8_scratch_size(in.c); break;
	default: break;
	}
	if (n > 0) {
		scratch = malloc((size_t)n);
		assert_non_null(scratch);
	}
	switch (c->s.op) {
	case INT8_OP_CONV2D: {
		/* packed as the generator does, rows of K*K*C_in */
		const int32_t len = f.h * f.w * in.c;
		int8_t *wp =
		    malloc((size_t)pointwise_s8_packed_bytes(len, o.c));
		int32_t *bf = malloc((size_t)o.c * sizeof *bf);

		assert_non_null(wp);
		assert_non_null(bf);
		pointwise_s8_pack(wp, bf, c->w, c->bias, conv.input_offset, len,
				  o.c);
		st = conv2d_s8(out, c->x, wp, bf, &conv, &q, &in, &f, &o,
			       scratch);
		free(wp);
		free(bf);
		break;
	}
	case INT8_OP_DEPTHWISE:
		st = depthwise_conv2d_s8(out, c->x, c->w, c->bias, &conv, &q,
					 &in, &f, &o, scratch);
		break;
	case INT8_OP_DEPTHWISE_INPLACE:
		memcpy(out, c->x, (size_t)c->n_x);
		st = depthwise_conv2d_inplace_s8(out, c->w, c->bias, &conv, &q,
						 &in, &f, scratch);
		break;
	case INT8_OP_POINTWISE: {
		/* the layout and folded bias the generator emits */
		int8_t *wp =
		    malloc((size_t)pointwise_s8_packed_bytes(in.c, o.c));
		int32_t *bf = malloc((size_t)o.c * sizeof *bf);

		assert_non_null(wp);
		assert_non_null(bf);
		pointwise_s8_pack(wp, bf, c->w, c->bias, conv.input_offset,
				  in.c, o.c);
		st = pointwise_conv2d_s8(out, c->x, wp, bf, &conv, &q, &in, &o,
					 scratch);
		free(wp);
		free(bf);
		break;
	}
	case INT8_OP_FC:
		st = fully_connected_s8(out, c->x, c->w, c->bias, &fc, &q, in.c,
					o.c, scratch);
		break;
	case INT8_OP_ADD:
		st = add_s8(out, c->x, c->x2, &add, (int32_t)c->n_x);
		break;
	case INT8_OP_AVGPOOL:
		st = avgpool_global_s8(out, c->x, &pool, &in);
		break;
	case INT8_OP_MUL_CHANNEL:
		st = mul_channel_s8(out, c->x, c->x2, &mul, &in);
		break;
	case INT8_OP_LUT:
		lut_s8(out, c->x, (int32_t)c->n_x, c->table);
		st = S8_OK;
		break;
	}
	free(scratch);
	return st;
}

static void kernels_match_reference(void **state)
{
	const enum int8_op op = (enum int8_op)(intptr_t)*state;
	char err[CORE_ERR_LEN];
	int cases = 0;
	long bytes = 0;

	for (int i = 0; i < int8_case_count; i++) {
		struct int8_case c;
		int8_t *out;

		if (int8_case_table[i].op != op)
			continue;
		if (int8_case_make(&int8_case_table[i], &c, err, sizeof err))
			fail_msg("case %d: %s", i, err);
		out = malloc((size_t)c.n_out);
		assert_non_null(out);
		memset(out, 0x5a, (size_t)c.n_out);
		assert_int_equal(run_kernel(&c, out, NULL), S8_OK);
		for (long j = 0; j < c.n_out; j++) {
			if (out[j] != c.expect[j])
				fail_msg("%s: output %ld: kernel %d, reference "
					 "%d",
					 c.name, j, out[j], c.expect[j]);
		}
		/* in place: ADD, MUL and LUT may overwrite their input */
		if (op == INT8_OP_ADD || op == INT8_OP_MUL_CHANNEL ||
		    op == INT8_OP_LUT) {
			struct int8_case d = c;
			memcpy(out, c.x, (size_t)c.n_x);
			d.x = out;
			assert_int_equal(run_kernel(&d, out, NULL), S8_OK);
			assert_memory_equal(out, c.expect, (size_t)c.n_out);
		}
		/* convolutions: an activation table fused into the output
		 * stage gives the table of the reference's output */
		if (op == INT8_OP_CONV2D || op == INT8_OP_POINTWISE ||
		    op == INT8_OP_DEPTHWISE ||
		    op == INT8_OP_DEPTHWISE_INPLACE) {
			int8_t table[256];

			for (int k = 0; k < 256; k++)
				table[k] = (int8_t)(k * 37 + 11);
			assert_int_equal(run_kernel(&c, out, table), S8_OK);
			for (long j = 0; j < c.n_out; j++)
				if (out[j] != table[c.expect[j] + 128])
					fail_msg("%s: output %ld with a table",
						 c.name, j);
		}
		bytes += c.n_out;
		cases++;
		free(out);
		int8_case_free(&c);
	}
	assert_true(cases > 0);
	print_message("%s (%s): %d cases, %ld output bytes identical\n",
		      int8_op_name(op), S8_DSP ? "DSP path" : "portable path",
		      cases, bytes);
}

static void kernels_reject_bad_arguments(void **state)
{
	int8_t x[256] = {0}, w[256] = {0}, y[256];
	int32_t scratch_words[256];
	void *scratch = scratch_words;
	const int32_t mult[8] = {1 << 30, 1 << 30, 1 << 30, 1 << 30,
				 1 << 30, 1 << 30, 1 << 30, 1 << 30};
	const int32_t shift[8] = {0};
	struct s8_per_channel q = {mult, shift};
	struct s8_conv_params p = {0, 0, 1, 1, 1, -128, 127, NULL};
	struct s8_dims in = {4, 4, 4}, f = {3, 3, 4}, out = {4, 4, 4};

	assert_int_equal(
	    conv2d_s8(y, x, w, NULL, &p, &q, &in, &f, &out, scratch), S8_OK);
	assert_int_equal(conv2d_s8(y, x, w, NULL, &p, &q, &in, &f, &out,
				   (char *)scratch + 2),
			 S8_ERR_ARG); /* misaligned scratch */
	assert_int_equal(conv2d_s8(y, x, w, NULL, &p, &q, &in, &f, &out, NULL),
			 S8_ERR_ARG);
	out.w = 3;
	assert_int_equal(
	    conv2d_s8(y, x, w, NULL, &p, &q, &in, &f, &out, scratch),
	    S8_ERR_ARG);
	assert_int_equal(
	    depthwise_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f, &out, scratch),
	    S8_ERR_ARG);
	out.w = 4;
	p.dilation = 2;
	assert_int_equal(
	    depthwise_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f, &out, scratch),
	    S8_ERR_ARG);
	p.dilation = 1;
	/* out of place, 3x3 padding 1: the band planes, 4 x 6 rows of 6
	 * halfwords; a scratch is then required, 4-byte aligned */
	assert_int_equal(depthwise_conv2d_s8_scratch_size(&p, &in, &f, &out),
			 4 * 6 * 6 * 2);
	assert_int_equal(
	    depthwise_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f, &out, scratch),
	    S8_OK);
	assert_int_equal(
	    depthwise_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f, &out, NULL),
	    S8_ERR_ARG);
	assert_int_equal(depthwise_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f,
					     &out, (char *)scratch + 2),
			 S8_ERR_ARG);
	/* padding 0: no band route, no scratch */
	p.padding = 0;
	out.h = out.w = 2;
	assert_int_equal(depthwise_conv2d_s8_scratch_size(&p, &in, &f, &out),
			 0);
	assert_int_equal(
	    depthwise_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f, &out, NULL),
	    S8_OK);
	p.padding = 1;
	out.h = out.w = 4;
	assert_int_equal(
	    depthwise_conv2d_inplace_s8(x, w, NULL, &p, &q, &in, &f, scratch),
	    S8_OK);
	p.padding = 0; /* in place needs padding k/2 */
	assert_int_equal(
	    depthwise_conv2d_inplace_s8(x, w, NULL, &p, &q, &in, &f, scratch),
	    S8_ERR_ARG);
	p.padding = 1;
	p.stride = 2;
	assert_int_equal(
	    depthwise_conv2d_inplace_s8(x, w, NULL, &p, &q, &in, &f, scratch),
	    S8_ERR_ARG);
	p.stride = 1;
	struct s8_dims f16 = {16, 16, 4}, o16 = {4, 4, 4};
	p.padding = 8;
	assert_int_equal(depthwise_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f16,
					     &o16, scratch),
			 S8_ERR_ARG); /* kernel above the row-pointer limit */
	p.padding = 0;
	p.stride = 2;
	assert_int_equal(
	    pointwise_conv2d_s8(y, x, w, NULL, &p, &q, &in, &in, scratch),
	    S8_ERR_ARG);
	p.stride = 1;
	assert_int_equal(
	    pointwise_conv2d_s8(y, x, w, NULL, &p, &q, &in, &in, scratch),
	    S8_OK);
	struct s8_fc_params fp = {0, 0, -128, 127};
	assert_int_equal(
	    fully_connected_s8(y, x, w, NULL, &fp, &q, 0, 4, scratch),
	    S8_ERR_ARG);
	struct s8_add_params ap = {0,  0,	1 << 30, 1 << 30, 0,	0,
				   21, 1 << 30, 0,	 0,	  -128, 127};
	assert_int_equal(add_s8(y, x, x, &ap, 4), S8_ERR_ARG);
	struct s8_pool_params pp = {0, 0, 1 << 30, 0, -128, 127};
	struct s8_dims none = {0, 4, 4};
	assert_int_equal(avgpool_global_s8(y, x, &pp, &none), S8_ERR_ARG);
	struct s8_mul_params mp = {0, 0, 0, 1 << 30, 0, -128, 127};
	struct s8_dims noc = {2, 2, 0};
	assert_int_equal(mul_channel_s8(y, x, x, &mp, &noc), S8_ERR_ARG);
}

#define OP_TEST(op)                                                            \
	cmocka_unit_test_prestate(kernels_match_reference,                     \
				  (void *)(intptr_t)(op))

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(kernel_requant_matches_64bit_model),
	    cmocka_unit_test(requantize_out_matches_model),
	    OP_TEST(INT8_OP_CONV2D),
	    OP_TEST(INT8_OP_DEPTHWISE),
	    OP_TEST(INT8_OP_DEPTHWISE_INPLACE),
	    OP_TEST(INT8_OP_POINTWISE),
	    OP_TEST(INT8_OP_FC),
	    OP_TEST(INT8_OP_ADD),
	    OP_TEST(INT8_OP_AVGPOOL),
	    OP_TEST(INT8_OP_MUL_CHANNEL),
	    OP_TEST(INT8_OP_LUT),
	    cmocka_unit_test(kernels_reject_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
