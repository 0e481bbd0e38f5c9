/* SPDX-License-Identifier: Apache-2.0 */
/* quant.h - int8 quantization for lmnas: TFLite fixed-point requantization,
 * the parameter structs every int8 layer uses, activation tables, the
 * accumulator overflow check, and the host reference kernels (ref_*) that the
 * MCU kernels of service/codegen/kernels/ must match byte for byte.
 *
 * Layer: quant sits above model, graph, data and arch, below codegen. The
 * kernels part (fixed point, parameters, tables, reference kernels) needs
 * only core and arch; the network part at the end (post-training
 * quantization of a trained struct model over the inference graph of
 * graph.h, and the host int8 engine that runs it with the reference
 * kernels) reads the model, the graph and the data sets.
 *
 * Scheme (TFLite / CMSIS-NN conventions):
 *   - weights: int8, symmetric, per output channel (zero point 0);
 *   - activations: int8, asymmetric, per tensor: real = scale * (q - zp);
 *   - biases: int32 with scale in_scale * w_scale[c], zero point 0;
 *   - a layer's int32 accumulator acc = bias[c] + sum w * (x - in_zp) goes to
 *     the output with out = clamp(MBQM(acc, mult[c], shift[c]) + out_zp),
 *     where MBQM is TFLite's MultiplyByQuantizedMultiplier (shift > 0 shifts
 *     left, shift <= 0 divides by 2^-shift with round-half-away-from-zero) and
 *     mult[c] * 2^(shift[c] - 31) approximates in_scale*w_scale[c]/out_scale;
 *   - relu and relu6 are the clamp range of the layer that produces them;
 *     sigmoid, swish, hswish and leakyrelu are 256-entry int8 -> int8 tables.
 *
 * Tensors are NHWC with batch 1: element (y, x, c) of an (H, W, C) tensor is
 * at (y * W + x) * C + c. Offsets follow CMSIS-NN: input_offset is the
 * negated input zero point (added to every input value), output_offset is the
 * output zero point.
 *
 * Worked example (a 3x3 stride-2 conv from float scales):
 *
 *	int32_t mult[COUT], shift[COUT];
 *	rc = quant_per_channel_make(s_in, w_scale, s_out, COUT, mult, shift,
 *				    err, sizeof err);
 *	struct quant_conv_params p = { .input_offset = -zp_in,
 *		.output_offset = zp_out, .stride = 2, .padding = 1,
 *		.dilation = 1 };
 *	quant_fn_clamp_range(QUANT_FN_RELU6, s_out, zp_out, &p.act_min,
 *			     &p.act_max);
 *	struct quant_per_channel q = { mult, shift };
 *	struct quant_dims in = {H, W, CIN}, f = {3, 3, CIN},
 *		out = {(H + 1) / 2, (W + 1) / 2, COUT};
 *	rc = quant_acc_check("stem", w, COUT, 9 * CIN, 9 * CIN, 1, bias,
 *			     p.input_offset, shift, NULL, err, sizeof err);
 *	rc = ref_conv2d_s8(y, x, w, bias, &p, &q, &in, &f, &out, err,
 *			   sizeof err);
 */
#ifndef LMNAS_QUANT_H
#define LMNAS_QUANT_H

#include "arch/arch.h"
#include "core/core.h"
#include "data/data.h"
#include "graph/graph.h"

#include <stdint.h>

struct model; /* model/model.h */

/* ---- fixed-point arithmetic (TFLite / gemmlowp) ------------------------- */

/* TFLite QuantizeMultiplier: real = mult * 2^(shift - 31) with mult in
 * [2^30, 2^31) (or 0 for real == 0), rounding half away from zero; a
 * mantissa that rounds up to 2^31 is halved and shift incremented; shift <
 * -31 flushes to (0, 0); shift > 30 saturates to (INT32_MAX, 30). Negative
 * reals give negative multipliers, as in TFLite. CORE_ERR_INVALID for NaN or
 * infinity (outputs untouched). */
enum core_status quant_quantize_multiplier(double real, int32_t *multiplier,
					   int *shift);

/* gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31) with ties
 * handled as gemmlowp does; INT32_MIN * INT32_MIN saturates to INT32_MAX. */
int32_t quant_saturating_rounding_doubling_high_mul(int32_t a, int32_t b);

/* gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero,
 * exponent in [0, 31]. */
int32_t quant_rounding_divide_by_pot(int32_t x, int exponent);

/* TFLite MultiplyByQuantizedMultiplier (the two-rounding form):
 * RDBPOT(SRDHM(x * 2^max(shift, 0), mult), max(-shift, 0)). TFLite leaves
 * x * 2^shift undefined when it overflows; here it wraps (two's complement),
 * which is what compiled TFLite and CMSIS-NN do on their targets.
 * quant_acc_check refuses layers where that could happen. shift in
 * [-31, 30]. */
int32_t quant_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier,
					       int shift);

/* ---- parameters --------------------------------------------------------- */

struct quant_dims {
	int h, w, c; /* NHWC, batch 1 */
};

/* Per output channel requantization (arrays of the output channel count). */
struct quant_per_channel {
	const int32_t *multiplier; /* (C_out) */
	const int32_t *shift;	   /* (C_out), in [-31, 30] */
};

/* Convolutions (kxk, depthwise, pointwise). Square stride and padding;
 * `padding` input pixels of value in_zp sit before the first row and column;
 * the far side holds as many as the output size needs. */
struct quant_conv_params {
	int32_t input_offset;	  /* -in_zp, in [-127, 128] */
	int32_t output_offset;	  /* out_zp, in [-128, 127] */
	int stride;		  /* >= 1 */
	int padding;		  /* >= 0, < kernel */
	int dilation;		  /* must be 1 */
	int32_t act_min, act_max; /* output clamp, -128 <= min <= max <= 127 */
};

struct quant_fc_params {
	int32_t input_offset;  /* -in_zp */
	int32_t output_offset; /* out_zp */
	int32_t act_min, act_max;
};

/* TFLite ADD: each input is scaled to a common scale with 20 bits of
 * headroom, summed, and rescaled to the output. */
#define QUANT_ADD_LEFT_SHIFT 20
struct quant_add_params {
	int32_t input1_offset, input2_offset; /* -zero points */
	int32_t input1_multiplier, input2_multiplier;
	int32_t input1_shift, input2_shift; /* <= 0 */
	int32_t left_shift;		    /* QUANT_ADD_LEFT_SHIFT */
	int32_t output_multiplier;
	int32_t output_shift; /* <= 0 */
	int32_t output_offset;
	int32_t act_min, act_max;
};

/* Global average pool: out[c] = MBQM(sum_yx (x + input_offset), mult, shift)
 * + output_offset, with mult/shift ~ in_scale / (out_scale * H * W). */
struct quant_pool_params {
	int32_t input_offset, output_offset;
	int32_t multiplier, shift;
	int32_t act_min, act_max;
};

/* Elementwise product (TFLite MUL): out = MBQM((x1 + off1) * (x2 + off2),
 * mult, shift) + output_offset with mult/shift ~ s1 * s2 / s_out. */
struct quant_mul_params {
	int32_t input1_offset, input2_offset, output_offset;
	int32_t multiplier, shift;
	int32_t act_min, act_max;
};

/* mult[c], shift[c] for real[c] = in_scale * w_scale[c] / out_scale. Every
 * scale must be finite and > 0. Nothing is written on failure. */
enum core_status
quant_per_channel_make(double in_scale, const float *w_scale /* (n) */,
		       double out_scale, int n, int32_t *multiplier /* (n) */,
		       int32_t *shift /* (n) */, char *err, size_t errlen);

/* The TFLite ADD parameters for inputs (s1, zp1), (s2, zp2) and output
 * (so, zpo); activation range set to [-128, 127]. CORE_ERR_INVALID when a
 * scale is not finite and positive, a zero point is outside [-128, 127], or
 * the output scale is so small that the output multiplier is not below 1. */
enum core_status quant_add_params_make(double s1, int32_t zp1, double s2,
				       int32_t zp2, double so, int32_t zpo,
				       struct quant_add_params *p, char *err,
				       size_t errlen);

/* Global average pool over `count` = H * W pixels (1 .. 2^23). */
enum core_status quant_pool_params_make(double in_scale, int32_t in_zp,
					double out_scale, int32_t out_zp,
					int count, struct quant_pool_params *p,
					char *err, size_t errlen);

enum core_status quant_mul_params_make(double s1, int32_t zp1, double s2,
				       int32_t zp2, double so, int32_t zpo,
				       struct quant_mul_params *p, char *err,
				       size_t errlen);

/* ---- activations --------------------------------------------------------- */

enum quant_fn {
	QUANT_FN_IDENTITY = 0,
	QUANT_FN_RELU,
	QUANT_FN_RELU6,
	QUANT_FN_LEAKYRELU, /* negative slope 0.01 */
	QUANT_FN_SWISH,	    /* x * sigmoid(x) */
	QUANT_FN_HSWISH,    /* x * relu6(x + 3) / 6 */
	QUANT_FN_SIGMOID
};

/* The function of an architecture activation. */
enum quant_fn quant_fn_from_act(enum arch_act act);

/* The float function itself (double precision). */
double quant_fn_eval(enum quant_fn f, double x);

/* 1 when f is applied by clamping in the producing layer's epilogue
 * (identity, relu, relu6), 0 when it needs a table. */
int quant_fn_is_clamp(enum quant_fn f);

/* TFLite CalculateActivationRangeQuantized: identity [-128, 127]; relu
 * [max(-128, zp), 127]; relu6 [max(-128, zp), min(127, zp + round(6 /
 * scale))]. Other functions give [-128, 127] (they go through a table). */
void quant_fn_clamp_range(enum quant_fn f, double scale, int32_t zp,
			  int32_t *act_min, int32_t *act_max);

/* table[q + 128] = clamp(round(f(in_scale * (q - in_zp)) / out_scale) +
 * out_zp) for every int8 q, rounding half away from zero, clamping to
 * [-128, 127]. CORE_ERR_INVALID (table untouched) for scales that are not
 * finite and positive or zero points outside [-128, 127]. */
enum core_status quant_lut_build(enum quant_fn f, double in_scale,
				 int32_t in_zp, double out_scale,
				 int32_t out_zp, int8_t table[256], char *err,
				 size_t errlen);

/* ---- accumulator bound ------------------------------------------------- */

/* Worst-case |accumulator| of a layer over every possible int8 input:
 * for output channel c, sum_t |w(c, t)| * max_x |x + input_offset| +
 * |bias[c]|, where w(c, t) = w[c * channel_stride + t * tap_stride] for the
 * taps t < taps (kxk and 1x1 convs, fully connected: (C_out, taps) with
 * strides (taps, 1); depthwise (K*K, C): strides (1, C)). When shift[c] > 0
 * the requantizer first multiplies the accumulator by 2^shift[c], so that
 * product must fit as well. bias and shift may be NULL. *worst (may be NULL)
 * receives the largest bound over the channels (times 2^shift where
 * positive). Returns CORE_ERR_INVALID with err naming `layer`, the channel
 * and the bound when some channel could leave int32. */
enum core_status quant_acc_check(const char *layer, const int8_t *w,
				 int channels, int taps, long channel_stride,
				 long tap_stride, const int32_t *bias,
				 int32_t input_offset, const int32_t *shift,
				 int64_t *worst, char *err, size_t errlen);

/* ---- reference kernels --------------------------------------------------
 *
 * Plain loop nests, one per op, that define the int8 results. Each checks its
 * parameters and dimensions (CORE_ERR_INVALID with the reason in err, output
 * untouched) and accumulates in 64 bits, failing rather than wrapping if a
 * sum leaves int32 (the output is then partly written). Outputs must not
 * overlap inputs unless the comment says so. Output dims of a conv: out = (in +
 * 2 * padding - kernel) / stride + 1.
 */

/* kxk convolution, groups 1. w: (C_out, K, K, C_in) with filter dims
 * {K, K, C_in}; bias (C_out) or NULL. */
enum core_status ref_conv2d_s8(
    int8_t *out, const int8_t *in, const int8_t *w, const int32_t *bias,
    const struct quant_conv_params *p, const struct quant_per_channel *q,
    const struct quant_dims *in_dims, const struct quant_dims *filter_dims,
    const struct quant_dims *out_dims, char *err, size_t errlen);

/* Depthwise kxk, channel multiplier 1 (out C == in C). w: (K, K, C) with
 * filter dims {K, K, C}. */
enum core_status ref_depthwise_conv2d_s8(
    int8_t *out, const int8_t *in, const int8_t *w, const int32_t *bias,
    const struct quant_conv_params *p, const struct quant_per_channel *q,
    const struct quant_dims *in_dims, const struct quant_dims *filter_dims,
    const struct quant_dims *out_dims, char *err, size_t errlen);

/* 1x1 convolution, stride 1, no padding. w: (C_out, C_in). */
enum core_status ref_pointwise_conv2d_s8(int8_t *out, const int8_t *in,
					 const int8_t *w, const int32_t *bias,
					 const struct quant_conv_params *p,
					 const struct quant_per_channel *q,
					 const struct quant_dims *in_dims,
					 const struct quant_dims *out_dims,
					 char *err, size_t errlen);

/* out (n_out) = W (n_out, n_in) x in (n_in) + bias. */
enum core_status ref_fully_connected_s8(int8_t *out, const int8_t *in,
					const int8_t *w, const int32_t *bias,
					const struct quant_fc_params *p,
					const struct quant_per_channel *q,
					int n_in, int n_out, char *err,
					size_t errlen);

/* out (n) = in1 (n) + in2 (n), TFLite ADD. out may alias either input. */
enum core_status ref_add_s8(int8_t *out, const int8_t *in1, const int8_t *in2,
			    const struct quant_add_params *p, long n, char *err,
			    size_t errlen);

/* out (C) = mean over H, W of in (H, W, C). */
enum core_status ref_avgpool_global_s8(int8_t *out, const int8_t *in,
				       const struct quant_pool_params *p,
				       const struct quant_dims *in_dims,
				       char *err, size_t errlen);

/* SE channel scaling: out (H, W, C) = in (H, W, C) * gate (C), TFLite MUL
 * with the gate broadcast over pixels. out may alias in. */
enum core_status ref_mul_channel_s8(int8_t *out, const int8_t *in,
				    const int8_t *gate,
				    const struct quant_mul_params *p,
				    const struct quant_dims *dims, char *err,
				    size_t errlen);

/* out[i] = table[in[i] + 128] for n elements; out may alias in. */
void ref_lut_s8(int8_t *out, const int8_t *in, long n, const int8_t table[256]);

/* ---- whole networks: BN folding, float reference, calibration, PTQ -------
 *
 * A trained struct model becomes a struct quant_net in four steps:
 *   1. quant_fnet_build folds every BN into the conv before it, per output
 *      channel c: s = gamma / sqrt(running_var + eps), w'(c) = w(c) * s,
 *      b'(c) = beta - running_mean * s (plus the layer's own bias for the SE
 *      FCs and head.fc), giving a float network over the graph of graph.h;
 *   2. quant_fnet_forward runs that network on one image, op by op as the
 *      MCU will (this is the float reference of the deployed network; it
 *      equals model_forward in eval mode up to float rounding), and shows
 *      every tensor to an observer;
 *   3. calibration over sample images: per tensor the min and max, or with
 *      percentile p < 100 the (100 - p)% and p% quantiles of a 2048-bin
 *      histogram over [min, max] (a second pass); the range is widened to
 *      hold 0 and to at least QUANT_MIN_RANGE, then scale = (max - min) /
 *      255 and zero point = round(-128 - min / scale);
 *   4. every op is quantized: weights int8 symmetric per output channel
 *      (scale max|w(c)| / 127), biases int32 at in_scale * w_scale(c),
 *      per-channel multiplier and shift, relu/relu6 as the clamp range,
 *      leakyrelu/swish/hswish/sigmoid as a 256-entry table applied in place
 *      to the op's int8 output (which is then the pre-activation, with a
 *      calibrated scale of its own), SE gates (sigmoid) at the fixed scale
 *      1/256 and zero point -128, GAP, MUL and ADD with their own rescaling.
 *      quant_acc_check runs on every weighted op: a layer whose int32
 *      accumulator could overflow is refused with its name in err.
 * Tensor ids, op order and shapes are those of the graph (elem_bytes 1), so
 * the memory plan of cost.h applies to the int8 network unchanged. */

#define QUANT_HIST_BINS 2048
/* Smallest calibrated max - min. A tensor that stays (nearly) zero over the
 * calibration images, such as an SE hidden vector whose ReLUs are all dead,
 * would otherwise get a scale so small that the biases of the op reading it
 * (in units of in_scale * w_scale) leave int32. */
#define QUANT_MIN_RANGE 1e-3

/* The float network with BN folded: per op, weights in the int8 kernels'
 * layouts (conv2d (C_out, K, K, C_in), depthwise (K, K, C), 1x1 and linear
 * (C_out, C_in)) and a bias per output channel. */
struct quant_fnet_op {
	float
	    *w; /* (w_shape) or NULL for weightless ops; depthwise (K, K, C) */
	float *b; /* (cout) or NULL */
};

struct quant_fnet {
	struct arch arch;
	struct graph graph;	   /* elem_bytes 1 */
	struct quant_fnet_op *ops; /* (graph.nops) */
	float *store;		   /* one allocation for every w and b */
	size_t nstore;		   /* floats */
};

/* Folds m's parameters and BN running statistics into f. m must be built
 * from a valid architecture (any batch size; training or not). On success f
 * owns its allocations (quant_fnet_free); on failure f is empty. */
enum core_status quant_fnet_build(struct model *m, struct quant_fnet *f,
				  char *err, size_t errlen);
void quant_fnet_free(struct quant_fnet *f);

/* What quant_fnet_forward shows of each tensor: id, and pre = 1 for the
 * pre-activation of an op whose activation is a table (reported before the
 * activation, with the op's output id). v (n floats) is only valid during
 * the call. */
struct quant_observer {
	void (*tensor)(void *ctx, int tensor, int pre, const float *v,
		       size_t n);
	void *ctx;
};

/* Runs f on one image x (R, R, C) NHWC, normalized as for training, into
 * logits (classes). obs may be NULL. Allocates each tensor while it is live
 * (core allocators); CORE_ERR_NOMEM with nothing leaked on failure. */
enum core_status quant_fnet_forward(const struct quant_fnet *f, const float *x,
				    float *logits,
				    const struct quant_observer *obs, char *err,
				    size_t errlen);

/* An int8 tensor's quantization: real = scale * (q - zp). */
struct quant_qparams {
	double scale;
	int32_t zp;
};

/* The qparams of a calibrated range [lo, hi] (widened as above). */
struct quant_qparams quant_qparams_from_range(double lo, double hi);

/* One quantized op. Weighted ops fill w, bias, mult, shift (and conv or fc);
 * GAP pool, MUL mul, ADD add. lut = 1 when the activation is a table: the
 * kernel then writes the pre-activation (qparams pre) and table maps it in
 * place to the output's qparams. */
struct quant_layer {
	int8_t *w;		       /* kernel layout (see quant_fnet) */
	int32_t *bias;		       /* (cout) */
	int32_t *mult, *shift;	       /* (cout) */
	float *w_scale;		       /* (cout) */
	struct quant_conv_params conv; /* CONV2D, CONV1X1, DEPTHWISE */
	struct quant_fc_params fc;     /* LINEAR */
	struct quant_pool_params pool; /* GAP */
	struct quant_mul_params mul;   /* MUL */
	struct quant_add_params add;   /* ADD */
	int lut;
	struct quant_qparams pre;
	int8_t table[256];
	int64_t acc_worst; /* quant_acc_check's bound (weighted ops) */
};

/* PTQ settings. */
struct quant_config {
	double percentile; /* (50, 100]; 100 = min/max (default) */
};
void quant_config_default(struct quant_config *c);

/* The quantized network: the graph, a quantization per tensor, a layer per
 * op, and the normalization the float input expects (recorded, not used). */
struct quant_net {
	struct arch arch;
	struct graph graph;	    /* elem_bytes 1 */
	struct quant_qparams *tq;   /* (graph.ntensors) */
	struct quant_layer *layers; /* (graph.nops) */
	void *store;		    /* one allocation for the layer arrays */
	int calib_images;
	double percentile;
};

/* Quantizes m with the n >= 1 calibration images x (n, R, R, C) NHWC
 * (normalized as for training, R the architecture's resolution). Fails with
 * CORE_ERR_INVALID and the op's name in err when an op cannot be quantized
 * (a bias or an accumulator that could leave int32, a rescaling out of
 * range). On success q owns everything (quant_net_free); on failure q is
 * empty. */
enum core_status quant_net_build(struct model *m, const float *x, int n,
				 const struct quant_config *cfg,
				 struct quant_net *q, char *err, size_t errlen);
/* The same from an already folded network. */
enum core_status quant_net_from_fnet(const struct quant_fnet *f, const float *x,
				     int n, const struct quant_config *cfg,
				     struct quant_net *q, char *err,
				     size_t errlen);
void quant_net_free(struct quant_net *q);

/* ---- the host int8 engine ------------------------------------------------ */

/* Bytes of work memory quant_net_run needs: every tensor in a buffer of its
 * own (nothing in place: plain and obviously correct). */
size_t quant_net_work_bytes(const struct quant_net *q);

/* Runs q on the int8 input in (H, W, C) into out (classes int8 logits)
 * with the reference kernels; work holds quant_net_work_bytes(q) bytes
 * (8-byte aligned). Never allocates. */
enum core_status quant_net_run(const struct quant_net *q, const int8_t *in,
			       int8_t *out, void *work, char *err,
			       size_t errlen);

/* x (H * W * C normalized floats) -> int8 with the input's qparams
 * (round half away from zero, clamped). */
void quant_net_quantize_input(const struct quant_net *q, const float *x,
			      int8_t *out);

/* Index of the largest of n int8 values (the first on ties). */
int quant_argmax_s8(const int8_t *v, int n);

/* ---- data for calibration and evaluation --------------------------------- */

/* n images of ds spread evenly over it (records i * ds->n / n), normalized
 * with the kind's statistics and resized to r x r, no augmentation, as
 * training evaluates: *out (n, r, r, 3) owned by the caller (core_free);
 * labels (n) may be NULL. 1 <= n <= ds->n. */
enum core_status quant_images_load(const struct data_set *ds, int n, int r,
				   float **out, int32_t *labels, char *err,
				   size_t errlen);

/* Top-1 of q on the records idx (n, NULL = all) of ds, images prepared as
 * quant_images_load does, threads images at a time. */
enum core_status quant_net_evaluate(const struct quant_net *q,
				    const struct data_set *ds,
				    const int32_t *idx, int n, int threads,
				    double *top1, char *err, size_t errlen);

#endif
