/* model_internal.h - private to service/model: the layout of a conv+BN unit
 * and of a block, shared by the builder (model.c) and the passes
 * (model_pass.c). Arena offsets are in floats. */
#ifndef LMNAS_MODEL_INTERNAL_H
#define LMNAS_MODEL_INTERNAL_H

#include "model/model.h"

/* conv (kxk, 1x1 or depthwise, no bias) -> BN -> act */
struct model_convbn {
	int depthwise;
	struct nn_conv2d_dims cd; /* !depthwise */
	struct nn_dwconv_dims dd; /* depthwise */
	struct nn_shape out_shape; /* at max batch */
	enum nn_act act;
	size_t w, gamma, beta; /* params */
	size_t rmean, rvar;    /* bn_stats */
	size_t pre;  /* arena: conv output = BN input (N, Ho, Wo, Cout) */
	size_t out;  /* arena: act(BN(pre)) (N, Ho, Wo, Cout) */
	size_t mean, rstd; /* arena: saved batch statistics (Cout) */
};

struct model_block {
	int has_expand, has_se, residual, has_shortcut;
	struct nn_shape in_shape, mid_shape, out_shape; /* at max batch */
	size_t in;  /* arena: block input (the previous output) */
	size_t out; /* arena: block output (== project.out) */
	struct model_convbn expand, dw, project, shortcut;
	int se_r;
	size_t se_w1, se_b1, se_w2, se_b2;		     /* params */
	size_t se_pooled, se_hidden, se_gate, se_out; /* arena */
};

#endif
