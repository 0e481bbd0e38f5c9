/* SPDX-License-Identifier: Apache-2.0 */
/* add_s8.c - int8 elementwise add (TFLite ADD): both inputs rescaled to a
 * common scale with 20 bits of headroom, summed, rescaled to the output.
 * On DSP builds long adds look the rescaled inputs up in two 256-entry
 * tables built per call (on the stack). */
#include "kernels.h"
#include "requant.h"

#if S8_DSP
/* RoundingDivideByPOT(SRDHM(v, m), e) + (rounding constant h's extra) for
 * v = 2 * value, |value| < 2^30, m > 0 and e in [1, 31]: SMMLAR adds h to
 * SRDHM(value, m), and value's sign stands for the product's (zero products
 * round the same either way, as in pointwise_conv2d_s8.c). */
S8_INLINE int32_t add_rq(int32_t v2, int32_t m, int32_t e, int32_t h)
{
	// cppcheck-suppress [shiftNegativeLHS, shiftTooManyBitsSigned]
	return (s8_smmlar(v2, m, h) + (v2 >> 31)) >> e;
}

/* The loop of add_s8_fast; z1, z2 (constants after inlining): input 1 or 2
 * has shift 0. */
S8_INLINE void add_loop(int8_t *out, const int8_t *in1, const int8_t *in2,
			int32_t n, int32_t k, int32_t k1, int32_t k2, int32_t m1,
			int32_t m2, int32_t e1, int32_t e2, int32_t h1,
			int32_t h2, int32_t mo, int32_t eo, int32_t ho,
			int32_t amin, int32_t amax, int full, int z1, int z2)
{
	for (int32_t i = 0; i < n; i++) {
		const int32_t v1 = in1[i] * k + k1, v2 = in2[i] * k + k2;
		const int32_t a =
		    z1 ? s8_smmulr(v1, m1) : add_rq(v1, m1, e1, h1);
		const int32_t b =
		    z2 ? s8_smmulr(v2, m2) : add_rq(v2, m2, e2, h2);
		const int32_t v = add_rq((a + b) * 2, mo, eo, ho);

		out[i] = (int8_t)(full ? s8_ssat8(v) : s8_clamp(v, amin, amax));
	}
}

/* Both inputs on a right shift or none, positive multipliers, the output on the
 * fast route (requant.h): every step is a short exact form of the
 * reference. (x + off) << left_shift is below 2^28 in magnitude and each
 * rescaled input below 2^28, so their sum is below 2^30. */
static void add_s8_fast(int8_t *out, const int8_t *in1, const int8_t *in2,
			const struct s8_add_params *p, int32_t n)
{
	const int32_t k = 1 << (p->left_shift + 1); /* doubles the value */
	const int32_t k1 = p->input1_offset * k, k2 = p->input2_offset * k;
	const int32_t m1 = p->input1_multiplier, m2 = p->input2_multiplier;
	const int32_t e1 = -p->input1_shift, e2 = -p->input2_shift;
	const int32_t h1 = e1 ? (int32_t)(1u << (e1 - 1)) : 0;
	const int32_t h2 = e2 ? (int32_t)(1u << (e2 - 1)) : 0;
	const int32_t mo = p->output_multiplier, eo = -p->output_shift;
	const int32_t ho = (1 << (eo - 1)) +
			   (int32_t)((uint32_t)p->output_offset << eo);
	const int32_t amin = p->act_min, amax = p->act_max;
	const int full = amin == -128 && amax == 127;

	/* a shift of 0 is no rounding at all: SMMULR alone */
	if (e1 && e2)
		add_loop(out, in1, in2, n, k, k1, k2, m1, m2, e1, e2, h1, h2,
			 mo, eo, ho, amin, amax, full, 0, 0);
	else if (e1)
		add_loop(out, in1, in2, n, k, k1, k2, m1, m2, e1, e2, h1, h2,
			 mo, eo, ho, amin, amax, full, 0, 1);
	else if (e2)
		add_loop(out, in1, in2, n, k, k1, k2, m1, m2, e1, e2, h1, h2,
			 mo, eo, ho, amin, amax, full, 1, 0);
	else
		add_loop(out, in1, in2, n, k, k1, k2, m1, m2, e1, e2, h1, h2,
			 mo, eo, ho, amin, amax, full, 1, 1);
}

/* Elements from which the tables pay for their 512 exact rescalings. */
#define ADD_TABLE_MIN 512

/* The loop over table lookups: t1[x] + t2[y] is twice the sum of the
 * rescaled inputs (below 2^30 in magnitude, see add_s8_fast). */
S8_INLINE void add_table_loop(int8_t *out, const int8_t *in1,
			      const int8_t *in2, int32_t n, const int32_t *t1,
			      const int32_t *t2, int32_t mo, int32_t eo,
			      int32_t ho, int32_t amin, int32_t amax,
			      const int full)
{
	int32_t i = 0;

	for (; i + 2 <= n; i += 2) {
		int32_t v0 = add_rq(t1[in1[i]] + t2[in2[i]], mo, eo, ho);
		int32_t v1 = add_rq(t1[in1[i + 1]] + t2[in2[i + 1]], mo, eo, ho);

		v0 = full ? s8_ssat8(v0) : s8_clamp(v0, amin, amax);
		v1 = full ? s8_ssat8(v1) : s8_clamp(v1, amin, amax);
		out[i] = (int8_t)v0;
		out[i + 1] = (int8_t)v1;
	}
	if (i < n) {
		const int32_t v = add_rq(t1[in1[i]] + t2[in2[i]], mo, eo, ho);

		out[i] = (int8_t)(full ? s8_ssat8(v) : s8_clamp(v, amin, amax));
	}
}

/* The output on the fast route with a positive multiplier; any input
 * rescaling (computed exactly, as the reference does, once per value). */
static void add_s8_table(int8_t *out, const int8_t *in1, const int8_t *in2,
			 const struct s8_add_params *p, int32_t n)
{
	int32_t tab[2][256];
	const int32_t mo = p->output_multiplier, eo = -p->output_shift;
	const int32_t ho = (1 << (eo - 1)) +
			   (int32_t)((uint32_t)p->output_offset << eo);
	const int32_t amin = p->act_min, amax = p->act_max;

	for (int32_t x = -128; x < 128; x++) {
		const int32_t a = (x + p->input1_offset) * (1 << p->left_shift);
		const int32_t b = (x + p->input2_offset) * (1 << p->left_shift);

		tab[0][x + 128] = 2 * s8_rdbpot(s8_srdhm(a, p->input1_multiplier),
						-p->input1_shift);
		tab[1][x + 128] = 2 * s8_rdbpot(s8_srdhm(b, p->input2_multiplier),
						-p->input2_shift);
	}
	/* indexed by the signed bytes */
	if (amin == -128 && amax == 127)
		add_table_loop(out, in1, in2, n, tab[0] + 128, tab[1] + 128, mo,
			       eo, ho, amin, amax, 1);
	else
		add_table_loop(out, in1, in2, n, tab[0] + 128, tab[1] + 128, mo,
			       eo, ho, amin, amax, 0);
}
#endif

enum s8_status add_s8(int8_t *out, const int8_t *in1, const int8_t *in2,
		      const struct s8_add_params *p, int32_t n)
{
	const int32_t lo = p->act_min - p->output_offset;
	const int32_t hi = p->act_max - p->output_offset;

	if (n < 0 || p->left_shift < 0 || p->left_shift > 20 ||
	    p->input1_shift > 0 || p->input2_shift > 0 || p->output_shift > 0)
		return S8_ERR_ARG;
#if S8_DSP
	if (n >= ADD_TABLE_MIN && p->output_multiplier > 0 &&
	    s8_rq_fast(p->output_multiplier, p->output_shift)) {
		add_s8_table(out, in1, in2, p, n);
		return S8_OK;
	}
	if (p->input1_multiplier > 0 && p->input2_multiplier > 0 &&
	    p->output_multiplier > 0 &&
	    s8_rq_fast(p->output_multiplier, p->output_shift)) {
		add_s8_fast(out, in1, in2, p, n);
		return S8_OK;
	}
#endif
	for (int32_t i = 0; i < n; i++) {
		/* |x + offset| <= 255: the shifted values stay below 2^28. */
		const int32_t a =
		    (in1[i] + p->input1_offset) * (1 << p->left_shift);
		const int32_t b =
		    (in2[i] + p->input2_offset) * (1 << p->left_shift);
		const int32_t sa = s8_rdbpot(s8_srdhm(a, p->input1_multiplier),
					     -p->input1_shift);
		const int32_t sb = s8_rdbpot(s8_srdhm(b, p->input2_multiplier),
					     -p->input2_shift);

		out[i] = s8_requantize_out(sa + sb, p->output_multiplier,
					   p->output_shift, p->output_offset,
					   lo, hi);
	}
	return S8_OK;
}
