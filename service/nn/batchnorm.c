/* SPDX-License-Identifier: Apache-2.0 */
/* batchnorm.c - batch normalisation over N, H, W per channel, fused with an
 * activation: training forward (batch statistics, running statistics
 * update), inference forward and backward. Per-channel sums are taken in
 * double over fixed slices of the pixels (see NN_SLICES in nn.h). */
#include "nn/nn.h"
#include "nn/nn_internal.h"

#include <math.h>
#include <string.h>

/* Scratch: NN_SLICES x 2 x C doubles of partial sums, then 3 x C floats of
 * per-channel factors. */
size_t nn_bn_scratch_size(const struct nn_shape *s)
{
	return (size_t)NN_SLICES * 2 * (size_t)s->c * sizeof(double) +
	       3 * (size_t)s->c * sizeof(float);
}

/* The per-channel float factors that follow the double partial sums. */
static float *bn_factors(void *scratch, int c)
{
	return (float *)(void *)((unsigned char *)scratch + (size_t)NN_SLICES *
								2 * (size_t)c *
								sizeof(double));
}

/* The pre-activation, computed the same way in forward and backward so that
 * the activation's kinks (ReLU at 0, ...) are decided identically: the same
 * roundings in every instantiation, as no FP contraction is done (-std=c11
 * implies GCC's -ffp-contract=off). tests/unit/test_nn_kinks.c checks it on
 * and within ulps of every kink. */
static inline float bn_z(float x, float mean, float scale, float beta)
{
	return (x - mean) * scale + beta;
}

/* Slice sums of x and x^2 into part (ns, 2, C). A one-pass variance in
 * double loses precision only when |mean| / std exceeds ~1e4, far from
 * anything a trained net produces, and saves a pass over the tensor. */
static void bn_partial_moments(double *part, const float *x, size_t pix, int c,
			       int ns)
{
#pragma omp parallel for schedule(static) if (pix * (size_t)c >= NN_PAR_MIN)
	for (int sl = 0; sl < ns; sl++) {
		double *s1 = part + (size_t)sl * 2 * c, *s2 = s1 + c;
		size_t p0 = nn_slice_begin(pix, ns, sl);
		size_t p1 = nn_slice_begin(pix, ns, sl + 1);

		memset(s1, 0, 2 * (size_t)c * sizeof(double));
		for (size_t p = p0; p < p1; p++) {
			const float *row = x + p * c;

#pragma omp simd
			for (int ch = 0; ch < c; ch++) {
				double v = row[ch];

				s1[ch] += v;
				s2[ch] += v * v;
			}
		}
	}
}

/* out rows [p0, p1) = act(z(x)); rows hold c channels, ld floats apart. */
static inline __attribute__((always_inline)) void
bn_apply_rows(float *out, const float *x, const float *mean, const float *scale,
	      const float *beta, size_t p0, size_t p1, int c, size_t ld,
	      const enum nn_act a)
{
	for (size_t p = p0; p < p1; p++) {
		const float *xr = x + p * ld;
		float *o = out + p * ld;

#pragma omp simd
		for (int ch = 0; ch < c; ch++)
			o[ch] = nn_act_value(
			    a, bn_z(xr[ch], mean[ch], scale[ch], beta[ch]));
	}
}

static void bn_apply(float *out, const float *x, const float *mean,
		     const float *scale, const float *beta, size_t pix, int c,
		     size_t ld, enum nn_act a)
{
	const size_t nb = (pix + NN_BLOCK_ROWS - 1) / NN_BLOCK_ROWS;

#pragma omp parallel for schedule(static) if (pix * (size_t)c >= NN_PAR_MIN)
	for (size_t b = 0; b < nb; b++) {
		size_t p0 = b * NN_BLOCK_ROWS;
		size_t p1 = p0 + NN_BLOCK_ROWS < pix ? p0 + NN_BLOCK_ROWS : pix;

#define BN_APPLY(A) bn_apply_rows(out, x, mean, scale, beta, p0, p1, c, ld, A)
		NN_ACT_DISPATCH(a, BN_APPLY);
#undef BN_APPLY
	}
}

void nn_bn_act_forward(float *out, float *mean, float *rstd,
		       float *running_mean, float *running_var, const float *x,
		       const float *gamma, const float *beta,
		       const struct nn_shape *s, enum nn_act act, void *scratch)
{
	const int c = s->c;
	const size_t pix = (size_t)s->n * s->h * s->w;
	const int ns = nn_slices_for(pix);
	double *part = scratch;
	float *scale = bn_factors(scratch, c);

	bn_partial_moments(part, x, pix, c, ns);
	nn_bn_stats_finish(mean, rstd, scale, running_mean, running_var, gamma,
			   part, ns, pix, c);
	bn_apply(out, x, mean, scale, beta, pix, c, (size_t)c, act);
}

/* Channels per block of the inference path's per-channel factors, kept on
 * the stack because inference takes no scratch. */
#define BN_EVAL_BLOCK 256

void nn_bn_act_forward_eval(float *out, const float *x,
			    const float *running_mean, const float *running_var,
			    const float *gamma, const float *beta,
			    const struct nn_shape *s, enum nn_act act)
{
	const size_t pix = (size_t)s->n * s->h * s->w;
	const int c = s->c;
	float scale[BN_EVAL_BLOCK];

	/* One pass for up to 256 channels, else a block of them at a time. */
	for (int c0 = 0; c0 < c; c0 += BN_EVAL_BLOCK) {
		int cb = c - c0 < BN_EVAL_BLOCK ? c - c0 : BN_EVAL_BLOCK;

		for (int ch = 0; ch < cb; ch++)
			scale[ch] = gamma[c0 + ch] /
				    sqrtf(running_var[c0 + ch] + NN_BN_EPS);
		bn_apply(out + c0, x + c0, running_mean + c0, scale, beta + c0,
			 pix, cb, (size_t)c, act);
	}
}

/* Backward pass 1 over rows [p0, p1): sums of dz and dz * xhat into s1 (C)
 * and s2 (C), dz = dout * act'(z). */
static inline __attribute__((always_inline)) void
bn_bwd_sums_rows(double *s1, double *s2, const float *dout, const float *x,
		 const float *mean, const float *rstd, const float *scale,
		 const float *beta, size_t p0, size_t p1, int c,
		 const enum nn_act a)
{
	for (size_t p = p0; p < p1; p++) {
		const float *xr = x + p * c, *g = dout + p * c;

#pragma omp simd
		for (int ch = 0; ch < c; ch++) {
			float z = bn_z(xr[ch], mean[ch], scale[ch], beta[ch]);
			float dz = g[ch] * nn_act_grad(a, z);
			float xh = (xr[ch] - mean[ch]) * rstd[ch];

			s1[ch] += dz;
			s2[ch] += (double)dz * xh;
		}
	}
}

/* Backward pass 2 over rows [p0, p1): dinp += k1 * (dz - m1 - xhat * m2). */
static inline __attribute__((always_inline)) void
bn_bwd_input_rows(float *dinp, const float *dout, const float *x,
		  const float *mean, const float *rstd, const float *scale,
		  const float *beta, const float *k1, const float *m1,
		  const float *m2, size_t p0, size_t p1, int c,
		  const enum nn_act a)
{
	for (size_t p = p0; p < p1; p++) {
		const float *xr = x + p * c, *g = dout + p * c;
		float *di = dinp + p * c;

#pragma omp simd
		for (int ch = 0; ch < c; ch++) {
			float z = bn_z(xr[ch], mean[ch], scale[ch], beta[ch]);
			float dz = g[ch] * nn_act_grad(a, z);
			float xh = (xr[ch] - mean[ch]) * rstd[ch];

			di[ch] += k1[ch] * (dz - m1[ch] - xh * m2[ch]);
		}
	}
}

void nn_bn_act_backward(float *dinp, float *dgamma, float *dbeta,
			const float *dout, const float *x, const float *mean,
			const float *rstd, const float *gamma,
			const float *beta, const struct nn_shape *s,
			enum nn_act act, void *scratch)
{
	const int c = s->c;
	const size_t pix = (size_t)s->n * s->h * s->w;
	const int ns = nn_slices_for(pix);
	const size_t nb = (pix + NN_BLOCK_ROWS - 1) / NN_BLOCK_ROWS;
	double *part = scratch;
	float *scale = bn_factors(scratch, c);
	float *m1 = scale + c, *m2 = m1 + c;

	for (int ch = 0; ch < c; ch++)
		scale[ch] = rstd[ch] * gamma[ch];
#pragma omp parallel for schedule(static) if (pix * (size_t)c >= NN_PAR_MIN)
	for (int sl = 0; sl < ns; sl++) {
		double *s1 = part + (size_t)sl * 2 * c, *s2 = s1 + c;
		size_t p0 = nn_slice_begin(pix, ns, sl);
		size_t p1 = nn_slice_begin(pix, ns, sl + 1);

		memset(s1, 0, 2 * (size_t)c * sizeof(double));
#define BN_SUMS(A)                                                             \
	bn_bwd_sums_rows(s1, s2, dout, x, mean, rstd, scale, beta, p0, p1, c, A)
		NN_ACT_DISPATCH(act, BN_SUMS);
#undef BN_SUMS
	}
	for (int ch = 0; ch < c; ch++) {
		double s1 = 0.0, s2 = 0.0;

		for (int sl = 0; sl < ns; sl++) {
			s1 += part[(size_t)sl * 2 * c + ch];
			s2 += part[(size_t)sl * 2 * c + c + ch];
		}
		dbeta[ch] += (float)s1;
		dgamma[ch] += (float)s2;
		m1[ch] = (float)(s1 / (double)pix);
		m2[ch] = (float)(s2 / (double)pix);
	}
	if (!dinp)
		return;
		/* k1 = gamma * rstd is exactly scale. */
#pragma omp parallel for schedule(static) if (pix * (size_t)c >= NN_PAR_MIN)
	for (size_t b = 0; b < nb; b++) {
		size_t p0 = b * NN_BLOCK_ROWS;
		size_t p1 = p0 + NN_BLOCK_ROWS < pix ? p0 + NN_BLOCK_ROWS : pix;

#define BN_DX(A)                                                               \
	bn_bwd_input_rows(dinp, dout, x, mean, rstd, scale, beta, scale, m1,   \
			  m2, p0, p1, c, A)
		NN_ACT_DISPATCH(act, BN_DX);
#undef BN_DX
	}
}
