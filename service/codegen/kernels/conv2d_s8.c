/* SPDX-License-Identifier: Apache-2.0 */
/* conv2d_s8.c - int8 kxk convolution (groups 1): the receptive fields of
 * four output pixels at a time are gathered as int8 patches (padding as the
 * input zero point, since the input offset is folded into the bias) and
 * multiplied by the packed weights with the matrix core of
 * pointwise_conv2d_s8.c. */
#include "kernels.h"
#include "pack_s8.h"
#include "requant.h"

#define CONV_PIX 4

static int32_t conv_len4(const struct s8_dims *in_dims,
			 const struct s8_dims *filter_dims)
{
	return pointwise_s8_packed_len(filter_dims->h * filter_dims->w *
				       in_dims->c);
}

int32_t conv2d_s8_scratch_size(const struct s8_dims *in_dims,
			       const struct s8_dims *filter_dims,
			       const struct s8_dims *out_dims)
{
	/* the column block, the patches, the per-channel table */
	return CONV_PIX * conv_len4(in_dims, filter_dims) *
		   (int32_t)(sizeof(int16_t) + 1) +
	       s8_packed_mm_rq_bytes(out_dims->c);
}

/* Output pixel (oy, ox)'s receptive field where it crosses the border:
 * padding taps as zp. */
static void im2col_border(int8_t *dst, const int8_t *in,
			  const struct s8_dims *in_dims, int32_t k,
			  int32_t iy0, int32_t ix0, int8_t zp)
{
	const int32_t ci = in_dims->c;

	for (int32_t ky = 0; ky < k; ky++) {
		const int32_t iy = iy0 + ky;

		for (int32_t kx = 0; kx < k; kx++) {
			const int32_t ix = ix0 + kx;

			if (iy < 0 || iy >= in_dims->h || ix < 0 ||
			    ix >= in_dims->w)
				memset(dst, zp, (size_t)ci);
			else
				memcpy(dst, in + (iy * in_dims->w + ix) * ci,
				       (size_t)ci);
			dst += ci;
		}
	}
}

/* The receptive field of output pixel (oy, ox) into patch: K*K*C_in bytes
 * (the zeros after them, up to len4, are written once per call). Inside
 * the map, each filter row is K*C_in contiguous input bytes, copied a word
 * at a time (unaligned accesses, as s8_read_s8x4). */
S8_INLINE void im2col(int8_t *patch, const int8_t *in,
		      const struct s8_dims *in_dims, int32_t k, int32_t stride,
		      int32_t padding, int8_t zp, int32_t oy, int32_t ox)
{
	const int32_t ci = in_dims->c, row = k * ci;
	const int32_t iy0 = oy * stride - padding, ix0 = ox * stride - padding;
	const int8_t *src;

	if (iy0 < 0 || iy0 + k > in_dims->h || ix0 < 0 ||
	    ix0 + k > in_dims->w) {
		im2col_border(patch, in, in_dims, k, iy0, ix0, zp);
		return;
	}
	src = in + (iy0 * in_dims->w + ix0) * ci;
	for (int32_t ky = 0; ky < k; ky++) {
		int32_t i = 0;

		for (; i + 4 <= row; i += 4) {
			const int32_t v = s8_read_s8x4(src + i);

			memcpy(patch + i, &v, 4);
		}
		for (; i < row; i++)
			patch[i] = src[i];
		patch += row;
		src += in_dims->w * ci;
	}
}

enum s8_status conv2d_s8(int8_t *out, const int8_t *in, const int8_t *wp,
			 const int32_t *bias, const struct s8_conv_params *p,
			 const struct s8_per_channel *q,
			 const struct s8_dims *in_dims,
			 const struct s8_dims *filter_dims,
			 const struct s8_dims *out_dims, void *scratch)
{
	const int32_t k = filter_dims->h;
	const int32_t len = k * k * in_dims->c;
	const int32_t len4 = pointwise_s8_packed_len(len);
	const int8_t zp = (int8_t)(-p->input_offset);
	struct s8_packed_mm m;
	int8_t *patches;
	int32_t npix;

	if (k < 1 || in_dims->c < 1 || out_dims->c < 1 || p->dilation != 1 ||
	    p->stride < 1 || p->padding < 0 || filter_dims->w != k ||
	    filter_dims->c != in_dims->c || in_dims->h + 2 * p->padding < k ||
	    in_dims->w + 2 * p->padding < k ||
	    out_dims->h != (in_dims->h + 2 * p->padding - k) / p->stride + 1 ||
	    out_dims->w != (in_dims->w + 2 * p->padding - k) / p->stride + 1 ||
	    p->input_offset < -127 || p->input_offset > 128 || !scratch ||
	    !s8_packed_mm_setup(&m, wp, bias, q, len, out_dims->c,
				p->output_offset, p->act_min, p->act_max,
				scratch,
				(char *)scratch + CONV_PIX * len4 *
						      (int32_t)(sizeof(int16_t) +
								1)))
		return S8_ERR_ARG;
	m.lut = p->lut ? p->lut + 128 : NULL;
	m.padded = 1;
	patches = (int8_t *)scratch + CONV_PIX * len4 * (int32_t)sizeof(int16_t);
	memset(patches, 0, (size_t)(CONV_PIX * len4));
	npix = out_dims->h * out_dims->w;
	for (int32_t p0 = 0, oy = 0, ox = 0; p0 < npix; p0 += CONV_PIX) {
		const int np =
		    npix - p0 < CONV_PIX ? (int)(npix - p0) : CONV_PIX;
		const int8_t *px[CONV_PIX];

		/* (oy, ox) walks the pixels; missing ones repeat the last
		 * (computed, not stored) */
		for (int j = 0; j < CONV_PIX; j++) {
			px[j] = patches + (j < np ? j : np - 1) * len4;
			if (j >= np)
				continue;
			im2col(patches + j * len4, in, in_dims, k, p->stride,
			       p->padding, zp, oy, ox);
			if (++ox == out_dims->w) {
				ox = 0;
				oy++;
			}
		}
		s8_packed_mm_block(&m, px, np, out + p0 * out_dims->c);
	}
	return S8_OK;
}
