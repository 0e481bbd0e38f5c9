/* SPDX-License-Identifier: Apache-2.0 */
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
 *   Threads. Loops over pixels or images use OpenMP (the fused training
 *   kernels below use a worker pool instead); GEMMs use OpenBLAS
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

/* ---- fused training kernels (the model's fast path) ----------------------
 * In a net of depthwise and 1x1 convolutions most of the time goes into
 * moving activations through memory, not into arithmetic. These kernels
 * never store a BN+activation output: the next layer reads the pre-BN tensor
 * through a view that applies BN, the activation and an optional SE gate on
 * the fly, and backward recomputes it the same way. Each kernel also takes,
 * while the data is in cache, the per-channel sums the next step needs (BN
 * statistics of what forward wrote; BN-backward sums of what backward wrote).
 *
 * Partial sums. Per-channel sums go into `part`, (ns, 2, C) doubles: slice
 * s holds sum_a (C) then sum_b (C) over its fixed share of the pixels,
 * summed in float over blocks of 16 rows and in double across them. ns depends
 * on the shapes only (never on the thread count), and nn_bn_stats_finish /
 * nn_bn_grad_finish add the slices in order, so every result here is the same
 * for any thread count (the GEMMs run one thread per slice with the same
 * blocking).
 *
 * Threads. The kernels cut their work into tasks (slices) that a worker
 * pool (below) runs; pool NULL runs them in order on the caller. The
 * caller's scratch holds one workspace per pool worker. BLAS runs
 * single-threaded inside the tasks.
 *
 * Backward writes or adds. Kernels here take `add`: 0 overwrites the input
 * gradient (the first writer of a buffer: no zeroing pass), 1 adds into it.
 * Parameter gradients are always added. */

/* Worker pool. A session is one OpenMP parallel region around a whole pass
 * (fn runs on the calling thread, the other threads wait for task lists);
 * inside it every nn_pool_run spreads a task list over the workers, which
 * claim tasks one by one from an atomic counter. A list is finished when
 * its tasks are, not when every thread has reached a barrier, so a worker
 * that lost its CPU to another process holds nobody up unless it holds a
 * task; idle workers spin briefly, then sleep. Tasks must not depend on
 * which worker runs them (the worker index only picks a scratch area). */
struct nn_pool; /* opaque */
typedef void (*nn_pool_task_fn)(void *ctx, int task, int worker);

/* A pool of `workers` threads (1..1024). *out is owned by the caller
 * (nn_pool_free); nothing is allocated on failure. */
enum core_status nn_pool_create(int workers, struct nn_pool **out, char *err,
				size_t errlen);
void nn_pool_free(struct nn_pool *p);
/* Workers (1 for NULL): the workspaces a kernel's scratch must hold. */
int nn_pool_workers(const struct nn_pool *p);
/* Runs fn(ctx) with the pool's workers serving it: min(workers,
 * omp_get_max_threads()) threads (directly, without threads, for NULL, one
 * thread or inside another parallel region). */
void nn_pool_session(struct nn_pool *p, void (*fn)(void *ctx), void *ctx);
/* task(ctx, i, worker) for every i in [0, ntasks), worker in [0, workers);
 * returns when all are done. Outside a session, or for NULL, in order on
 * the caller (worker 0). */
void nn_pool_run(struct nn_pool *p, int ntasks, nn_pool_task_fn task,
		 void *ctx);

/* x seen as v(x) = act((x - mean) * scale + beta) [* gate[image][c]]:
 * nn_bn_act_forward's output up to rounding (z is one fused multiply-add
 * here) when mean, scale = rstd * gamma and beta are the batch ones. */
struct nn_bn_view {
	const float *mean;  /* (C) batch (training) or running (eval) mean */
	const float *rstd;  /* (C) 1 / sqrt(var + eps), for backward sums */
	const float *scale; /* (C) rstd * gamma; eval: gamma / sqrt(rv+eps) */
	const float *beta;  /* (C) */
	enum nn_act act;
	const float *gate; /* (N, C) SE gate multiplying the result, or NULL */
	size_t hw;	   /* pixels per image, for the gate */
};

/* The backward of x -> v(x) (no gate) given the batch statistics and
 * m1 = mean(dz), m2 = mean(dz * xhat), dz = dout * act'(z):
 * dpre = scale * (dz - m1 - xhat * m2), xhat = (x - mean) * rstd. */
struct nn_bn_grad {
	struct nn_bn_view v;
	const float *m1, *m2; /* (C) from nn_bn_grad_finish */
};

/* Training BN statistics from forward partial sums (sum x, sum x^2) over
 * pix pixels: mean, rstd, scale = rstd * gamma (C each), and the running
 * statistics moved as nn_bn_act_forward moves them. */
void nn_bn_stats_finish(float *mean, float *rstd, float *scale,
			float *running_mean, float *running_var,
			const float *gamma, const double *part, int ns,
			size_t pix, int c);
/* Forward partial sums (sum x, sum x^2) of x (pix, C) for
 * nn_bn_stats_finish: part (nn_bn_grad_slices(pix), 2, C). */
void nn_bn_moments(double *part, const float *x, size_t pix, int c,
		   struct nn_pool *pool);
/* Inference scale (C) = gamma / sqrt(running_var + eps). */
void nn_bn_eval_scale(float *scale, const float *running_var,
		      const float *gamma, int c);

/* out (pix, C) = v(x) + (add_view ? add_view(add) : add), add may be NULL;
 * gates broadcast per image of v->hw pixels. */
void nn_bn_view_apply(float *out, const float *x, const struct nn_bn_view *v,
		      const float *add, const struct nn_bn_view *add_view,
		      size_t pix, int c, struct nn_pool *pool);

/* Slices of nn_bn_grad_sums over pix pixels: nn_slices_for(pix). */
int nn_bn_grad_slices(size_t pix);
/* BN-backward partial sums (sum dz, sum dz * xhat) of dout (pix, C), the
 * gradient of v(x), v without gate: part (nn_bn_grad_slices(pix), 2, C). */
void nn_bn_grad_sums(double *part, const float *dout, const float *x,
		     const struct nn_bn_view *v, size_t pix, int c,
		     struct nn_pool *pool);
/* dbeta (C) += sum dz; dgamma (C) += sum dz * xhat; m1, m2 (C) = the sums
 * / pix, from ns slices of partial sums. */
void nn_bn_grad_finish(float *dgamma, float *dbeta, float *m1, float *m2,
		       const double *part, int ns, size_t pix, int c);
/* dpre (pix, C) = the BN backward of dout (pix, C) (see nn_bn_grad); dpre
 * may alias dout (written, not added). */
void nn_bn_grad_apply(float *dpre, const float *dout, const float *x,
		      const struct nn_bn_grad *g, size_t pix, int c,
		      struct nn_pool *pool);

/* 1x1 convolution over m pixel rows: out (M, C_out) = v(inp) (M, C_in) x
 * w^T, w (C_out, C_in). */
struct nn_pw_dims {
	size_t m; /* N*H*W; fits in an int (nn_shape_check) */
	int cin, cout;
};

/* Slices of the pixel rows (also the forward statistics' ns). */
int nn_pw_slices(const struct nn_pw_dims *d);
/* Scratch in bytes for forward and backward with workers workers. */
size_t nn_pw_scratch_size(const struct nn_pw_dims *d, int workers);

/* out (M, C_out) = v(inp) x w^T (v NULL: inp as it is); stats (ns, 2,
 * C_out) partial sums of out and out^2 for its BN, or NULL. */
void nn_pw_forward(float *out, double *stats, const float *inp,
		   const struct nn_bn_view *v, const float *w,
		   const struct nn_pw_dims *d, struct nn_pool *pool,
		   void *scratch);
/* The backward of out = conv(v(inp)) followed by the output's BN+act g:
 * dpre = g's backward of dout (g NULL: dout is already dL/d out) is formed
 * chunk by chunk in cache and never stored; dw (C_out, C_in) += dpre^T
 * v(inp); dinp (M, C_in) = or += (add) dpre w, may be NULL. in_sums, when
 * not NULL (dinp set, v without gate), receives the BN-backward partial sums
 * (ns, 2, C_in) of dinp with respect to v's BN. dout (M, C_out), pre (M,
 * C_out) the output's pre-BN values. */
void nn_pw_backward(float *dinp, int add, double *in_sums, float *dw,
		    const float *dout, const float *pre,
		    const struct nn_bn_grad *g, const float *inp,
		    const struct nn_bn_view *v, const float *w,
		    const struct nn_pw_dims *d, struct nn_pool *pool,
		    void *scratch);

/* A k x k convolution (groups 1: the stem) run as the fused 1x1 kernel over
 * im2col chunks formed in cache (no im2col matrix in memory): out (N, Ho,
 * Wo, C_out), stats (nn_conv2d_fused_slices(d), 2, C_out) or NULL; backward
 * gives the weight gradient only (dw +=; the network input needs none),
 * through the output's BN+act g as nn_pw_backward. */
int nn_conv2d_fused_slices(const struct nn_conv2d_dims *d);
size_t nn_conv2d_fused_scratch_size(const struct nn_conv2d_dims *d,
				    int workers);
void nn_conv2d_forward_fused(float *out, double *stats, const float *inp,
			     const float *w, const struct nn_conv2d_dims *d,
			     struct nn_pool *pool, void *scratch);
void nn_conv2d_backward_fused(float *dw, const float *dout, const float *pre,
			      const struct nn_bn_grad *g, const float *inp,
			      const struct nn_conv2d_dims *d,
			      struct nn_pool *pool, void *scratch);

/* Depthwise convolution reading its input through a view (NULL: as it is).
 * Slices are groups of whole images: nn_dw_slices(d) = min(N, NN_SLICES). */
int nn_dw_slices(const struct nn_dwconv_dims *d);
size_t nn_dw_scratch_size(const struct nn_dwconv_dims *d, int workers);
/* out (N, Ho, Wo, C) = dwconv(v(inp)); stats (ns, 2, C) or NULL. */
void nn_dw_forward(float *out, double *stats, const float *inp,
		   const struct nn_bn_view *v, const float *w,
		   const struct nn_dwconv_dims *d, struct nn_pool *pool,
		   void *scratch);
/* The backward of out = dwconv(v(inp)) followed by the output's BN+act g:
 * dout (N, Ho, Wo, C) = dL/d act(bn(out)) and pre (N, Ho, Wo, C) = out,
 * whose BN backward is formed row by row in cache (g NULL: dout is already
 * dL/d out, pre unused); dw (K, K, C) +=; dinp (N, H, W, C) = or += (add)
 * the gradient of v(inp), may be NULL; in_sums (ns, 2, C) as in
 * nn_pw_backward (dinp set, v without gate), or NULL. */
void nn_dw_backward(float *dinp, int add, double *in_sums, float *dw,
		    const float *dout, const float *pre,
		    const struct nn_bn_grad *g, const float *inp,
		    const struct nn_bn_view *v, const float *w,
		    const struct nn_dwconv_dims *d, struct nn_pool *pool,
		    void *scratch);

/* Squeeze-excitation on v(x) (v without gate; s the shape of x): pooled
 * (N, C), hidden (N, R), gate (N, C) as in nn_se_forward; the scaled
 * output v(x) * gate is not formed (read it through v with the gate). */
void nn_se_forward_view(float *pooled, float *hidden, float *gate,
			const float *x, const struct nn_bn_view *v,
			const float *w1, const float *b1, const float *w2,
			const float *b2, const struct nn_shape *s, int r,
			struct nn_pool *pool);
/* dx (N, H, W, C): on entry dL/d(v(x) * gate), on return dL/d v(x) (in
 * place); dw1, db1, dw2, db2 +=; in_sums (nn_bn_grad_slices(N*H*W), 2, C)
 * BN-backward partial sums of the result, or NULL. Scratch:
 * nn_se_scratch_size(). */
void nn_se_backward_view(float *dx, double *in_sums, float *dw1, float *db1,
			 float *dw2, float *db2, const float *x,
			 const struct nn_bn_view *v, const float *pooled,
			 const float *hidden, const float *gate,
			 const float *w1, const float *w2,
			 const struct nn_shape *s, int r, void *scratch,
			 struct nn_pool *pool);

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
