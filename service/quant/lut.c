/* SPDX-License-Identifier: Apache-2.0 */
/* lut.c - activation functions on int8: the float definitions, the clamp
 * ranges of relu/relu6 and the 256-entry tables of the others. */
#include "quant.h"

#include <math.h>
#include <string.h>

enum quant_fn quant_fn_from_act(enum arch_act act)
{
	switch (act) {
	case ARCH_ACT_RELU: return QUANT_FN_RELU;
	case ARCH_ACT_RELU6: return QUANT_FN_RELU6;
	case ARCH_ACT_LEAKYRELU: return QUANT_FN_LEAKYRELU;
	case ARCH_ACT_SWISH: return QUANT_FN_SWISH;
	case ARCH_ACT_HSWISH: return QUANT_FN_HSWISH;
	}
	return QUANT_FN_IDENTITY;
}

static double relu6(double x)
{
	return x < 0.0 ? 0.0 : (x > 6.0 ? 6.0 : x);
}

double quant_fn_eval(enum quant_fn f, double x)
{
	switch (f) {
	case QUANT_FN_IDENTITY: return x;
	case QUANT_FN_RELU: return x > 0.0 ? x : 0.0;
	case QUANT_FN_RELU6: return relu6(x);
	case QUANT_FN_LEAKYRELU: return x >= 0.0 ? x : 0.01 * x;
	case QUANT_FN_SWISH: return x / (1.0 + exp(-x));
	case QUANT_FN_HSWISH: return x * relu6(x + 3.0) / 6.0;
	case QUANT_FN_SIGMOID: return 1.0 / (1.0 + exp(-x));
	}
	return x;
}

int quant_fn_is_clamp(enum quant_fn f)
{
	return f == QUANT_FN_IDENTITY || f == QUANT_FN_RELU ||
	       f == QUANT_FN_RELU6;
}

/* round half away from zero, then zp, then clamp to int8; v is finite. */
static int32_t to_int8(double v, int32_t zp)
{
	double r = round(v) + (double)zp;

	if (r < -128.0)
		return -128;
	if (r > 127.0)
		return 127;
	return (int32_t)r;
}

void quant_fn_clamp_range(enum quant_fn f, double scale, int32_t zp,
			  int32_t *act_min, int32_t *act_max)
{
	*act_min = -128;
	*act_max = 127;
	if (f == QUANT_FN_RELU || f == QUANT_FN_RELU6)
		*act_min = zp > -128 ? (zp < 127 ? zp : 127) : -128;
	if (f == QUANT_FN_RELU6)
		*act_max = to_int8(6.0 / scale, zp);
}

enum core_status quant_lut_build(enum quant_fn f, double in_scale,
				 int32_t in_zp, double out_scale,
				 int32_t out_zp, int8_t table[256], char *err,
				 size_t errlen)
{
	int8_t t[256];

	if (!isfinite(in_scale) || in_scale <= 0.0 || !isfinite(out_scale) ||
	    out_scale <= 0.0 || in_zp < -128 || in_zp > 127 || out_zp < -128 ||
	    out_zp > 127) {
		core_errf(err, errlen,
			  "lut: scales must be positive and finite, zero "
			  "points in [-128, 127] (in %g/%d, out %g/%d)",
			  in_scale, in_zp, out_scale, out_zp);
		return CORE_ERR_INVALID;
	}
	for (int q = -128; q <= 127; q++) {
		double x = in_scale * (double)(q - in_zp);
		double y = quant_fn_eval(f, x) / out_scale;

		if (!isfinite(y)) {
			core_errf(err, errlen, "lut: f(%g) / %g is not finite",
				  x, out_scale);
			return CORE_ERR_INVALID;
		}
		t[q + 128] = (int8_t)to_int8(y, out_zp);
	}
	memcpy(table, t, sizeof t);
	return CORE_OK;
}
