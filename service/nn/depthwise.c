/* SPDX-License-Identifier: Apache-2.0 */
/* depthwise.c - depthwise k x k convolution (one filter per channel, no
 * bias) on NHWC: direct loops whose innermost loop runs over contiguous
 * channels; weight layout converters to and from PyTorch. */
#include "nn/nn.h"
#include "nn/nn_internal.h"

#include <string.h>

enum core_status nn_dwconv_dims_init(struct nn_dwconv_dims *d, int n, int h,
				     int w, int c, int k, int stride, int pad,
				     char *err, size_t errlen)
{
	struct nn_shape in = {n, h, w, c}, out;
	enum core_status rc;

	memset(d, 0, sizeof *d);
	rc = nn_shape_check(&in, err, errlen);
	if (rc)
		return rc;
	if (k < 1 || k > 255 || stride < 1 || pad < 0 || pad >= k) {
		core_errf(err, errlen,
			  "dwconv: need 1 <= k <= 255, stride >= 1, 0 <= pad "
			  "< k (k %d, stride %d, pad %d)",
			  k, stride, pad);
		return CORE_ERR_INVALID;
	}
	if (h + 2 * pad < k || w + 2 * pad < k) {
		core_errf(err, errlen,
			  "dwconv: kernel %d larger than padded input %dx%d", k,
			  h + 2 * pad, w + 2 * pad);
		return CORE_ERR_INVALID;
	}
	out.n = n;
	out.h = (h + 2 * pad - k) / stride + 1;
	out.w = (w + 2 * pad - k) / stride + 1;
	out.c = c;
	rc = nn_shape_check(&out, err, errlen);
	if (rc)
		return rc;
	d->n = n;
	d->h = h;
	d->w = w;
	d->c = c;
	d->k = k;
	d->stride = stride;
	d->pad = pad;
	d->ho = out.h;
	d->wo = out.w;
	return CORE_OK;
}

size_t nn_dwconv_scratch_size(const struct nn_dwconv_dims *d)
{
	size_t rows = (size_t)d->n * (size_t)d->ho;

	return (size_t)nn_slices_for(rows) * (size_t)d->k * (size_t)d->k *
	       (size_t)d->c * sizeof(float);
}

/* Valid tap range [lo, hi) of a window starting at input index i0. */
static inline void dw_taps(int i0, int k, int size, int *lo, int *hi)
{
	*lo = i0 < 0 ? -i0 : 0;
	*hi = size - i0 < k ? size - i0 : k;
}

void nn_dwconv_forward(float *out, const float *inp, const float *w,
		       const struct nn_dwconv_dims *d)
{
	const int c = d->c, k = d->k;
	const size_t rows = (size_t)d->n * (size_t)d->ho;

#pragma omp parallel for schedule(                                             \
    static) if (rows * (size_t)d->wo * (size_t)c * (size_t)(k * k) >=          \
		NN_PAR_MIN)
	for (size_t r = 0; r < rows; r++) {
		size_t n = r / (size_t)d->ho;
		int oy = (int)(r % (size_t)d->ho);
		int ky_lo, ky_hi, iy0 = oy * d->stride - d->pad;

		dw_taps(iy0, k, d->h, &ky_lo, &ky_hi);
		for (int ox = 0; ox < d->wo; ox++) {
			float *o = out + (r * d->wo + ox) * c;
			int kx_lo, kx_hi, ix0 = ox * d->stride - d->pad;

			dw_taps(ix0, k, d->w, &kx_lo, &kx_hi);
#pragma omp simd
			for (int ch = 0; ch < c; ch++)
				o[ch] = 0.0f;
			for (int ky = ky_lo; ky < ky_hi; ky++) {
				const float *irow =
				    inp +
				    (n * d->h + (size_t)(iy0 + ky)) * d->w * c;
				const float *wrow = w + (size_t)ky * k * c;

				for (int kx = kx_lo; kx < kx_hi; kx++) {
					const float *ip =
					    irow + (size_t)(ix0 + kx) * c;
					const float *wp = wrow + (size_t)kx * c;

#pragma omp simd
					for (int ch = 0; ch < c; ch++)
						o[ch] += ip[ch] * wp[ch];
				}
			}
		}
	}
}

/* dinp += as a gather: each input pixel sums, in (ky, kx) order, the output
 * pixels whose window reads it. Threads own disjoint input rows. */
static void dw_backward_input(float *dinp, const float *dout, const float *w,
			      const struct nn_dwconv_dims *d)
{
	const int c = d->c, k = d->k, s = d->stride, p = d->pad;
	const size_t rows = (size_t)d->n * (size_t)d->h;

#pragma omp parallel for schedule(                                             \
    static) if (rows * (size_t)d->w * (size_t)c * (size_t)(k * k) >=           \
		NN_PAR_MIN)
	for (size_t r = 0; r < rows; r++) {
		size_t n = r / (size_t)d->h;
		int iy = (int)(r % (size_t)d->h);

		for (int ix = 0; ix < d->w; ix++) {
			float *dst = dinp + (r * d->w + ix) * c;

			for (int ky = 0; ky < k; ky++) {
				int ty = iy + p - ky;
				size_t orow;

				if (ty < 0)
					break;
				if (ty % s || ty / s >= d->ho)
					continue;
				orow = n * d->ho + (size_t)(ty / s);
				for (int kx = 0; kx < k; kx++) {
					int tx = ix + p - kx;
					const float *g, *wp;

					if (tx < 0)
						break;
					if (tx % s || tx / s >= d->wo)
						continue;
					g = dout + (orow * d->wo + tx / s) * c;
					wp = w + ((size_t)ky * k + kx) * c;
#pragma omp simd
					for (int ch = 0; ch < c; ch++)
						dst[ch] += g[ch] * wp[ch];
				}
			}
		}
	}
}

/* dw += sum over output pixels of dout * input tap: slice sl of the output
 * rows sums into its own (K, K, C) partial; partials are then added in slice
 * order, so the result is the same for any thread count. */
static void dw_backward_weight(float *dw, const float *dout, const float *inp,
			       const struct nn_dwconv_dims *d, float *part)
{
	const int c = d->c, k = d->k;
	const size_t kkc = (size_t)k * k * c;
	const size_t rows = (size_t)d->n * (size_t)d->ho;
	const int ns = nn_slices_for(rows);

#pragma omp parallel for schedule(static) if (rows * (size_t)d->wo * kkc >=    \
					      NN_PAR_MIN)
	for (int sl = 0; sl < ns; sl++) {
		float *acc = part + (size_t)sl * kkc;
		size_t r0 = nn_slice_begin(rows, ns, sl);
		size_t r1 = nn_slice_begin(rows, ns, sl + 1);

		memset(acc, 0, kkc * sizeof(float));
		for (size_t r = r0; r < r1; r++) {
			size_t n = r / (size_t)d->ho;
			int oy = (int)(r % (size_t)d->ho);
			int ky_lo, ky_hi, iy0 = oy * d->stride - d->pad;

			dw_taps(iy0, k, d->h, &ky_lo, &ky_hi);
			for (int ox = 0; ox < d->wo; ox++) {
				const float *g = dout + (r * d->wo + ox) * c;
				int kx_lo, kx_hi, ix0 = ox * d->stride - d->pad;

				dw_taps(ix0, k, d->w, &kx_lo, &kx_hi);
				for (int ky = ky_lo; ky < ky_hi; ky++) {
					const float *irow =
					    inp +
					    (n * d->h + (size_t)(iy0 + ky)) *
						d->w * c;
					float *arow = acc + (size_t)ky * k * c;

					for (int kx = kx_lo; kx < kx_hi; kx++) {
						const float *ip =
						    irow +
						    (size_t)(ix0 + kx) * c;
						float *ap =
						    arow + (size_t)kx * c;

#pragma omp simd
						for (int ch = 0; ch < c; ch++)
							ap[ch] +=
							    g[ch] * ip[ch];
					}
				}
			}
		}
	}
#pragma omp parallel for schedule(static) if (kkc * (size_t)ns >= NN_PAR_MIN)
	for (size_t j = 0; j < kkc; j++) {
		float sum = 0.0f;

		for (int sl = 0; sl < ns; sl++)
			sum += part[(size_t)sl * kkc + j];
		dw[j] += sum;
	}
}

void nn_dwconv_backward(float *dinp, float *dw, const float *dout,
			const float *inp, const float *w,
			const struct nn_dwconv_dims *d, void *scratch)
{
	if (dinp)
		dw_backward_input(dinp, dout, w, d);
	if (dw)
		dw_backward_weight(dw, dout, inp, d, scratch);
}

void nn_dwconv_weight_from_torch(float *dst, const float *src, int c, int k)
{
	for (int ch = 0; ch < c; ch++)
		for (int t = 0; t < k * k; t++)
			dst[(size_t)t * c + ch] = src[(size_t)ch * k * k + t];
}

void nn_dwconv_weight_to_torch(float *dst, const float *src, int c, int k)
{
	for (int ch = 0; ch < c; ch++)
		for (int t = 0; t < k * k; t++)
			dst[(size_t)ch * k * k + t] = src[(size_t)t * c + ch];
}
