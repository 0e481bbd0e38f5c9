/* mul_channel_s8.c - int8 per-channel multiply (squeeze-excitation gate):
 * out(y, x, c) = MBQM((in + off1) * (gate[c] + off2)) + out_zp. */
#include "kernels.h"
#include "requant.h"

enum s8_status mul_channel_s8(int8_t *out, const int8_t *in, const int8_t *gate,
			      const struct s8_mul_params *p,
			      const struct s8_dims *dims)
{
	const int32_t C = dims->c;
	const int32_t npix = dims->h * dims->w;
	const int32_t lo = p->act_min - p->output_offset;
	const int32_t hi = p->act_max - p->output_offset;

	if (C < 1 || npix < 0)
		return S8_ERR_ARG;
	for (int32_t i = 0; i < npix; i++) {
		const int8_t *x = in + i * C;
		int8_t *o = out + i * C;

		for (int32_t c = 0; c < C; c++) {
			/* |product| <= 255 * 255. */
			const int32_t prod = (x[c] + p->input1_offset) *
					     (gate[c] + p->input2_offset);

			o[c] = s8_requantize_out(prod, p->multiplier, p->shift,
						 p->output_offset, lo, hi);
		}
	}
	return S8_OK;
}
