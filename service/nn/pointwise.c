/* SPDX-License-Identifier: Apache-2.0 */
/* pointwise.c - the fused 1x1 convolution of the model's fast path: the
 * input read through a BN view and the output's statistics (forward), the
 * output's BN backward, both GEMMs and the input's BN-backward sums
 * (backward), chunk by chunk in cache, one worker per slice of pixel rows;
 * and the same for a k x k convolution (the stem) over im2col chunks. */
#include "nn/nn.h"
#include "nn/nn_internal.h"
#include "nn/nn_view.h"

#include <assert.h>
#include <cblas.h>
#include <string.h>

/* Least rows per slice: below this a slice's GEMMs get too short. */
#define PW_SLICE_ROWS 256
/* Bytes of one chunk's buffers (input rows and output-gradient rows): what
 * stays in a core's L2 between the GEMM and the pass that uses its result. */
#define PW_CHUNK_BYTES ((size_t)160 << 10)
/* Cap on the floats of the per-slice weight-gradient partials. */
#define PW_PART_MAX ((size_t)4 << 20)

int nn_pw_slices(const struct nn_pw_dims *d)
{
	size_t s = d->m / PW_SLICE_ROWS;
	size_t wc = (size_t)d->cin * (size_t)d->cout;
	size_t smax = PW_PART_MAX / (wc ? wc : 1);

	if (s > NN_SLICES)
		s = NN_SLICES;
	if (s > smax)
		s = smax;
	return s < 1 ? 1 : (int)s;
}

/* Rows per chunk. */
static size_t pw_chunk(const struct nn_pw_dims *d)
{
	size_t rows = PW_CHUNK_BYTES /
		      (((size_t)d->cin + (size_t)d->cout) * sizeof(float));

	if (rows < 16)
		rows = 16;
	if (rows > 1024)
		rows = 1024;
	return rows;
}

static size_t round16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

/* Floats of one worker's buffers: input rows (chunk, C_in) and output
 * gradient rows (chunk, C_out). */
static size_t pw_worker_floats(const struct nn_pw_dims *d)
{
	size_t ch = pw_chunk(d);

	return round16(ch * (size_t)d->cin) + round16(ch * (size_t)d->cout);
}

/* Scratch: the slices' weight-gradient partials (forward: the transposed
 * weights), then one workspace per worker. */
static size_t pw_head_floats(const struct nn_pw_dims *d)
{
	return round16((size_t)nn_pw_slices(d) * (size_t)d->cin * d->cout);
}

size_t nn_pw_scratch_size(const struct nn_pw_dims *d, int workers)
{
	return (pw_head_floats(d) + (size_t)workers * pw_worker_floats(d)) *
	       sizeof(float);
}

static float *pw_worker(void *scratch, const struct nn_pw_dims *d, int tid)
{
	return (float *)scratch + pw_head_floats(d) +
	       (size_t)tid * pw_worker_floats(d);
}

/* Where a chunk's input rows come from: the tensor as it is, through a
 * view, or (cd) the im2col rows of a k x k convolution. */
struct pw_src {
	const float *inp;
	const struct nn_bn_view *v;
	const struct nn_conv2d_dims *cd;
};

/* Rows [q0, q0 + rows) of the im2col matrix of cd: one row per output
 * pixel, columns (ky, kx, ci) as a weight row; taps outside the image are
 * zeros. */
static void pw_im2col(float *col, const float *inp,
		      const struct nn_conv2d_dims *d, size_t q0, size_t rows)
{
	const int k = d->k, cin = d->cin;
	const size_t kkc = (size_t)k * k * cin, hw = (size_t)d->ho * d->wo;
	const size_t kc = (size_t)k * cin;

	for (size_t i = 0; i < rows; i++) {
		size_t q = q0 + i, n = q / hw;
		int oy = (int)(q % hw / (size_t)d->wo);
		int ox = (int)(q % (size_t)d->wo);
		int ix0 = ox * d->stride - d->pad;
		/* the taps inside the image form one run of input pixels */
		int lo = ix0 < 0 ? -ix0 : 0;
		int hi = d->w - ix0 < k ? d->w - ix0 : k;
		float *dst = col + i * kkc;

		for (int ky = 0; ky < k; ky++, dst += kc) {
			int iy = oy * d->stride - d->pad + ky;
			size_t a = (size_t)lo * cin, b = (size_t)hi * cin;
			const float *src;

			if (iy < 0 || iy >= d->h || hi <= lo) {
				for (size_t j = 0; j < kc; j++)
					dst[j] = 0.0f;
				continue;
			}
			src = inp +
			      ((n * d->h + (size_t)iy) * d->w +
			       (size_t)(ix0 + lo)) *
				  cin -
			      a;
			for (size_t j = 0; j < a; j++)
				dst[j] = 0.0f;
			for (size_t j = a; j < b; j++)
				dst[j] = src[j];
			for (size_t j = b; j < kc; j++)
				dst[j] = 0.0f;
		}
	}
}

/* The chunk's input rows (rows x d->cin), in buf when they must be formed. */
static const float *pw_src_rows(const struct pw_src *s,
				const struct nn_pw_dims *d, size_t r,
				size_t rows, float *buf)
{
	if (s->cd) {
		pw_im2col(buf, s->inp, s->cd, r, rows);
		return buf;
	}
	if (s->v) {
		nn_view_rows(buf, (size_t)d->cin, s->inp + r * d->cin,
			     (size_t)d->cin, s->v, 0, d->cin, r, rows);
		return buf;
	}
	return s->inp + r * d->cin;
}

/* One call's work: a slice of pixel rows per pool task. */
struct pw_job {
	float *out, *dinp, *part;
	double *stats, *in_sums;
	const float *dout, *pre, *w;
	const struct nn_bn_grad *g;
	const struct pw_src *src;
	const struct nn_pw_dims *d;
	void *scratch;
	int ns, add;
	size_t chunk;
};

static void pw_fwd_task(void *ctx, int sl, int worker)
{
	const struct pw_job *j = ctx;
	const struct nn_pw_dims *d = j->d;
	const int cin = d->cin, cout = d->cout;
	float *buf = pw_worker(j->scratch, d, worker);
	size_t r0 = nn_slice_begin(d->m, j->ns, sl);
	size_t r1 = nn_slice_begin(d->m, j->ns, sl + 1);
	double *s1 = j->stats ? j->stats + (size_t)sl * 2 * cout : NULL;

	if (s1)
		memset(s1, 0, 2 * (size_t)cout * sizeof(double));
	for (size_t r = r0; r < r1; r += j->chunk) {
		size_t rows = r1 - r < j->chunk ? r1 - r : j->chunk;
		const float *a = pw_src_rows(j->src, d, r, rows, buf);
		float *o = j->out + r * cout;

		/* out rows (rows, C_out) = a (rows, C_in) w^T (C_in, C_out):
		 * OpenBLAS' small-matrix path is much faster on NN than NT */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
			    (int)rows, cout, cin, 1.0f, a, cin, j->w, cout,
			    0.0f, o, cout);
		if (s1)
			nn_moments_rows(s1, s1 + cout, o, (size_t)cout, cout,
					rows);
	}
}

static void pw_fwd(float *out, double *stats, const struct pw_src *src,
		   const float *w, const struct nn_pw_dims *d,
		   struct nn_pool *pool, void *scratch)
{
	float *wt = scratch; /* (C_in, C_out) */
	struct pw_job j = {.out = out,
			   .stats = stats,
			   .w = wt,
			   .src = src,
			   .d = d,
			   .scratch = scratch,
			   .ns = nn_pw_slices(d),
			   .chunk = pw_chunk(d)};

	for (int o = 0; o < d->cout; o++)
		for (int i = 0; i < d->cin; i++)
			wt[(size_t)i * d->cout + o] = w[(size_t)o * d->cin + i];
	nn_pool_run(pool, j.ns, pw_fwd_task, &j);
}

/* dw partial (C_out, C_in) (+)= dp^T (C_out, rows) a, or its transpose
 * a^T dp when C_in < C_out: the smaller width as the GEMM's M is the faster
 * shape here. */
static void pw_dw_gemm(float *dwp, const float *dp, const float *a, int cin,
		       int cout, size_t rows, int first)
{
	if (cin < cout)
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cin, cout,
			    (int)rows, 1.0f, a, cin, dp, cout,
			    first ? 0.0f : 1.0f, dwp, cout);
	else
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cout, cin,
			    (int)rows, 1.0f, dp, cout, a, cin,
			    first ? 0.0f : 1.0f, dwp, cin);
}

static void pw_bwd_task(void *ctx, int sl, int worker)
{
	const struct pw_job *j = ctx;
	const struct nn_pw_dims *d = j->d;
	const int cin = d->cin, cout = d->cout;
	const size_t chunk = j->chunk;
	float *abuf = pw_worker(j->scratch, d, worker);
	float *dbuf = abuf + round16(chunk * (size_t)cin);
	float *dwp = j->part + (size_t)sl * cin * cout;
	size_t r0 = nn_slice_begin(d->m, j->ns, sl);
	size_t r1 = nn_slice_begin(d->m, j->ns, sl + 1);
	double *s1 = j->in_sums ? j->in_sums + (size_t)sl * 2 * cin : NULL;

	if (s1)
		memset(s1, 0, 2 * (size_t)cin * sizeof(double));
	for (size_t r = r0; r < r1; r += chunk) {
		size_t rows = r1 - r < chunk ? r1 - r : chunk;
		const float *dp = j->dout + r * cout;
		const float *a;

		if (j->g) {
			nn_view_grad_rows(dbuf, (size_t)cout, dp, (size_t)cout,
					  j->pre + r * cout, (size_t)cout, j->g,
					  0, cout, rows);
			dp = dbuf;
		}
		if (s1 && !j->src->cd) {
			/* the input gradient first, then the input's view
			 * and its BN-backward sums in one pass (one
			 * activation evaluation per element) */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
				    (int)rows, cin, cout, 1.0f, dp, cout, j->w,
				    cin, j->add ? 1.0f : 0.0f,
				    j->dinp + r * cin, cin);
			nn_view_rows_sums(
			    abuf, (size_t)cin, j->src->inp + r * cin,
			    (size_t)cin, j->src->v, 0, cin, rows,
			    j->dinp + r * cin, (size_t)cin, s1, s1 + cin);
			pw_dw_gemm(dwp, dp, abuf, cin, cout, rows, r == r0);
			continue;
		}
		a = pw_src_rows(j->src, d, r, rows, abuf);
		pw_dw_gemm(dwp, dp, a, cin, cout, rows, r == r0);
		if (!j->dinp)
			continue;
		/* dinp rows (rows, C_in) (+)= dp (rows, C_out) w */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
			    (int)rows, cin, cout, 1.0f, dp, cout, j->w, cin,
			    j->add ? 1.0f : 0.0f, j->dinp + r * cin, cin);
	}
}

static void pw_bwd(float *dinp, int add, double *in_sums, float *dw,
		   const float *dout, const float *pre,
		   const struct nn_bn_grad *g, const struct pw_src *src,
		   const float *w, const struct nn_pw_dims *d,
		   struct nn_pool *pool, void *scratch)
{
	const size_t wc = (size_t)d->cin * d->cout;
	struct pw_job j = {.dinp = dinp,
			   .part = scratch,
			   .in_sums = in_sums,
			   .dout = dout,
			   .pre = pre,
			   .w = w,
			   .g = g,
			   .src = src,
			   .d = d,
			   .scratch = scratch,
			   .ns = nn_pw_slices(d),
			   .add = add,
			   .chunk = pw_chunk(d)};

	nn_pool_run(pool, j.ns, pw_bwd_task, &j);
	/* the slices' partials in slice order */
	for (int o = 0; o < d->cout; o++) {
		for (int i = 0; i < d->cin; i++) {
			size_t k = d->cin < d->cout ? (size_t)i * d->cout + o
						    : (size_t)o * d->cin + i;
			float sum = 0.0f;

			for (int sl = 0; sl < j.ns; sl++)
				sum += j.part[(size_t)sl * wc + k];
			dw[(size_t)o * d->cin + i] += sum;
		}
	}
}

void nn_pw_forward(float *out, double *stats, const float *inp,
		   const struct nn_bn_view *v, const float *w,
		   const struct nn_pw_dims *d, struct nn_pool *pool,
		   void *scratch)
{
	struct pw_src src = {inp, v, NULL};

	pw_fwd(out, stats, &src, w, d, pool, scratch);
}

void nn_pw_backward(float *dinp, int add, double *in_sums, float *dw,
		    const float *dout, const float *pre,
		    const struct nn_bn_grad *g, const float *inp,
		    const struct nn_bn_view *v, const float *w,
		    const struct nn_pw_dims *d, struct nn_pool *pool,
		    void *scratch)
{
	struct pw_src src = {inp, v, NULL};

	assert(!in_sums || (dinp && v && !v->gate));
	pw_bwd(dinp, add, in_sums, dw, dout, pre, g, &src, w, d, pool, scratch);
}

/* The k x k convolution as the 1x1 kernel over its im2col rows. */
static struct nn_pw_dims conv_pw_dims(const struct nn_conv2d_dims *d)
{
	struct nn_pw_dims p = {(size_t)d->n * d->ho * d->wo,
			       d->k * d->k * d->cin, d->cout};

	return p;
}

int nn_conv2d_fused_slices(const struct nn_conv2d_dims *d)
{
	struct nn_pw_dims p = conv_pw_dims(d);

	return nn_pw_slices(&p);
}

size_t nn_conv2d_fused_scratch_size(const struct nn_conv2d_dims *d, int workers)
{
	struct nn_pw_dims p = conv_pw_dims(d);

	return nn_pw_scratch_size(&p, workers);
}

void nn_conv2d_forward_fused(float *out, double *stats, const float *inp,
			     const float *w, const struct nn_conv2d_dims *d,
			     struct nn_pool *pool, void *scratch)
{
	struct nn_pw_dims p = conv_pw_dims(d);
	struct pw_src src = {inp, NULL, d};

	pw_fwd(out, stats, &src, w, &p, pool, scratch);
}

void nn_conv2d_backward_fused(float *dw, const float *dout, const float *pre,
			      const struct nn_bn_grad *g, const float *inp,
			      const struct nn_conv2d_dims *d,
			      struct nn_pool *pool, void *scratch)
{
	struct nn_pw_dims p = conv_pw_dims(d);
	struct pw_src src = {inp, NULL, d};

	pw_bwd(NULL, 0, NULL, dw, dout, pre, g, &src, NULL, &p, pool, scratch);
}
