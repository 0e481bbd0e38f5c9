/* SPDX-License-Identifier: Apache-2.0 */
/* act.c - element-wise activations (forward, backward), their names and the
 * mapping from the architecture's activation enum. */
#include "nn/nn.h"
#include "nn/nn_internal.h"

/* Elements per parallel block. */
#define ACT_BLOCK 4096

static const char *const act_names[NN_ACT_COUNT] = {
    "none", "relu", "relu6", "leakyrelu", "swish", "hswish", "sigmoid",
};

const char *nn_act_name(enum nn_act a)
{
	if ((unsigned)a >= NN_ACT_COUNT)
		return "unknown";
	return act_names[a];
}

enum core_status nn_act_from_arch(enum arch_act a, enum nn_act *out)
{
	switch (a) {
	case ARCH_ACT_RELU: *out = NN_ACT_RELU; return CORE_OK;
	case ARCH_ACT_RELU6: *out = NN_ACT_RELU6; return CORE_OK;
	case ARCH_ACT_LEAKYRELU: *out = NN_ACT_LEAKYRELU; return CORE_OK;
	case ARCH_ACT_SWISH: *out = NN_ACT_SWISH; return CORE_OK;
	case ARCH_ACT_HSWISH: *out = NN_ACT_HSWISH; return CORE_OK;
	}
	return CORE_ERR_INVALID;
}

static inline __attribute__((always_inline)) void
act_fwd_block(float *out, const float *x, size_t n, const enum nn_act a)
{
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		out[i] = nn_act_value(a, x[i]);
}

static inline __attribute__((always_inline)) void
act_bwd_block(float *dinp, const float *dout, const float *x, size_t n,
	      const enum nn_act a)
{
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		dinp[i] += dout[i] * nn_act_grad(a, x[i]);
}

void nn_act_forward(float *out, const float *x, size_t count, enum nn_act a)
{
	const size_t nb = (count + ACT_BLOCK - 1) / ACT_BLOCK;

#pragma omp parallel for schedule(static) if (count >= NN_PAR_MIN)
	for (size_t b = 0; b < nb; b++) {
		size_t i0 = b * ACT_BLOCK;
		size_t n = count - i0 < ACT_BLOCK ? count - i0 : ACT_BLOCK;

#define ACT_FWD(A) act_fwd_block(out + i0, x + i0, n, A)
		NN_ACT_DISPATCH(a, ACT_FWD);
#undef ACT_FWD
	}
}

void nn_act_backward(float *dinp, const float *dout, const float *x,
		     size_t count, enum nn_act a)
{
	const size_t nb = (count + ACT_BLOCK - 1) / ACT_BLOCK;

#pragma omp parallel for schedule(static) if (count >= NN_PAR_MIN)
	for (size_t b = 0; b < nb; b++) {
		size_t i0 = b * ACT_BLOCK;
		size_t n = count - i0 < ACT_BLOCK ? count - i0 : ACT_BLOCK;

#define ACT_BWD(A) act_bwd_block(dinp + i0, dout + i0, x + i0, n, A)
		NN_ACT_DISPATCH(a, ACT_BWD);
#undef ACT_BWD
	}
}
