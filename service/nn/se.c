/* SPDX-License-Identifier: Apache-2.0 */
/* se.c - squeeze-excitation: global average pool, FC C -> R + bias, ReLU,
 * FC R -> C + bias, sigmoid, per-channel rescale of the input. */
#include "nn/nn.h"
#include "nn/nn_internal.h"

#include <string.h>

void nn_se_forward(float *out, float *pooled, float *hidden, float *gate,
		   const float *x, const float *w1, const float *b1,
		   const float *w2, const float *b2, const struct nn_shape *s,
		   int r)
{
	const size_t hw = (size_t)s->h * s->w;
	const size_t pix = (size_t)s->n * hw;
	const int c = s->c;
	const size_t nr = (size_t)s->n * r, nc = (size_t)s->n * c;

	nn_gap_forward(pooled, x, s);
	nn_linear_forward(hidden, pooled, w1, b1, s->n, c, r);
	for (size_t i = 0; i < nr; i++)
		hidden[i] = hidden[i] < 0.0f ? 0.0f : hidden[i]; /* NaN stays */
	nn_linear_forward(gate, hidden, w2, b2, s->n, r, c);
	for (size_t i = 0; i < nc; i++)
		gate[i] = nn_sigmoidf(gate[i]);
#pragma omp parallel for schedule(static) if (nn_shape_count(s) >= NN_PAR_MIN)
	for (size_t p = 0; p < pix; p++) {
		const float *g = gate + (p / hw) * c, *xr = x + p * c;
		float *o = out + p * c;

#pragma omp simd
		for (int ch = 0; ch < c; ch++)
			o[ch] = xr[ch] * g[ch];
	}
}

/* dgate (N, C), dpooled (N, C), dhidden (N, R). */
size_t nn_se_scratch_size(const struct nn_shape *s, int r)
{
	return ((size_t)2 * s->n * s->c + (size_t)s->n * r) * sizeof(float);
}

void nn_se_backward(float *dinp, float *dw1, float *db1, float *dw2, float *db2,
		    const float *dout, const float *x, const float *pooled,
		    const float *hidden, const float *gate, const float *w1,
		    const float *w2, const struct nn_shape *s, int r,
		    void *scratch)
{
	const size_t hw = (size_t)s->h * s->w;
	const size_t pix = (size_t)s->n * hw;
	const int c = s->c;
	const size_t nr = (size_t)s->n * r, nc = (size_t)s->n * c;
	float *dgate = scratch;
	float *dpooled = dgate + nc;
	float *dhidden = dpooled + nc;
	const float inv = 1.0f / (float)hw;

	/* dgate = sum over pixels of dout * x, then through the sigmoid. */
#pragma omp parallel for schedule(static) if (nn_shape_count(s) >= NN_PAR_MIN)
	for (int n = 0; n < s->n; n++) {
		float *dg = dgate + (size_t)n * c;
		const float *gn = gate + (size_t)n * c;

		for (int ch = 0; ch < c; ch++)
			dg[ch] = 0.0f;
		for (size_t p = (size_t)n * hw; p < (size_t)(n + 1) * hw; p++)
#pragma omp simd
			for (int ch = 0; ch < c; ch++)
				dg[ch] += dout[p * c + ch] * x[p * c + ch];
		for (int ch = 0; ch < c; ch++)
			dg[ch] *= gn[ch] * (1.0f - gn[ch]);
	}
	memset(dhidden, 0, nr * sizeof(float));
	nn_linear_backward(dhidden, dw2, db2, dgate, hidden, w2, s->n, r, c);
	/* hidden is the ReLU's output: positive exactly where it passed. */
	for (size_t i = 0; i < nr; i++)
		if (!(hidden[i] > 0.0f))
			dhidden[i] = 0.0f;
	if (!dinp) {
		nn_linear_backward(NULL, dw1, db1, dhidden, pooled, w1, s->n, c,
				   r);
		return;
	}
	memset(dpooled, 0, nc * sizeof(float));
	nn_linear_backward(dpooled, dw1, db1, dhidden, pooled, w1, s->n, c, r);
	/* dinp += dout * gate (the rescale) + dpooled / HW (the pool). */
#pragma omp parallel for schedule(static) if (nn_shape_count(s) >= NN_PAR_MIN)
	for (size_t p = 0; p < pix; p++) {
		const float *g = gate + (p / hw) * c;
		const float *dp = dpooled + (p / hw) * c;
		const float *go = dout + p * c;
		float *di = dinp + p * c;

#pragma omp simd
		for (int ch = 0; ch < c; ch++)
			di[ch] += go[ch] * g[ch] + dp[ch] * inv;
	}
}
