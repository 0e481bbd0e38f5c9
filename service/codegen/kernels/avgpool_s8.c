/* avgpool_s8.c - int8 global average pool: per channel, the sum of
 * (x + input_offset) over all pixels, requantized by ~ in_scale / (out_scale
 * * H * W). */
#include "kernels.h"
#include "requant.h"

enum s8_status avgpool_global_s8(int8_t *out, const int8_t *in,
				 const struct s8_pool_params *p,
				 const struct s8_dims *in_dims)
{
	const int32_t C = in_dims->c;
	const int32_t npix = in_dims->h * in_dims->w;
	const int32_t lo = p->act_min - p->output_offset;
	const int32_t hi = p->act_max - p->output_offset;
	int32_t c = 0;

	/* npix * 255 must fit int32. */
	if (C < 1 || npix < 1 || npix > (1 << 23))
		return S8_ERR_ARG;
#if S8_DSP
	/* 4 channels per word: two halfword pairs of (x + offset) per pixel. */
	const int32_t off2 = s8_dup16(p->input_offset);
	for (; c + 4 <= C; c += 4) {
		int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
		const int8_t *x = in + c;

		for (int32_t i = 0; i < npix; i++, x += C) {
			const int32_t v = s8_read_s8x4(x);
			const int32_t v02 = s8_sxtab16(off2, v);
			const int32_t v13 = s8_sxtab16_ror8(off2, v);

			s0 = s8_smlabb(v02, 1, s0);
			s2 = s8_smlatt(v02, 1 << 16, s2);
			s1 = s8_smlabb(v13, 1, s1);
			s3 = s8_smlatt(v13, 1 << 16, s3);
		}
		out[c] = s8_requantize_out(s0, p->multiplier, p->shift,
					   p->output_offset, lo, hi);
		out[c + 1] = s8_requantize_out(s1, p->multiplier, p->shift,
					       p->output_offset, lo, hi);
		out[c + 2] = s8_requantize_out(s2, p->multiplier, p->shift,
					       p->output_offset, lo, hi);
		out[c + 3] = s8_requantize_out(s3, p->multiplier, p->shift,
					       p->output_offset, lo, hi);
	}
#endif
	for (; c < C; c++) {
		int32_t sum = 0;

		for (int32_t i = 0; i < npix; i++)
			sum += in[i * C + c] + p->input_offset;
		out[c] = s8_requantize_out(sum, p->multiplier, p->shift,
					   p->output_offset, lo, hi);
	}
	return S8_OK;
}
