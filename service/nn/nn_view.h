/* SPDX-License-Identifier: Apache-2.0 */
/* nn_view.h - private to service/nn: the row helpers of the fused kernels
 * (a BN view applied to a row of channels, BN-backward sums of a row), the
 * 8-float vector type of the depthwise kernels, and slice bookkeeping. */
#ifndef LMNAS_NN_VIEW_H
#define LMNAS_NN_VIEW_H

#include "nn/nn.h"
#include "nn/nn_internal.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* Eight floats: one AVX register on x86-64-v3, lowered by the compiler
 * elsewhere. The unaligned variant loads and stores anywhere. */
typedef float nn_v8 __attribute__((vector_size(32)));
typedef float nn_v8u __attribute__((vector_size(32), aligned(4)));

static inline nn_v8 nn_v8_load(const float *p)
{
	return *(const nn_v8u *)(const void *)p;
}

static inline void nn_v8_store(float *p, nn_v8 v)
{
	*(nn_v8u *)(void *)p = v;
}

/* Whole 8-float groups covering c channels. */
static inline int nn_round8(int c)
{
	return (c + 7) & ~7;
}

/* The pre-activation of BN behind a view. One fused multiply-add, written
 * out: every fused kernel, forward and backward, computes z with exactly
 * this rounding whatever the compiler contracts elsewhere, so they all
 * decide the activation's kinks (ReLU at 0, ...) alike. */
static inline float nn_view_z(float x, float mean, float scale, float beta)
{
	return fmaf(x - mean, scale, beta);
}

/* dst[ch] = v(src[ch]) for ch < c, gate row g (C) or NULL. A compile-time
 * activation: call through NN_ACT_DISPATCH. */
static inline __attribute__((always_inline)) void
nn_view_row(float *dst, const float *src, const float *mean, const float *scale,
	    const float *beta, const float *g, int c, const enum nn_act a)
{
	if (g) {
#pragma omp simd
		for (int ch = 0; ch < c; ch++)
			dst[ch] =
			    nn_act_value(a, nn_view_z(src[ch], mean[ch],
						      scale[ch], beta[ch])) *
			    g[ch];
	} else {
#pragma omp simd
		for (int ch = 0; ch < c; ch++)
			dst[ch] =
			    nn_act_value(a, nn_view_z(src[ch], mean[ch],
						      scale[ch], beta[ch]));
	}
}

/* The activation's value and slope at z from one evaluation (swish and
 * sigmoid share their sigmoid): the same numbers as nn_act_value and
 * nn_act_grad. A compile-time activation. */
static inline __attribute__((always_inline)) float
nn_act_both(const enum nn_act a, float z, float *grad)
{
	float s;

	switch (a) {
	case NN_ACT_SWISH:
		s = nn_sigmoidf(z);
		*grad = s * (1.0f + z * (1.0f - s));
		return z * s;
	case NN_ACT_SIGMOID:
		s = nn_sigmoidf(z);
		*grad = s * (1.0f - s);
		return s;
	default: *grad = nn_act_grad(a, z); return nn_act_value(a, z);
	}
}

/* rows rows of c channels (row stride ld_src / ld_dst floats) through the
 * view, channel offset c0 into the view's per-channel arrays; gate rows
 * follow the image of each row (row index r0 + i, hw rows per image). */
void nn_view_rows(float *dst, size_t ld_dst, const float *src, size_t ld_src,
		  const struct nn_bn_view *v, int c0, int c, size_t r0,
		  size_t rows);

/* nn_view_rows (v without gate) that also takes, from the same evaluation,
 * the BN-backward sums of d (rows of ld_d) at x: s1[ch] += dz, s2[ch] +=
 * dz * xhat, dz = d * act'(z). */
void nn_view_rows_sums(float *dst, size_t ld_dst, const float *src,
		       size_t ld_src, const struct nn_bn_view *v, int c0, int c,
		       size_t rows, const float *d, size_t ld_d, double *s1,
		       double *s2);

/* nn_view_rows (v without gate) that also stores act'(z) in slope and
 * xhat in xh (same layout as dst), for nn_stash_sums once the gradient is
 * known. */
void nn_view_rows_stash(float *dst, float *slope, float *xh, size_t ld_dst,
			const float *src, size_t ld_src,
			const struct nn_bn_view *v, int c0, int c, size_t rows);

/* s1[ch] += d * slope, s2[ch] += d * slope * xh over rows rows of c
 * channels (d rows ld_d floats apart, slope and xh rows ld floats). */
void nn_stash_sums(double *s1, double *s2, const float *d, size_t ld_d,
		   const float *slope, const float *xh, size_t ld, int c,
		   size_t rows);

/* s1[ch] += dz, s2[ch] += dz * xhat over rows rows of c channels: dz =
 * d * act'(z) of the view's BN at x. */
void nn_view_grad_sums(double *s1, double *s2, const float *d, size_t ld_d,
		       const float *x, size_t ld_x, const struct nn_bn_view *v,
		       int c0, int c, size_t rows);

/* dp = the BN backward of d at x (see nn_bn_grad), rows rows of c channels
 * from channel c0 of g's arrays, row strides ld_*; dp may alias d. */
void nn_view_grad_rows(float *dp, size_t ld_dp, const float *d, size_t ld_d,
		       const float *x, size_t ld_x, const struct nn_bn_grad *g,
		       int c0, int c, size_t rows);

/* s1[ch] += x, s2[ch] += x * x over rows rows of c channels (row stride
 * ld floats). */
void nn_moments_rows(double *s1, double *s2, const float *x, size_t ld, int c,
		     size_t rows);

#endif
