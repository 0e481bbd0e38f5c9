/* SPDX-License-Identifier: Apache-2.0 */
/* int8_model.c - test support: a straightforward 64-bit model of TFLite's
 * fixed-point rounding (SaturatingRoundingDoublingHighMul, RoundingDivide-
 * ByPOT, MultiplyByQuantizedMultiplier), written differently from both
 * implementations under test, and a generator of int32 edge values. */
#include "int8_model.h"

/* round(a * b / 2^31) with ties toward +infinity, by floor division. */
int32_t int8_model_srdhm(int32_t a, int32_t b)
{
	const int64_t d = 1LL << 31;
	int64_t ab, q, r;

	if (a == INT32_MIN && b == INT32_MIN)
		return INT32_MAX;
	ab = (int64_t)a * (int64_t)b;
	q = ab / d;
	r = ab % d;
	if (r < 0) {
		q -= 1;
		r += d;
	}
	return (int32_t)(q + (r >= d / 2 ? 1 : 0));
}

/* x / 2^e rounded half away from zero. */
int32_t int8_model_rdbpot(int32_t x, int e)
{
	const int64_t d = 1LL << e;
	const int64_t ax = x < 0 ? -(int64_t)x : (int64_t)x;
	const int64_t q = (ax + d / 2) / d;

	if (e == 0)
		return x;
	return (int32_t)(x < 0 ? -q : q);
}

int32_t int8_model_mbqm(int32_t x, int32_t m, int shift)
{
	const int left = shift > 0 ? shift : 0;
	const int64_t t = (int64_t)x * ((int64_t)1 << left);
	/* two's complement wrap of x * 2^left to 32 bits */
	const int64_t low = t & 0xffffffffLL;
	const int32_t xw =
	    (int32_t)(low >= (1LL << 31) ? low - (1LL << 32) : low);

	return int8_model_rdbpot(int8_model_srdhm(xw, m),
				 shift > 0 ? 0 : -shift);
}

int32_t int8_rand_edge_i32(struct core_rng *r)
{
	static const int32_t edges[] = {
	    INT32_MIN, INT32_MIN + 1, -(1 << 30),    -65536,   -1, 0,
	    1,	       1 << 30,	      INT32_MAX - 1, INT32_MAX};
	switch (core_rng_below(r, 4)) {
	case 0: return edges[core_rng_below(r, 10)];
	case 1: return (int32_t)core_rng_below(r, 2001) - 1000;
	case 2:
		return (int32_t)(uint32_t)core_rng_next(r) >>
		       core_rng_below(r, 31);
	default: return (int32_t)(uint32_t)core_rng_next(r);
	}
}

struct int8_rq_args int8_rand_rq_args(struct core_rng *r)
{
	struct int8_rq_args a;

	a.x = int8_rand_edge_i32(r);
	a.m = core_rng_below(r, 3) == 0
		  ? int8_rand_edge_i32(r)
		  : (int32_t)((1u << 30) + core_rng_below(r, 1u << 30));
	a.shift = (int)core_rng_below(r, 62) - 31;
	a.e = (int)core_rng_below(r, 32);
	return a;
}
