/* SPDX-License-Identifier: Apache-2.0 */
/* int8_cases.c - test support: the int8 kernel case table and the code that
 * turns a case into seeded random tensors, service/quant parameters and the
 * reference output. */
#include "int8_cases.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FULL 0, 0
#define REAL INT8_MULT_REALISTIC
#define EXTR INT8_MULT_EXTREME

/* op, h, w, cin, cout, k, stride, pad, in_zp, out_zp, act range, mult,
 * bias, seed. For LUT cases cout is the enum quant_fn. */
#define CASE(...) CASE_(__VA_ARGS__) /* expands FULL first */
#define CASE_(op, h, w, ci, co, k, s, p, izp, ozp, lo, hi, m, b, seed)         \
	{                                                                      \
		INT8_OP_##op, h, w, ci, co, k, s, p, izp, ozp, lo, hi, m, b,   \
		    seed                                                       \
	}

const struct int8_case_spec int8_case_table[] = {
    /* kxk convolutions: k 1/3/5/7, stride 1/2, padding 0..3 */
    CASE(CONV2D, 15, 15, 3, 16, 3, 2, 1, -5, 3, FULL, REAL, 1, 101),
    CASE(CONV2D, 7, 9, 5, 7, 5, 1, 2, -128, -128, FULL, REAL, 1, 102),
    CASE(CONV2D, 11, 11, 1, 3, 7, 2, 3, 127, 127, FULL, REAL, 1, 103),
    CASE(CONV2D, 8, 8, 4, 8, 3, 1, 0, 0, 0, FULL, REAL, 0, 104),
    CASE(CONV2D, 1, 1, 3, 5, 3, 1, 1, 10, -10, FULL, REAL, 1, 105),
    CASE(CONV2D, 10, 6, 3, 9, 3, 2, 1, -1, 2, FULL, EXTR, 2, 106),
    CASE(CONV2D, 9, 9, 6, 5, 1, 2, 0, 4, 4, FULL, REAL, 1, 107),
    CASE(CONV2D, 13, 13, 2, 6, 5, 2, 2, -7, -20, -20, 127, REAL, 1, 108),
    CASE(CONV2D, 5, 5, 8, 4, 3, 1, 1, 3, -128, -128, 60, REAL, 1, 109),
    CASE(CONV2D, 6, 7, 3, 1, 3, 2, 1, -128, 127, FULL, EXTR, 1, 110),
    /* depthwise: channels 1, 3..33 (multiples of 4 and not) */
    CASE(DEPTHWISE, 9, 9, 8, 8, 3, 1, 1, -3, 5, FULL, REAL, 1, 201),
    CASE(DEPTHWISE, 10, 7, 5, 5, 3, 2, 1, 20, -2, FULL, REAL, 1, 202),
    CASE(DEPTHWISE, 11, 11, 17, 17, 5, 1, 2, -128, 127, FULL, REAL, 1, 203),
    CASE(DEPTHWISE, 12, 12, 4, 4, 7, 2, 3, 127, -128, FULL, REAL, 1, 204),
    CASE(DEPTHWISE, 7, 7, 3, 3, 7, 1, 3, 0, 0, FULL, REAL, 0, 205),
    CASE(DEPTHWISE, 6, 5, 12, 12, 3, 1, 0, 1, 1, FULL, REAL, 1, 206),
    CASE(DEPTHWISE, 20, 20, 32, 32, 3, 1, 1, -9, -9, -9, 127, REAL, 1, 207),
    CASE(DEPTHWISE, 5, 9, 1, 1, 5, 1, 2, -60, 60, FULL, EXTR, 2, 208),
    CASE(DEPTHWISE, 1, 1, 6, 6, 3, 1, 1, 2, 2, FULL, REAL, 1, 209),
    CASE(DEPTHWISE, 2, 13, 9, 9, 5, 2, 2, 7, -7, FULL, EXTR, 1, 210),
    CASE(DEPTHWISE, 8, 8, 33, 33, 3, 2, 1, -4, 4, -100, 100, REAL, 1, 211),
    CASE(DEPTHWISE, 7, 10, 12, 12, 3, 1, 1, 3, -3, FULL, EXTR, 2, 212),
    CASE(DEPTHWISE, 9, 6, 8, 8, 3, 2, 1, -128, 127, FULL, EXTR, 1, 213),
    /* the DSP band route out of place (padding K/2): stride 2 with odd
     * sizes, several bands through the ring of plane rows, channels not a
     * multiple of 4, clamped and general requantization; stride 1 */
    CASE(DEPTHWISE, 23, 30, 6, 6, 3, 2, 1, -5, 2, FULL, REAL, 1, 214),
    CASE(DEPTHWISE, 33, 21, 5, 5, 5, 2, 2, 9, -4, -4, 127, REAL, 1, 215),
    CASE(DEPTHWISE, 11, 13, 10, 10, 3, 2, 1, 0, 3, -20, 100, EXTR, 2, 216),
    CASE(DEPTHWISE, 14, 9, 13, 13, 5, 2, 2, -128, 0, FULL, EXTR, 1, 217),
    CASE(DEPTHWISE, 1, 1, 6, 6, 3, 2, 1, 2, 2, FULL, REAL, 1, 218),
    CASE(DEPTHWISE, 2, 3, 7, 7, 5, 2, 2, 1, 1, FULL, REAL, 1, 219),
    CASE(DEPTHWISE, 40, 18, 4, 4, 3, 1, 1, 3, 3, FULL, REAL, 1, 220),
    CASE(DEPTHWISE, 12, 10, 8, 8, 5, 2, 2, -3, 6, -100, 100, REAL, 1, 221),
    /* the same kernel in place (stride 1, padding k/2) */
    CASE(DEPTHWISE_INPLACE, 9, 9, 8, 8, 3, 1, 1, -3, 5, FULL, REAL, 1, 301),
    CASE(DEPTHWISE_INPLACE, 11, 11, 17, 17, 5, 1, 2, -128, 127, FULL, REAL, 1,
	 302),
    CASE(DEPTHWISE_INPLACE, 7, 7, 3, 3, 7, 1, 3, 0, 0, FULL, REAL, 0, 303),
    CASE(DEPTHWISE_INPLACE, 20, 20, 32, 32, 3, 1, 1, -9, -9, FULL, REAL, 1,
	 304),
    CASE(DEPTHWISE_INPLACE, 5, 9, 1, 1, 5, 1, 2, -60, 60, FULL, EXTR, 2, 305),
    CASE(DEPTHWISE_INPLACE, 1, 1, 6, 6, 3, 1, 1, 2, 2, FULL, REAL, 1, 306),
    CASE(DEPTHWISE_INPLACE, 2, 3, 5, 5, 7, 1, 3, 9, 9, FULL, REAL, 1, 307),
    CASE(DEPTHWISE_INPLACE, 13, 6, 12, 12, 5, 1, 2, -1, 0, FULL, EXTR, 1, 308),
    CASE(DEPTHWISE_INPLACE, 6, 11, 16, 16, 3, 1, 1, 0, 5, -20, 100, EXTR, 2,
	 309),
    /* the DSP band route (planes within a quarter of the map): several
     * bands of rows, odd widths, channels not a multiple of 4, clamped,
     * general requantization */
    CASE(DEPTHWISE_INPLACE, 19, 7, 62, 62, 5, 1, 2, 4, -6, -6, 127, REAL, 1,
	 310),
    CASE(DEPTHWISE_INPLACE, 35, 5, 33, 33, 3, 1, 1, -7, 3, FULL, REAL, 1, 311),
    CASE(DEPTHWISE_INPLACE, 12, 9, 52, 52, 3, 1, 1, 5, -3, -20, 100, EXTR, 2,
	 312),
    /* pointwise */
    CASE(POINTWISE, 5, 5, 16, 32, 1, 1, 0, -2, 6, FULL, REAL, 1, 401),
    CASE(POINTWISE, 3, 7, 3, 7, 1, 1, 0, 11, -11, FULL, REAL, 1, 402),
    CASE(POINTWISE, 1, 1, 1, 1, 1, 1, 0, 0, 0, FULL, REAL, 0, 403),
    CASE(POINTWISE, 4, 4, 48, 36, 1, 1, 0, -128, 127, FULL, REAL, 1, 404),
    CASE(POINTWISE, 7, 3, 5, 2, 1, 1, 0, 127, -128, FULL, EXTR, 2, 405),
    CASE(POINTWISE, 2, 9, 64, 17, 1, 1, 0, -5, -30, -30, 127, REAL, 1, 406),
    CASE(POINTWISE, 1, 3, 4, 3, 1, 1, 0, 1, 1, FULL, EXTR, 1, 407),
    CASE(POINTWISE, 6, 6, 24, 144, 1, 1, 0, -17, 9, FULL, REAL, 1, 408),
    /* clamped with even C_out: the clamped hot loop */
    CASE(POINTWISE, 4, 5, 20, 12, 1, 1, 0, 3, -7, -7, 90, REAL, 1, 409),
    CASE(POINTWISE, 3, 4, 8, 6, 1, 1, 0, 2, 5, -50, 100, REAL, 1, 410),
    /* the hot loop's MAC for 1, 2, 3, 7, 8, 9, 10 and 17 groups of 4
     * inputs (C_in not always a multiple of 4), full range and clamped,
     * odd pixel counts (the last block of fewer than 4 pixels takes the
     * general route), a single row pair */
    CASE(POINTWISE, 3, 5, 3, 4, 1, 1, 0, 6, -3, FULL, REAL, 1, 411),
    CASE(POINTWISE, 2, 5, 2, 6, 1, 1, 0, -9, 4, -60, 40, REAL, 1, 412),
    CASE(POINTWISE, 3, 3, 6, 12, 1, 1, 0, 0, 12, FULL, REAL, 1, 413),
    CASE(POINTWISE, 5, 5, 10, 8, 1, 1, 0, 7, -2, FULL, REAL, 1, 414),
    CASE(POINTWISE, 3, 5, 11, 10, 1, 1, 0, -3, 8, -1, 127, REAL, 1, 415),
    CASE(POINTWISE, 3, 3, 27, 10, 1, 1, 0, 4, -40, -40, 70, REAL, 1, 416),
    CASE(POINTWISE, 3, 3, 32, 6, 1, 1, 0, -6, 3, FULL, REAL, 1, 417),
    CASE(POINTWISE, 1, 9, 35, 4, 1, 1, 0, 2, -128, -128, 100, REAL, 1, 418),
    CASE(POINTWISE, 7, 1, 40, 2, 1, 1, 0, 1, 1, FULL, REAL, 1, 419),
    CASE(POINTWISE, 2, 6, 66, 8, 1, 1, 0, -12, 20, FULL, REAL, 1, 420),
    /* fully connected (h = w = 1) */
    CASE(FC, 1, 1, 1, 1, 1, 1, 0, 0, 0, FULL, REAL, 1, 501),
    CASE(FC, 1, 1, 17, 5, 1, 1, 0, -128, 3, FULL, REAL, 1, 502),
    CASE(FC, 1, 1, 64, 10, 1, 1, 0, 127, -128, FULL, REAL, 0, 503),
    CASE(FC, 1, 1, 200, 37, 1, 1, 0, 5, 5, FULL, EXTR, 1, 504),
    CASE(FC, 1, 1, 3, 8, 1, 1, 0, -3, 0, 0, 127, REAL, 2, 505),
    CASE(FC, 1, 1, 1280, 10, 1, 1, 0, -20, 14, FULL, REAL, 1, 506),
    /* add (cin = channels, n = h * w * cin) */
    CASE(ADD, 5, 5, 8, 8, 1, 1, 0, -3, 4, FULL, REAL, 0, 601),
    CASE(ADD, 1, 1, 1, 1, 1, 1, 0, 0, 0, FULL, REAL, 0, 602),
    CASE(ADD, 7, 9, 13, 13, 1, 1, 0, -128, -128, FULL, REAL, 0, 603),
    CASE(ADD, 3, 3, 5, 5, 1, 1, 0, 127, -128, FULL, EXTR, 0, 604),
    CASE(ADD, 4, 6, 7, 7, 1, 1, 0, 9, -9, -9, 90, REAL, 0, 605),
    /* from 512 elements the DSP route's tables: clamped, extreme */
    CASE(ADD, 8, 9, 9, 9, 1, 1, 0, 9, -9, -9, 90, REAL, 0, 606),
    CASE(ADD, 9, 8, 8, 8, 1, 1, 0, 127, -128, FULL, EXTR, 0, 607),
    /* global average pool */
    CASE(AVGPOOL, 7, 7, 16, 16, 1, 1, 0, -2, 3, FULL, REAL, 0, 701),
    CASE(AVGPOOL, 1, 1, 3, 3, 1, 1, 0, 0, 0, FULL, REAL, 0, 702),
    CASE(AVGPOOL, 5, 3, 5, 5, 1, 1, 0, -128, -128, FULL, REAL, 0, 703),
    CASE(AVGPOOL, 20, 20, 33, 33, 1, 1, 0, 6, -6, FULL, REAL, 0, 704),
    CASE(AVGPOOL, 2, 2, 4, 4, 1, 1, 0, 127, 127, FULL, EXTR, 0, 705),
    /* runs of 256 pixels summed in halfwords, then the remainder */
    CASE(AVGPOOL, 30, 20, 10, 10, 1, 1, 0, -128, 5, FULL, EXTR, 0, 706),
    /* SE channel scaling */
    CASE(MUL_CHANNEL, 4, 4, 8, 8, 1, 1, 0, -4, 2, FULL, REAL, 0, 801),
    CASE(MUL_CHANNEL, 3, 5, 13, 13, 1, 1, 0, -128, -128, FULL, REAL, 0, 802),
    CASE(MUL_CHANNEL, 5, 1, 3, 3, 1, 1, 0, 127, -128, FULL, EXTR, 0, 803),
    CASE(MUL_CHANNEL, 6, 2, 7, 7, 1, 1, 0, 0, -10, -10, 127, REAL, 0, 804),
    CASE(MUL_CHANNEL, 9, 7, 18, 18, 1, 1, 0, 3, 7, FULL, REAL, 0, 805),
    CASE(MUL_CHANNEL, 4, 5, 20, 20, 1, 1, 0, -50, 50, -20, 100, REAL, 0, 806),
    /* tables (cout = function) */
    CASE(LUT, 3, 5, 7, QUANT_FN_SIGMOID, 1, 1, 0, -10, -128, FULL, REAL, 0,
	 901),
    CASE(LUT, 4, 4, 9, QUANT_FN_SWISH, 1, 1, 0, 20, -100, FULL, REAL, 0, 902),
    CASE(LUT, 2, 7, 5, QUANT_FN_HSWISH, 1, 1, 0, -128, -128, FULL, REAL, 0,
	 903),
    CASE(LUT, 5, 5, 3, QUANT_FN_LEAKYRELU, 1, 1, 0, 127, 0, FULL, REAL, 0, 904),
};
const int int8_case_count =
    (int)(sizeof int8_case_table / sizeof int8_case_table[0]);

static const char *const op_names[INT8_OP_COUNT] = {
    "conv2d_s8",	   "depthwise_conv2d_s8", "depthwise_conv2d_inplace_s8",
    "pointwise_conv2d_s8", "fully_connected_s8",  "add_s8",
    "avgpool_global_s8",   "mul_channel_s8",	  "lut_s8"};

const char *int8_op_name(enum int8_op op)
{
	return (unsigned)op < INT8_OP_COUNT ? op_names[op] : "?";
}

static int8_t *rand_s8(struct core_rng *r, long n, int allow_min)
{
	int8_t *p = core_malloc(n > 0 ? (size_t)n : 1);

	if (!p)
		return NULL;
	for (long i = 0; i < n; i++) {
		int v = (int)core_rng_below(r, 256) - 128;
		if (v == -128 && !allow_min)
			v = -127;
		p[i] = (int8_t)v;
	}
	return p;
}

static double rand_range(struct core_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * core_rng_uniform(r);
}

/* An extreme (multiplier, shift): one third the ends of the int32 range
 * and powers of two with any shift (outputs mostly saturate); the rest a
 * denormal multiplier (below 2^30, as QuantizeMultiplier never makes) that
 * brings `real` back through any shift in [-31, 30], where the left shifts
 * may wrap. */
static void extreme_mult(struct core_rng *r, double real, int32_t *m,
			 int32_t *s)
{
	static const int32_t picks[] = {INT32_MAX, INT32_MIN,  1 << 30,	  1,
					0,	   -(1 << 30), 1518500250};
	double dm;

	*s = (int32_t)core_rng_below(r, 62) - 31;
	dm = round(ldexp(real, 31 - *s));
	if (core_rng_below(r, 3) > 0 && dm >= 1.0 && dm <= INT32_MAX) {
		*m = (int32_t)dm;
		return;
	}
	*m = core_rng_below(r, 2) ? picks[core_rng_below(r, 7)]
				  : (int32_t)(uint32_t)core_rng_next(r);
}

/* Per-channel multipliers: realistic ones map a typical accumulator of
 * `taps` products to a spread of int8 outputs. */
static enum core_status make_mults(struct int8_case *c, struct core_rng *r,
				   long taps, char *err, size_t errlen)
{
	const double base = 0.011 / sqrt((double)taps);

	c->mult = core_malloc((size_t)c->n_ch * sizeof(int32_t));
	c->shift = core_malloc((size_t)c->n_ch * sizeof(int32_t));
	if (!c->mult || !c->shift) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	for (long i = 0; i < c->n_ch; i++) {
		const double real = base * rand_range(r, 0.5, 1.5);

		if (c->s.mult == INT8_MULT_EXTREME) {
			extreme_mult(r, real, &c->mult[i], &c->shift[i]);
		} else {
			int s = 0;
			quant_quantize_multiplier(real, &c->mult[i], &s);
			c->shift[i] = s;
		}
	}
	return CORE_OK;
}

/* Biases: small, or close to what the int32 accumulator can still hold
 * given the weights (channel stride cs, tap stride ts). */
static enum core_status make_bias(struct int8_case *c, struct core_rng *r,
				  long taps, long cs, long ts, char *err,
				  size_t errlen)
{
	const int32_t off = -c->s.in_zp;
	const int64_t lo = -128 + off, hi = 127 + off;
	const int64_t xmax =
	    (lo < 0 ? -lo : lo) > hi ? (lo < 0 ? -lo : lo) : hi;

	if (!c->s.bias)
		return CORE_OK;
	c->bias = core_malloc((size_t)c->n_ch * sizeof(int32_t));
	if (!c->bias) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	for (long i = 0; i < c->n_ch; i++) {
		int64_t sum = 0, room;

		if (c->s.bias == 1) {
			c->bias[i] = (int32_t)core_rng_below(r, 20001) - 10000;
			continue;
		}
		for (long t = 0; t < taps; t++) {
			int v = c->w[i * cs + t * ts];
			sum += v < 0 ? -v : v;
		}
		room = INT32_MAX - sum * xmax;
		room = (int64_t)(room * rand_range(r, 0.9, 1.0));
		c->bias[i] = (int32_t)(core_rng_below(r, 2) ? room : -room);
	}
	return CORE_OK;
}

static void act_range(const struct int8_case_spec *s, int32_t *lo, int32_t *hi)
{
	*lo = -128;
	*hi = 127;
	if (s->act_min || s->act_max) {
		*lo = s->act_min;
		*hi = s->act_max;
	}
}

static enum core_status make_conv(struct int8_case *c, struct core_rng *r,
				  char *err, size_t errlen)
{
	const struct int8_case_spec *s = &c->s;
	const int dw =
	    s->op == INT8_OP_DEPTHWISE || s->op == INT8_OP_DEPTHWISE_INPLACE;
	const int pw = s->op == INT8_OP_POINTWISE;
	long taps, cs, ts;
	enum core_status rc;

	c->in = (struct quant_dims){s->h, s->w, s->cin};
	c->filter = (struct quant_dims){s->k, s->k, s->cin};
	c->out = (struct quant_dims){(s->h + 2 * s->pad - s->k) / s->stride + 1,
				     (s->w + 2 * s->pad - s->k) / s->stride + 1,
				     dw ? s->cin : s->cout};
	c->n_ch = c->out.c;
	c->n_x = (long)s->h * s->w * s->cin;
	c->n_out = (long)c->out.h * c->out.w * c->out.c;
	if (dw) {
		c->n_w = (long)s->k * s->k * s->cin;
		taps = (long)s->k * s->k;
		cs = 1;
		ts = s->cin;
	} else {
		c->n_w = (long)s->cout * s->k * s->k * s->cin;
		taps = (long)s->k * s->k * s->cin;
		cs = taps;
		ts = 1;
	}
	c->x = rand_s8(r, c->n_x, 1);
	c->w = rand_s8(r, c->n_w, s->mult == INT8_MULT_EXTREME);
	if (!c->x || !c->w) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	rc = make_mults(c, r, taps, err, errlen);
	if (rc)
		return rc;
	rc = make_bias(c, r, taps, cs, ts, err, errlen);
	if (rc)
		return rc;
	c->conv = (struct quant_conv_params){.input_offset = -s->in_zp,
					     .output_offset = s->out_zp,
					     .stride = s->stride,
					     .padding = s->pad,
					     .dilation = 1};
	act_range(s, &c->conv.act_min, &c->conv.act_max);
	/* Every case must pass the generator's accumulator check (extreme
	 * shifts are exempt: they test the wrap-around of the left shift). */
	rc = quant_acc_check(int8_op_name(s->op), c->w, (int)c->n_ch, (int)taps,
			     cs, ts, c->bias, c->conv.input_offset,
			     s->mult == INT8_MULT_EXTREME ? NULL : c->shift,
			     NULL, err, errlen);
	if (rc)
		return rc;
	c->expect = core_malloc((size_t)c->n_out);
	if (!c->expect) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	struct quant_per_channel q = {c->mult, c->shift};
	if (dw)
		return ref_depthwise_conv2d_s8(c->expect, c->x, c->w, c->bias,
					       &c->conv, &q, &c->in, &c->filter,
					       &c->out, err, errlen);
	if (pw)
		return ref_pointwise_conv2d_s8(c->expect, c->x, c->w, c->bias,
					       &c->conv, &q, &c->in, &c->out,
					       err, errlen);
	if (s->op == INT8_OP_FC) {
		c->fc = (struct quant_fc_params){
		    -s->in_zp, s->out_zp, c->conv.act_min, c->conv.act_max};
		return ref_fully_connected_s8(c->expect, c->x, c->w, c->bias,
					      &c->fc, &q, s->cin, s->cout, err,
					      errlen);
	}
	return ref_conv2d_s8(c->expect, c->x, c->w, c->bias, &c->conv, &q,
			     &c->in, &c->filter, &c->out, err, errlen);
}

static enum core_status make_elementwise(struct int8_case *c,
					 struct core_rng *r, char *err,
					 size_t errlen)
{
	const struct int8_case_spec *s = &c->s;
	const int ext = s->mult == INT8_MULT_EXTREME;
	int32_t lo, hi;
	enum core_status rc = CORE_OK;

	act_range(s, &lo, &hi);
	c->in = (struct quant_dims){s->h, s->w, s->cin};
	c->out = c->in;
	c->n_x = (long)s->h * s->w * s->cin;
	c->n_out = c->n_x;
	c->x = rand_s8(r, c->n_x, 1);
	if (!c->x)
		goto nomem;
	switch (s->op) {
	case INT8_OP_ADD:
		c->n_x2 = c->n_x;
		c->x2 = rand_s8(r, c->n_x2, 1);
		if (!c->x2)
			goto nomem;
		rc = quant_add_params_make(
		    ext ? 1e-3 : rand_range(r, 0.02, 0.1), s->in_zp,
		    ext ? 2.0 : rand_range(r, 0.02, 0.1), -s->in_zp / 2,
		    ext ? 4.0 : rand_range(r, 0.05, 0.2), s->out_zp, &c->add,
		    err, errlen);
		c->add.act_min = lo;
		c->add.act_max = hi;
		break;
	case INT8_OP_AVGPOOL:
		c->out = (struct quant_dims){1, 1, s->cin};
		c->n_out = s->cin;
		rc = quant_pool_params_make(
		    0.05, s->in_zp, ext ? 0.5 : rand_range(r, 0.02, 0.08),
		    s->out_zp, s->h * s->w, &c->pool, err, errlen);
		c->pool.act_min = lo;
		c->pool.act_max = hi;
		break;
	case INT8_OP_MUL_CHANNEL:
		c->n_x2 = s->cin;
		c->x2 = rand_s8(r, c->n_x2, 1);
		if (!c->x2)
			goto nomem;
		rc = quant_mul_params_make(
		    0.05, s->in_zp, ext ? 1.0 : 1.0 / 256.0, ext ? 127 : -128,
		    ext ? 10.0 : rand_range(r, 0.04, 0.06), s->out_zp, &c->mul,
		    err, errlen);
		c->mul.act_min = lo;
		c->mul.act_max = hi;
		break;
	case INT8_OP_LUT: {
		const enum quant_fn f = (enum quant_fn)s->cout;
		const double out_scale =
		    f == QUANT_FN_SIGMOID ? 1.0 / 256.0 : 8.0 / 255.0;

		rc = quant_lut_build(f, rand_range(r, 0.03, 0.1), s->in_zp,
				     out_scale, s->out_zp, c->table, err,
				     errlen);
		break;
	}
	default:
		core_errf(err, errlen, "not an elementwise op");
		return CORE_ERR_INVALID;
	}
	if (rc)
		return rc;
	c->expect = core_malloc((size_t)c->n_out);
	if (!c->expect)
		goto nomem;
	switch (s->op) {
	case INT8_OP_ADD:
		return ref_add_s8(c->expect, c->x, c->x2, &c->add, c->n_x, err,
				  errlen);
	case INT8_OP_AVGPOOL:
		return ref_avgpool_global_s8(c->expect, c->x, &c->pool, &c->in,
					     err, errlen);
	case INT8_OP_MUL_CHANNEL:
		return ref_mul_channel_s8(c->expect, c->x, c->x2, &c->mul,
					  &c->in, err, errlen);
	default: ref_lut_s8(c->expect, c->x, c->n_x, c->table); return CORE_OK;
	}
nomem:
	core_errf(err, errlen, "out of memory");
	return CORE_ERR_NOMEM;
}

enum core_status int8_case_make(const struct int8_case_spec *s,
				struct int8_case *c, char *err, size_t errlen)
{
	struct core_rng r;
	enum core_status rc;

	memset(c, 0, sizeof *c);
	c->s = *s;
	core_rng_seed(&r, s->seed);
	if (s->op == INT8_OP_FC) {
		c->s.h = c->s.w = 1;
		c->s.k = c->s.stride = 1;
		c->s.pad = 0;
	}
	snprintf(c->name, sizeof c->name,
		 "%s %dx%dx%d->%d k%d s%d p%d zp %d/%d %s seed %llu",
		 int8_op_name(s->op), s->h, s->w, s->cin, s->cout, s->k,
		 s->stride, s->pad, s->in_zp, s->out_zp,
		 s->mult == INT8_MULT_EXTREME ? "extreme" : "realistic",
		 (unsigned long long)s->seed);
	if (s->op <= INT8_OP_FC)
		rc = make_conv(c, &r, err, errlen);
	else
		rc = make_elementwise(c, &r, err, errlen);
	if (rc)
		int8_case_free(c);
	return rc;
}

void int8_case_free(struct int8_case *c)
{
	core_free(c->x);
	core_free(c->x2);
	core_free(c->w);
	core_free(c->bias);
	core_free(c->mult);
	core_free(c->shift);
	core_free(c->expect);
	c->x = c->x2 = c->w = c->expect = NULL;
	c->bias = c->mult = c->shift = NULL;
}

void int8_case_kernel_params(const struct int8_case *c,
			     struct s8_conv_params *conv,
			     struct s8_fc_params *fc, struct s8_add_params *add,
			     struct s8_pool_params *pool,
			     struct s8_mul_params *mul,
			     struct s8_per_channel *q, struct s8_dims *in,
			     struct s8_dims *filter, struct s8_dims *out)
{
	*conv =
	    (struct s8_conv_params){c->conv.input_offset, c->conv.output_offset,
				    c->conv.stride,	  c->conv.padding,
				    c->conv.dilation,	  c->conv.act_min,
				    c->conv.act_max,	  NULL};
	*fc = (struct s8_fc_params){c->fc.input_offset, c->fc.output_offset,
				    c->fc.act_min, c->fc.act_max};
	*add = (struct s8_add_params){
	    c->add.input1_offset,     c->add.input2_offset,
	    c->add.input1_multiplier, c->add.input2_multiplier,
	    c->add.input1_shift,      c->add.input2_shift,
	    c->add.left_shift,	      c->add.output_multiplier,
	    c->add.output_shift,      c->add.output_offset,
	    c->add.act_min,	      c->add.act_max};
	*pool = (struct s8_pool_params){
	    c->pool.input_offset, c->pool.output_offset, c->pool.multiplier,
	    c->pool.shift,	  c->pool.act_min,	 c->pool.act_max};
	*mul = (struct s8_mul_params){
	    c->mul.input1_offset, c->mul.input2_offset, c->mul.output_offset,
	    c->mul.multiplier,	  c->mul.shift,		c->mul.act_min,
	    c->mul.act_max};
	*q = (struct s8_per_channel){c->mult, c->shift};
	*in = (struct s8_dims){c->in.h, c->in.w, c->in.c};
	*filter = (struct s8_dims){c->filter.h, c->filter.w, c->filter.c};
	*out = (struct s8_dims){c->out.h, c->out.w, c->out.c};
}
