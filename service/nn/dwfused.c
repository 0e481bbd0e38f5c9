/* SPDX-License-Identifier: Apache-2.0 */
/* dwfused.c - the fused depthwise convolution of the model's fast path. Rows
 * are staged in small rings of zero-padded rows (so no inner loop has a
 * border case): forward reads its input through a BN view and takes the
 * output's statistics; backward computes the weight gradient per output
 * row and the input gradient as a gather, one input row at a time, split by
 * stride phase so that every multiply is a real one, and takes the input's
 * BN-backward sums as each row is finished. One kernel, 8 output pixels x 8
 * channels held in registers, serves the forward and the input gradient.
 * Work is split by images, and within an image by blocks of 64 channels
 * that keep the rings in cache. Built with -ffp-contract=fast (Makefile): a
 * * b + c on vectors becomes one FMA. */
#include "nn/nn.h"
#include "nn/nn_internal.h"
#include "nn/nn_view.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

/* Channels per block. */
#define DW_CB 64

int nn_dw_slices(const struct nn_dwconv_dims *d)
{
	return d->n < NN_SLICES ? d->n : NN_SLICES;
}

/* Channels per block (a multiple of 8). */
static int dw_cb(const struct nn_dwconv_dims *d)
{
	int cp = nn_round8(d->c);

	return cp < DW_CB ? cp : DW_CB;
}

static size_t round16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

/* Pixels past a ring row's end that an 8-pixel block may read. */
static int dw_slack(const struct nn_dwconv_dims *d)
{
	return 8 * d->stride + 8;
}

/* Input ring rows: pixel ix at (ix + pad). */
static size_t dw_in_floats(const struct nn_dwconv_dims *d)
{
	return round16((size_t)(d->w + 2 * d->pad + dw_slack(d)) *
		       (size_t)dw_cb(d));
}

/* Gradient ring rows: pixel ox at (ox + k). */
static size_t dw_g_floats(const struct nn_dwconv_dims *d)
{
	return round16((size_t)(d->wo + 2 * d->k + dw_slack(d)) *
		       (size_t)dw_cb(d));
}

/* One worker: input ring (with, for the input's BN-backward sums, rings of
 * act'(z) and xhat beside it) and gradient ring, k rows each; the weight
 * block and its phase-ordered copy. */
static size_t dw_worker_floats(const struct nn_dwconv_dims *d)
{
	return (size_t)d->k * (3 * dw_in_floats(d) + dw_g_floats(d)) +
	       2 * round16((size_t)d->k * d->k * dw_cb(d));
}

static size_t dw_part_floats(const struct nn_dwconv_dims *d)
{
	return round16((size_t)nn_dw_slices(d) * d->k * d->k * d->c);
}

size_t nn_dw_scratch_size(const struct nn_dwconv_dims *d, int workers)
{
	return (dw_part_floats(d) + (size_t)workers * dw_worker_floats(d)) *
	       sizeof(float);
}

/* What a worker is doing: one image, one block of channels. */
struct dw_ctx {
	const struct nn_dwconv_dims *d;
	const float *inp, *dout, *pre;
	const struct nn_bn_view *v;
	const struct nn_bn_grad *g; /* dout's BN backward, or NULL */
	size_t img;
	int c0, cbn, cbp; /* first channel, channels, padded to 8 */
	size_t inf, gf;	  /* floats per ring row */
	float *ring, *gring, *wbuf, *wph;
	float *sring, *xring; /* act'(z), xhat of the input rows (stash) */
	int stash;
	int tag[256], gtag[256]; /* row held by each slot (k <= 255) */
};

static void dw_ctx_init(struct dw_ctx *x, const struct nn_dwconv_dims *d,
			const float *inp, const struct nn_bn_view *v,
			const float *dout, const float *pre,
			const struct nn_bn_grad *g, void *scratch, int worker)
{
	float *wk = (float *)scratch + dw_part_floats(d) +
		    (size_t)worker * dw_worker_floats(d);

	memset(x, 0, sizeof *x);
	x->d = d;
	x->inp = inp;
	x->v = v;
	x->dout = dout;
	x->pre = pre;
	x->g = g;
	x->inf = dw_in_floats(d);
	x->gf = dw_g_floats(d);
	x->ring = wk;
	x->gring = x->ring + (size_t)d->k * x->inf;
	x->wbuf = x->gring + (size_t)d->k * x->gf;
	x->wph = x->wbuf + round16((size_t)d->k * d->k * dw_cb(d));
	x->sring = x->wph + round16((size_t)d->k * d->k * dw_cb(d));
	x->xring = x->sring + (size_t)d->k * x->inf;
}

/* Taps of one stride phase: k indices i with i mod s == a. */
static int dw_phase_taps(int k, int s, int a)
{
	return a < k ? (k - 1 - a) / s + 1 : 0;
}

/* Offset (in taps) of phase (a, b)'s block in the phase-ordered weights. */
static int dw_phase_off(int k, int s, int a, int b)
{
	int before_a = 0, before_b = 0;

	for (int i = 0; i < a; i++)
		before_a += dw_phase_taps(k, s, i);
	for (int i = 0; i < b; i++)
		before_b += dw_phase_taps(k, s, i);
	return before_a * k + dw_phase_taps(k, s, a) * before_b;
}

/* Starts image img, channels [c0, c0 + cbn): the weight block (and, for
 * backward, its phase blocks: phase (a, b) holds the taps ky = a + s i,
 * kx = b + s j in reverse order), empty rings. */
static void dw_ctx_block(struct dw_ctx *x, const float *w, size_t img, int c0,
			 int cbn, int phases)
{
	const int k = x->d->k, s = x->d->stride;

	x->img = img;
	x->c0 = c0;
	x->cbn = cbn;
	x->cbp = nn_round8(cbn);
	for (int t = 0; t < k * k; t++) {
		float *dst = x->wbuf + (size_t)t * x->cbp;

		memcpy(dst, w + (size_t)t * x->d->c + c0,
		       (size_t)cbn * sizeof(float));
		memset(dst + cbn, 0, (size_t)(x->cbp - cbn) * sizeof(float));
	}
	for (int a = 0; phases && a < s && a < k; a++) {
		for (int b = 0; b < s && b < k; b++) {
			int ny = dw_phase_taps(k, s, a);
			int nx = dw_phase_taps(k, s, b);
			float *dst =
			    x->wph + (size_t)dw_phase_off(k, s, a, b) * x->cbp;

			for (int i = 0; i < ny; i++)
				for (int j = 0; j < nx; j++) {
					int ky = a + s * (ny - 1 - i);
					int kx = b + s * (nx - 1 - j);

					memcpy(dst + ((size_t)i * nx + j) *
							 x->cbp,
					       x->wbuf + ((size_t)ky * k + kx) *
							     x->cbp,
					       (size_t)x->cbp * sizeof(float));
				}
		}
	}
	for (int i = 0; i < k; i++)
		x->tag[i] = x->gtag[i] = INT_MIN;
}

/* dst[0, cbn) = src[0, cbn), dst[cbn, cbp) = 0: one pixel's channels,
 * inline (a call per pixel would cost more than the copy). */
static inline void dw_copy(float *dst, const float *src, int cbn, int cbp)
{
	int l = 0;

	for (; l + 8 <= cbn; l += 8)
		nn_v8_store(dst + l, nn_v8_load(src + l));
	for (; l < cbn; l++)
		dst[l] = src[l];
	for (; l < cbp; l++)
		dst[l] = 0.0f;
}

static int dw_mod(int i, int k)
{
	int r = i % k;

	return r < 0 ? r + k : r;
}

/* The padded input row iy (v applied) in its ring slot. */
static const float *dw_in_row(struct dw_ctx *x, int iy)
{
	const struct nn_dwconv_dims *d = x->d;
	const int s = dw_mod(iy, d->k), cbp = x->cbp, cbn = x->cbn;
	float *row = x->ring + (size_t)s * x->inf;
	const float *src;

	if (x->tag[s] == iy)
		return row;
	x->tag[s] = iy;
	if (iy < 0 || iy >= d->h) {
		memset(row, 0, x->inf * sizeof(float));
		return row;
	}
	memset(row, 0, (size_t)d->pad * cbp * sizeof(float));
	memset(row + (size_t)(d->w + d->pad) * cbp, 0,
	       (x->inf - (size_t)(d->w + d->pad) * cbp) * sizeof(float));
	src = x->inp + ((x->img * d->h + (size_t)iy) * d->w) * d->c + x->c0;
	if (x->v && x->stash) {
		size_t o = (size_t)s * x->inf + (size_t)d->pad * cbp;

		nn_view_rows_stash(row + (size_t)d->pad * cbp, x->sring + o,
				   x->xring + o, (size_t)cbp, src, (size_t)d->c,
				   x->v, x->c0, cbn, (size_t)d->w);
		if (cbn < cbp)
			for (int ix = 0; ix < d->w; ix++)
				memset(row + (size_t)(ix + d->pad) * cbp + cbn,
				       0, (size_t)(cbp - cbn) * sizeof(float));
	} else if (x->v) {
		nn_view_rows(row + (size_t)d->pad * cbp, (size_t)cbp, src,
			     (size_t)d->c, x->v, x->c0, cbn,
			     (x->img * d->h + (size_t)iy) * d->w, (size_t)d->w);
		if (cbn < cbp)
			for (int ix = 0; ix < d->w; ix++)
				memset(row + (size_t)(ix + d->pad) * cbp + cbn,
				       0, (size_t)(cbp - cbn) * sizeof(float));
	} else {
		for (int ix = 0; ix < d->w; ix++)
			dw_copy(row + (size_t)(ix + d->pad) * cbp,
				src + (size_t)ix * d->c, cbn, cbp);
	}
	return row;
}

/* The padded gradient row oy of the conv's output (zeros outside [0, Ho))
 * in its ring slot, pixel ox at (ox + k): dout's row, or its BN backward
 * through g, formed here so that it never goes through memory. */
static const float *dw_g_row(struct dw_ctx *x, int oy)
{
	const struct nn_dwconv_dims *d = x->d;
	const int s = dw_mod(oy, d->k), cbp = x->cbp, k = d->k;
	float *row = x->gring + (size_t)s * x->gf;
	const float *src;

	if (x->gtag[s] == oy)
		return row;
	x->gtag[s] = oy;
	if (oy < 0 || oy >= d->ho) {
		memset(row, 0, x->gf * sizeof(float));
		return row;
	}
	memset(row, 0, (size_t)k * cbp * sizeof(float));
	memset(row + (size_t)(d->wo + k) * cbp, 0,
	       (x->gf - (size_t)(d->wo + k) * cbp) * sizeof(float));
	src = x->dout + ((x->img * d->ho + (size_t)oy) * d->wo) * d->c + x->c0;
	if (x->g) {
		nn_view_grad_rows(
		    row + (size_t)k * cbp, (size_t)cbp, src, (size_t)d->c,
		    x->pre + ((x->img * d->ho + (size_t)oy) * d->wo) * d->c +
			x->c0,
		    (size_t)d->c, x->g, x->c0, x->cbn, (size_t)d->wo);
		if (x->cbn < cbp)
			for (int ox = 0; ox < d->wo; ox++)
				memset(row + (size_t)(ox + k) * cbp + x->cbn, 0,
				       (size_t)(cbp - x->cbn) * sizeof(float));
		return row;
	}
	for (int ox = 0; ox < d->wo; ox++)
		dw_copy(row + (size_t)(ox + k) * cbp, src + (size_t)ox * d->c,
			x->cbn, cbp);
	return row;
}

/* Stores (or adds) lanes [0, n) of v at p (n <= 8). */
static inline void dw_store(float *p, nn_v8 v, int n, int add)
{
	if (n >= 8) {
		nn_v8_store(p, add ? nn_v8_load(p) + v : v);
		return;
	}
	for (int l = 0; l < n; l++)
		p[l] = add ? p[l] + v[l] : v[l];
}

/* One row of a correlation: output pixel j < n (at orow + j * ostride) =
 * sum over nrows rows i and ntx taps t of rows[i][j * step + t * cbp] *
 * wb[i][t], per channel; 8 pixels x 8 channels per step, eight independent
 * FMA chains, pixels outer so that a block's inputs stay in L1 while every
 * group of 8 channels reads them. Inlined with a constant ntx (the tap
 * loop unrolled) for the common kernel widths. */
static inline __attribute__((always_inline)) void
dw_row_kernel_t(const float *const *rows, int nrows, const float *wb,
		const int ntx, size_t step, int cbp, int cbn, int n,
		float *orow, size_t ostride, int add)
{
	for (int ox = 0; ox < n; ox += 8) {
		float *o = orow + (size_t)ox * ostride;

		for (int c8 = 0; c8 < cbp; c8 += 8) {
			const int lanes = cbn - c8;
			/* named, not an array: they stay in registers */
			nn_v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
			nn_v8 a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};

			for (int i = 0; i < nrows; i++) {
				const float *ip =
				    rows[i] + (size_t)ox * step + c8;
				const float *wp =
				    wb + (size_t)i * ntx * cbp + c8;

				for (int t = 0; t < ntx; t++) {
					nn_v8 wv = nn_v8_load(wp + t * cbp);
					const float *q = ip + t * cbp;

					a0 += nn_v8_load(q) * wv;
					a1 += nn_v8_load(q + step) * wv;
					a2 += nn_v8_load(q + 2 * step) * wv;
					a3 += nn_v8_load(q + 3 * step) * wv;
					a4 += nn_v8_load(q + 4 * step) * wv;
					a5 += nn_v8_load(q + 5 * step) * wv;
					a6 += nn_v8_load(q + 6 * step) * wv;
					a7 += nn_v8_load(q + 7 * step) * wv;
				}
			}
			dw_store(o + c8, a0, lanes, add);
			if (ox + 8 <= n) {
				dw_store(o + ostride + c8, a1, lanes, add);
				dw_store(o + 2 * ostride + c8, a2, lanes, add);
				dw_store(o + 3 * ostride + c8, a3, lanes, add);
				dw_store(o + 4 * ostride + c8, a4, lanes, add);
				dw_store(o + 5 * ostride + c8, a5, lanes, add);
				dw_store(o + 6 * ostride + c8, a6, lanes, add);
				dw_store(o + 7 * ostride + c8, a7, lanes, add);
				continue;
			}
			if (ox + 1 < n)
				dw_store(o + ostride + c8, a1, lanes, add);
			if (ox + 2 < n)
				dw_store(o + 2 * ostride + c8, a2, lanes, add);
			if (ox + 3 < n)
				dw_store(o + 3 * ostride + c8, a3, lanes, add);
			if (ox + 4 < n)
				dw_store(o + 4 * ostride + c8, a4, lanes, add);
			if (ox + 5 < n)
				dw_store(o + 5 * ostride + c8, a5, lanes, add);
			if (ox + 6 < n)
				dw_store(o + 6 * ostride + c8, a6, lanes, add);
		}
	}
}

static void dw_row_kernel(const float *const *rows, int nrows, const float *wb,
			  int ntx, size_t step, int cbp, int cbn, int n,
			  float *orow, size_t ostride, int add)
{
#define DW_ROW(T)                                                              \
	dw_row_kernel_t(rows, nrows, wb, T, step, cbp, cbn, n, orow, ostride,  \
			add)
	switch (ntx) {
	case 1: DW_ROW(1); break;
	case 2: DW_ROW(2); break;
	case 3: DW_ROW(3); break;
	case 4: DW_ROW(4); break;
	case 5: DW_ROW(5); break;
	case 7: DW_ROW(7); break;
	default: DW_ROW(ntx); break;
	}
#undef DW_ROW
}

/* One call's work: a slice of whole images per pool task. */
struct dw_job {
	float *out, *dinp, *part;
	double *stats, *in_sums;
	const float *inp, *dout, *pre, *w;
	const struct nn_bn_view *v;
	const struct nn_bn_grad *g;
	const struct nn_dwconv_dims *d;
	void *scratch;
	int ns, add, need_w;
};

static void dw_fwd_task(void *ctx, int sl, int worker)
{
	const struct dw_job *j = ctx;
	const struct nn_dwconv_dims *d = j->d;
	const int cb = dw_cb(d), c = d->c;
	struct dw_ctx x;
	size_t n0 = nn_slice_begin((size_t)d->n, j->ns, sl);
	size_t n1 = nn_slice_begin((size_t)d->n, j->ns, sl + 1);
	double *s1 = j->stats ? j->stats + (size_t)sl * 2 * c : NULL;
	const float *rows[256];

	dw_ctx_init(&x, d, j->inp, j->v, NULL, NULL, NULL, j->scratch, worker);
	if (s1)
		memset(s1, 0, 2 * (size_t)c * sizeof(double));
	for (size_t img = n0; img < n1; img++) {
		for (int c0 = 0; c0 < c; c0 += cb) {
			int cbn = c - c0 < cb ? c - c0 : cb;

			dw_ctx_block(&x, j->w, img, c0, cbn, 0);
			for (int oy = 0; oy < d->ho; oy++) {
				float *orow =
				    j->out +
				    ((img * d->ho + (size_t)oy) * d->wo) * c +
				    c0;

				for (int ky = 0; ky < d->k; ky++)
					rows[ky] = dw_in_row(
					    &x, oy * d->stride - d->pad + ky);
				dw_row_kernel(rows, d->k, x.wbuf, d->k,
					      (size_t)d->stride * x.cbp, x.cbp,
					      cbn, d->wo, orow, (size_t)c, 0);
				if (s1)
					nn_moments_rows(s1 + c0, s1 + c + c0,
							orow, (size_t)c, cbn,
							(size_t)d->wo);
			}
		}
	}
}

void nn_dw_forward(float *out, double *stats, const float *inp,
		   const struct nn_bn_view *v, const float *w,
		   const struct nn_dwconv_dims *d, struct nn_pool *pool,
		   void *scratch)
{
	struct dw_job j = {.out = out,
			   .stats = stats,
			   .inp = inp,
			   .w = w,
			   .v = v,
			   .d = d,
			   .scratch = scratch,
			   .ns = nn_dw_slices(d)};

	nn_pool_run(pool, j.ns, dw_fwd_task, &j);
}

/* Weight-gradient partial dwp (K, K, C) += output row oy's share. */
static void dw_bwd_weight_row(struct dw_ctx *x, float *dwp, int oy)
{
	const struct nn_dwconv_dims *d = x->d;
	const int k = d->k, cbp = x->cbp, wo = d->wo;
	const size_t ps = (size_t)d->stride * cbp;
	const float *g = dw_g_row(x, oy) + (size_t)k * cbp;
	const float *rows[256];

	for (int ky = 0; ky < k; ky++)
		rows[ky] = dw_in_row(x, oy * d->stride - d->pad + ky);
	for (int c8 = 0; c8 < cbp; c8 += 8) {
		const int lanes = x->cbn - c8;

		for (int ky = 0; ky < k; ky++) {
			for (int kx = 0; kx < k; kx++) {
				const float *ip =
				    rows[ky] + (size_t)kx * cbp + c8;
				const float *gp = g + c8;
				float *wd = dwp + ((size_t)ky * k + kx) * d->c +
					    x->c0 + c8;
				nn_v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
				int ox = 0;

				/* four chains: one FMA's latency is not the
				 * loop's speed */
				for (; ox + 4 <= wo; ox += 4) {
					a0 += nn_v8_load(gp) * nn_v8_load(ip);
					a1 += nn_v8_load(gp + cbp) *
					      nn_v8_load(ip + ps);
					a2 += nn_v8_load(gp + 2 * cbp) *
					      nn_v8_load(ip + 2 * ps);
					a3 += nn_v8_load(gp + 3 * cbp) *
					      nn_v8_load(ip + 3 * ps);
					gp += 4 * cbp;
					ip += 4 * ps;
				}
				for (; ox < wo; ox++) {
					a0 += nn_v8_load(gp) * nn_v8_load(ip);
					gp += cbp;
					ip += ps;
				}
				dw_store(wd, (a0 + a1) + (a2 + a3), lanes, 1);
			}
		}
	}
}

/* Input-gradient row iy (a gather over the gradient ring, one stride phase
 * of the row's pixels at a time) into dinp (set or add), then its
 * BN-backward sums. */
static void dw_bwd_input_row(struct dw_ctx *x, float *dinp, int add, double *s1,
			     double *s2, int iy)
{
	const struct nn_dwconv_dims *d = x->d;
	const int k = d->k, s = d->stride, p = d->pad, cbp = x->cbp;
	const int a = (iy + p) % s, top = (iy + p) / s;
	const int ny = dw_phase_taps(k, s, a);
	const size_t p0 = (x->img * d->h + (size_t)iy) * d->w;
	float *drow = dinp + p0 * d->c + x->c0;
	const float *grows[256], *rows[256];

	for (int i = 0; i < ny; i++)
		grows[i] = dw_g_row(x, top - ny + 1 + i);
	for (int r = 0; r < s && r < d->w; r++) {
		const int b = (r + p) % s, nx = dw_phase_taps(k, s, b);
		const int off = (r + p - b) / s - nx + 1 + k; /* >= 1 */
		const int nm = (d->w - r + s - 1) / s;

		for (int i = 0; i < ny; i++)
			rows[i] = grows[i] + (size_t)off * cbp;
		dw_row_kernel(rows, nx ? ny : 0,
			      x->wph + (size_t)dw_phase_off(k, s, a, b) * cbp,
			      nx, (size_t)cbp, cbp, x->cbn, nm,
			      drow + (size_t)r * d->c, (size_t)s * d->c, add);
	}
	if (s1) {
		/* act'(z) and xhat were stashed when the row was staged */
		size_t o = (size_t)dw_mod(iy, k) * x->inf + (size_t)p * cbp;

		(void)dw_in_row(x, iy);
		nn_stash_sums(s1 + x->c0, s2 + x->c0, drow, (size_t)d->c,
			      x->sring + o, x->xring + o, (size_t)cbp, x->cbn,
			      (size_t)d->w);
	}
}

static void dw_bwd_task(void *ctx, int sl, int worker)
{
	const struct dw_job *j = ctx;
	const struct nn_dwconv_dims *d = j->d;
	const int cb = dw_cb(d), c = d->c;
	const size_t kkc = (size_t)d->k * d->k * c;
	struct dw_ctx x;
	size_t n0 = nn_slice_begin((size_t)d->n, j->ns, sl);
	size_t n1 = nn_slice_begin((size_t)d->n, j->ns, sl + 1);
	double *s1 = j->in_sums ? j->in_sums + (size_t)sl * 2 * c : NULL;
	float *dwp = j->part + (size_t)sl * kkc;

	dw_ctx_init(&x, d, j->inp, j->v, j->dout, j->pre, j->g, j->scratch,
		    worker);
	x.stash = s1 != NULL;
	if (s1)
		memset(s1, 0, 2 * (size_t)c * sizeof(double));
	memset(dwp, 0, kkc * sizeof(float));
	for (size_t img = n0; img < n1; img++) {
		for (int c0 = 0; c0 < c; c0 += cb) {
			int cbn = c - c0 < cb ? c - c0 : cb;
			int iy = 0; /* next input-gradient row */

			dw_ctx_block(&x, j->w, img, c0, cbn, j->dinp != NULL);
			for (int oy = 0; oy < d->ho; oy++) {
				if (j->need_w)
					dw_bwd_weight_row(&x, dwp, oy);
				/* rows whose last gradient row is in */
				for (; j->dinp && iy < d->h &&
				       (iy + d->pad) / d->stride <= oy;
				     iy++)
					dw_bwd_input_row(&x, j->dinp, j->add,
							 s1, s1 ? s1 + c : NULL,
							 iy);
			}
			for (; j->dinp && iy < d->h; iy++)
				dw_bwd_input_row(&x, j->dinp, j->add, s1,
						 s1 ? s1 + c : NULL, iy);
		}
	}
}

void nn_dw_backward(float *dinp, int add, double *in_sums, float *dw,
		    const float *dout, const float *pre,
		    const struct nn_bn_grad *g, const float *inp,
		    const struct nn_bn_view *v, const float *w,
		    const struct nn_dwconv_dims *d, struct nn_pool *pool,
		    void *scratch)
{
	const size_t kkc = (size_t)d->k * d->k * d->c;
	struct dw_job j = {.dinp = dinp,
			   .part = scratch,
			   .in_sums = in_sums,
			   .inp = inp,
			   .dout = dout,
			   .pre = pre,
			   .w = w,
			   .v = v,
			   .g = g,
			   .d = d,
			   .scratch = scratch,
			   .ns = nn_dw_slices(d),
			   .add = add,
			   .need_w = dw != NULL};

	assert(!in_sums || (dinp && v && !v->gate));
	nn_pool_run(pool, j.ns, dw_bwd_task, &j);
	if (!dw)
		return;
	/* the slices' partials in slice order */
	for (size_t k = 0; k < kkc; k++) {
		float sum = 0.0f;

		for (int sl = 0; sl < j.ns; sl++)
			sum += j.part[(size_t)sl * kkc + k];
		dw[k] += sum;
	}
}
