/* SPDX-License-Identifier: Apache-2.0 */
/* int8_model.h - test support: a 64-bit model of TFLite's requantization
 * rounding, and int32 test values biased toward the edges. */
#ifndef LMNAS_TEST_INT8_MODEL_H
#define LMNAS_TEST_INT8_MODEL_H

#include "core/core.h"

#include <stdint.h>

/* round(a * b / 2^31), ties toward +infinity; INT32_MIN^2 -> INT32_MAX. */
int32_t int8_model_srdhm(int32_t a, int32_t b);
/* x / 2^e rounded half away from zero, e in [0, 31]. */
int32_t int8_model_rdbpot(int32_t x, int e);
/* MultiplyByQuantizedMultiplier with x * 2^shift wrapping to 32 bits. */
int32_t int8_model_mbqm(int32_t x, int32_t m, int shift);
/* Edges (INT32_MIN, -1, 0, 2^30, INT32_MAX...), small values, values of
 * every magnitude and uniform ones, a quarter each. */
int32_t int8_rand_edge_i32(struct core_rng *r);

/* Arguments of a requantization drawn for the tests against the model: an
 * accumulator x (int8_rand_edge_i32), a multiplier (edge values one time in
 * three, else in [2^30, 2^31)), a shift in [-31, 30] and a right shift e in
 * [0, 31] for RoundingDivideByPOT. */
struct int8_rq_args {
	int32_t x, m;
	int shift, e;
};
struct int8_rq_args int8_rand_rq_args(struct core_rng *r);

#endif
