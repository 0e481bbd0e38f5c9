/* SPDX-License-Identifier: Apache-2.0 */
/* elementwise.c - the element-wise layers without parameters: residual add
 * and (inverted) dropout. */
#include "nn/nn.h"
#include "nn/nn_internal.h"

#include <assert.h>

void nn_add_forward(float *out, const float *a, const float *b, size_t count)
{
#pragma omp parallel for simd schedule(static) if (count >= NN_PAR_MIN)
	for (size_t i = 0; i < count; i++)
		out[i] = a[i] + b[i];
}

void nn_add_backward(float *da, float *db, const float *dout, size_t count)
{
	if (da) {
#pragma omp parallel for simd schedule(static) if (count >= NN_PAR_MIN)
		for (size_t i = 0; i < count; i++)
			da[i] += dout[i];
	}
	if (db) {
#pragma omp parallel for simd schedule(static) if (count >= NN_PAR_MIN)
		for (size_t i = 0; i < count; i++)
			db[i] += dout[i];
	}
}

/* The mask is drawn sequentially so that it depends on the seed only, never
 * on the thread count; the head's dropout sees N*C elements, so this is
 * cheap. */
void nn_dropout_forward(float *out, float *mask, const float *x, size_t count,
			float p, struct core_rng *rng)
{
	const float keep = 1.0f / (1.0f - p);

	assert(p >= 0.0f && p < 1.0f);
	for (size_t i = 0; i < count; i++) {
		float m = core_rng_uniform(rng) < (double)p ? 0.0f : keep;

		mask[i] = m;
		out[i] = x[i] * m;
	}
}

void nn_dropout_backward(float *dinp, const float *dout, const float *mask,
			 size_t count)
{
#pragma omp parallel for simd schedule(static) if (count >= NN_PAR_MIN)
	for (size_t i = 0; i < count; i++)
		dinp[i] += dout[i] * mask[i];
}
