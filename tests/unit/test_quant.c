/* SPDX-License-Identifier: Apache-2.0 */
/* test_quant.c - service/quant: TFLite requantization against a 64-bit
 * model, QuantizeMultiplier, activation tables against float math, clamp
 * ranges, the accumulator bound on crafted weights, and the reference
 * kernels' own results and checks. (The MCU kernels against this reference:
 * test_int8_kernels.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../support/int8_cases.h"
#include "../support/int8_model.h"
#include "quant/quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void requant_matches_64bit_model(void **state)
{
	struct core_rng r;
	long n = 0;

	core_rng_seed(&r, 42);
	for (int i = 0; i < 300000; i++) {
		const struct int8_rq_args a = int8_rand_rq_args(&r);
		const int32_t x = a.x, m = a.m;
		const int shift = a.shift, e = a.e;
		int32_t want = int8_model_mbqm(x, m, shift);
		int32_t got =
		    quant_multiply_by_quantized_multiplier(x, m, shift);

		if (got != want)
			fail_msg("x %d m %d shift %d: model %d reference %d", x,
				 m, shift, want, got);
		assert_int_equal(
		    quant_saturating_rounding_doubling_high_mul(x, m),
		    int8_model_srdhm(x, m));
		assert_int_equal(quant_rounding_divide_by_pot(x, e),
				 int8_model_rdbpot(x, e));
		n++;
	}
	/* the corners: saturation and the most negative values */
	assert_int_equal(
	    quant_saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN),
	    INT32_MAX);
	assert_int_equal(
	    quant_multiply_by_quantized_multiplier(INT32_MIN, INT32_MIN, -31),
	    1);
	assert_int_equal(quant_rounding_divide_by_pot(INT32_MIN, 31), -1);
	assert_int_equal(int8_model_rdbpot(INT32_MAX, 31), 1);
	/* ties: SRDHM rounds them up, RDBPOT away from zero */
	assert_int_equal(
	    quant_saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
	assert_int_equal(
	    quant_saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
	assert_int_equal(quant_rounding_divide_by_pot(-3, 1), -2);
	assert_int_equal(quant_rounding_divide_by_pot(3, 1), 2);
	assert_int_equal(quant_rounding_divide_by_pot(-5, 2), -1);
	print_message("requantization: %ld random triples equal to the model\n",
		      n);
}

static void quantize_multiplier_matches_tflite(void **state)
{
	static const struct {
		double real;
		int32_t m;
		int shift;
	} t[] = {
	    {0.0, 0, 0},
	    {1.0, 1 << 30, 1},
	    {0.5, 1 << 30, 0},
	    {0.75, 1610612736, 0},
	    {0.1, 1717986918, -3},
	    {0x1p-31, 1 << 30, -30},
	    {0x1p-32, 1 << 30, -31},
	    {0x1p-33, 0, 0}, /* shift < -31 flushes to zero */
	    {0x1p29, 1 << 30, 30},
	    {0x1p30, INT32_MAX, 30},	 /* shift > 30 saturates */
	    {1.0 - 0x1p-40, 1 << 30, 1}, /* mantissa rounds up to 2^31 */
	    {-0.5, -(1 << 30), 0},
	    {-1.0, -(1 << 30), 1},
	};
	int32_t m = 7;
	int s = 7;
	struct core_rng r;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(quant_quantize_multiplier(t[i].real, &m, &s),
				 CORE_OK);
		if (m != t[i].m || s != t[i].shift)
			fail_msg("%a: got (%d, %d) want (%d, %d)", t[i].real, m,
				 s, t[i].m, t[i].shift);
	}
	m = 7;
	s = 7;
	assert_int_equal(quant_quantize_multiplier(NAN, &m, &s),
			 CORE_ERR_INVALID);
	assert_int_equal(quant_quantize_multiplier(INFINITY, &m, &s),
			 CORE_ERR_INVALID);
	assert_int_equal(m, 7);
	assert_int_equal(s, 7);
	/* any real in range comes back within half a unit of 2^-31 relative */
	core_rng_seed(&r, 7);
	for (int i = 0; i < 100000; i++) {
		double real = ldexp(0.5 + 0.5 * core_rng_uniform(&r),
				    (int)core_rng_below(&r, 60) - 30);
		double back;

		assert_int_equal(quant_quantize_multiplier(real, &m, &s),
				 CORE_OK);
		assert_true(m >= (1 << 30));
		assert_true(s >= -30 && s <= 30);
		back = ldexp((double)m, s - 31);
		assert_true(fabs(back - real) <= real * 0x1p-31);
	}
}

/* ---- tables ----------------------------------------------------------- */

static double f_model(enum quant_fn f, double x)
{
	double sig = 1.0 / (1.0 + exp(-x));
	double r6 = fmin(fmax(x + 3.0, 0.0), 6.0);

	switch (f) {
	case QUANT_FN_IDENTITY: return x;
	case QUANT_FN_RELU: return fmax(x, 0.0);
	case QUANT_FN_RELU6: return fmin(fmax(x, 0.0), 6.0);
	case QUANT_FN_LEAKYRELU: return x < 0 ? x / 100.0 : x;
	case QUANT_FN_SWISH: return x * sig;
	case QUANT_FN_HSWISH: return x * r6 / 6.0;
	case QUANT_FN_SIGMOID: return sig;
	}
	return NAN;
}

static void lut_matches_float_math(void **state)
{
	static const struct {
		double in_scale;
		int in_zp;
		double out_scale;
		int out_zp;
	} q[] = {{0.05, 0, 1.0 / 256, -128},
		 {0.1, -128, 0.04, 5},
		 {0.02, 127, 0.01, -128},
		 {0.5, 10, 0.03, 127}};
	char err[CORE_ERR_LEN];
	int8_t table[256];
	long checked = 0;

	for (int f = QUANT_FN_IDENTITY; f <= QUANT_FN_SIGMOID; f++) {
		for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
			assert_int_equal(
			    quant_lut_build((enum quant_fn)f, q[i].in_scale,
					    q[i].in_zp, q[i].out_scale,
					    q[i].out_zp, table, err,
					    sizeof err),
			    CORE_OK);
			for (int v = -128; v <= 127; v++) {
				double y =
				    f_model((enum quant_fn)f,
					    q[i].in_scale * (v - q[i].in_zp)) /
				    q[i].out_scale;
				long want = lround(y) + q[i].out_zp;
				want = want < -128 ? -128
						   : (want > 127 ? 127 : want);
				if (table[v + 128] != want)
					fail_msg("fn %d case %zu q %d: got %d "
						 "want %ld",
						 f, i, v, table[v + 128], want);
				checked++;
			}
		}
	}
	/* sigmoid(0) = 0.5 -> 128 + (-128) = 0 */
	assert_int_equal(quant_lut_build(QUANT_FN_SIGMOID, 0.1, 0, 1.0 / 256,
					 -128, table, err, sizeof err),
			 CORE_OK);
	assert_int_equal(table[128], 0);
	/* ties round away from zero: identity with scale 1/2 */
	assert_int_equal(quant_lut_build(QUANT_FN_IDENTITY, 0.5, 0, 1.0, 0,
					 table, err, sizeof err),
			 CORE_OK);
	assert_int_equal(table[128 + 1], 1);
	assert_int_equal(table[128 - 1], -1);
	assert_int_equal(table[128 + 3], 2);
	assert_int_equal(table[128 - 3], -2);
	/* bad scales and zero points are refused, table untouched */
	memset(table, 55, sizeof table);
	assert_int_equal(quant_lut_build(QUANT_FN_SWISH, 0.0, 0, 1.0, 0, table,
					 err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "lut"));
	assert_int_equal(quant_lut_build(QUANT_FN_SWISH, 1.0, 0, NAN, 0, table,
					 err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(quant_lut_build(QUANT_FN_SWISH, 1.0, 128, 1.0, 0,
					 table, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(table[0], 55);
	print_message("tables: %ld entries equal to float math\n", checked);
}

static void activation_mapping_and_clamp_ranges(void **state)
{
	int32_t lo = 0, hi = 0;

	assert_int_equal(quant_fn_from_act(ARCH_ACT_RELU), QUANT_FN_RELU);
	assert_int_equal(quant_fn_from_act(ARCH_ACT_RELU6), QUANT_FN_RELU6);
	assert_int_equal(quant_fn_from_act(ARCH_ACT_LEAKYRELU),
			 QUANT_FN_LEAKYRELU);
	assert_int_equal(quant_fn_from_act(ARCH_ACT_SWISH), QUANT_FN_SWISH);
	assert_int_equal(quant_fn_from_act(ARCH_ACT_HSWISH), QUANT_FN_HSWISH);
	assert_true(quant_fn_is_clamp(QUANT_FN_RELU6));
	assert_false(quant_fn_is_clamp(QUANT_FN_SWISH));
	assert_true(fabs(quant_fn_eval(QUANT_FN_HSWISH, 1.0) - 4.0 / 6.0) <
		    1e-15);
	assert_true(quant_fn_eval(QUANT_FN_LEAKYRELU, -2.0) == -0.02);
	/* relu6 over [0, 6] in 255 steps: the whole int8 range */
	quant_fn_clamp_range(QUANT_FN_RELU6, 6.0 / 255.0, -128, &lo, &hi);
	assert_int_equal(lo, -128);
	assert_int_equal(hi, 127);
	/* scale 0.1, zp -50: relu6 ends at -50 + 60 = 10 */
	quant_fn_clamp_range(QUANT_FN_RELU6, 0.1, -50, &lo, &hi);
	assert_int_equal(lo, -50);
	assert_int_equal(hi, 10);
	quant_fn_clamp_range(QUANT_FN_RELU, 0.1, 7, &lo, &hi);
	assert_int_equal(lo, 7);
	assert_int_equal(hi, 127);
	quant_fn_clamp_range(QUANT_FN_SWISH, 0.1, 7, &lo, &hi);
	assert_int_equal(lo, -128);
	assert_int_equal(hi, 127);
}

/* ---- accumulator bound -------------------------------------------------- */

static void acc_check_on_crafted_weights(void **state)
{
	/* input_offset 128 (zp -128): max |x + offset| = 255; weights -128:
	 * 32640 per tap, and 65793 taps give 2147483520 = INT32_MAX - 127. */
	const int taps = 65793;
	int8_t *w = malloc(taps);
	char err[CORE_ERR_LEN];
	int64_t worst = 0;
	int32_t bias, shift;

	assert_non_null(w);
	memset(w, -128, taps);
	assert_int_equal(quant_acc_check("blocks.3.expand", w, 1, taps, taps, 1,
					 NULL, 128, NULL, &worst, err,
					 sizeof err),
			 CORE_OK);
	assert_int_equal(worst, 2147483520LL);
	bias = 127; /* exactly INT32_MAX */
	assert_int_equal(quant_acc_check("blocks.3.expand", w, 1, taps, taps, 1,
					 &bias, 128, NULL, &worst, err,
					 sizeof err),
			 CORE_OK);
	assert_int_equal(worst, INT32_MAX);
	bias = -128; /* one more */
	assert_int_equal(quant_acc_check("blocks.3.expand", w, 1, taps, taps, 1,
					 &bias, 128, NULL, &worst, err,
					 sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "blocks.3.expand"));
	assert_non_null(strstr(err, "output channel 0"));
	/* input_offset -127 (zp 127): max |x - 127| = 255 as well */
	assert_int_equal(quant_acc_check("x", w, 1, taps, taps, 1, NULL, -127,
					 NULL, &worst, err, sizeof err),
			 CORE_OK);
	/* a smaller offset gives room: |x + 0| <= 128 */
	assert_int_equal(quant_acc_check("x", w, 1, taps, taps, 1, NULL, 0,
					 NULL, &worst, err, sizeof err),
			 CORE_OK);
	assert_int_equal(worst, (int64_t)taps * 128 * 128);
	/* a positive shift multiplies the bound: 16320 * 2^17 fits int32,
	 * 16320 * 2^18 does not */
	memset(w, 0, taps);
	w[0] = 64;  /* 64 * 255 = 16320 */
	shift = 17; /* 16320 * 2^17 = 2139095040 < 2^31 */
	assert_int_equal(quant_acc_check("se.fc1", w, 1, 4, 4, 1, NULL, 128,
					 &shift, &worst, err, sizeof err),
			 CORE_OK);
	assert_int_equal(worst, 2139095040LL);
	shift = 18;
	assert_int_equal(quant_acc_check("se.fc1", w, 1, 4, 4, 1, NULL, 128,
					 &shift, &worst, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "se.fc1"));
	assert_non_null(strstr(err, "2^18"));
	/* depthwise layout (K*K, C): the channel's taps are C apart; channel
	 * 2 of 3 is the heavy one */
	memset(w, 0, taps);
	for (int t = 0; t < 9; t++)
		w[t * 3 + 2] = -128;
	assert_int_equal(quant_acc_check("dw", w, 3, 9, 1, 3, NULL, 128, NULL,
					 &worst, err, sizeof err),
			 CORE_OK);
	assert_int_equal(worst, 9LL * 128 * 255);
	{
		int32_t b3[3] = {0, 0, INT32_MAX - 9 * 128 * 255 + 1};
		assert_int_equal(quant_acc_check("dw", w, 3, 9, 1, 3, b3, 128,
						 NULL, &worst, err, sizeof err),
				 CORE_ERR_INVALID);
		assert_non_null(strstr(err, "output channel 2"));
	}
	/* bad arguments */
	assert_int_equal(quant_acc_check("x", w, 0, 9, 1, 3, NULL, 0, NULL,
					 NULL, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(quant_acc_check("x", w, 1, 9, 1, 3, NULL, 129, NULL,
					 NULL, err, sizeof err),
			 CORE_ERR_INVALID);
	free(w);
}

/* ---- the reference itself ------------------------------------------------ */

static void reference_hand_computed(void **state)
{
	/* x + offset = {15, -15}; rows {1, 2}, {-3, 4}; bias {100, -100}:
	 * acc = {85, -205}. Multiplier 2^30 = 0.5 with shift 0, and 0.25 with
	 * shift -1, where TFLite's two roundings give 85/4 = 21.25 -> 22. */
	const int8_t x[2] = {10, -20}, w[4] = {1, 2, -3, 4};
	const int32_t bias[2] = {100, -100}, mult[2] = {1 << 30, 1 << 30};
	int32_t shift[2] = {0, 0};
	struct quant_per_channel q = {mult, shift};
	struct quant_conv_params p = {5, 3, 1, 0, 1, -128, 127};
	struct quant_dims in = {1, 1, 2}, f = {1, 1, 2}, out = {1, 1, 2};
	char err[CORE_ERR_LEN];
	int8_t y[2];

	assert_int_equal(ref_conv2d_s8(y, x, w, bias, &p, &q, &in, &f, &out,
				       err, sizeof err),
			 CORE_OK);
	assert_int_equal(y[0], 43 + 3);	  /* 42.5 rounds up */
	assert_int_equal(y[1], -102 + 3); /* -102.5 rounds up too */
	shift[0] = -1;
	assert_int_equal(ref_pointwise_conv2d_s8(y, x, w, bias, &p, &q, &in,
						 &out, err, sizeof err),
			 CORE_OK);
	assert_int_equal(y[0], 22 + 3);
	/* relu6-style clamp */
	p.act_max = 10;
	assert_int_equal(ref_pointwise_conv2d_s8(y, x, w, bias, &p, &q, &in,
						 &out, err, sizeof err),
			 CORE_OK);
	assert_int_equal(y[0], 10);
}

/* Realistic cases: every reference output is within one step of the exact
 * real-valued result acc * real_multiplier + zp (two roundings). */
static void reference_close_to_real_arithmetic(void **state)
{
	char err[CORE_ERR_LEN];
	long checked = 0;

	for (int i = 0; i < int8_case_count; i++) {
		const struct int8_case_spec *s = &int8_case_table[i];
		struct int8_case c;

		if (s->mult != INT8_MULT_REALISTIC ||
		    (s->op != INT8_OP_POINTWISE && s->op != INT8_OP_FC))
			continue;
		assert_int_equal(int8_case_make(s, &c, err, sizeof err),
				 CORE_OK);
		const int ci = c.in.c, co = c.out.c;
		for (long px = 0; px < c.n_out / co; px++) {
			for (int o = 0; o < co; o++) {
				int64_t acc = c.bias ? c.bias[o] : 0;
				for (int k = 0; k < ci; k++)
					acc += (int64_t)(c.x[px * ci + k] +
							 s->in_zp * -1) *
					       c.w[o * ci + k];
				double real = ldexp(c.mult[o], c.shift[o] - 31);
				double y = (double)acc * real + s->out_zp;
				double lo = s->act_min || s->act_max
						? s->act_min
						: -128;
				double hi =
				    s->act_min || s->act_max ? s->act_max : 127;
				y = fmin(fmax(y, lo), hi);
				assert_true(fabs(c.expect[px * co + o] - y) <=
					    1.0);
				checked++;
			}
		}
		int8_case_free(&c);
	}
	print_message("reference: %ld outputs within 1 of real arithmetic\n",
		      checked);
}

static void reference_rejects_bad_parameters(void **state)
{
	int8_t x[64] = {0}, w[64] = {0}, y[64];
	const int32_t mult[4] = {1 << 30, 1 << 30, 1 << 30, 1 << 30};
	int32_t shift[4] = {0, 0, 0, 0};
	const int32_t big_bias[4] = {INT32_MAX, 0, 0, 0};
	struct quant_per_channel q = {mult, shift};
	struct quant_conv_params p = {0, 0, 1, 1, 1, -128, 127};
	struct quant_dims in = {3, 3, 2}, f = {3, 3, 2}, out = {3, 3, 2};
	char err[CORE_ERR_LEN];

	assert_int_equal(ref_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f, &out,
				       err, sizeof err),
			 CORE_OK);
	p.dilation = 2;
	assert_int_equal(ref_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f, &out,
				       err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "dilation"));
	p.dilation = 1;
	out.h = 2;
	assert_int_equal(ref_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f, &out,
				       err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "expected 3x3"));
	out.h = 3;
	p.input_offset = 129;
	assert_int_equal(ref_depthwise_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f,
						 &out, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "input_offset"));
	p.input_offset = 0;
	p.act_min = 10;
	p.act_max = 9;
	assert_int_equal(ref_depthwise_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f,
						 &out, err, sizeof err),
			 CORE_ERR_INVALID);
	p.act_min = -128;
	p.act_max = 127;
	shift[1] = 31;
	assert_int_equal(ref_depthwise_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f,
						 &out, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "shift[1]"));
	shift[1] = 0;
	out.c = 3; /* depthwise needs out C == in C */
	assert_int_equal(ref_depthwise_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f,
						 &out, err, sizeof err),
			 CORE_ERR_INVALID);
	out.c = 2;
	f.w = 1;
	assert_int_equal(ref_conv2d_s8(y, x, w, NULL, &p, &q, &in, &f, &out,
				       err, sizeof err),
			 CORE_ERR_INVALID);
	f.w = 3;
	assert_int_equal(ref_conv2d_s8(y, NULL, w, NULL, &p, &q, &in, &f, &out,
				       err, sizeof err),
			 CORE_ERR_INVALID);
	/* pointwise: stride must be 1 */
	p.padding = 0;
	p.stride = 2;
	assert_int_equal(ref_pointwise_conv2d_s8(y, x, w, NULL, &p, &q, &in,
						 &out, err, sizeof err),
			 CORE_ERR_INVALID);
	p.stride = 1;
	/* accumulators that leave int32 are reported, not wrapped */
	x[0] = 1;
	w[0] = 1;
	assert_int_equal(ref_pointwise_conv2d_s8(y, x, w, big_bias, &p, &q, &in,
						 &out, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "leaves int32"));
	/* fully connected, elementwise */
	struct quant_fc_params fp = {0, 0, -128, 127};
	assert_int_equal(ref_fully_connected_s8(y, x, w, NULL, &fp, &q, 0, 2,
						err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(ref_fully_connected_s8(y, x, w, NULL, &fp, NULL, 4, 2,
						err, sizeof err),
			 CORE_ERR_INVALID);
	struct quant_add_params ap;
	assert_int_equal(
	    quant_add_params_make(0.1, 0, 0.1, 0, 0.1, 0, &ap, err, sizeof err),
	    CORE_OK);
	ap.input1_shift = 1;
	assert_int_equal(ref_add_s8(y, x, x, &ap, 4, err, sizeof err),
			 CORE_ERR_INVALID);
	struct quant_pool_params pp;
	assert_int_equal(
	    quant_pool_params_make(0.1, 0, 0.1, 0, 9, &pp, err, sizeof err),
	    CORE_OK);
	struct quant_dims bad = {0, 3, 2};
	assert_int_equal(
	    ref_avgpool_global_s8(y, x, &pp, &bad, err, sizeof err),
	    CORE_ERR_INVALID);
	struct quant_mul_params mp;
	assert_int_equal(
	    quant_mul_params_make(0.1, 0, 0.1, 0, 0.1, 0, &mp, err, sizeof err),
	    CORE_OK);
	mp.shift = -32;
	assert_int_equal(ref_mul_channel_s8(y, x, x, &mp, &in, err, sizeof err),
			 CORE_ERR_INVALID);
	/* parameter builders */
	float ws[2] = {0.01f, -1.0f};
	int32_t mo[2], so[2];
	assert_int_equal(
	    quant_per_channel_make(0.1, ws, 0.1, 2, mo, so, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(err, "scale[1]"));
	ws[1] = 0.02f;
	assert_int_equal(
	    quant_per_channel_make(0.1, ws, 0.1, 2, mo, so, err, sizeof err),
	    CORE_OK);
	assert_int_equal(so[0], -6); /* 0.01 = 0.64 * 2^-6 */
	/* output multiplier of ADD must stay below 1 */
	assert_int_equal(quant_add_params_make(1.0, 0, 1.0, 0, 1e-9, 0, &ap,
					       err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(quant_add_params_make(1.0, 0, 1.0, 200, 1.0, 0, &ap,
					       err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(
	    quant_pool_params_make(1.0, 0, 1.0, 0, 0, &pp, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_int_equal(quant_mul_params_make(1.0, 0, -1.0, 0, 1.0, 0, &mp,
					       err, sizeof err),
			 CORE_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(requant_matches_64bit_model),
	    cmocka_unit_test(quantize_multiplier_matches_tflite),
	    cmocka_unit_test(lut_matches_float_math),
	    cmocka_unit_test(activation_mapping_and_clamp_ranges),
	    cmocka_unit_test(acc_check_on_crafted_weights),
	    cmocka_unit_test(reference_hand_computed),
	    cmocka_unit_test(reference_close_to_real_arithmetic),
	    cmocka_unit_test(reference_rejects_bad_parameters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
