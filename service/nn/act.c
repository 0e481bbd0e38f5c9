/* act.c - element-wise activations (forward, backward), their names and the
 * mapping from the architecture's activation enum. */
#include "nn/nn.h"
#include "nn/nn_internal.h"

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

/* The loop bodies take the activation as a compile-time constant through
 * always_inline, so each case of the dispatch below is a branch-free,
 * vectorisable loop instead of a switch per element. */
static inline __attribute__((always_inline)) void
act_fwd(float *out, const float *x, size_t count, const enum nn_act a)
{
#pragma omp parallel for schedule(static) if (count >= NN_PAR_MIN)
	for (size_t i = 0; i < count; i++)
		out[i] = nn_act_value(a, x[i]);
}

static inline __attribute__((always_inline)) void
act_bwd(float *dinp, const float *dout, const float *x, size_t count,
	const enum nn_act a)
{
#pragma omp parallel for schedule(static) if (count >= NN_PAR_MIN)
	for (size_t i = 0; i < count; i++)
		dinp[i] += dout[i] * nn_act_grad(a, x[i]);
}

void nn_act_forward(float *out, const float *x, size_t count, enum nn_act a)
{
	switch (a) {
	case NN_ACT_NONE: act_fwd(out, x, count, NN_ACT_NONE); break;
	case NN_ACT_RELU: act_fwd(out, x, count, NN_ACT_RELU); break;
	case NN_ACT_RELU6: act_fwd(out, x, count, NN_ACT_RELU6); break;
	case NN_ACT_LEAKYRELU: act_fwd(out, x, count, NN_ACT_LEAKYRELU); break;
	case NN_ACT_SWISH: act_fwd(out, x, count, NN_ACT_SWISH); break;
	case NN_ACT_HSWISH: act_fwd(out, x, count, NN_ACT_HSWISH); break;
	case NN_ACT_SIGMOID: act_fwd(out, x, count, NN_ACT_SIGMOID); break;
	}
}

void nn_act_backward(float *dinp, const float *dout, const float *x,
		     size_t count, enum nn_act a)
{
	switch (a) {
	case NN_ACT_NONE: act_bwd(dinp, dout, x, count, NN_ACT_NONE); break;
	case NN_ACT_RELU: act_bwd(dinp, dout, x, count, NN_ACT_RELU); break;
	case NN_ACT_RELU6: act_bwd(dinp, dout, x, count, NN_ACT_RELU6); break;
	case NN_ACT_LEAKYRELU:
		act_bwd(dinp, dout, x, count, NN_ACT_LEAKYRELU);
		break;
	case NN_ACT_SWISH: act_bwd(dinp, dout, x, count, NN_ACT_SWISH); break;
	case NN_ACT_HSWISH: act_bwd(dinp, dout, x, count, NN_ACT_HSWISH); break;
	case NN_ACT_SIGMOID:
		act_bwd(dinp, dout, x, count, NN_ACT_SIGMOID);
		break;
	}
}
