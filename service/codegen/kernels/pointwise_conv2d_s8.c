/* pointwise_conv2d_s8.c - int8 1x1 convolution: two pixels at a time are
 * widened to int16 (input offset added) and multiplied by every weight row
 * with the 2x2-blocked matrix core (SMLAD on DSP builds). */
#include "kernels.h"
#include "requant.h"

static int32_t pw_col_stride(int32_t len)
{
	return (len + 1) & ~1;
}

int32_t pointwise_conv2d_s8_scratch_size(const struct s8_dims *in_dims)
{
	return 2 * pw_col_stride(in_dims->c) * (int32_t)sizeof(int16_t);
}

enum s8_status pointwise_conv2d_s8(int8_t *out, const int8_t *in,
				   const int8_t *w, const int32_t *bias,
				   const struct s8_conv_params *p,
				   const struct s8_per_channel *q,
				   const struct s8_dims *in_dims,
				   const struct s8_dims *out_dims,
				   void *scratch)
{
	const int32_t ci = in_dims->c, co = out_dims->c;
	int16_t *col0 = (int16_t *)scratch;
	int16_t *col1;
	int32_t npix, px;

	if (ci < 1 || co < 1 || p->stride != 1 || p->padding != 0 ||
	    p->dilation != 1 || out_dims->h != in_dims->h ||
	    out_dims->w != in_dims->w || !scratch ||
	    ((uintptr_t)scratch & 3u) != 0)
		return S8_ERR_ARG;
	col1 = col0 + pw_col_stride(ci);
	npix = in_dims->h * in_dims->w;
	for (px = 0; px + 2 <= npix; px += 2) {
		s8_col_from_s8(col0, in + px * ci, ci, p->input_offset);
		s8_col_from_s8(col1, in + (px + 1) * ci, ci, p->input_offset);
		mat_mult_s8_s16(w, col0, col1, ci, co, bias, q,
				p->output_offset, p->act_min, p->act_max,
				out + px * co, out + (px + 1) * co);
	}
	if (px < npix) {
		s8_col_from_s8(col0, in + px * ci, ci, p->input_offset);
		mat_mult_s8_s16(w, col0, NULL, ci, co, bias, q,
				p->output_offset, p->act_min, p->act_max,
				out + px * co, NULL);
	}
	return S8_OK;
}
