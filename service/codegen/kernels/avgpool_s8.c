/* SPDX-License-Identifier: Apache-2.0 */
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
	/* 4 channels per word: the raw bytes summed in the halfwords of two
	 * SXTAB16 accumulators (bytes 0, 2 and 1, 3) over runs of at most 256
	 * pixels (|sum| <= 256 * 128 fits a halfword), then widened; the
	 * offset is added once, npix times (modulo 2^32, like the plain
	 * loop's sum where that fits). */
	const uint32_t base = (uint32_t)npix * (uint32_t)p->input_offset;

	for (; c + 4 <= C; c += 4) {
		int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
		const int8_t *x = in + c;

		for (int32_t i0 = 0; i0 < npix; i0 += 256) {
			const int32_t n = npix - i0 < 256 ? npix - i0 : 256;
			int32_t a02 = 0, a13 = 0, i = 0;

			for (; i + 2 <= n; i += 2, x += 2 * C) {
				const int32_t v = s8_read_s8x4(x);
				const int32_t u = s8_read_s8x4(x + C);

				a02 = s8_sxtab16(a02, v);
				a13 = s8_sxtab16_ror8(a13, v);
				a02 = s8_sxtab16(a02, u);
				a13 = s8_sxtab16_ror8(a13, u);
			}
			if (i < n) {
				const int32_t v = s8_read_s8x4(x);

				a02 = s8_sxtab16(a02, v);
				a13 = s8_sxtab16_ror8(a13, v);
				x += C;
			}
			s0 += (int16_t)(uint16_t)((uint32_t)a02 & 0xffffu);
			s2 += (int16_t)(uint16_t)((uint32_t)a02 >> 16);
			s1 += (int16_t)(uint16_t)((uint32_t)a13 & 0xffffu);
			s3 += (int16_t)(uint16_t)((uint32_t)a13 >> 16);
		}
		s0 = (int32_t)((uint32_t)s0 + base);
		s1 = (int32_t)((uint32_t)s1 + base);
		s2 = (int32_t)((uint32_t)s2 + base);
		s3 = (int32_t)((uint32_t)s3 + base);
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
