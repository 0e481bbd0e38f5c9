/* dwfused.c - the fused depthwise convolution of the model's fast path:
 * input rows read through a BN view into a small ring of zero-padded rows
 * (so the inner loops have no borders), 8 channels x 4 output pixels held in
 * registers, the output's statistics (forward); weight and input gradients
 * in one pass over the output rows, with the input's BN-backward sums taken
 * as each input row is finished (backward). Work is split by images, and
 * within an image by blocks of channels that keep the rings in cache.
 * Built with -ffp-contract=fast (Makefile): a * b + c becomes one FMA. */
#include "nn/nn.h"
#include "nn/nn_internal.h"
#include "nn/nn_view.h"

#include <limits.h>
#include <omp.h>
#include <string.h>

/* Channels per block: rings of k rows x (W + 2 pad) pixels x 64 floats. */
#define DW_CB 64
/* Pixels past a ring row's end that an 8-pixel block may read (unused). */
#define DW_SLACK 16

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

static size_t dw_row_floats(const struct nn_dwconv_dims *d)
{
	return round16((size_t)(d->w + 2 * d->pad + DW_SLACK) *
		       (size_t)dw_cb(d));
}

/* One worker: input ring, gradient ring (k rows each), the output-gradient
 * row (Wo + slack pixels), the weight block (k*k taps). */
static size_t dw_worker_floats(const struct nn_dwconv_dims *d)
{
	size_t cb = (size_t)dw_cb(d);

	return 2 * (size_t)d->k * dw_row_floats(d) +
	       round16((size_t)(d->wo + DW_SLACK) * cb) +
	       round16((size_t)d->k * d->k * cb);
}

static size_t dw_part_floats(const struct nn_dwconv_dims *d)
{
	return round16((size_t)nn_dw_slices(d) * d->k * d->k * d->c);
}

size_t nn_dw_scratch_size(const struct nn_dwconv_dims *d, int nthreads)
{
	return (dw_part_floats(d) + (size_t)nthreads * dw_worker_floats(d)) *
	       sizeof(float);
}

/* What a worker is doing: one image, one block of channels. */
struct dw_ctx {
	const struct nn_dwconv_dims *d;
	const float *inp;
	const struct nn_bn_view *v;
	size_t img;
	int c0, cbn, cbp; /* first channel, channels, padded to 8 */
	size_t rowf;	  /* floats per ring row */
	float *ring, *dring, *grow, *wbuf;
	int tag[256], dtag[256]; /* input row held by each slot (k <= 255) */
};

static void dw_ctx_init(struct dw_ctx *x, const struct nn_dwconv_dims *d,
			const float *inp, const struct nn_bn_view *v,
			float *worker)
{
	memset(x, 0, sizeof *x);
	x->d = d;
	x->inp = inp;
	x->v = v;
	x->rowf = dw_row_floats(d);
	x->ring = worker;
	x->dring = x->ring + (size_t)d->k * x->rowf;
	x->grow = x->dring + (size_t)d->k * x->rowf;
	x->wbuf = x->grow + round16((size_t)(d->wo + DW_SLACK) * dw_cb(d));
}

/* Starts image img, channels [c0, c0 + cbn): the weight block, empty
 * rings. */
static void dw_ctx_block(struct dw_ctx *x, const float *w, size_t img, int c0,
			 int cbn)
{
	const int kk = x->d->k * x->d->k;

	x->img = img;
	x->c0 = c0;
	x->cbn = cbn;
	x->cbp = nn_round8(cbn);
	for (int t = 0; t < kk; t++) {
		float *dst = x->wbuf + (size_t)t * x->cbp;

		memcpy(dst, w + (size_t)t * x->d->c + c0,
		       (size_t)cbn * sizeof(float));
		memset(dst + cbn, 0, (size_t)(x->cbp - cbn) * sizeof(float));
	}
	for (int i = 0; i < x->d->k; i++)
		x->tag[i] = x->dtag[i] = INT_MIN;
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

static int dw_slot(const struct dw_ctx *x, int iy)
{
	return (iy + x->d->pad) % x->d->k;
}

/* The padded input row iy (v applied), loaded into its ring slot. */
static const float *dw_in_row(struct dw_ctx *x, int iy)
{
	const struct nn_dwconv_dims *d = x->d;
	const int s = dw_slot(x, iy), cbp = x->cbp, cbn = x->cbn;
	float *row = x->ring + (size_t)s * x->rowf;
	const float *src;

	if (x->tag[s] == iy)
		return row;
	x->tag[s] = iy;
	if (iy < 0 || iy >= d->h) {
		memset(row, 0, x->rowf * sizeof(float));
		return row;
	}
	memset(row, 0, (size_t)d->pad * cbp * sizeof(float));
	memset(row + (size_t)(d->w + d->pad) * cbp, 0,
	       (size_t)(d->pad + DW_SLACK) * cbp * sizeof(float));
	src = x->inp + ((x->img * d->h + (size_t)iy) * d->w) * d->c + x->c0;
	if (x->v) {
		nn_view_rows(row + (size_t)d->pad * cbp, (size_t)cbp, src,
			     (size_t)d->c, x->v, x->c0, cbn,
			     (x->img * d->h + (size_t)iy) * d->w, (size_t)d->w);
	} else {
		for (int ix = 0; ix < d->w; ix++)
			dw_copy(row + (size_t)(ix + d->pad) * cbp,
				src + (size_t)ix * d->c, cbn, cbp);
	}
	if (x->v && cbn < cbp)
		for (int ix = 0; ix < d->w; ix++)
			memset(row + (size_t)(ix + d->pad) * cbp + cbn, 0,
			       (size_t)(cbp - cbn) * sizeof(float));
	return row;
}

/* Stores lanes [0, n) of v at p (n <= 8). */
static inline void dw_store(float *p, nn_v8 v, int n)
{
	if (n >= 8) {
		nn_v8_store(p, v);
		return;
	}
	for (int l = 0; l < n; l++)
		p[l] = v[l];
}

/* Output row oy of the current block into out (stride C per pixel): 8
 * output pixels x 8 channels per step, eight independent FMA chains. */
static void dw_fwd_row(struct dw_ctx *x, float *out, int oy)
{
	const struct nn_dwconv_dims *d = x->d;
	const int k = d->k, s = d->stride, cbp = x->cbp, wo = d->wo;
	const size_t ps = (size_t)s * cbp; /* floats between output pixels */
	const float *rows[256];
	float *orow = out + ((x->img * d->ho + (size_t)oy) * wo) * d->c + x->c0;

	for (int ky = 0; ky < k; ky++)
		rows[ky] = dw_in_row(x, oy * s - d->pad + ky);
	for (int c8 = 0; c8 < cbp; c8 += 8) {
		const int lanes = x->cbn - c8;

		for (int ox = 0; ox < wo; ox += 8) {
			nn_v8 a[8] = {{0}};

			for (int ky = 0; ky < k; ky++) {
				const float *ip =
				    rows[ky] + (size_t)ox * ps + c8;
				const float *wp =
				    x->wbuf + (size_t)ky * k * cbp + c8;

				for (int kx = 0; kx < k; kx++) {
					nn_v8 wv = nn_v8_load(wp);

					a[0] += nn_v8_load(ip) * wv;
					a[1] += nn_v8_load(ip + ps) * wv;
					a[2] += nn_v8_load(ip + 2 * ps) * wv;
					a[3] += nn_v8_load(ip + 3 * ps) * wv;
					a[4] += nn_v8_load(ip + 4 * ps) * wv;
					a[5] += nn_v8_load(ip + 5 * ps) * wv;
					a[6] += nn_v8_load(ip + 6 * ps) * wv;
					a[7] += nn_v8_load(ip + 7 * ps) * wv;
					ip += cbp;
					wp += cbp;
				}
			}
			for (int j = 0; j < 8 && ox + j < wo; j++)
				dw_store(orow + (size_t)(ox + j) * d->c + c8,
					 a[j], lanes);
		}
	}
}

static int dw_threads(int nthreads, int slices)
{
	if (nthreads > slices)
		nthreads = slices;
	return nthreads < 1 ? 1 : nthreads;
}

void nn_dw_forward(float *out, double *stats, const float *inp,
		   const struct nn_bn_view *v, const float *w,
		   const struct nn_dwconv_dims *d, int nthreads, void *scratch)
{
	const int ns = nn_dw_slices(d), cb = dw_cb(d), c = d->c;

#pragma omp parallel for schedule(dynamic, 1)                                  \
    num_threads(dw_threads(nthreads, ns)) if (ns > 1)
	for (int sl = 0; sl < ns; sl++) {
		struct dw_ctx x;
		size_t n0 = nn_slice_begin((size_t)d->n, ns, sl);
		size_t n1 = nn_slice_begin((size_t)d->n, ns, sl + 1);
		double *s1 = stats ? stats + (size_t)sl * 2 * c : NULL;

		dw_ctx_init(&x, d, inp, v,
			    (float *)scratch + dw_part_floats(d) +
				(size_t)omp_get_thread_num() *
				    dw_worker_floats(d));
		if (s1)
			memset(s1, 0, 2 * (size_t)c * sizeof(double));
		for (size_t img = n0; img < n1; img++) {
			for (int c0 = 0; c0 < c; c0 += cb) {
				int cbn = c - c0 < cb ? c - c0 : cb;

				dw_ctx_block(&x, w, img, c0, cbn);
				for (int oy = 0; oy < d->ho; oy++) {
					dw_fwd_row(&x, out, oy);
					if (s1)
						nn_moments_rows(
						    s1 + c0, s1 + c + c0,
						    out +
							((img * d->ho +
							  (size_t)oy) *
							 d->wo) *
							    c +
							c0,
						    (size_t)c, cbn,
						    (size_t)d->wo);
				}
			}
		}
	}
}

/* The gradient ring's slot for input row iy, zeroed when iy first comes. */
static float *dw_d_row(struct dw_ctx *x, int iy)
{
	const int s = dw_slot(x, iy);
	float *row = x->dring + (size_t)s * x->rowf;

	if (x->dtag[s] != iy) {
		x->dtag[s] = iy;
		memset(row, 0, x->rowf * sizeof(float));
	}
	return row;
}

/* Input row iy is complete: into dinp (set or add), and its BN-backward
 * sums. A row no output pixel read has a zero gradient. */
static void dw_flush(struct dw_ctx *x, float *dinp, int add, double *s1,
		     double *s2, int iy)
{
	const struct nn_dwconv_dims *d = x->d;
	const int s = dw_slot(x, iy), cbp = x->cbp, cbn = x->cbn;
	const int have = x->dtag[s] == iy;
	const float *row =
	    x->dring + (size_t)s * x->rowf + (size_t)d->pad * cbp;
	const size_t p0 = (x->img * d->h + (size_t)iy) * d->w;
	float *dst = dinp + p0 * d->c + x->c0;

	for (int ix = 0; ix < d->w; ix++) {
		float *o = dst + (size_t)ix * d->c;
		const float *r = row + (size_t)ix * cbp;

		if (!have) {
			if (!add)
				for (int l = 0; l < cbn; l++)
					o[l] = 0.0f;
		} else if (add) {
#pragma omp simd
			for (int l = 0; l < cbn; l++)
				o[l] += r[l];
		} else {
			dw_copy(o, r, cbn, cbn);
		}
	}
	if (s1)
		nn_view_grad_sums(s1 + x->c0, s2 + x->c0, dst, (size_t)d->c,
				  x->inp + p0 * d->c + x->c0, (size_t)d->c,
				  x->v, x->c0, cbn, (size_t)d->w);
}

/* Gradients of output row oy: weight partial dwp (K, K, C) and the
 * gradient ring. */
static void dw_bwd_row(struct dw_ctx *x, float *dwp, const float *dpre, int oy,
		       int need_w, int need_in)
{
	const struct nn_dwconv_dims *d = x->d;
	const int k = d->k, s = d->stride, cbp = x->cbp, wo = d->wo;
	const size_t ps = (size_t)s * cbp;
	const float *g =
	    dpre + ((x->img * d->ho + (size_t)oy) * wo) * d->c + x->c0;
	const float *rows[256];
	float *drows[256];

	/* the output gradient row, padded to whole 8-float groups */
	for (int ox = 0; ox < wo; ox++) {
		float *dst = x->grow + (size_t)ox * cbp;

		dw_copy(dst, g + (size_t)ox * d->c, x->cbn, cbp);
	}
	for (int ky = 0; ky < k; ky++) {
		int iy = oy * s - d->pad + ky;

		rows[ky] = need_w ? dw_in_row(x, iy) : NULL;
		drows[ky] = need_in ? dw_d_row(x, iy) : NULL;
	}
	for (int c8 = 0; c8 < cbp; c8 += 8) {
		const int lanes = x->cbn - c8;

		for (int ky = 0; ky < k; ky++) {
			for (int kx = 0; kx < k; kx++) {
				const size_t t = (size_t)ky * k + kx;
				const nn_v8 wv =
				    nn_v8_load(x->wbuf + t * cbp + c8);
				const size_t off = (size_t)kx * cbp + c8;
				const float *gp = x->grow + c8;
				nn_v8 aw = {0};

				if (need_w) {
					const float *ip = rows[ky] + off;
					float *wd = dwp + t * d->c + x->c0 + c8;
					nn_v8 a1 = {0}, a2 = {0}, a3 = {0};
					int ox = 0;

					/* four chains: one FMA's latency is
					 * not the loop's speed */
					for (; ox + 4 <= wo; ox += 4) {
						aw += nn_v8_load(gp) *
						      nn_v8_load(ip);
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
						aw += nn_v8_load(gp) *
						      nn_v8_load(ip);
						gp += cbp;
						ip += ps;
					}
					aw += (a1 + a2) + a3;
					gp = x->grow + c8;
					if (lanes >= 8)
						nn_v8_store(wd, nn_v8_load(wd) +
								    aw);
					else
						for (int l = 0; l < lanes; l++)
							wd[l] += aw[l];
				}
				if (need_in) {
					float *dp = drows[ky] + off;

					for (int ox = 0; ox < wo; ox++) {
						nn_v8_store(dp,
							    nn_v8_load(dp) +
								nn_v8_load(gp) *
								    wv);
						gp += cbp;
						dp += ps;
					}
				}
			}
		}
	}
}

void nn_dw_backward(float *dinp, int add, double *in_sums, float *dw,
		    const float *dpre, const float *inp,
		    const struct nn_bn_view *v, const float *w,
		    const struct nn_dwconv_dims *d, int nthreads, void *scratch)
{
	const int ns = nn_dw_slices(d), cb = dw_cb(d), c = d->c;
	const size_t kkc = (size_t)d->k * d->k * c;
	float *part = scratch;

#pragma omp parallel for schedule(dynamic, 1)                                  \
    num_threads(dw_threads(nthreads, ns)) if (ns > 1)
	for (int sl = 0; sl < ns; sl++) {
		struct dw_ctx x;
		size_t n0 = nn_slice_begin((size_t)d->n, ns, sl);
		size_t n1 = nn_slice_begin((size_t)d->n, ns, sl + 1);
		double *s1 = in_sums ? in_sums + (size_t)sl * 2 * c : NULL;
		float *dwp = part + (size_t)sl * kkc;

		dw_ctx_init(&x, d, inp, v,
			    (float *)scratch + dw_part_floats(d) +
				(size_t)omp_get_thread_num() *
				    dw_worker_floats(d));
		if (s1)
			memset(s1, 0, 2 * (size_t)c * sizeof(double));
		memset(dwp, 0, kkc * sizeof(float));
		for (size_t img = n0; img < n1; img++) {
			for (int c0 = 0; c0 < c; c0 += cb) {
				int cbn = c - c0 < cb ? c - c0 : cb;
				int next = 0; /* next input row to finish */

				dw_ctx_block(&x, w, img, c0, cbn);
				for (int oy = 0; oy < d->ho; oy++) {
					int done =
					    (oy + 1) * d->stride - d->pad;

					dw_bwd_row(&x, dwp, dpre, oy,
						   dw != NULL, dinp != NULL);
					for (;
					     dinp && next < d->h && next < done;
					     next++)
						dw_flush(&x, dinp, add, s1,
							 s1 ? s1 + c : NULL,
							 next);
				}
				for (; dinp && next < d->h; next++)
					dw_flush(&x, dinp, add, s1,
						 s1 ? s1 + c : NULL, next);
			}
		}
	}
	if (!dw)
		return;
#pragma omp parallel for schedule(static) if (kkc * (size_t)ns >= NN_PAR_MIN)
	for (size_t j = 0; j < kkc; j++) {
		float sum = 0.0f;

		for (int sl = 0; sl < ns; sl++)
			sum += part[(size_t)sl * kkc + j];
		dw[j] += sum;
	}
}
