/* SPDX-License-Identifier: Apache-2.0 */
/* ref_elementwise.c - reference int8 add, global average pool, per-channel
 * multiply (SE gate) and table lookup: plain loops with checked params. */
#include "quant.h"

#include <inttypes.h>

static int offset_ok(int32_t v)
{
	return v >= -127 && v <= 128;
}

static int zp_ok(int32_t v)
{
	return v >= -128 && v <= 127;
}

static int act_ok(int32_t lo, int32_t hi)
{
	return lo >= -128 && hi <= 127 && lo <= hi;
}

static int8_t clamp8(int64_t v, int32_t lo, int32_t hi)
{
	return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

enum core_status ref_add_s8(int8_t *out, const int8_t *in1, const int8_t *in2,
			    const struct quant_add_params *p, long n, char *err,
			    size_t errlen)
{
	if (!out || !in1 || !in2 || !p || n < 0) {
		core_errf(err, errlen, "add: NULL tensor or negative size");
		return CORE_ERR_INVALID;
	}
	if (!offset_ok(p->input1_offset) || !offset_ok(p->input2_offset) ||
	    !zp_ok(p->output_offset) || !act_ok(p->act_min, p->act_max) ||
	    p->left_shift < 0 || p->left_shift > QUANT_ADD_LEFT_SHIFT ||
	    p->input1_shift > 0 || p->input1_shift < -31 ||
	    p->input2_shift > 0 || p->input2_shift < -31 ||
	    p->output_shift > 0 || p->output_shift < -31) {
		core_errf(err, errlen,
			  "add: offsets, activation range or shifts out of "
			  "range (shifts %" PRId32 "/%" PRId32 "/%" PRId32
			  " must be in [-31, 0], left_shift %" PRId32
			  " in [0, 20])",
			  p->input1_shift, p->input2_shift, p->output_shift,
			  p->left_shift);
		return CORE_ERR_INVALID;
	}
	for (long i = 0; i < n; i++) {
		/* |x + offset| <= 255, so x << 20 stays below 2^28. */
		int32_t a = (in1[i] + p->input1_offset) * (1 << p->left_shift);
		int32_t b = (in2[i] + p->input2_offset) * (1 << p->left_shift);
		int32_t sa = quant_multiply_by_quantized_multiplier(
		    a, p->input1_multiplier, p->input1_shift);
		int32_t sb = quant_multiply_by_quantized_multiplier(
		    b, p->input2_multiplier, p->input2_shift);
		int32_t raw = quant_multiply_by_quantized_multiplier(
		    sa + sb, p->output_multiplier, p->output_shift);

		out[i] = clamp8((int64_t)raw + p->output_offset, p->act_min,
				p->act_max);
	}
	return CORE_OK;
}

enum core_status ref_avgpool_global_s8(int8_t *out, const int8_t *in,
				       const struct quant_pool_params *p,
				       const struct quant_dims *in_dims,
				       char *err, size_t errlen)
{
	if (!out || !in || !p || !in_dims || in_dims->h < 1 || in_dims->w < 1 ||
	    in_dims->c < 1 || (int64_t)in_dims->h * in_dims->w > (1 << 23) ||
	    (int64_t)in_dims->h * in_dims->w * in_dims->c > INT32_MAX) {
		core_errf(err, errlen,
			  "avgpool_global: NULL tensor or bad dims (H * W must "
			  "be in [1, 2^23])");
		return CORE_ERR_INVALID;
	}
	if (!offset_ok(p->input_offset) || !zp_ok(p->output_offset) ||
	    !act_ok(p->act_min, p->act_max) || p->shift < -31 ||
	    p->shift > 30) {
		core_errf(err, errlen,
			  "avgpool_global: offsets, activation range or shift "
			  "%" PRId32 " out of range",
			  p->shift);
		return CORE_ERR_INVALID;
	}
	const long npix = (long)in_dims->h * in_dims->w;
	const int C = in_dims->c;

	for (int c = 0; c < C; c++) {
		/* At most 2^23 * 255 < 2^31: fits int32 by the check above. */
		int64_t sum = 0;

		for (long px = 0; px < npix; px++)
			sum += in[px * C + c] + p->input_offset;
		int32_t v = quant_multiply_by_quantized_multiplier(
		    (int32_t)sum, p->multiplier, p->shift);
		out[c] = clamp8((int64_t)v + p->output_offset, p->act_min,
				p->act_max);
	}
	return CORE_OK;
}

enum core_status ref_mul_channel_s8(int8_t *out, const int8_t *in,
				    const int8_t *gate,
				    const struct quant_mul_params *p,
				    const struct quant_dims *dims, char *err,
				    size_t errlen)
{
	if (!out || !in || !gate || !p || !dims || dims->h < 1 || dims->w < 1 ||
	    dims->c < 1 || (int64_t)dims->h * dims->w * dims->c > INT32_MAX) {
		core_errf(err, errlen, "mul_channel: NULL tensor or bad dims");
		return CORE_ERR_INVALID;
	}
	if (!offset_ok(p->input1_offset) || !offset_ok(p->input2_offset) ||
	    !zp_ok(p->output_offset) || !act_ok(p->act_min, p->act_max) ||
	    p->shift < -31 || p->shift > 30) {
		core_errf(err, errlen,
			  "mul_channel: offsets, activation range or shift "
			  "%" PRId32 " out of range",
			  p->shift);
		return CORE_ERR_INVALID;
	}
	const long npix = (long)dims->h * dims->w;
	const int C = dims->c;

	for (long px = 0; px < npix; px++) {
		for (int c = 0; c < C; c++) {
			/* |product| <= 255 * 255. */
			int32_t prod = (in[px * C + c] + p->input1_offset) *
				       (gate[c] + p->input2_offset);
			int32_t v = quant_multiply_by_quantized_multiplier(
			    prod, p->multiplier, p->shift);
			out[px * C + c] = clamp8((int64_t)v + p->output_offset,
						 p->act_min, p->act_max);
		}
	}
	return CORE_OK;
}

void ref_lut_s8(int8_t *out, const int8_t *in, long n, const int8_t table[256])
{
	for (long i = 0; i < n; i++)
		out[i] = table[in[i] + 128];
}
