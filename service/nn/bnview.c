/* SPDX-License-Identifier: Apache-2.0 */
/* bnview.c - batch norm seen through views, for the fused kernels: rows
 * through a view, statistics and backward sums from partial sums, the
 * standalone view passes (apply with a residual, backward sums, backward
 * apply). */
#include "nn/nn.h"
#include "nn/nn_internal.h"
#include "nn/nn_view.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* Channels per stack block in nn_bn_view_apply's second view. */
#define VIEW_TMP 256

void nn_view_rows(float *dst, size_t ld_dst, const float *src, size_t ld_src,
		  const struct nn_bn_view *v, int c0, int c, size_t r0,
		  size_t rows)
{
	const float *mean = v->mean + c0, *scale = v->scale + c0;
	const float *beta = v->beta + c0;
	const size_t hw = v->hw ? v->hw : 1;

	assert(!v->gate || c0 == 0);
	/* the gate's row stride is the tensor's channel count, which a view
	 * used with a gate covers whole: c0 == 0 */
#define VIEW_ROWS(A)                                                           \
	for (size_t i = 0; i < rows; i++) {                                    \
		const float *g =                                               \
		    v->gate ? v->gate + ((r0 + i) / hw) * (size_t)c : NULL;    \
		nn_view_row(dst + i * ld_dst, src + i * ld_src, mean, scale,   \
			    beta, g, c, A);                                    \
	}
	NN_ACT_DISPATCH(v->act, VIEW_ROWS);
#undef VIEW_ROWS
}

/* Per-channel sums are taken in float over blocks of SUM_ROWS rows (in
 * registers and L1), then added to the double totals: as exact as summing
 * in double for the sizes here, at a fraction of the conversions. */
#define SUM_ROWS 16
#define SUM_CH	 256

static inline __attribute__((always_inline)) void
grad_sums_rows(double *s1, double *s2, const float *d, size_t ld_d,
	       const float *x, size_t ld_x, const float *mean,
	       const float *rstd, const float *scale, const float *beta, int c,
	       size_t rows, const enum nn_act a)
{
	float f1[SUM_CH], f2[SUM_CH];

	for (int c0 = 0; c0 < c; c0 += SUM_CH) {
		const int cb = c - c0 < SUM_CH ? c - c0 : SUM_CH;
		const float *mn = mean + c0, *rs = rstd + c0;
		const float *sc = scale + c0, *bt = beta + c0;

		for (size_t r0 = 0; r0 < rows; r0 += SUM_ROWS) {
			size_t r1 = rows - r0 < SUM_ROWS ? rows : r0 + SUM_ROWS;

			for (int ch = 0; ch < cb; ch++)
				f1[ch] = f2[ch] = 0.0f;
			for (size_t r = r0; r < r1; r++) {
				const float *dr = d + r * ld_d + c0;
				const float *xr = x + r * ld_x + c0;

#pragma omp simd
				for (int ch = 0; ch < cb; ch++) {
					float z = nn_view_z(xr[ch], mn[ch],
							    sc[ch], bt[ch]);
					float dz = dr[ch] * nn_act_grad(a, z);
					float xh = (xr[ch] - mn[ch]) * rs[ch];

					f1[ch] += dz;
					f2[ch] += dz * xh;
				}
			}
			for (int ch = 0; ch < cb; ch++) {
				s1[c0 + ch] += f1[ch];
				s2[c0 + ch] += f2[ch];
			}
		}
	}
}

/* Adds the 8 lanes of f1 and f2 to s1[0, n), s2[0, n) (n <= 8). */
static inline void sums_add(double *s1, double *s2, nn_v8 f1, nn_v8 f2, int n)
{
	for (int l = 0; l < n; l++) {
		s1[l] += f1[l];
		s2[l] += f2[l];
	}
}

void nn_moments_rows(double *s1, double *s2, const float *x, size_t ld, int c,
		     size_t rows)
{
	/* 32 channels at a time, their sums in eight registers while the
	 * rows stream by (summing into arrays would store every element) */
	int c0 = 0;

	for (; c0 + 32 <= c; c0 += 32) {
		for (size_t r0 = 0; r0 < rows; r0 += SUM_ROWS) {
			size_t r1 = rows - r0 < SUM_ROWS ? rows : r0 + SUM_ROWS;
			nn_v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
			nn_v8 q0 = {0}, q1 = {0}, q2 = {0}, q3 = {0};

			for (size_t r = r0; r < r1; r++) {
				const float *row = x + r * ld + c0;
				nn_v8 x0 = nn_v8_load(row);
				nn_v8 x1 = nn_v8_load(row + 8);
				nn_v8 x2 = nn_v8_load(row + 16);
				nn_v8 x3 = nn_v8_load(row + 24);

				a0 += x0;
				a1 += x1;
				a2 += x2;
				a3 += x3;
				q0 += x0 * x0;
				q1 += x1 * x1;
				q2 += x2 * x2;
				q3 += x3 * x3;
			}
			sums_add(s1 + c0, s2 + c0, a0, q0, 8);
			sums_add(s1 + c0 + 8, s2 + c0 + 8, a1, q1, 8);
			sums_add(s1 + c0 + 16, s2 + c0 + 16, a2, q2, 8);
			sums_add(s1 + c0 + 24, s2 + c0 + 24, a3, q3, 8);
		}
	}
	for (; c0 < c; c0 += 8) {
		const int n = c - c0 < 8 ? c - c0 : 8;

		for (size_t r0 = 0; r0 < rows; r0 += SUM_ROWS) {
			size_t r1 = rows - r0 < SUM_ROWS ? rows : r0 + SUM_ROWS;
			nn_v8 a0 = {0}, q0 = {0};

			for (size_t r = r0; r < r1; r++) {
				const float *row = x + r * ld + c0;
				nn_v8 x0 = {0};

				if (n == 8) {
					x0 = nn_v8_load(row);
				} else {
					for (int l = 0; l < n; l++)
						x0[l] = row[l];
				}
				a0 += x0;
				q0 += x0 * x0;
			}
			sums_add(s1 + c0, s2 + c0, a0, q0, n);
		}
	}
}

void nn_view_grad_sums(double *s1, double *s2, const float *d, size_t ld_d,
		       const float *x, size_t ld_x, const struct nn_bn_view *v,
		       int c0, int c, size_t rows)
{
#define GRAD_SUMS(A)                                                           \
	grad_sums_rows(s1, s2, d, ld_d, x, ld_x, v->mean + c0, v->rstd + c0,   \
		       v->scale + c0, v->beta + c0, c, rows, A)
	NN_ACT_DISPATCH(v->act, GRAD_SUMS);
#undef GRAD_SUMS
}

static inline __attribute__((always_inline)) void
rows_sums(float *dst, size_t ld_dst, const float *src, size_t ld_src,
	  const float *mean, const float *rstd, const float *scale,
	  const float *beta, int c, size_t rows, const float *d, size_t ld_d,
	  double *s1, double *s2, const enum nn_act a)
{
	float f1[SUM_CH], f2[SUM_CH];

	for (int c0 = 0; c0 < c; c0 += SUM_CH) {
		const int cb = c - c0 < SUM_CH ? c - c0 : SUM_CH;
		const float *mn = mean + c0, *rs = rstd + c0;
		const float *sc = scale + c0, *bt = beta + c0;

		for (size_t r0 = 0; r0 < rows; r0 += SUM_ROWS) {
			size_t r1 = rows - r0 < SUM_ROWS ? rows : r0 + SUM_ROWS;

			for (int ch = 0; ch < cb; ch++)
				f1[ch] = f2[ch] = 0.0f;
			for (size_t r = r0; r < r1; r++) {
				const float *xr = src + r * ld_src + c0;
				const float *dr = d + r * ld_d + c0;
				float *o = dst + r * ld_dst + c0;

#pragma omp simd
				for (int ch = 0; ch < cb; ch++) {
					float z = nn_view_z(xr[ch], mn[ch],
							    sc[ch], bt[ch]);
					float gr;
					float val = nn_act_both(a, z, &gr);
					float dz = dr[ch] * gr;
					float xh = (xr[ch] - mn[ch]) * rs[ch];

					o[ch] = val;
					f1[ch] += dz;
					f2[ch] += dz * xh;
				}
			}
			for (int ch = 0; ch < cb; ch++) {
				s1[c0 + ch] += f1[ch];
				s2[c0 + ch] += f2[ch];
			}
		}
	}
}

void nn_view_rows_sums(float *dst, size_t ld_dst, const float *src,
		       size_t ld_src, const struct nn_bn_view *v, int c0, int c,
		       size_t rows, const float *d, size_t ld_d, double *s1,
		       double *s2)
{
	assert(!v->gate);
#define ROWS_SUMS(A)                                                           \
	rows_sums(dst, ld_dst, src, ld_src, v->mean + c0, v->rstd + c0,        \
		  v->scale + c0, v->beta + c0, c, rows, d, ld_d, s1, s2, A)
	NN_ACT_DISPATCH(v->act, ROWS_SUMS);
#undef ROWS_SUMS
}

static inline __attribute__((always_inline)) void
rows_stash(float *dst, float *slope, float *xhat, size_t ld_dst,
	   const float *src, size_t ld_src, const float *mean,
	   const float *rstd, const float *scale, const float *beta, int c,
	   size_t rows, const enum nn_act a)
{
	for (size_t r = 0; r < rows; r++) {
		const float *xr = src + r * ld_src;
		float *o = dst + r * ld_dst, *g = slope + r * ld_dst;
		float *h = xhat + r * ld_dst;

#pragma omp simd
		for (int ch = 0; ch < c; ch++) {
			float z =
			    nn_view_z(xr[ch], mean[ch], scale[ch], beta[ch]);
			float gr;

			o[ch] = nn_act_both(a, z, &gr);
			g[ch] = gr;
			h[ch] = (xr[ch] - mean[ch]) * rstd[ch];
		}
	}
}

void nn_view_rows_stash(float *dst, float *slope, float *xh, size_t ld_dst,
			const float *src, size_t ld_src,
			const struct nn_bn_view *v, int c0, int c, size_t rows)
{
	assert(!v->gate);
#define ROWS_STASH(A)                                                          \
	rows_stash(dst, slope, xh, ld_dst, src, ld_src, v->mean + c0,          \
		   v->rstd + c0, v->scale + c0, v->beta + c0, c, rows, A)
	NN_ACT_DISPATCH(v->act, ROWS_STASH);
#undef ROWS_STASH
}

void nn_stash_sums(double *s1, double *s2, const float *d, size_t ld_d,
		   const float *slope, const float *xh, size_t ld, int c,
		   size_t rows)
{
	float f1[SUM_CH], f2[SUM_CH];

	for (int c0 = 0; c0 < c; c0 += SUM_CH) {
		const int cb = c - c0 < SUM_CH ? c - c0 : SUM_CH;

		for (size_t r0 = 0; r0 < rows; r0 += SUM_ROWS) {
			size_t r1 = rows - r0 < SUM_ROWS ? rows : r0 + SUM_ROWS;

			for (int ch = 0; ch < cb; ch++)
				f1[ch] = f2[ch] = 0.0f;
			for (size_t r = r0; r < r1; r++) {
				const float *dr = d + r * ld_d + c0;
				const float *g = slope + r * ld + c0;
				const float *h = xh + r * ld + c0;

#pragma omp simd
				for (int ch = 0; ch < cb; ch++) {
					float dz = dr[ch] * g[ch];

					f1[ch] += dz;
					f2[ch] += dz * h[ch];
				}
			}
			for (int ch = 0; ch < cb; ch++) {
				s1[c0 + ch] += f1[ch];
				s2[c0 + ch] += f2[ch];
			}
		}
	}
}

void nn_bn_stats_finish(float *mean, float *rstd, float *scale,
			float *running_mean, float *running_var,
			const float *gamma, const double *part, int ns,
			size_t pix, int c)
{
	for (int ch = 0; ch < c; ch++) {
		double s1 = 0.0, s2 = 0.0, m, var, unbiased;

		for (int sl = 0; sl < ns; sl++) {
			s1 += part[(size_t)sl * 2 * c + ch];
			s2 += part[(size_t)sl * 2 * c + c + ch];
		}
		m = s1 / (double)pix;
		var = s2 / (double)pix - m * m;
		if (var < 0.0)
			var = 0.0;
		unbiased =
		    pix > 1 ? var * (double)pix / (double)(pix - 1) : var;
		mean[ch] = (float)m;
		rstd[ch] = (float)(1.0 / sqrt(var + (double)NN_BN_EPS));
		scale[ch] = rstd[ch] * gamma[ch];
		running_mean[ch] = (1.0f - NN_BN_MOMENTUM) * running_mean[ch] +
				   NN_BN_MOMENTUM * (float)m;
		running_var[ch] = (1.0f - NN_BN_MOMENTUM) * running_var[ch] +
				  NN_BN_MOMENTUM * (float)unbiased;
	}
}

/* The standalone passes' work: nn_slices_for(pix) fixed slices of the
 * pixels (fixed for the sums' determinism), one pool task each. */
struct pass {
	float *out;
	const float *x, *add, *d;
	double *part;
	const struct nn_bn_view *v, *add_view;
	const struct nn_bn_grad *g;
	size_t pix;
	int c, ns;
};

/* Small passes run on the caller: a task list costs more than they do. */
static struct nn_pool *pass_pool(struct nn_pool *pool, size_t pix, int c)
{
	return pix * (size_t)c >= NN_PAR_MIN ? pool : NULL;
}

static void moments_task(void *ctx, int sl, int worker)
{
	const struct pass *q = ctx;
	const int c = q->c;
	double *s1 = q->part + (size_t)sl * 2 * c;
	size_t p0 = nn_slice_begin(q->pix, q->ns, sl);
	size_t p1 = nn_slice_begin(q->pix, q->ns, sl + 1);

	(void)worker;
	memset(s1, 0, 2 * (size_t)c * sizeof(double));
	nn_moments_rows(s1, s1 + c, q->x + p0 * c, (size_t)c, c, p1 - p0);
}

void nn_bn_moments(double *part, const float *x, size_t pix, int c,
		   struct nn_pool *pool)
{
	struct pass q = {.x = x, .part = part, .pix = pix, .c = c};

	q.ns = nn_slices_for(pix);
	nn_pool_run(pass_pool(pool, pix, c), q.ns, moments_task, &q);
}

void nn_bn_eval_scale(float *scale, const float *running_var,
		      const float *gamma, int c)
{
	/* as nn_bn_act_forward_eval */
	for (int ch = 0; ch < c; ch++)
		scale[ch] = gamma[ch] / sqrtf(running_var[ch] + NN_BN_EPS);
}

static void apply_task(void *ctx, int sl, int worker)
{
	const struct pass *q = ctx;
	const int c = q->c;
	size_t p0 = nn_slice_begin(q->pix, q->ns, sl);
	size_t p1 = nn_slice_begin(q->pix, q->ns, sl + 1);
	float tmp[VIEW_TMP];

	(void)worker;
	nn_view_rows(q->out + p0 * c, (size_t)c, q->x + p0 * c, (size_t)c, q->v,
		     0, c, p0, p1 - p0);
	if (!q->add)
		return;
	for (size_t p = p0; p < p1; p++) {
		float *o = q->out + p * c;
		const float *ar = q->add + p * c;

		if (!q->add_view) {
#pragma omp simd
			for (int ch = 0; ch < c; ch++)
				o[ch] += ar[ch];
			continue;
		}
		for (int c0 = 0; c0 < c; c0 += VIEW_TMP) {
			int cb = c - c0 < VIEW_TMP ? c - c0 : VIEW_TMP;
			struct nn_bn_view av = *q->add_view;

			/* a gated add view is not needed by lmnas */
			av.gate = NULL;
			nn_view_rows(tmp, 0, ar + c0, 0, &av, c0, cb, 0, 1);
#pragma omp simd
			for (int ch = 0; ch < cb; ch++)
				o[c0 + ch] += tmp[ch];
		}
	}
}

void nn_bn_view_apply(float *out, const float *x, const struct nn_bn_view *v,
		      const float *add, const struct nn_bn_view *add_view,
		      size_t pix, int c, struct nn_pool *pool)
{
	struct pass q = {.out = out,
			 .x = x,
			 .add = add,
			 .v = v,
			 .add_view = add_view,
			 .pix = pix,
			 .c = c};

	q.ns = nn_slices_for(pix);
	nn_pool_run(pass_pool(pool, pix, c), q.ns, apply_task, &q);
}

int nn_bn_grad_slices(size_t pix)
{
	return nn_slices_for(pix);
}

static void grad_sums_task(void *ctx, int sl, int worker)
{
	const struct pass *q = ctx;
	const int c = q->c;
	double *s1 = q->part + (size_t)sl * 2 * c;
	size_t p0 = nn_slice_begin(q->pix, q->ns, sl);
	size_t p1 = nn_slice_begin(q->pix, q->ns, sl + 1);

	(void)worker;
	memset(s1, 0, 2 * (size_t)c * sizeof(double));
	nn_view_grad_sums(s1, s1 + c, q->d + p0 * c, (size_t)c, q->x + p0 * c,
			  (size_t)c, q->v, 0, c, p1 - p0);
}

void nn_bn_grad_sums(double *part, const float *dout, const float *x,
		     const struct nn_bn_view *v, size_t pix, int c,
		     struct nn_pool *pool)
{
	struct pass q = {
	    .x = x, .d = dout, .part = part, .v = v, .pix = pix, .c = c};

	q.ns = nn_slices_for(pix);
	nn_pool_run(pass_pool(pool, pix, c), q.ns, grad_sums_task, &q);
}

void nn_bn_grad_finish(float *dgamma, float *dbeta, float *m1, float *m2,
		       const double *part, int ns, size_t pix, int c)
{
	for (int ch = 0; ch < c; ch++) {
		double s1 = 0.0, s2 = 0.0;

		for (int sl = 0; sl < ns; sl++) {
			s1 += part[(size_t)sl * 2 * c + ch];
			s2 += part[(size_t)sl * 2 * c + c + ch];
		}
		dbeta[ch] += (float)s1;
		dgamma[ch] += (float)s2;
		m1[ch] = (float)(s1 / (double)pix);
		m2[ch] = (float)(s2 / (double)pix);
	}
}

static inline __attribute__((always_inline)) void
grad_apply_rows(float *dp, size_t ld_dp, const float *d, size_t ld_d,
		const float *x, size_t ld_x, const float *mean,
		const float *rstd, const float *scale, const float *beta,
		const float *m1, const float *m2, int c, size_t rows,
		const enum nn_act a)
{
	for (size_t r = 0; r < rows; r++) {
		const float *dr = d + r * ld_d, *xr = x + r * ld_x;
		float *o = dp + r * ld_dp;

#pragma omp simd
		for (int ch = 0; ch < c; ch++) {
			float z =
			    nn_view_z(xr[ch], mean[ch], scale[ch], beta[ch]);
			float dz = dr[ch] * nn_act_grad(a, z);
			float xh = (xr[ch] - mean[ch]) * rstd[ch];

			o[ch] = scale[ch] * (dz - m1[ch] - xh * m2[ch]);
		}
	}
}

void nn_view_grad_rows(float *dp, size_t ld_dp, const float *d, size_t ld_d,
		       const float *x, size_t ld_x, const struct nn_bn_grad *g,
		       int c0, int c, size_t rows)
{
	const struct nn_bn_view *v = &g->v;

#define GRAD_APPLY(A)                                                          \
	grad_apply_rows(dp, ld_dp, d, ld_d, x, ld_x, v->mean + c0,             \
			v->rstd + c0, v->scale + c0, v->beta + c0, g->m1 + c0, \
			g->m2 + c0, c, rows, A)
	NN_ACT_DISPATCH(v->act, GRAD_APPLY);
#undef GRAD_APPLY
}

static void grad_apply_task(void *ctx, int sl, int worker)
{
	const struct pass *q = ctx;
	const int c = q->c;
	size_t p0 = nn_slice_begin(q->pix, q->ns, sl);
	size_t p1 = nn_slice_begin(q->pix, q->ns, sl + 1);

	(void)worker;
	nn_view_grad_rows(q->out + p0 * c, (size_t)c, q->d + p0 * c, (size_t)c,
			  q->x + p0 * c, (size_t)c, q->g, 0, c, p1 - p0);
}

void nn_bn_grad_apply(float *dpre, const float *dout, const float *x,
		      const struct nn_bn_grad *g, size_t pix, int c,
		      struct nn_pool *pool)
{
	struct pass q = {
	    .out = dpre, .x = x, .d = dout, .g = g, .pix = pix, .c = c};

	q.ns = nn_slices_for(pix);
	nn_pool_run(pass_pool(pool, pix, c), q.ns, grad_apply_task, &q);
}
