/* SPDX-License-Identifier: Apache-2.0 */
/* pool.c - global average pooling over H, W of an NHWC tensor. */
#include "nn/nn.h"
#include "nn/nn_internal.h"

void nn_gap_forward(float *out, const float *x, const struct nn_shape *s)
{
	const size_t hw = (size_t)s->h * s->w;
	const int c = s->c;

#pragma omp parallel for schedule(static) if (nn_shape_count(s) >= NN_PAR_MIN)
	for (int n = 0; n < s->n; n++) {
		float *o = out + (size_t)n * c;
		const float *xn = x + (size_t)n * hw * c;

		for (int ch = 0; ch < c; ch++)
			o[ch] = 0.0f;
		for (size_t p = 0; p < hw; p++)
#pragma omp simd
			for (int ch = 0; ch < c; ch++)
				o[ch] += xn[p * c + ch];
		for (int ch = 0; ch < c; ch++)
			o[ch] /= (float)hw;
	}
}

void nn_gap_backward(float *dinp, const float *dout, const struct nn_shape *s)
{
	const size_t hw = (size_t)s->h * s->w;
	const size_t pix = (size_t)s->n * hw;
	const int c = s->c;
	const float inv = 1.0f / (float)hw;

#pragma omp parallel for schedule(static) if (nn_shape_count(s) >= NN_PAR_MIN)
	for (size_t p = 0; p < pix; p++) {
		const float *g = dout + (p / hw) * c;
		float *d = dinp + p * c;

#pragma omp simd
		for (int ch = 0; ch < c; ch++)
			d[ch] += g[ch] * inv;
	}
}
