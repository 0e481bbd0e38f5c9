/* nn.h - the float32 layer library of the training engine: every layer's
 * forward and backward side by side, plus the losses.
 *
 * Layer: nn sits above core and arch (it reads enum arch_act); train and the
 * model builder sit above it. Includes core, arch and nothing else of lmnas.
 *
 * Conventions (karpathy/llm.c style):
 *
 *   Layout. Every activation is NHWC float32: (N, H, W, C) with C contiguous.
 *   The nets are built from depthwise and 1x1 convolutions; on NHWC a 1x1
 *   convolution over a whole batch is one GEMM, (N*H*W, C_in) x (C_in, C_out),
 *   with no reshuffling, and a depthwise convolution is a sum of per-pixel
 *   channel vectors, so its inner loop runs over contiguous channels and
 *   vectorises. NHWC is also what CMSIS-NN wants at export.
 *
 *   Weights. conv2d (C_out, K, K, C_in) ("OHWI", the CMSIS-NN order: each
 *   output channel's filter is one contiguous row, as the GEMM wants);
 *   depthwise (K, K, C) (channel contiguous, as the inner loop wants); linear
 *   (C_out, C_in) (as PyTorch). Converters from and to PyTorch's (C_out, C_in,
 *   K, K) are below.
 *
 *   Forward overwrites its outputs. Backward ADDS into every gradient it is
 *   given, weight gradients and input gradients alike: zeroing is the
 *   caller's own step (once per step for the whole gradient buffers). Adding
 *   into dinp is what makes branches free: a residual block's input gradient
 *   is the sum of what the main path and the shortcut add into the same
 *   buffer. A NULL input gradient means "not needed" (the first layer) and
 *   skips that work.
 *
 *   Memory. Kernels never allocate. A kernel that needs temporary space takes
 *   `void *scratch` of at least `nn_<layer>_scratch_size()` BYTES (64-byte
 *   alignment recommended, at least 8); what forward saves for backward is
 *   named in the signature and sized by the shapes in its comment. Every
 *   size is computable from the shapes before the first step, so a model
 *   builder can own one allocation for parameters, one for gradients, one for
 *   optimizer state and one activation arena.
 *
 *   Threads. Loops over pixels or images use OpenMP; GEMMs use OpenBLAS
 *   (OpenMP build). No atomics on floats: per-channel reductions (BN
 *   statistics, depthwise weight gradients, ...) are summed in NN_SLICES
 *   fixed slices of the pixel range, each into its own scratch row, then
 *   reduced in slice order. The result of every non-GEMM kernel is therefore
 *   bit-identical whatever the thread count; GEMM-based ones are
 *   deterministic for a given thread count (OpenBLAS splits M and N, never
 *   K, but picks kernels by thread count).
 *
 *   Checking. Shapes are checked once, when the model is built, by
 *   nn_shape_check() and the nn_*_dims_init() functions (which return a
 *   status and a reason, so a bad candidate fails its candidate). Kernels
 *   trust checked shapes (a few assert() a precondition). Losses take
 *   labels, which are outside data, and return a status.
 *
 * Worked example, a stem conv then BN+ReLU6 on a batch (error handling cut;
 * one scratch buffer of max(conv, BN) bytes serves both layers):
 *
 *   struct nn_conv2d_dims cd;
 *   nn_conv2d_dims_init(&cd, n, 32, 32, 3, 16, 3, 2, 1, err, sizeof err);
 *   struct nn_shape s = {n, cd.ho, cd.wo, 16};
 *   size_t sb = nn_conv2d_scratch_size(&cd);
 *   nn_conv2d_forward(x1, img, w, &cd, scratch, sb);
 *   nn_bn_act_forward(y1, mean, rstd, rmean, rvar, x1, gamma, beta, &s,
 *                     NN_ACT_RELU6, scratch);
 *   ... the loss; then, dy1 holding dL/dy1 and dx1, dw, dgamma, dbeta
 *   zeroed at the start of the step:
 *   nn_bn_act_backward(dx1, dgamma, dbeta, dy1, x1, mean, rstd, gamma, beta,
 *                      &s, NN_ACT_RELU6, scratch);
 *   nn_conv2d_backward(NULL, dw, dx1, img, w, &cd, scratch, sb);
 */
#ifndef LMNAS_NN_H
#define LMNAS_NN_H

#include "arch/arch.h"
#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

/* Number of fixed slices for deterministic per-channel reductions. */
#define NN_SLICES 32

#define NN_BN_EPS      1e-5f
#define NN_BN_MOMENTUM 0.1f
#define NN_LEAKY_SLOPE 0.01f

/* ---- shapes ------------------------------------------------------------ */

/* An NHWC tensor's shape. A (N, C) matrix is (n, 1, 1, c). */
struct nn_shape {
	int n, h, w, c;
};

/* n*h*w*c. */
size_t nn_shape_count(const struct nn_shape *s);

/* Every dimension >= 1, n*h*w (a GEMM's M) and c fit in an int, and the byte
 * size fits in size_t. CORE_ERR_INVALID with the reason in err otherwise. */
enum core_status nn_shape_check(const struct nn_shape *s, char *err,
				size_t errlen);

/* ---- activations ------------------------------------------------------- */

enum nn_act {
	NN_ACT_NONE = 0, /* identity */
	NN_ACT_RELU,
	NN_ACT_RELU6,	  /* min(max(x, 0), 6), gradient 0 at 0 and 6 */
	NN_ACT_LEAKYRELU, /* slope NN_LEAKY_SLOPE below 0 (gradient too at 0) */
	NN_ACT_SWISH,	  /* x * sigmoid(x) (PyTorch SiLU) */
	NN_ACT_HSWISH,	  /* x * relu6(x + 3) / 6; gradient 0 below -3,
			     x/3 + 1/2 on [-3, 3), 1 from 3 on (PyTorch's
			     vectorised CPU kernel) */
	NN_ACT_SIGMOID
};
#define NN_ACT_COUNT 7

const char *nn_act_name(enum nn_act a);
/* The architecture's activation as a layer activation. */
enum core_status nn_act_from_arch(enum arch_act a, enum nn_act *out);

/* out = act(x), count elements; out may equal x. */
void nn_act_forward(float *out, const float *x, size_t count, enum nn_act a);
/* dinp += dout * act'(x), with x the forward input (not its output). */
void nn_act_backward(float *dinp, const float *dout, const float *x,
		     size_t count, enum nn_act a);

/* ---- conv2d: k x k, any stride and padding, groups = 1, no bias ---------- */

struct nn_conv2d_dims {
	int n, h, w, cin; /* input (N, H, W, C_in) */
	int cout, k;	  /* weight (C_out, K, K, C_in) */
	int stride, pad;  /* zero padding on every side */
	int ho, wo;	  /* output (N, Ho, Wo, C_out), set by init */
};

/* Validates and fills d (ho = (h + 2 pad - k) / stride + 1). On failure d
 * is zeroed and err says which value is wrong. */
enum core_status nn_conv2d_dims_init(struct nn_conv2d_dims *d, int n, int h,
				     int w, int cin, int cout, int k,
				     int stride, int pad, char *err,
				     size_t errlen);

/* Scratch in bytes for forward and backward: 0 for a 1x1 stride-1 unpadded
 * conv (one GEMM over the batch, no im2col); otherwise an im2col buffer for
 * as many output rows as fit in 8 MiB (at least one row). */
size_t nn_conv2d_scratch_size(const struct nn_conv2d_dims *d);
/* The least scratch the kernels accept: one output row's im2col (0 on the
 * fast path). Less scratch than nn_conv2d_scratch_size() only means more,
 * smaller GEMMs. */
size_t nn_conv2d_scratch_min(const struct nn_conv2d_dims *d);

/* out (N, Ho, Wo, C_out) = conv(inp (N, H, W, C_in), w (C_out, K, K, C_in)).
 * scratch_bytes >= nn_conv2d_scratch_min(d). */
void nn_conv2d_forward(float *out, const float *inp, const float *w,
		       const struct nn_conv2d_dims *d, void *scratch,
		       size_t scratch_bytes);
/* dinp (N, H, W, C_in) += ..., may be NULL; dw (C_out, K, K, C_in) += ...,
 * may be NULL; dout (N, Ho, Wo, C_out); inp and w as in forward. */
void nn_conv2d_backward(float *dinp, float *dw, const float *dout,
			const float *inp, const float *w,
			const struct nn_conv2d_dims *d, void *scratch,
			size_t scratch_bytes);

/* dst (C_out, K, K, C_in) from PyTorch's src (C_out, C_in, K, K), and back. */
void nn_conv2d_weight_from_torch(float *dst, const float *src, int cout,
				 int cin, int k);
void nn_conv2d_weight_to_torch(float *dst, const float *src, int cout, int cin,
			       int k);

/* ---- depthwise conv: k x k per channel, no bias ------------------------- */

struct nn_dwconv_dims {
	int n, h, w, c;	 /* input (N, H, W, C), weight (K, K, C) */
	int k;		 /* odd */
	int stride, pad; /* pad is k/2 in every lmnas net */
	int ho, wo;	 /* output (N, Ho, Wo, C), set by init */
};

/* As nn_conv2d_dims_init (d zeroed on failure). */
enum core_status nn_dwconv_dims_init(struct nn_dwconv_dims *d, int n, int h,
				     int w, int c, int k, int stride, int pad,
				     char *err, size_t errlen);

/* Backward scratch in bytes (per-slice weight-gradient partials); forward
 * needs none. */
size_t nn_dwconv_scratch_size(const struct nn_dwconv_dims *d);

/* out (N, Ho, Wo, C) = dwconv(inp (N, H, W, C), w (K, K, C)). */
void nn_dwconv_forward(float *out, const float *inp, const float *w,
		       const struct nn_dwconv_dims *d);
/* dinp (N, H, W, C) += ..., may be NULL; dw (K, K, C) += ..., may be NULL;
 * dout (N, Ho, Wo, C). */
void nn_dwconv_backward(float *dinp, float *dw, const float *dout,
			const float *inp, const float *w,
			const struct nn_dwconv_dims *d, void *scratch);

/* dst (K, K, C) from PyTorch's src (C, 1, K, K), and back. */
void nn_dwconv_weight_from_torch(float *dst, const float *src, int c, int k);
void nn_dwconv_weight_to_torch(float *dst, const float *src, int c, int k);

/* ---- batch norm fused with an activation --------------------------------
 * y = act(z), z = (x - mean) * rstd * gamma + beta per channel. Training uses
 * the batch statistics over N, H, W (biased variance) and moves the running
 * statistics by NN_BN_MOMENTUM towards the batch mean and the UNBIASED batch
 * variance (PyTorch; with a single value per channel the biased one, 0).
 * z is never stored: backward recomputes it from x. NN_ACT_NONE gives a plain
 * BN. */

/* Scratch in bytes for training forward and backward. */
size_t nn_bn_scratch_size(const struct nn_shape *s);

/* out (N, H, W, C) = act(bn(x (N, H, W, C))); saves mean (C) and rstd (C) =
 * 1 / sqrt(var + eps); updates running_mean (C), running_var (C); gamma (C),
 * beta (C). out may equal x only when backward will not run. */
void nn_bn_act_forward(float *out, float *mean, float *rstd,
		       float *running_mean, float *running_var, const float *x,
		       const float *gamma, const float *beta,
		       const struct nn_shape *s, enum nn_act act,
		       void *scratch);
/* Inference: normalises with running_mean (C) and running_var (C). */
void nn_bn_act_forward_eval(float *out, const float *x,
			    const float *running_mean, const float *running_var,
			    const float *gamma, const float *beta,
			    const struct nn_shape *s, enum nn_act act);
/* dinp (N, H, W, C) += ..., may be NULL; dgamma (C) +=; dbeta (C) +=;
 * dout (N, H, W, C) = dL/d out; x, mean, rstd, gamma, beta as in forward. */
void nn_bn_act_backward(float *dinp, float *dgamma, float *dbeta,
			const float *dout, const float *x, const float *mean,
			const float *rstd, const float *gamma,
			const float *beta, const struct nn_shape *s,
			enum nn_act act, void *scratch);

/* ---- residual add ------------------------------------------------------ */

/* out = a + b, count elements (out may alias a or b). */
void nn_add_forward(float *out, const float *a, const float *b, size_t count);
/* da += dout, db += dout; either may be NULL. */
void nn_add_backward(float *da, float *db, const float *dout, size_t count);

/* ---- global average pool ----------------------------------------------- */

/* out (N, C) = mean over H, W of x (N, H, W, C). */
void nn_gap_forward(float *out, const float *x, const struct nn_shape *s);
/* dinp (N, H, W, C) += dout (N, C) / (H * W). */
void nn_gap_backward(float *dinp, const float *dout, const struct nn_shape *s);

/* ---- linear ------------------------------------------------------------ */

/* out (N, C_out) = x (N, C_in) w^T + b, w (C_out, C_in), b (C_out) or NULL. */
void nn_linear_forward(float *out, const float *x, const float *w,
		       const float *b, int n, int cin, int cout);
/* dinp (N, C_in) += ..., may be NULL; dw (C_out, C_in) +=; db (C_out) +=,
 * may be NULL; dout (N, C_out); x and w as in forward. */
void nn_linear_backward(float *dinp, float *dw, float *db, const float *dout,
			const float *x, const float *w, int n, int cin,
			int cout);

/* ---- squeeze-excitation -------------------------------------------------
 * pooled = GAP(x); hidden = relu(pooled w1^T + b1); gate = sigmoid(hidden
 * w2^T + b2); out = x * gate (per image and channel). r is the hidden width
 * (max(1, floor(C * ratio)) in lmnas-arch/1). */

/* out (N, H, W, C); saves pooled (N, C), hidden (N, R) (after the ReLU) and
 * gate (N, C); x (N, H, W, C); w1 (R, C), b1 (R), w2 (C, R), b2 (C). out must
 * not alias x. */
void nn_se_forward(float *out, float *pooled, float *hidden, float *gate,
		   const float *x, const float *w1, const float *b1,
		   const float *w2, const float *b2, const struct nn_shape *s,
		   int r);
/* Backward scratch in bytes. */
size_t nn_se_scratch_size(const struct nn_shape *s, int r);
/* dinp (N, H, W, C) +=, may be NULL; dw1 (R, C), db1 (R), dw2 (C, R),
 * db2 (C) +=; dout (N, H, W, C); the rest as saved by forward. */
void nn_se_backward(float *dinp, float *dw1, float *db1, float *dw2, float *db2,
		    const float *dout, const float *x, const float *pooled,
		    const float *hidden, const float *gate, const float *w1,
		    const float *w2, const struct nn_shape *s, int r,
		    void *scratch);

/* ---- dropout (training only; at inference the layer is the identity) --- */

/* mask (count) = 0 with probability p, else 1 / (1 - p) (inverted dropout),
 * drawn in element order from rng; out (count) = x * mask. 0 <= p < 1. */
void nn_dropout_forward(float *out, float *mask, const float *x, size_t count,
			float p, struct core_rng *rng);
/* dinp (count) += dout * mask. */
void nn_dropout_backward(float *dinp, const float *dout, const float *mask,
			 size_t count);

/* ---- bilinear resize (PyTorch interpolate, align_corners=False) -------- */

/* out (N, Ho, Wo, C) from x (N, H, W, C) described by in. */
void nn_resize_bilinear_forward(float *out, const float *x,
				const struct nn_shape *in, int ho, int wo);
/* dinp (N, H, W, C) += ...; dout (N, Ho, Wo, C). */
void nn_resize_bilinear_backward(float *dinp, const float *dout,
				 const struct nn_shape *in, int ho, int wo);

/* ---- losses --------------------------------------------------------------
 * Both start the backward pass, so they WRITE dlogits (they do not add).
 * Log-sum-exp in double; mean over the batch. dlogits may be NULL
 * (evaluation). CORE_ERR_INVALID (and nothing written) for a label outside
 * [0, k) or a bad parameter. */

/* PyTorch F.cross_entropy(logits, labels, label_smoothing=smoothing):
 * logits (N, K), labels (N), dlogits (N, K). 0 <= smoothing <= 1. */
enum core_status nn_loss_cross_entropy(double *loss, float *dlogits,
				       const float *logits,
				       const int32_t *labels, int n, int k,
				       float smoothing, char *err,
				       size_t errlen);

/* Knowledge distillation: alpha * CE(labels, student) + (1 - alpha) * T^2 *
 * KL, KL = F.kl_div(log_softmax(student / T), softmax(teacher / T),
 * reduction='batchmean'). student, teacher (N, K); labels (N); dlogits (N, K)
 * with respect to the student only. 0 <= alpha <= 1, temperature > 0. */
enum core_status nn_loss_distill(double *loss, float *dlogits,
				 const float *student, const float *teacher,
				 const int32_t *labels, int n, int k,
				 float alpha, float temperature,
				 float smoothing, char *err, size_t errlen);

#endif
