/* SPDX-License-Identifier: Apache-2.0 */
/* nn_internal.h - private to service/nn: scalar activation functions shared by
 * the standalone activation and the fused BN+activation, and the fixed-slice
 * helpers behind deterministic reductions. Not part of the module's face. */
#ifndef LMNAS_NN_INTERNAL_H
#define LMNAS_NN_INTERNAL_H

#include "nn/nn.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Below this many elements a loop runs on one thread: forking costs more. */
#define NN_PAR_MIN 16384

/* Slice s of NN_SLICES-or-fewer equal parts of [0, total). total * s cannot
 * overflow: total <= INT_MAX pixels and s < NN_SLICES. */
static inline int nn_slices_for(size_t total)
{
	return total < NN_SLICES ? (int)total : NN_SLICES;
}

static inline size_t nn_slice_begin(size_t total, int nslices, int s)
{
	return total * (size_t)s / (size_t)nslices;
}

/* Rows (pixels) per parallel block of the element-wise kernels. */
#define NN_BLOCK_ROWS 64

/* Calls CALL(A) with A the compile-time constant equal to a. OpenMP outlines
 * a parallel loop's body into its own function before inlining, so a
 * kernel is specialised per activation by dispatching INSIDE the parallel
 * loop, once per block, to an always_inline worker: the worker's inner loop
 * then has no switch and vectorises. */
#define NN_ACT_DISPATCH(a, CALL)                                               \
	do {                                                                   \
		switch (a) {                                                   \
		case NN_ACT_NONE: CALL(NN_ACT_NONE); break;                    \
		case NN_ACT_RELU: CALL(NN_ACT_RELU); break;                    \
		case NN_ACT_RELU6: CALL(NN_ACT_RELU6); break;                  \
		case NN_ACT_LEAKYRELU: CALL(NN_ACT_LEAKYRELU); break;          \
		case NN_ACT_SWISH: CALL(NN_ACT_SWISH); break;                  \
		case NN_ACT_HSWISH: CALL(NN_ACT_HSWISH); break;                \
		case NN_ACT_SIGMOID: CALL(NN_ACT_SIGMOID); break;              \
		}                                                              \
	} while (0)

/* expf for x <= 88 that GCC can vectorise (glibc's expf is a call that
 * blocks it without -ffast-math): Cody-Waite reduction x = n ln2 + r and
 * Cephes' degree-6 polynomial for exp(r), about 1 ulp. Arguments below -87
 * give exp(-87) ~ 1.6e-38 instead of smaller; NaN stays NaN (the clamps are
 * comparisons, and no float is converted to an integer: n comes from the
 * bits of x*log2(e) + 1.5*2^23, which is exact for |n| <= 2^22). */
static inline float nn_expf(float x)
{
	const float magic = 12582912.0f; /* 1.5 * 2^23, bits 0x4B400000 */
	union {
		float f;
		uint32_t u; /* unsigned: NaN bits wrap instead of overflowing */
	} t, scale;
	float n, r, p;

	x = x < -87.0f ? -87.0f : x;
	x = x > 88.0f ? 88.0f : x;
	t.f = x * 1.44269504088896341f + magic; /* round(x / ln 2) + magic */
	n = t.f - magic;
	r = x - n * 0.693359375f; /* ln 2 split in two: exact product */
	r = r - n * -2.12194440e-4f;
	p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	scale.u = (t.u - 0x4B400000u + 127u) << 23; /* 2^n, n in [-126, 127] */
	return p * scale.f;
}

/* exp of -|x| only, so nothing overflows; branch-free for vectorisation. */
static inline float nn_sigmoidf(float x)
{
	float e = nn_expf(-fabsf(x));
	float s = 1.0f / (1.0f + e);

	return x >= 0.0f ? s : e * s;
}

static inline float nn_act_value(enum nn_act a, float x)
{
	switch (a) {
	case NN_ACT_NONE: return x;
	/* Written so that a NaN input gives NaN (as in PyTorch): a NaN must
	 * reach the loss, where the trainer's isfinite() check sees it. */
	case NN_ACT_RELU: return x < 0.0f ? 0.0f : x;
	case NN_ACT_RELU6: return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
	case NN_ACT_LEAKYRELU: return x < 0.0f ? NN_LEAKY_SLOPE * x : x;
	case NN_ACT_SWISH: return x * nn_sigmoidf(x);
	case NN_ACT_HSWISH: {
		float t = x + 3.0f;
		t = t < 0.0f ? 0.0f : (t > 6.0f ? 6.0f : t);
		return x * t / 6.0f;
	}
	case NN_ACT_SIGMOID: return nn_sigmoidf(x);
	}
	return x;
}

/* d act / dx at x, with PyTorch's conventions at the kinks. */
static inline float nn_act_grad(enum nn_act a, float x)
{
	switch (a) {
	case NN_ACT_NONE: return 1.0f;
	case NN_ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
	case NN_ACT_RELU6: return (x > 0.0f && x < 6.0f) ? 1.0f : 0.0f;
	case NN_ACT_LEAKYRELU: return x > 0.0f ? 1.0f : NN_LEAKY_SLOPE;
	case NN_ACT_SWISH: {
		float s = nn_sigmoidf(x);
		return s * (1.0f + x * (1.0f - s));
	}
	case NN_ACT_HSWISH:
		/* PyTorch 1.13's vectorised kernel, which handles all but the
		 * last few elements of a tensor: 1 at x = 3. (Its scalar tail
		 * loop says x/3 + 1/2 = 1.5 there; we follow the bulk.) */
		if (x < -3.0f)
			return 0.0f;
		if (x < 3.0f)
			return x / 3.0f + 0.5f;
		return 1.0f;
	case NN_ACT_SIGMOID: {
		float s = nn_sigmoidf(x);
		return s * (1.0f - s);
	}
	}
	return 1.0f;
}

#endif
