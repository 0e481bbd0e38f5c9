/* mul_channel_s8.c - int8 per-channel multiply (squeeze-excitation gate):
 * out(y, x, c) = MBQM((in + off1) * (gate[c] + off2)) + out_zp. On DSP
 * builds channel by channel: the gate factor is fixed along a channel, the
 * doubled product is one MLA and its requantization an SMMLAR with the
 * output offset folded into the rounding constant. */
#include "kernels.h"
#include "requant.h"

#if S8_DSP
/* Channel by channel, for m > 0 and right shifts of 1..23 (s8_rq_fast):
 * |product| <= 255 * 255 < 2^30, so as in pointwise_conv2d_s8.c's pw_fast
 * SMMLAR of the doubled product gives SRDHM + 2^(e-1) + off * 2^e, and the
 * product's sign serves as SRDHM's. */
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

	for (int32_t c = 0; c < C; c++) {
		const int32_t g2 = 2 * (gate[c] + off2), k2 = off1 * g2;
		const int8_t *x = in + c;
		int8_t *o = out + c;
		int32_t i = 0;

		for (; i + 2 <= npix; i += 2, x += 2 * C, o += 2 * C) {
			const int32_t a0 = x[0] * g2 + k2, a1 = x[C] * g2 + k2;
			// cppcheck-suppress [shiftNegativeLHS, shiftTooManyBitsSigned]
			int32_t v0 = (s8_smmlar(a0, m, h) + (a0 >> 31)) >> e;
			// cppcheck-suppress [shiftNegativeLHS, shiftTooManyBitsSigned]
			int32_t v1 = (s8_smmlar(a1, m, h) + (a1 >> 31)) >> e;

			v0 = full ? s8_ssat8(v0) : s8_clamp(v0, amin, amax);
			v1 = full ? s8_ssat8(v1) : s8_clamp(v1, amin, amax);
			o[0] = (int8_t)v0;
			o[C] = (int8_t)v1;
		}
		if (i < npix) {
			const int32_t a = *x * g2 + k2;
			// cppcheck-suppress [shiftNegativeLHS, shiftTooManyBitsSigned]
			const int32_t v = (s8_smmlar(a, m, h) + (a >> 31)) >> e;

			*o = (int8_t)(full ? s8_ssat8(v) : s8_clamp(v, amin, amax));
		}
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
