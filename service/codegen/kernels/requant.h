/* SPDX-License-Identifier: Apache-2.0 */
/* requant.h - fixed-point helpers shared by the int8 kernels: TFLite's
 * MultiplyByQuantizedMultiplier (SaturatingRoundingDoublingHighMul then
 * RoundingDivideByPOT), clamping, unaligned loads, and the int16 column
 * layout the matrix kernel reads.
 *
 * Assumes two's complement with arithmetic right shift of negative values
 * and modulo conversion to signed types (GCC, Clang, Arm Compiler). */
#ifndef S8_REQUANT_H
#define S8_REQUANT_H

#include <stdint.h>
#include <string.h>

#include "dsp.h"

#if defined(__GNUC__)
#define S8_INLINE static inline __attribute__((always_inline))
#else
#define S8_INLINE static inline
#endif

/* round(a * b / 2^31), ties toward +infinity, INT32_MIN * INT32_MIN
 * saturating to INT32_MAX. This is gemmlowp's SaturatingRoundingDoublingHigh-
 * Mul: its nudge of 1 - 2^30 for negative products followed by a division
 * that truncates toward zero equals floor((ab + 2^30) / 2^31). */
S8_INLINE int32_t s8_srdhm(int32_t a, int32_t b)
{
	if (a == INT32_MIN && b == INT32_MIN)
		return INT32_MAX;
	return (int32_t)(((int64_t)a * b + (1LL << 30)) >> 31);
}

/* x / 2^exponent rounded half away from zero, exponent in [0, 31]
 * (gemmlowp's RoundingDivideByPOT: the threshold is one higher for negative
 * x; x >> 31 is -1 then). */
S8_INLINE int32_t s8_rdbpot(int32_t x, int32_t exponent)
{
	const int32_t mask = (int32_t)((1u << exponent) - 1u);
	const int32_t remainder = x & mask;
	/* arithmetic shifts of a negative x (see the file comment) */
	// cppcheck-suppress [shiftNegativeLHS, shiftTooManyBitsSigned]
	const int32_t threshold = (mask >> 1) - (x >> 31);

	// cppcheck-suppress [shiftNegativeLHS, shiftTooManyBitsSigned]
	return (x >> exponent) + (remainder > threshold);
}

/* TFLite MultiplyByQuantizedMultiplier for every shift in [-31, 30]
 * (positive = left) and every multiplier. The left shift wraps on overflow
 * (the layer's accumulator bound is checked at generation time so that it
 * cannot). Kept out of line: the kernels call it only for the rare channels
 * s8_requantize does not handle inline. */
#if defined(__GNUC__)
__attribute__((noinline, unused))
#endif
static int32_t
s8_requantize_general(int32_t acc, int32_t mult, int32_t shift)
{
	const int32_t left = shift > 0 ? shift : 0;
	const int32_t right = shift > 0 ? 0 : -shift;

	return s8_rdbpot(s8_srdhm((int32_t)((uint32_t)acc << left), mult),
			 right);
}

/* The same; inline for the usual case (no left shift, multiplier not
 * INT32_MIN, so SaturatingRoundingDoublingHighMul cannot saturate and is one
 * SMULL with a rounding constant). */
S8_INLINE int32_t s8_requantize(int32_t acc, int32_t mult, int32_t shift)
{
	if (shift <= 0 && mult != INT32_MIN)
		return s8_rdbpot(
		    (int32_t)(((int64_t)acc * mult + (1LL << 30)) >> 31),
		    -shift);
	return s8_requantize_general(acc, mult, shift);
}

S8_INLINE int32_t s8_clamp(int32_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

#if S8_DSP
/* A shorter exact route to the clamped output for right shifts e = -shift
 * in [1, 23] (all realistic layers) on DSP builds. With t = SRDHM(acc,
 * mult), RoundingDivideByPOT(t, e) is (t + 2^(e-1) - (t < 0)) >> e; the one
 * addition is done with QADD, which saturates only when t + 2^(e-1) passes
 * INT32_MAX. The quotient is then 2^(31-e) - 1 >= 255 instead of something
 * larger, and both clamp to the same hi <= 255 (see s8_requantize_out), so
 * the clamped result does not change. s8_rq_fast says whether a channel
 * qualifies; half = 2^(e-1) is computed once per channel by the caller. */
S8_INLINE int s8_rq_fast(int32_t mult, int32_t shift)
{
	return (uint32_t)(-1 - shift) < 23u && mult != INT32_MIN;
}

S8_INLINE int32_t s8_rq_fast_value(int32_t acc, int32_t mult, int32_t e,
				   int32_t half)
{
	const int32_t t = (int32_t)(((int64_t)acc * mult + (1LL << 30)) >> 31);

	// cppcheck-suppress [shiftNegativeLHS, shiftTooManyBitsSigned]
	return s8_qadd(t, half + (t >> 31)) >> e;
}

/* The same for |acc| < 2^30: then (acc * mult + 2^30) >> 31 is
 * (2 * acc * mult + 2^31) >> 32, one SMMULR. */
S8_INLINE int32_t s8_rq_fast_value_small(int32_t acc, int32_t mult, int32_t e,
					 int32_t half)
{
	const int32_t t = s8_smmulr((int32_t)((uint32_t)acc << 1), mult);

	// cppcheck-suppress [shiftNegativeLHS, shiftTooManyBitsSigned]
	return s8_qadd(t, half + (t >> 31)) >> e;
}
#endif

/* requantize + output offset + activation clamp: clamp(MBQM(acc, mult,
 * shift) + offset, act_min, act_max), given lo = act_min - offset and hi =
 * act_max - offset, both in [-255, 255] (clamping before adding the offset
 * cannot overflow and gives the same value). */
S8_INLINE int8_t s8_requantize_out(int32_t acc, int32_t mult, int32_t shift,
				   int32_t offset, int32_t lo, int32_t hi)
{
#if S8_DSP
	if (s8_rq_fast(mult, shift))
		return (int8_t)(s8_clamp(s8_rq_fast_value(acc, mult, -shift,
							  1 << (-shift - 1)),
					 lo, hi) +
				offset);
#endif
	return (int8_t)(s8_clamp(s8_requantize(acc, mult, shift), lo, hi) +
			offset);
}

/* 4 bytes / 2 halfwords from any address (LDR on Cortex-M4/M7, which
 * allow unaligned single loads). */
S8_INLINE int32_t s8_read_s8x4(const int8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

S8_INLINE int32_t s8_read_s16x2(const int16_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

S8_INLINE void s8_write_s16x2(int16_t *p, int32_t v)
{
	memcpy(p, &v, 4);
}

/* The halfword pair (offset, offset) for SXTAB16. */
S8_INLINE int32_t s8_dup16(int32_t v)
{
	return (int32_t)(((uint32_t)v << 16) | ((uint32_t)v & 0xffffu));
}

/* The halfword pair (lo, hi). */
S8_INLINE int32_t s8_pack16x2(int32_t lo, int32_t hi)
{
	return (int32_t)(((uint32_t)hi << 16) | ((uint32_t)lo & 0xffffu));
}

#endif
