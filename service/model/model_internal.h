/* SPDX-License-Identifier: Apache-2.0 */
/* model_internal.h - private to service/model: the layout of a conv+BN unit
 * and of a block, shared by the builder (model.c) and the passes
 * (model_pass.c). Arena offsets are in floats. */
#ifndef LMNAS_MODEL_INTERNAL_H
#define LMNAS_MODEL_INTERNAL_H

#include "model/model.h"

enum model_conv_kind {
	MODEL_CONV_DENSE = 0, /* k x k, groups 1 (the stem): im2col + GEMM */
	MODEL_CONV_POINTWISE, /* 1x1 stride 1: the fused 1x1 kernel */
	MODEL_CONV_DEPTHWISE  /* the fused depthwise kernel */
};

/* conv (no bias) -> BN -> act. Only the pre-BN tensor is kept: the next
 * layer reads act(BN(pre)) through a view (nn_bn_view) built from mean,
 * rstd and scale, in forward and again in backward. */
struct model_convbn {
	enum model_conv_kind kind;
	struct nn_conv2d_dims cd;  /* dense */
	struct nn_dwconv_dims dd;  /* depthwise */
	struct nn_pw_dims pd;	   /* pointwise */
	struct nn_shape out_shape; /* at max batch */
	enum nn_act act;
	size_t w, gamma, beta; /* params */
	size_t rmean, rvar;    /* bn_stats */
	size_t pre; /* arena: conv output = BN input (N, Ho, Wo, Cout) */
	size_t out; /* arena: act(BN(pre)), the stem only */
	size_t mean, rstd, scale; /* arena (Cout): the view of the output */
	size_t m1, m2; /* arena (Cout): BN-backward means of dz, dz*xhat */
};

struct model_block {
	int has_expand, has_se, residual, has_shortcut;
	struct nn_shape in_shape, mid_shape, out_shape; /* at max batch */
	size_t in;  /* arena: block input (the previous output) */
	size_t out; /* arena: block output, BN(project.pre) [+ shortcut] */
	struct model_convbn expand, dw, project, shortcut;
	int se_r;
	size_t se_w1, se_b1, se_w2, se_b2;    /* params */
	size_t se_pooled, se_hidden, se_gate; /* arena */
};

#endif
