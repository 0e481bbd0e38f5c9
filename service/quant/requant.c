/* SPDX-License-Identifier: Apache-2.0 */
/* requant.c - TFLite fixed-point requantization (QuantizeMultiplier,
 * SaturatingRoundingDoublingHighMul, RoundingDivideByPOT,
 * MultiplyByQuantizedMultiplier) and the per-op parameter builders. */
#include "quant.h"

#include <math.h>

enum core_status quant_quantize_multiplier(double real, int32_t *multiplier,
					   int *shift)
{
	int e = 0;
	double m;
	int64_t q;

	if (!isfinite(real))
		return CORE_ERR_INVALID;
	if (real == 0.0) {
		*multiplier = 0;
		*shift = 0;
		return CORE_OK;
	}
	m = frexp(real, &e); /* real = m * 2^e, 0.5 <= |m| < 1 */
	q = (int64_t)round(m * (double)(1LL << 31));
	if (q == (1LL << 31)) { /* -2^31 fits: TFLite keeps it */
		q /= 2;
		e++;
	}
	if (e < -31) {
		e = 0;
		q = 0;
	}
	if (e > 30) {
		e = 30;
		q = (1LL << 31) - 1;
	}
	*multiplier = (int32_t)q;
	*shift = e;
	return CORE_OK;
}

int32_t quant_saturating_rounding_doubling_high_mul(int32_t a, int32_t b)
{
	const int overflow = a == b && a == INT32_MIN;
	const int64_t ab = (int64_t)a * (int64_t)b;
	const int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
	/* C division truncates toward zero, as gemmlowp relies on. */
	const int32_t high = (int32_t)((ab + nudge) / (1LL << 31));

	return overflow ? INT32_MAX : high;
}

int32_t quant_rounding_divide_by_pot(int32_t x, int exponent)
{
	const int32_t mask = (int32_t)((1LL << exponent) - 1);
	const int32_t remainder = x & mask;
	const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);

	return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t quant_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier,
					       int shift)
{
	const int left = shift > 0 ? shift : 0;
	const int right = shift > 0 ? 0 : -shift;
	/* x * 2^left, wrapping (see quant.h); gcc/clang convert modulo 2^32. */
	const int32_t shifted = (int32_t)((uint32_t)x << left);

	return quant_rounding_divide_by_pot(
	    quant_saturating_rounding_doubling_high_mul(shifted, multiplier),
	    right);
}

static int scale_ok(double s)
{
	return isfinite(s) && s > 0.0;
}

static int zp_ok(int32_t zp)
{
	return zp >= -128 && zp <= 127;
}

enum core_status quant_per_channel_make(double in_scale, const float *w_scale,
					double out_scale, int n,
					int32_t *multiplier, int32_t *shift,
					char *err, size_t errlen)
{
	if (n <= 0 || !scale_ok(in_scale) || !scale_ok(out_scale)) {
		core_errf(err, errlen,
			  "per-channel requant: need n > 0 and positive finite "
			  "scales (n %d, in %g, out %g)",
			  n, in_scale, out_scale);
		return CORE_ERR_INVALID;
	}
	for (int c = 0; c < n; c++) {
		if (!scale_ok(w_scale[c])) {
			core_errf(err, errlen,
				  "per-channel requant: weight scale[%d] = %g "
				  "is not positive and finite",
				  c, (double)w_scale[c]);
			return CORE_ERR_INVALID;
		}
	}
	for (int c = 0; c < n; c++) {
		int s = 0;
		int32_t m = 0;
		double real = in_scale * (double)w_scale[c] / out_scale;

		if (quant_quantize_multiplier(real, &m, &s) != CORE_OK) {
			core_errf(err, errlen,
				  "per-channel requant: channel %d: multiplier "
				  "%g is not finite",
				  c, real);
			return CORE_ERR_INVALID;
		}
		multiplier[c] = m;
		shift[c] = s;
	}
	return CORE_OK;
}

/* TFLite QuantizeMultiplierSmallerThanOneExp: real in (0, 1), shift <= 0. */
static enum core_status multiplier_below_one(double real, const char *what,
					     int32_t *m, int32_t *shift,
					     char *err, size_t errlen)
{
	int s = 0;

	if (!(real > 0.0 && real < 1.0) ||
	    quant_quantize_multiplier(real, m, &s) != CORE_OK || s > 0) {
		core_errf(err, errlen, "%s multiplier %g is not in (0, 1)",
			  what, real);
		return CORE_ERR_INVALID;
	}
	*shift = s;
	return CORE_OK;
}

enum core_status quant_add_params_make(double s1, int32_t zp1, double s2,
				       int32_t zp2, double so, int32_t zpo,
				       struct quant_add_params *p, char *err,
				       size_t errlen)
{
	struct quant_add_params t = {0};
	enum core_status rc;
	double twice_max, r1, r2, ro;

	if (!scale_ok(s1) || !scale_ok(s2) || !scale_ok(so) || !zp_ok(zp1) ||
	    !zp_ok(zp2) || !zp_ok(zpo)) {
		core_errf(err, errlen,
			  "add: scales must be positive and finite, zero "
			  "points in [-128, 127]");
		return CORE_ERR_INVALID;
	}
	twice_max = 2.0 * (s1 > s2 ? s1 : s2);
	r1 = s1 / twice_max;
	r2 = s2 / twice_max;
	ro = twice_max / ((double)(1 << QUANT_ADD_LEFT_SHIFT) * so);
	rc = multiplier_below_one(r1, "add input1", &t.input1_multiplier,
				  &t.input1_shift, err, errlen);
	if (rc)
		return rc;
	rc = multiplier_below_one(r2, "add input2", &t.input2_multiplier,
				  &t.input2_shift, err, errlen);
	if (rc)
		return rc;
	rc = multiplier_below_one(ro, "add output", &t.output_multiplier,
				  &t.output_shift, err, errlen);
	if (rc)
		return rc;
	t.input1_offset = -zp1;
	t.input2_offset = -zp2;
	t.output_offset = zpo;
	t.left_shift = QUANT_ADD_LEFT_SHIFT;
	t.act_min = -128;
	t.act_max = 127;
	*p = t;
	return CORE_OK;
}

enum core_status quant_pool_params_make(double in_scale, int32_t in_zp,
					double out_scale, int32_t out_zp,
					int count, struct quant_pool_params *p,
					char *err, size_t errlen)
{
	int s = 0;
	int32_t m = 0;

	if (!scale_ok(in_scale) || !scale_ok(out_scale) || !zp_ok(in_zp) ||
	    !zp_ok(out_zp) || count < 1 || count > (1 << 23)) {
		core_errf(err, errlen,
			  "avgpool: need positive finite scales, zero points "
			  "in [-128, 127] and 1 <= count <= 2^23 (count %d)",
			  count);
		return CORE_ERR_INVALID;
	}
	if (quant_quantize_multiplier(in_scale / (out_scale * count), &m, &s) !=
	    CORE_OK) {
		core_errf(err, errlen, "avgpool: multiplier is not finite");
		return CORE_ERR_INVALID;
	}
	p->input_offset = -in_zp;
	p->output_offset = out_zp;
	p->multiplier = m;
	p->shift = s;
	p->act_min = -128;
	p->act_max = 127;
	return CORE_OK;
}

enum core_status quant_mul_params_make(double s1, int32_t zp1, double s2,
				       int32_t zp2, double so, int32_t zpo,
				       struct quant_mul_params *p, char *err,
				       size_t errlen)
{
	int s = 0;
	int32_t m = 0;

	if (!scale_ok(s1) || !scale_ok(s2) || !scale_ok(so) || !zp_ok(zp1) ||
	    !zp_ok(zp2) || !zp_ok(zpo)) {
		core_errf(err, errlen,
			  "mul: scales must be positive and finite, zero "
			  "points in [-128, 127]");
		return CORE_ERR_INVALID;
	}
	if (quant_quantize_multiplier(s1 * s2 / so, &m, &s) != CORE_OK) {
		core_errf(err, errlen, "mul: multiplier is not finite");
		return CORE_ERR_INVALID;
	}
	p->input1_offset = -zp1;
	p->input2_offset = -zp2;
	p->output_offset = zpo;
	p->multiplier = m;
	p->shift = s;
	p->act_min = -128;
	p->act_max = 127;
	return CORE_OK;
}
