/* SPDX-License-Identifier: Apache-2.0 */
/* ref_conv.c - reference int8 convolutions (kxk, depthwise, pointwise) and
 * fully connected: the plain loop nests that define the results the MCU
 * kernels must reproduce, with every parameter checked. */
#include "quant.h"

#include <inttypes.h>

#define DIM_MAX 65535

static int dims_ok(const struct quant_dims *d)
{
	return d && d->h >= 1 && d->w >= 1 && d->c >= 1 && d->h <= DIM_MAX &&
	       d->w <= DIM_MAX && d->c <= DIM_MAX &&
	       (int64_t)d->h * d->w * d->c <= INT32_MAX;
}

static enum core_status check_range(const char *op, int32_t input_offset,
				    int32_t output_offset, int32_t act_min,
				    int32_t act_max, char *err, size_t errlen)
{
	if (input_offset < -127 || input_offset > 128) {
		core_errf(err, errlen,
			  "%s: input_offset %" PRId32 " not in [-127, 128]", op,
			  input_offset);
		return CORE_ERR_INVALID;
	}
	if (output_offset < -128 || output_offset > 127) {
		core_errf(err, errlen,
			  "%s: output_offset %" PRId32 " not in [-128, 127]",
			  op, output_offset);
		return CORE_ERR_INVALID;
	}
	if (act_min < -128 || act_max > 127 || act_min > act_max) {
		core_errf(err, errlen,
			  "%s: activation range [%" PRId32 ", %" PRId32
			  "] not within [-128, 127]",
			  op, act_min, act_max);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

static enum core_status check_per_channel(const char *op,
					  const struct quant_per_channel *q,
					  int n, char *err, size_t errlen)
{
	if (!q || !q->multiplier || !q->shift) {
		core_errf(err, errlen, "%s: missing per-channel multipliers",
			  op);
		return CORE_ERR_INVALID;
	}
	for (int c = 0; c < n; c++) {
		if (q->shift[c] < -31 || q->shift[c] > 30) {
			core_errf(err, errlen,
				  "%s: shift[%d] = %" PRId32
				  " not in [-31, 30]",
				  op, c, q->shift[c]);
			return CORE_ERR_INVALID;
		}
	}
	return CORE_OK;
}

/* Parameters and dims shared by the three convolutions. */
static enum core_status
check_conv(const char *op, const void *out, const void *in, const void *w,
	   const struct quant_conv_params *p, const struct quant_per_channel *q,
	   const struct quant_dims *in_dims,
	   const struct quant_dims *filter_dims,
	   const struct quant_dims *out_dims, char *err, size_t errlen)
{
	enum core_status rc;
	int k, oh, ow;

	if (!out || !in || !w || !p) {
		core_errf(err, errlen, "%s: NULL tensor or parameters", op);
		return CORE_ERR_INVALID;
	}
	if (!dims_ok(in_dims) || !dims_ok(filter_dims) || !dims_ok(out_dims)) {
		core_errf(err, errlen,
			  "%s: dims must be in [1, %d] with at most 2^31 "
			  "elements",
			  op, DIM_MAX);
		return CORE_ERR_INVALID;
	}
	rc = check_range(op, p->input_offset, p->output_offset, p->act_min,
			 p->act_max, err, errlen);
	if (rc)
		return rc;
	k = filter_dims->h;
	if (filter_dims->w != k) {
		core_errf(err, errlen, "%s: filter %dx%d is not square", op,
			  filter_dims->h, filter_dims->w);
		return CORE_ERR_INVALID;
	}
	if (p->dilation != 1 || p->stride < 1 || p->padding < 0 ||
	    p->padding >= k) {
		core_errf(err, errlen,
			  "%s: need dilation 1, stride >= 1, 0 <= padding < "
			  "kernel (dilation %d, stride %d, padding %d, kernel "
			  "%d)",
			  op, p->dilation, p->stride, p->padding, k);
		return CORE_ERR_INVALID;
	}
	if (in_dims->h + 2 * p->padding < k ||
	    in_dims->w + 2 * p->padding < k) {
		core_errf(err, errlen, "%s: kernel %d larger than padded input",
			  op, k);
		return CORE_ERR_INVALID;
	}
	oh = (in_dims->h + 2 * p->padding - k) / p->stride + 1;
	ow = (in_dims->w + 2 * p->padding - k) / p->stride + 1;
	if (out_dims->h != oh || out_dims->w != ow) {
		core_errf(
		    err, errlen,
		    "%s: output is %dx%d, expected %dx%d for input %dx%d, "
		    "kernel %d, stride %d, padding %d",
		    op, out_dims->h, out_dims->w, oh, ow, in_dims->h,
		    in_dims->w, k, p->stride, p->padding);
		return CORE_ERR_INVALID;
	}
	return check_per_channel(op, q, out_dims->c, err, errlen);
}

/* Requantize one accumulator; fails when it left int32. */
static enum core_status finish(const char *op, int64_t acc, int32_t mult,
			       int32_t shift, int32_t out_offset,
			       int32_t act_min, int32_t act_max, int8_t *out,
			       long where, char *err, size_t errlen)
{
	int32_t v;

	if (acc < INT32_MIN || acc > INT32_MAX) {
		core_errf(err, errlen,
			  "%s: accumulator %" PRId64 " at output %ld leaves "
			  "int32",
			  op, acc, where);
		return CORE_ERR_INVALID;
	}
	v = quant_multiply_by_quantized_multiplier((int32_t)acc, mult, shift);
	/* v + out_offset cannot overflow: |v| <= 2^31 - 1 only when the
	 * multiplier is near 1 and acc is huge; compute in 64 bits anyway. */
	int64_t o = (int64_t)v + out_offset;
	if (o < act_min)
		o = act_min;
	if (o > act_max)
		o = act_max;
	*out = (int8_t)o;
	return CORE_OK;
}

enum core_status ref_conv2d_s8(
    int8_t *out, const int8_t *in, const int8_t *w, const int32_t *bias,
    const struct quant_conv_params *p, const struct quant_per_channel *q,
    const struct quant_dims *in_dims, const struct quant_dims *filter_dims,
    const struct quant_dims *out_dims, char *err, size_t errlen)
{
	enum core_status rc;

	rc = check_conv("conv2d", out, in, w, p, q, in_dims, filter_dims,
			out_dims, err, errlen);
	if (rc)
		return rc;
	if (filter_dims->c != in_dims->c) {
		core_errf(err, errlen,
			  "conv2d: filter has %d input channels, input %d",
			  filter_dims->c, in_dims->c);
		return CORE_ERR_INVALID;
	}
	const int H = in_dims->h, W = in_dims->w, CI = in_dims->c;
	const int K = filter_dims->h, CO = out_dims->c;

	for (int oy = 0; oy < out_dims->h; oy++) {
		for (int ox = 0; ox < out_dims->w; ox++) {
			for (int co = 0; co < CO; co++) {
				int64_t acc = bias ? bias[co] : 0;

				for (int ky = 0; ky < K; ky++) {
					int iy =
					    oy * p->stride - p->padding + ky;
					if (iy < 0 || iy >= H)
						continue;
					for (int kx = 0; kx < K; kx++) {
						int ix = ox * p->stride -
							 p->padding + kx;
						if (ix < 0 || ix >= W)
							continue;
						const int8_t *x =
						    in +
						    ((long)iy * W + ix) * CI;
						const int8_t *f =
						    w +
						    (((long)co * K + ky) * K +
						     kx) *
							CI;
						for (int ci = 0; ci < CI; ci++)
							acc +=
							    (int64_t)(x[ci] +
								      p->input_offset) *
							    f[ci];
					}
				}
				long o =
				    ((long)oy * out_dims->w + ox) * CO + co;
				rc = finish("conv2d", acc, q->multiplier[co],
					    q->shift[co], p->output_offset,
					    p->act_min, p->act_max, out + o, o,
					    err, errlen);
				if (rc)
					return rc;
			}
		}
	}
	return CORE_OK;
}

enum core_status ref_depthwise_conv2d_s8(
    int8_t *out, const int8_t *in, const int8_t *w, const int32_t *bias,
    const struct quant_conv_params *p, const struct quant_per_channel *q,
    const struct quant_dims *in_dims, const struct quant_dims *filter_dims,
    const struct quant_dims *out_dims, char *err, size_t errlen)
{
	enum core_status rc;

	rc = check_conv("depthwise_conv2d", out, in, w, p, q, in_dims,
			filter_dims, out_dims, err, errlen);
	if (rc)
		return rc;
	if (filter_dims->c != in_dims->c || out_dims->c != in_dims->c) {
		core_errf(err, errlen,
			  "depthwise_conv2d: channels differ (input %d, filter "
			  "%d, output %d); only multiplier 1 is supported",
			  in_dims->c, filter_dims->c, out_dims->c);
		return CORE_ERR_INVALID;
	}
	const int H = in_dims->h, W = in_dims->w, C = in_dims->c;
	const int K = filter_dims->h;

	for (int oy = 0; oy < out_dims->h; oy++) {
		for (int ox = 0; ox < out_dims->w; ox++) {
			for (int c = 0; c < C; c++) {
				int64_t acc = bias ? bias[c] : 0;

				for (int ky = 0; ky < K; ky++) {
					int iy =
					    oy * p->stride - p->padding + ky;
					if (iy < 0 || iy >= H)
						continue;
					for (int kx = 0; kx < K; kx++) {
						int ix = ox * p->stride -
							 p->padding + kx;
						if (ix < 0 || ix >= W)
							continue;
						int32_t x =
						    in[((long)iy * W + ix) * C +
						       c];
						int32_t f =
						    w[((long)ky * K + kx) * C +
						      c];
						acc +=
						    (int64_t)(x +
							      p->input_offset) *
						    f;
					}
				}
				long o = ((long)oy * out_dims->w + ox) * C + c;
				rc = finish(
				    "depthwise_conv2d", acc, q->multiplier[c],
				    q->shift[c], p->output_offset, p->act_min,
				    p->act_max, out + o, o, err, errlen);
				if (rc)
					return rc;
			}
		}
	}
	return CORE_OK;
}

enum core_status ref_pointwise_conv2d_s8(int8_t *out, const int8_t *in,
					 const int8_t *w, const int32_t *bias,
					 const struct quant_conv_params *p,
					 const struct quant_per_channel *q,
					 const struct quant_dims *in_dims,
					 const struct quant_dims *out_dims,
					 char *err, size_t errlen)
{
	enum core_status rc;
	struct quant_dims f = {1, 1, in_dims ? in_dims->c : 0};

	rc = check_conv("pointwise_conv2d", out, in, w, p, q, in_dims, &f,
			out_dims, err, errlen);
	if (rc)
		return rc;
	if (p->stride != 1) {
		core_errf(err, errlen, "pointwise_conv2d: stride %d is not 1",
			  p->stride);
		return CORE_ERR_INVALID;
	}
	const long npix = (long)in_dims->h * in_dims->w;
	const int CI = in_dims->c, CO = out_dims->c;

	for (long px = 0; px < npix; px++) {
		for (int co = 0; co < CO; co++) {
			int64_t acc = bias ? bias[co] : 0;

			for (int ci = 0; ci < CI; ci++)
				acc += (int64_t)(in[px * CI + ci] +
						 p->input_offset) *
				       w[(long)co * CI + ci];
			rc = finish("pointwise_conv2d", acc, q->multiplier[co],
				    q->shift[co], p->output_offset, p->act_min,
				    p->act_max, out + px * CO + co,
				    px * CO + co, err, errlen);
			if (rc)
				return rc;
		}
	}
	return CORE_OK;
}

enum core_status ref_fully_connected_s8(int8_t *out, const int8_t *in,
					const int8_t *w, const int32_t *bias,
					const struct quant_fc_params *p,
					const struct quant_per_channel *q,
					int n_in, int n_out, char *err,
					size_t errlen)
{
	enum core_status rc;

	if (!out || !in || !w || !p || n_in < 1 || n_out < 1 ||
	    (int64_t)n_in * n_out > INT32_MAX) {
		core_errf(err, errlen,
			  "fully_connected: NULL tensor or bad sizes (in %d, "
			  "out %d)",
			  n_in, n_out);
		return CORE_ERR_INVALID;
	}
	rc = check_range("fully_connected", p->input_offset, p->output_offset,
			 p->act_min, p->act_max, err, errlen);
	if (rc)
		return rc;
	rc = check_per_channel("fully_connected", q, n_out, err, errlen);
	if (rc)
		return rc;
	for (int o = 0; o < n_out; o++) {
		int64_t acc = bias ? bias[o] : 0;

		for (int i = 0; i < n_in; i++)
			acc += (int64_t)(in[i] + p->input_offset) *
			       w[(long)o * n_in + i];
		rc = finish("fully_connected", acc, q->multiplier[o],
			    q->shift[o], p->output_offset, p->act_min,
			    p->act_max, out + o, o, err, errlen);
		if (rc)
			return rc;
	}
	return CORE_OK;
}
