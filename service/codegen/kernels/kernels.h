/* SPDX-License-Identifier: Apache-2.0 */
/* kernels.h - the int8 kernels that lmnas copies into generated MCU projects:
 * parameter structs, status codes and every kernel's signature.
 *
 * Portable C99 with no allocation and no library beyond string.h and
 * stdint.h. When __ARM_FEATURE_DSP is defined (Cortex-M4/M7/M33...), the hot
 * loops use the SIMD/DSP instructions (SMLAD, SXTB16, SXTAB16, SMLABB); the
 * results are bit-identical to the plain C paths and to lmnas' host
 * reference (service/quant, ref_*), which is what defines them.
 *
 * Conventions (CMSIS-NN / TFLite Micro):
 *   - tensors are NHWC, batch 1: element (y, x, c) of (H, W, C) sits at
 *     (y * W + x) * C + c;
 *   - weights are int8 per output channel, biases int32 (may be NULL);
 *   - input_offset = -input zero point, output_offset = output zero point;
 *   - acc = bias + sum w * (x + input_offset) in int32 (the generator proves
 *     it cannot overflow), then out = clamp(MBQM(acc, multiplier[c],
 *     shift[c]) + output_offset, act_min, act_max), MBQM being TFLite's
 *     MultiplyByQuantizedMultiplier (requant.h);
 *   - a kernel that needs scratch takes a caller-owned buffer of at least
 *     <op>_s8_scratch_size() bytes, 4-byte aligned;
 *   - kernels return S8_OK, or S8_ERR_ARG (nothing written) when the
 *     parameters are inconsistent;
 *   - stack: at most about 2.1 KB deep (Cortex-M7, -O2, measured with
 *     -fstack-usage; the depthwise band route keeps 256 accumulators, a
 *     channel quad's filters and a band's plane row pointers), under 1 KB
 *     for the other depthwise loops, under 400 bytes for the others.
 * Little-endian targets only. Files: kernels.h (this), requant.h (fixed
 * point), dsp.h (the DSP instructions), pack_s8.h (export-time weight
 * packing), one .c per kernel family and mat_mult_s8_s16.c (the matrix
 * core of the kxk and dense kernels).
 */
#ifndef S8_KERNELS_H
#define S8_KERNELS_H

#include <stdint.h>

enum s8_status { S8_OK = 0, S8_ERR_ARG = -1 };

struct s8_dims {
	int h, w, c;
};

struct s8_per_channel {
	const int32_t *multiplier; /* (C_out) */
	const int32_t *shift;	   /* (C_out), in [-31, 30], > 0 = left */
};

/* Square stride and padding; `padding` zero-point pixels precede the first
 * row and column. Output size: (in + 2 * padding - kernel) / stride + 1. */
struct s8_conv_params {
	int32_t input_offset;  /* [-127, 128] */
	int32_t output_offset; /* [-128, 127] */
	int stride;
	int padding;
	int dilation; /* must be 1 */
	int32_t act_min, act_max;
	/* optional (NULL: none): a 256-entry table (lut_s8's) applied to
	 * every output, an activation fused into the output stage; read by
	 * conv2d_s8, pointwise_conv2d_s8 and the depthwise kernels */
	const int8_t *lut;
};

struct s8_fc_params {
	int32_t input_offset, output_offset;
	int32_t act_min, act_max;
};

struct s8_add_params {
	int32_t input1_offset, input2_offset;
	int32_t input1_multiplier, input2_multiplier;
	int32_t input1_shift, input2_shift; /* <= 0 */
	int32_t left_shift;		    /* 20 */
	int32_t output_multiplier;
	int32_t output_shift; /* <= 0 */
	int32_t output_offset;
	int32_t act_min, act_max;
};

struct s8_pool_params {
	int32_t input_offset, output_offset;
	int32_t multiplier, shift; /* ~ in_scale / (out_scale * H * W) */
	int32_t act_min, act_max;
};

struct s8_mul_params {
	int32_t input1_offset, input2_offset, output_offset;
	int32_t multiplier, shift; /* ~ s1 * s2 / s_out */
	int32_t act_min, act_max;
};

/* ---- matrix core (mat_mult_s8_s16.c) -------------------------------------
 * Columns are int16 input values with the input offset added, in the layout
 * s8_col_from_s8 writes (on DSP builds each group of 4 is stored as elements
 * 0, 2, 1, 3 so that SXTB16 of 4 weights lines up with two SMLADs). */

/* dst (n) = src (n) + offset, in column layout. */
void s8_col_from_s8(int16_t *dst, const int8_t *src, int32_t n, int32_t offset);
/* Turns a column written in natural order into column layout, in place. */
void s8_col_reorder(int16_t *col, int32_t n);
/* For each row r < rows of w (rows, len): out0[r] from col0 and, when col1
 * is not NULL, out1[r] from col1, requantized with q[r] and bias[r]. */
void mat_mult_s8_s16(const int8_t *w, const int16_t *col0, const int16_t *col1,
		     int32_t len, int32_t rows, const int32_t *bias,
		     const struct s8_per_channel *q, int32_t output_offset,
		     int32_t act_min, int32_t act_max, int8_t *out0,
		     int8_t *out1);

/* ---- packed matrix core (pointwise_conv2d_s8.c) ---------------------------
 * rows x len weights packed by pointwise_s8_pack (pack_s8.h), the bias
 * folded, times blocks of up to 4 int8 input vectors of len; scratch: four
 * int16 columns of len rounded up to 4 (4-byte aligned), and rq: the
 * per-channel table of the hot loop, s8_packed_mm_rq_bytes(rows). */
struct s8_packed_mm {
	const int8_t *wp;
	const int32_t *bias;
	const struct s8_per_channel *q;
	int32_t len, rows, off, amin, amax;
	int32_t *col;
	int32_t *rq; /* per row pair {2 b0, 2 b1, m0, h0, e0, m1, h1, e1} */
	const int8_t *lut; /* NULL, or table + 128 (indexed by the output) */
	int fast, all_fast, full;
	int padded; /* the vectors hold zeros up to len rounded up to 4 */
};

/* Returns 0 (nothing set) when the arguments are inconsistent. m->lut
 * starts NULL; set it to a table + 128 to fuse an activation. m->padded
 * starts 0; set it when every input vector is followed by zeros up to len
 * rounded up to 4 (the columns are then built a word at a time). */
int s8_packed_mm_setup(struct s8_packed_mm *m, const int8_t *wp,
		       const int32_t *bias, const struct s8_per_channel *q,
		       int32_t len, int32_t rows, int32_t output_offset,
		       int32_t act_min, int32_t act_max, void *scratch,
		       void *rq);
/* Bytes of the per-channel table: 4 words per channel, rows made even. */
static inline int32_t s8_packed_mm_rq_bytes(int32_t rows)
{
	return 16 * ((rows + 1) & ~1);
}
/* out[k * rows + r] for pixels k < np of px (4 pointers; those past np are
 * computed and not stored, so they must point at len readable bytes). */
void s8_packed_mm_block(const struct s8_packed_mm *m, const int8_t *const px[4],
			int np, int8_t *out);

/* ---- convolutions --------------------------------------------------------*/

/* kxk convolution, groups 1 (the stem). wp: the (C_out, K*K*C_in) weights
 * packed by pointwise_s8_pack (pack_s8.h) with ci = K*K*C_in, bias folded
 * the same way (p->input_offset is still read: padding taps hold the zero
 * point). Filter dims {K, K, C_in}. Scratch: four int8 patches and four
 * int16 columns of K*K*C_in rounded up to 4, then the per-channel table
 * (s8_packed_mm_rq_bytes(C_out)). */
int32_t conv2d_s8_scratch_size(const struct s8_dims *in_dims,
			       const struct s8_dims *filter_dims,
			       const struct s8_dims *out_dims);
enum s8_status conv2d_s8(int8_t *out, const int8_t *in, const int8_t *wp,
			 const int32_t *bias, const struct s8_conv_params *p,
			 const struct s8_per_channel *q,
			 const struct s8_dims *in_dims,
			 const struct s8_dims *filter_dims,
			 const struct s8_dims *out_dims, void *scratch);

/* Depthwise kxk, channel multiplier 1, K <= 15. w: (K, K, C), filter dims
 * {K, K, C}. p->lut (NULL: none) is applied to every output. Scratch:
 * depthwise_conv2d_s8_scratch_size() bytes, 4-byte aligned (NULL when that
 * is 0): the band route's planes (depthwise_band_s8.c) for K 3 and 5,
 * stride 1 or 2, padding K/2 and W_out <= 256, at most max(K plane rows,
 * 2 KB); 0 otherwise. 3x3 has its own faster loops. */
int32_t depthwise_conv2d_s8_scratch_size(const struct s8_conv_params *p,
					 const struct s8_dims *in_dims,
					 const struct s8_dims *filter_dims,
					 const struct s8_dims *out_dims);
enum s8_status depthwise_conv2d_s8(
    int8_t *out, const int8_t *in, const int8_t *w, const int32_t *bias,
    const struct s8_conv_params *p, const struct s8_per_channel *q,
    const struct s8_dims *in_dims, const struct s8_dims *filter_dims,
    const struct s8_dims *out_dims, void *scratch);

/* The same, in place, for stride 1 and padding K/2 with K odd (output dims ==
 * input dims): buf (H, W, C) is overwritten by the output. The scratch keeps
 * the K/2 + 1 most recent input rows that outputs have already overwritten:
 * (K/2 + 1) * W * C bytes, or the band route's planes when larger
 * (depthwise_band_s8_scratch_size). */
int32_t
depthwise_conv2d_inplace_s8_scratch_size(const struct s8_dims *dims,
					 const struct s8_dims *filter_dims);
enum s8_status depthwise_conv2d_inplace_s8(int8_t *buf, const int8_t *w,
					   const int32_t *bias,
					   const struct s8_conv_params *p,
					   const struct s8_per_channel *q,
					   const struct s8_dims *dims,
					   const struct s8_dims *filter_dims,
					   void *scratch);

/* The band route of the depthwise kernels (depthwise_band_s8.c): the bytes
 * of its scratch for filter size k, 0 where it does not apply (K other
 * than 3 and 5, padding other than K/2, stride other than 1 or 2 (in
 * place: 1), W_out > 256; in place, planes larger than both the ring and
 * a quarter of the map); run returns 0 without touching anything where it
 * does not apply (portable builds, a misaligned scratch) and 1 when out
 * (which may be in, in place) holds the result. */
int32_t depthwise_band_s8_scratch_size(const struct s8_dims *in_dims,
				       const struct s8_dims *out_dims,
				       int32_t k, int32_t stride,
				       int32_t padding, int inplace);
int depthwise_band_s8_run(int8_t *out, const int8_t *in, const int8_t *w,
			  const int32_t *bias, const struct s8_conv_params *p,
			  const struct s8_per_channel *q,
			  const struct s8_dims *in_dims,
			  const struct s8_dims *out_dims, int32_t k,
			  void *scratch, int inplace);

/* 1x1 convolution, stride 1, no padding. wp: the (C_out, C_in) weights in
 * the packed layout of pack_s8.h, bias: the folded bias pointwise_s8_pack
 * makes (the input offset already in it; p->input_offset is not read).
 * Scratch: four int16 columns of C_in rounded up to 4, then the
 * per-channel table (s8_packed_mm_rq_bytes(C_out)). */
int32_t pointwise_conv2d_s8_scratch_size(const struct s8_dims *in_dims,
					 const struct s8_dims *out_dims);
enum s8_status pointwise_conv2d_s8(int8_t *out, const int8_t *in,
				   const int8_t *wp, const int32_t *bias,
				   const struct s8_conv_params *p,
				   const struct s8_per_channel *q,
				   const struct s8_dims *in_dims,
				   const struct s8_dims *out_dims,
				   void *scratch);

/* out (n_out) = w (n_out, n_in) x in (n_in). Scratch: n_in int16. */
int32_t fully_connected_s8_scratch_size(int32_t n_in);
enum s8_status fully_connected_s8(int8_t *out, const int8_t *in,
				  const int8_t *w, const int32_t *bias,
				  const struct s8_fc_params *p,
				  const struct s8_per_channel *q, int32_t n_in,
				  int32_t n_out, void *scratch);

/* ---- elementwise --------------------------------------------------------- */

/* TFLite ADD of n elements; out may alias in1 or in2. */
enum s8_status add_s8(int8_t *out, const int8_t *in1, const int8_t *in2,
		      const struct s8_add_params *p, int32_t n);

/* out (C) = mean over pixels of in (H, W, C). */
enum s8_status avgpool_global_s8(int8_t *out, const int8_t *in,
				 const struct s8_pool_params *p,
				 const struct s8_dims *in_dims);

/* out (H, W, C) = in * gate (C) (SE scaling); out may alias in. */
enum s8_status mul_channel_s8(int8_t *out, const int8_t *in, const int8_t *gate,
			      const struct s8_mul_params *p,
			      const struct s8_dims *dims);

/* out[i] = table[in[i] + 128]; out may alias in. */
void lut_s8(int8_t *out, const int8_t *in, int32_t n, const int8_t table[256]);

#endif
