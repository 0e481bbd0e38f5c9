/* SPDX-License-Identifier: Apache-2.0 */
/* resize.c - bilinear resize of an NHWC tensor with PyTorch's
 * interpolate(mode='bilinear', align_corners=False) sampling. */
#include "nn/nn.h"
#include "nn/nn_internal.h"

/* Source taps and weights of output index o along an axis of `in` samples
 * resized to `out`: PyTorch's area_pixel_compute_source_index, in float
 * like PyTorch's CPU kernel. */
struct resize_tap {
	int i0, i1;
	float l0, l1;
};

static struct resize_tap resize_tap(int o, int in, int out)
{
	struct resize_tap t;
	float scale = (float)in / (float)out;
	float src = scale * ((float)o + 0.5f) - 0.5f;

	if (src < 0.0f)
		src = 0.0f;
	t.i0 = (int)src;
	if (t.i0 > in - 1)
		t.i0 = in - 1;
	t.i1 = t.i0 < in - 1 ? t.i0 + 1 : t.i0;
	t.l1 = src - (float)t.i0;
	t.l0 = 1.0f - t.l1;
	return t;
}

void nn_resize_bilinear_forward(float *out, const float *x,
				const struct nn_shape *in, int ho, int wo)
{
	const int c = in->c, h = in->h, w = in->w;
	const size_t rows = (size_t)in->n * ho;

#pragma omp parallel for schedule(static) if (rows * (size_t)wo * (size_t)c >= \
					      NN_PAR_MIN)
	for (size_t r = 0; r < rows; r++) {
		size_t n = r / (size_t)ho;
		struct resize_tap ty = resize_tap((int)(r % (size_t)ho), h, ho);
		const float *r0 = x + (n * h + (size_t)ty.i0) * w * c;
		const float *r1 = x + (n * h + (size_t)ty.i1) * w * c;

		for (int ox = 0; ox < wo; ox++) {
			struct resize_tap tx = resize_tap(ox, w, wo);
			const float *a = r0 + (size_t)tx.i0 * c;
			const float *b = r0 + (size_t)tx.i1 * c;
			const float *e = r1 + (size_t)tx.i0 * c;
			const float *f = r1 + (size_t)tx.i1 * c;
			float *o = out + (r * wo + (size_t)ox) * c;

#pragma omp simd
			for (int ch = 0; ch < c; ch++)
				o[ch] =
				    ty.l0 * (tx.l0 * a[ch] + tx.l1 * b[ch]) +
				    ty.l1 * (tx.l0 * e[ch] + tx.l1 * f[ch]);
		}
	}
}

/* A scatter, so one image per thread: images never share input pixels. */
void nn_resize_bilinear_backward(float *dinp, const float *dout,
				 const struct nn_shape *in, int ho, int wo)
{
	const int c = in->c, h = in->h, w = in->w;

#pragma omp parallel for schedule(                                             \
    static) if ((size_t)in->n * ho * wo * (size_t)c >= NN_PAR_MIN)
	for (int n = 0; n < in->n; n++) {
		for (int oy = 0; oy < ho; oy++) {
			struct resize_tap ty = resize_tap(oy, h, ho);
			float *r0 = dinp + ((size_t)n * h + ty.i0) * w * c;
			float *r1 = dinp + ((size_t)n * h + ty.i1) * w * c;

			for (int ox = 0; ox < wo; ox++) {
				struct resize_tap tx = resize_tap(ox, w, wo);
				const float *g =
				    dout +
				    (((size_t)n * ho + oy) * wo + ox) * c;
				float *a = r0 + (size_t)tx.i0 * c;
				float *b = r0 + (size_t)tx.i1 * c;
				float *e = r1 + (size_t)tx.i0 * c;
				float *f = r1 + (size_t)tx.i1 * c;

#pragma omp simd
				for (int ch = 0; ch < c; ch++) {
					a[ch] += ty.l0 * tx.l0 * g[ch];
					b[ch] += ty.l0 * tx.l1 * g[ch];
					e[ch] += ty.l1 * tx.l0 * g[ch];
					f[ch] += ty.l1 * tx.l1 * g[ch];
				}
			}
		}
	}
}
