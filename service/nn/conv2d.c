/* SPDX-License-Identifier: Apache-2.0 */
/* conv2d.c - dense 2-D convolution (groups = 1, no bias) on NHWC: the 1x1
 * stride-1 fast path as one GEMM over the batch, everything else as im2col
 * into caller scratch plus GEMM, chunked by output rows; weight layout
 * converters to and from PyTorch. */
#include "nn/nn.h"
#include "nn/nn_internal.h"

#include <assert.h>
#include <cblas.h>
#include <limits.h>
#include <string.h>

/* Upper bound of the im2col buffer nn_conv2d_scratch_size() asks for. */
#define CONV_IM2COL_MAX_BYTES ((size_t)8 << 20)

enum core_status nn_conv2d_dims_init(struct nn_conv2d_dims *d, int n, int h,
				     int w, int cin, int cout, int k,
				     int stride, int pad, char *err,
				     size_t errlen)
{
	struct nn_shape in = {n, h, w, cin}, out;
	enum core_status rc;

	memset(d, 0, sizeof *d);
	rc = nn_shape_check(&in, err, errlen);
	if (rc)
		return rc;
	if (cout < 1 || k < 1 || k > 4096 || stride < 1 || pad < 0 ||
	    pad >= k) {
		core_errf(err, errlen,
			  "conv2d: need cout >= 1, 1 <= k <= 4096, stride >= "
			  "1, 0 <= pad < k (cout %d, k %d, stride %d, pad %d)",
			  cout, k, stride, pad);
		return CORE_ERR_INVALID;
	}
	if (h + 2 * pad < k || w + 2 * pad < k) {
		core_errf(err, errlen,
			  "conv2d: kernel %d larger than padded input %dx%d", k,
			  h + 2 * pad, w + 2 * pad);
		return CORE_ERR_INVALID;
	}
	if ((size_t)k * (size_t)k * (size_t)cin > INT_MAX) {
		core_errf(err, errlen, "conv2d: k*k*cin exceeds %d", INT_MAX);
		return CORE_ERR_INVALID;
	}
	out.n = n;
	out.h = (h + 2 * pad - k) / stride + 1;
	out.w = (w + 2 * pad - k) / stride + 1;
	out.c = cout;
	rc = nn_shape_check(&out, err, errlen);
	if (rc)
		return rc;
	d->n = n;
	d->h = h;
	d->w = w;
	d->cin = cin;
	d->cout = cout;
	d->k = k;
	d->stride = stride;
	d->pad = pad;
	d->ho = out.h;
	d->wo = out.w;
	return CORE_OK;
}

static int conv_is_pointwise(const struct nn_conv2d_dims *d)
{
	return d->k == 1 && d->stride == 1 && d->pad == 0;
}

/* Bytes of im2col for one output row: Wo rows of K*K*C_in columns. */
static size_t conv_row_bytes(const struct nn_conv2d_dims *d)
{
	return (size_t)d->wo * (size_t)d->k * (size_t)d->k * (size_t)d->cin *
	       sizeof(float);
}

size_t nn_conv2d_scratch_min(const struct nn_conv2d_dims *d)
{
	return conv_is_pointwise(d) ? 0 : conv_row_bytes(d);
}

size_t nn_conv2d_scratch_size(const struct nn_conv2d_dims *d)
{
	size_t row, rows, total;

	if (conv_is_pointwise(d))
		return 0;
	row = conv_row_bytes(d);
	total = (size_t)d->n * (size_t)d->ho;
	rows = CONV_IM2COL_MAX_BYTES / row;
	if (rows < 1)
		rows = 1;
	if (rows > total)
		rows = total;
	return rows * row;
}

/* col (rows, K*K*C_in) for output rows q in [q0, q1), q = n*Ho + oy, one
 * matrix row per output pixel, columns ordered (ky, kx, ci) like a weight
 * row. Out-of-image taps are zeros. For a fixed ky the valid kx are one
 * contiguous run of input pixels, so each is a single memcpy. */
static void conv_im2col(float *col, const float *inp,
			const struct nn_conv2d_dims *d, size_t q0, size_t q1)
{
	const int k = d->k, cin = d->cin, wo = d->wo;
	const size_t kkc = (size_t)k * k * cin;
	const size_t rows = (q1 - q0) * (size_t)wo;

#pragma omp parallel for schedule(static) if (rows * kkc >= NN_PAR_MIN)
	for (size_t r = 0; r < rows; r++) {
		size_t q = q0 + r / (size_t)wo;
		int ox = (int)(r % (size_t)wo);
		int n = (int)(q / (size_t)d->ho), oy = (int)(q % (size_t)d->ho);
		int ix0 = ox * d->stride - d->pad;
		int kx_lo = ix0 < 0 ? -ix0 : 0;
		int kx_hi = d->w - ix0 < k ? d->w - ix0 : k;
		float *dst = col + r * kkc;

		for (int ky = 0; ky < k; ky++, dst += (size_t)k * cin) {
			int iy = oy * d->stride - d->pad + ky;
			const float *src;

			if (iy < 0 || iy >= d->h || kx_hi <= kx_lo) {
				memset(dst, 0, (size_t)k * cin * sizeof(float));
				continue;
			}
			src = inp +
			      (((size_t)n * d->h + iy) * d->w + (ix0 + kx_lo)) *
				  cin;
			if (kx_lo > 0)
				memset(dst, 0,
				       (size_t)kx_lo * cin * sizeof(float));
			memcpy(dst + (size_t)kx_lo * cin, src,
			       (size_t)(kx_hi - kx_lo) * cin * sizeof(float));
			if (kx_hi < k)
				memset(dst + (size_t)kx_hi * cin, 0,
				       (size_t)(k - kx_hi) * cin *
					   sizeof(float));
		}
	}
}

/* dinp += col2im(dcol) for output rows [q0, q1), as a gather: each input
 * pixel sums the columns that read it, in (ky, kx) order, so threads own
 * disjoint input rows and the result does not depend on their number. */
static void conv_col2im_add(float *dinp, const float *dcol,
			    const struct nn_conv2d_dims *d, size_t q0,
			    size_t q1)
{
	const int k = d->k, cin = d->cin, s = d->stride, p = d->pad;
	const size_t kkc = (size_t)k * k * cin;
	const size_t n0 = q0 / (size_t)d->ho, n1 = (q1 - 1) / (size_t)d->ho;
	const size_t rows = (n1 - n0 + 1) * (size_t)d->h;

#pragma omp parallel for schedule(static) if (rows * (size_t)d->w * kkc >=     \
					      NN_PAR_MIN)
	for (size_t t = 0; t < rows; t++) {
		size_t n = n0 + t / (size_t)d->h;
		int iy = (int)(t % (size_t)d->h);

		for (int ix = 0; ix < d->w; ix++) {
			float *dst = dinp + ((n * d->h + iy) * d->w + ix) * cin;

			for (int ky = 0; ky < k; ky++) {
				int ty = iy + p - ky;
				size_t q;

				if (ty < 0)
					break;
				if (ty % s || ty / s >= d->ho)
					continue;
				q = n * d->ho + (size_t)(ty / s);
				if (q < q0 || q >= q1)
					continue;
				for (int kx = 0; kx < k; kx++) {
					int tx = ix + p - kx;
					const float *src;

					if (tx < 0)
						break;
					if (tx % s || tx / s >= d->wo)
						continue;
					src =
					    dcol +
					    ((q - q0) * d->wo + tx / s) * kkc +
					    ((size_t)ky * k + kx) * cin;
#pragma omp simd
					for (int c = 0; c < cin; c++)
						dst[c] += src[c];
				}
			}
		}
	}
}

static size_t conv_chunk_rows(const struct nn_conv2d_dims *d,
			      size_t scratch_bytes)
{
	size_t rows = scratch_bytes / conv_row_bytes(d);
	size_t total = (size_t)d->n * (size_t)d->ho;

	assert(rows >= 1 && "conv2d scratch below nn_conv2d_scratch_min");
	return rows > total ? total : rows;
}

void nn_conv2d_forward(float *out, const float *inp, const float *w,
		       const struct nn_conv2d_dims *d, void *scratch,
		       size_t scratch_bytes)
{
	const int kkc = d->k * d->k * d->cin;
	size_t total, chunk;

	if (conv_is_pointwise(d)) {
		/* out (NHW, C_out) = inp (NHW, C_in) x w^T. */
		int m = d->n * d->h * d->w;

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, d->cout,
			    d->cin, 1.0f, inp, d->cin, w, d->cin, 0.0f, out,
			    d->cout);
		return;
	}
	total = (size_t)d->n * (size_t)d->ho;
	chunk = conv_chunk_rows(d, scratch_bytes);
	for (size_t q0 = 0; q0 < total; q0 += chunk) {
		size_t q1 = q0 + chunk < total ? q0 + chunk : total;
		int m = (int)((q1 - q0) * (size_t)d->wo);
		float *col = scratch;

		conv_im2col(col, inp, d, q0, q1);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, d->cout,
			    kkc, 1.0f, col, kkc, w, kkc, 0.0f,
			    out + q0 * (size_t)d->wo * (size_t)d->cout,
			    d->cout);
	}
}

void nn_conv2d_backward(float *dinp, float *dw, const float *dout,
			const float *inp, const float *w,
			const struct nn_conv2d_dims *d, void *scratch,
			size_t scratch_bytes)
{
	const int kkc = d->k * d->k * d->cin;
	size_t total, chunk;

	if (conv_is_pointwise(d)) {
		int m = d->n * d->h * d->w;

		/* dw (C_out, C_in) += dout^T (C_out, NHW) x inp (NHW, C_in) */
		if (dw)
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
				    d->cout, d->cin, m, 1.0f, dout, d->cout,
				    inp, d->cin, 1.0f, dw, d->cin);
		/* dinp (NHW, C_in) += dout (NHW, C_out) x w (C_out, C_in) */
		if (dinp)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
				    m, d->cin, d->cout, 1.0f, dout, d->cout, w,
				    d->cin, 1.0f, dinp, d->cin);
		return;
	}
	total = (size_t)d->n * (size_t)d->ho;
	chunk = conv_chunk_rows(d, scratch_bytes);
	for (size_t q0 = 0; q0 < total; q0 += chunk) {
		size_t q1 = q0 + chunk < total ? q0 + chunk : total;
		int m = (int)((q1 - q0) * (size_t)d->wo);
		const float *dout_c =
		    dout + q0 * (size_t)d->wo * (size_t)d->cout;
		float *col = scratch;

		if (dw) {
			conv_im2col(col, inp, d, q0, q1);
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
				    d->cout, kkc, m, 1.0f, dout_c, d->cout, col,
				    kkc, 1.0f, dw, kkc);
		}
		if (dinp) {
			/* dcol (m, kkc) = dout (m, C_out) x w (C_out, kkc),
			 * reusing the im2col buffer. */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
				    m, kkc, d->cout, 1.0f, dout_c, d->cout, w,
				    kkc, 0.0f, col, kkc);
			conv_col2im_add(dinp, col, d, q0, q1);
		}
	}
}

void nn_conv2d_weight_from_torch(float *dst, const float *src, int cout,
				 int cin, int k)
{
	for (int o = 0; o < cout; o++)
		for (int ci = 0; ci < cin; ci++)
			for (int ky = 0; ky < k; ky++)
				for (int kx = 0; kx < k; kx++)
					dst[(((size_t)o * k + ky) * k + kx) *
						cin +
					    ci] =
					    src[(((size_t)o * cin + ci) * k +
						 ky) *
						    k +
						kx];
}

void nn_conv2d_weight_to_torch(float *dst, const float *src, int cout, int cin,
			       int k)
{
	for (int o = 0; o < cout; o++)
		for (int ci = 0; ci < cin; ci++)
			for (int ky = 0; ky < k; ky++)
				for (int kx = 0; kx < k; kx++)
					dst[(((size_t)o * cin + ci) * k + ky) *
						k +
					    kx] =
					    src[(((size_t)o * k + ky) * k +
						 kx) *
						    cin +
						ci];
}
