/* conv2d_s8.c - int8 kxk convolution (groups 1), im2col of two output
 * pixels at a time into int16 columns, then the 2x2-blocked matrix core. */
#include "kernels.h"
#include "requant.h"

/* Column length rounded up to an even count keeps the second column 4-byte
 * aligned. */
static int32_t conv_col_stride(int32_t len)
{
	return (len + 1) & ~1;
}

int32_t conv2d_s8_scratch_size(const struct s8_dims *in_dims,
			       const struct s8_dims *filter_dims)
{
	const int32_t len = filter_dims->h * filter_dims->w * in_dims->c;

	return 2 * conv_col_stride(len) * (int32_t)sizeof(int16_t);
}

/* The receptive field of output pixel (oy, ox), padding as 0 (the zero point
 * plus the input offset), then reordered into column layout. */
static void im2col(int16_t *col, const int8_t *in,
		   const struct s8_dims *in_dims, int32_t k, int32_t stride,
		   int32_t padding, int32_t input_offset, int32_t oy,
		   int32_t ox)
{
	const int32_t ci = in_dims->c;
	int16_t *dst = col;

	for (int32_t ky = 0; ky < k; ky++) {
		const int32_t iy = oy * stride - padding + ky;

		for (int32_t kx = 0; kx < k; kx++) {
			const int32_t ix = ox * stride - padding + kx;

			if (iy < 0 || iy >= in_dims->h || ix < 0 ||
			    ix >= in_dims->w) {
				memset(dst, 0, (size_t)ci * sizeof(int16_t));
			} else {
				const int8_t *x =
				    in + (iy * in_dims->w + ix) * ci;

				for (int32_t c = 0; c < ci; c++)
					dst[c] = (int16_t)(x[c] + input_offset);
			}
			dst += ci;
		}
	}
	s8_col_reorder(col, k * k * ci);
}

enum s8_status conv2d_s8(int8_t *out, const int8_t *in, const int8_t *w,
			 const int32_t *bias, const struct s8_conv_params *p,
			 const struct s8_per_channel *q,
			 const struct s8_dims *in_dims,
			 const struct s8_dims *filter_dims,
			 const struct s8_dims *out_dims, void *scratch)
{
	const int32_t k = filter_dims->h;
	const int32_t len = k * k * in_dims->c;
	int16_t *col0 = (int16_t *)scratch;
	int16_t *col1;
	int32_t npix, px;

	if (k < 1 || in_dims->c < 1 || out_dims->c < 1 || p->dilation != 1 ||
	    p->stride < 1 || p->padding < 0 || filter_dims->w != k ||
	    filter_dims->c != in_dims->c || in_dims->h + 2 * p->padding < k ||
	    in_dims->w + 2 * p->padding < k ||
	    out_dims->h != (in_dims->h + 2 * p->padding - k) / p->stride + 1 ||
	    out_dims->w != (in_dims->w + 2 * p->padding - k) / p->stride + 1 ||
	    !scratch || ((uintptr_t)scratch & 3u) != 0)
		return S8_ERR_ARG;
	col1 = col0 + conv_col_stride(len);
	npix = out_dims->h * out_dims->w;
	for (px = 0; px + 2 <= npix; px += 2) {
		im2col(col0, in, in_dims, k, p->stride, p->padding,
		       p->input_offset, px / out_dims->w, px % out_dims->w);
		im2col(col1, in, in_dims, k, p->stride, p->padding,
		       p->input_offset, (px + 1) / out_dims->w,
		       (px + 1) % out_dims->w);
		mat_mult_s8_s16(w, col0, col1, len, out_dims->c, bias, q,
				p->output_offset, p->act_min, p->act_max,
				out + px * out_dims->c,
				out + (px + 1) * out_dims->c);
	}
	if (px < npix) {
		im2col(col0, in, in_dims, k, p->stride, p->padding,
		       p->input_offset, px / out_dims->w, px % out_dims->w);
		mat_mult_s8_s16(w, col0, NULL, len, out_dims->c, bias, q,
				p->output_offset, p->act_min, p->act_max,
				out + px * out_dims->c, NULL);
	}
	return S8_OK;
}
