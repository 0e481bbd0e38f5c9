/* SPDX-License-Identifier: Apache-2.0 */
/* mul_channel_s8.c - int8 per-channel multiply (squeeze-excitation gate):
 * out(y, x, c) = MBQM((in + off1) * (gate[c] + off2)) + out_zp. On DSP
 * builds four channels at a time along the pixels: the gate factors are
 * fixed along a channel, the doubled products are SMLAxy of halfwords and
 * their requantization an SMMLAR with the output offset folded into the
 * rounding constant. */
#include "kernels.h"
#include "requant.h"

#if S8_DSP
/* For m > 0 and right shifts of 1..23 (s8_rq_fast): |product| <= 255 *
 * 255 < 2^30, so as in pointwise_conv2d_s8.c's pw_fast SMMLAR of the
 * doubled product gives SRDHM + 2^(e-1) + off * 2^e, and the product's
 * sign serves as SRDHM's. */
S8_INLINE int8_t mul_out(int32_t a2, int32_t m, int32_t e, int32_t h,
			 int32_t amin, int32_t amax, const int full)
{
	// cppcheck-suppress [shiftNegativeLHS, shiftTooManyBitsSigned]
	const int32_t v = (s8_smmlar(a2, m, h) + (a2 >> 31)) >> e;

	return (int8_t)(full ? s8_ssat8(v) : s8_clamp(v, amin, amax));
}

/* Channels in quads along the pixels: a word of 4 inputs becomes (x +
 * off1) in halfwords (bytes 0, 2 and 1, 3), each multiplied by its doubled
 * gate (gate + off2, below 2^9) by SMLAxy; the rest channel by channel. */
S8_INLINE void mul_channel_fast_k(int8_t *out, const int8_t *in,
				  const int8_t *gate,
				  const struct s8_mul_params *p, int32_t C,
				  int32_t npix, const int full)
{
	const int32_t m = p->multiplier, e = -p->shift;
	const int32_t h = (1 << (e - 1)) +
			  (int32_t)((uint32_t)p->output_offset << e);
	const int32_t amin = p->act_min, amax = p->act_max;
	const int32_t off1 = p->input1_offset, off2 = p->input2_offset;
	const int32_t o1 = s8_dup16(off1);
	int32_t c = 0;

	for (; c + 4 <= C; c += 4) {
		const int32_t g02 = s8_pack16x2(2 * (gate[c] + off2),
						2 * (gate[c + 2] + off2));
		const int32_t g13 = s8_pack16x2(2 * (gate[c + 1] + off2),
						2 * (gate[c + 3] + off2));
		const int8_t *x = in + c;
		int8_t *o = out + c;

		for (int32_t i = 0; i < npix; i++, x += C, o += C) {
			const int32_t v = s8_read_s8x4(x);
			const int32_t x02 = s8_sxtab16(o1, v);
			const int32_t x13 = s8_sxtab16_ror8(o1, v);
			const int8_t v0 = mul_out(s8_smlabb(x02, g02, 0), m, e,
						  h, amin, amax, full);
			const int8_t v1 = mul_out(s8_smlabb(x13, g13, 0), m, e,
						  h, amin, amax, full);
			const int8_t v2 = mul_out(s8_smlatt(x02, g02, 0), m, e,
						  h, amin, amax, full);
			const int8_t v3 = mul_out(s8_smlatt(x13, g13, 0), m, e,
						  h, amin, amax, full);

			o[0] = v0;
			o[1] = v1;
			o[2] = v2;
			o[3] = v3;
		}
	}
	for (; c < C; c++) {
		const int32_t g2 = 2 * (gate[c] + off2), k2 = off1 * g2;
		const int8_t *x = in + c;
		int8_t *o = out + c;

		for (int32_t i = 0; i < npix; i++, x += C, o += C)
			*o = mul_out(*x * g2 + k2, m, e, h, amin, amax, full);
	}
}

static void mul_channel_fast(int8_t *out, const int8_t *in, const int8_t *gate,
			     const struct s8_mul_params *p, int32_t C,
			     int32_t npix)
{
	if (p->act_min == -128 && p->act_max == 127)
		mul_channel_fast_k(out, in, gate, p, C, npix, 1);
	else
		mul_channel_fast_k(out, in, gate, p, C, npix, 0);
}
#endif

enum s8_status mul_channel_s8(int8_t *out, const int8_t *in, const int8_t *gate,
			      const struct s8_mul_params *p,
			      const struct s8_dims *dims)
{
	const int32_t C = dims->c;
	const int32_t npix = dims->h * dims->w;
	/* locals: the int8 stores below may alias *p */
	const int32_t off1 = p->input1_offset, off2 = p->input2_offset;
	const int32_t m = p->multiplier, s = p->shift, off = p->output_offset;
	const int32_t lo = p->act_min - off;
	const int32_t hi = p->act_max - off;

	if (C < 1 || npix < 0)
		return S8_ERR_ARG;
#if S8_DSP
	if (s8_rq_fast(m, s) && m > 0) {
		mul_channel_fast(out, in, gate, p, C, npix);
		return S8_OK;
	}
#endif
	for (int32_t i = 0; i < npix; i++) {
		const int8_t *x = in + i * C;
		int8_t *o = out + i * C;

		for (int32_t c = 0; c < C; c++) {
			/* |product| <= 255 * 255. */
			const int32_t prod = (x[c] + off1) * (gate[c] + off2);

			o[c] = s8_requantize_out(prod, m, s, off, lo, hi);
		}
	}
	return S8_OK;
}
