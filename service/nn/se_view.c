/* SPDX-License-Identifier: Apache-2.0 */
/* se_view.c - squeeze-excitation on a tensor seen through a BN view (the
 * fused path): the pool reads the view, the rescale is left to the next
 * layer's view (a gate), and backward works in place on the gradient. */
#include "nn/nn.h"
#include "nn/nn_internal.h"
#include "nn/nn_view.h"

#include <assert.h>
#include <string.h>

static inline __attribute__((always_inline)) void
pool_image(float *o, const float *x, size_t hw, int c, const float *mean,
	   const float *scale, const float *beta, const enum nn_act a)
{
	for (int ch = 0; ch < c; ch++)
		o[ch] = 0.0f;
	for (size_t p = 0; p < hw; p++) {
		const float *xr = x + p * c;

#pragma omp simd
		for (int ch = 0; ch < c; ch++)
			o[ch] +=
			    nn_act_value(a, nn_view_z(xr[ch], mean[ch],
						      scale[ch], beta[ch]));
	}
	for (int ch = 0; ch < c; ch++)
		o[ch] /= (float)hw;
}

/* The per-image and per-slice passes, one pool task each. */
struct se_pass {
	float *out, *dx;
	double *sums;
	const float *x, *gate, *dpooled;
	const struct nn_bn_view *v;
	size_t hw, pix;
	int c, ns;
};

static struct nn_pool *se_pool(struct nn_pool *pool, const struct nn_shape *s)
{
	return nn_shape_count(s) >= NN_PAR_MIN ? pool : NULL;
}

static void pool_task(void *ctx, int n, int worker)
{
	const struct se_pass *q = ctx;
	const struct nn_bn_view *v = q->v;
	const int c = q->c;

	(void)worker;
#define POOL(A)                                                                \
	pool_image(q->out + (size_t)n * c, q->x + (size_t)n * q->hw * c,       \
		   q->hw, c, v->mean, v->scale, v->beta, A)
	NN_ACT_DISPATCH(v->act, POOL);
#undef POOL
}

void nn_se_forward_view(float *pooled, float *hidden, float *gate,
			const float *x, const struct nn_bn_view *v,
			const float *w1, const float *b1, const float *w2,
			const float *b2, const struct nn_shape *s, int r,
			struct nn_pool *pool)
{
	const size_t hw = (size_t)s->h * s->w;
	const int c = s->c;
	const size_t nr = (size_t)s->n * r, nc = (size_t)s->n * c;
	struct se_pass q = {.out = pooled, .x = x, .v = v, .hw = hw, .c = c};

	assert(!v->gate);
	nn_pool_run(se_pool(pool, s), s->n, pool_task, &q);
	/* as nn_se_forward */
	nn_linear_forward(hidden, pooled, w1, b1, s->n, c, r);
	for (size_t i = 0; i < nr; i++)
		hidden[i] = hidden[i] < 0.0f ? 0.0f : hidden[i]; /* NaN stays */
	nn_linear_forward(gate, hidden, w2, b2, s->n, r, c);
	for (size_t i = 0; i < nc; i++)
		gate[i] = nn_sigmoidf(gate[i]);
}

/* dg[ch] = sum over the image's pixels of d * v(x). */
static inline __attribute__((always_inline)) void
dgate_image(float *dg, const float *d, const float *x, size_t hw, int c,
	    const float *mean, const float *scale, const float *beta,
	    const enum nn_act a)
{
	for (int ch = 0; ch < c; ch++)
		dg[ch] = 0.0f;
	for (size_t p = 0; p < hw; p++) {
		const float *xr = x + p * c, *dr = d + p * c;

#pragma omp simd
		for (int ch = 0; ch < c; ch++)
			dg[ch] +=
			    dr[ch] *
			    nn_act_value(a, nn_view_z(xr[ch], mean[ch],
						      scale[ch], beta[ch]));
	}
}

static void dgate_task(void *ctx, int n, int worker)
{
	const struct se_pass *q = ctx;
	const struct nn_bn_view *v = q->v;
	const int c = q->c;
	float *dg = q->out + (size_t)n * c;
	const float *gn = q->gate + (size_t)n * c;

	(void)worker;
#define DGATE(A)                                                               \
	dgate_image(dg, q->dx + (size_t)n * q->hw * c,                         \
		    q->x + (size_t)n * q->hw * c, q->hw, c, v->mean, v->scale, \
		    v->beta, A)
	NN_ACT_DISPATCH(v->act, DGATE);
#undef DGATE
	for (int ch = 0; ch < c; ch++)
		dg[ch] *= gn[ch] * (1.0f - gn[ch]);
}

/* dx = dx * gate (the rescale) + dpooled / HW (the pool), then the
 * BN-backward sums of the result while it is in cache. */
static void rescale_task(void *ctx, int sl, int worker)
{
	const struct se_pass *q = ctx;
	const int c = q->c;
	const size_t hw = q->hw;
	const float inv = 1.0f / (float)hw;
	size_t p0 = nn_slice_begin(q->pix, q->ns, sl);
	size_t p1 = nn_slice_begin(q->pix, q->ns, sl + 1);
	double *s1 = q->sums ? q->sums + (size_t)sl * 2 * c : NULL;

	(void)worker;
	if (s1)
		memset(s1, 0, 2 * (size_t)c * sizeof(double));
	for (size_t b0 = p0; b0 < p1; b0 += NN_BLOCK_ROWS) {
		size_t b1 = p1 - b0 < NN_BLOCK_ROWS ? p1 : b0 + NN_BLOCK_ROWS;

		for (size_t p = b0; p < b1; p++) {
			const float *g = q->gate + (p / hw) * c;
			const float *dp = q->dpooled + (p / hw) * c;
			float *di = q->dx + p * c;

#pragma omp simd
			for (int ch = 0; ch < c; ch++)
				di[ch] = di[ch] * g[ch] + dp[ch] * inv;
		}
		if (s1)
			nn_view_grad_sums(s1, s1 + c, q->dx + b0 * c, (size_t)c,
					  q->x + b0 * c, (size_t)c, q->v, 0, c,
					  b1 - b0);
	}
}

void nn_se_backward_view(float *dx, double *in_sums, float *dw1, float *db1,
			 float *dw2, float *db2, const float *x,
			 const struct nn_bn_view *v, const float *pooled,
			 const float *hidden, const float *gate,
			 const float *w1, const float *w2,
			 const struct nn_shape *s, int r, void *scratch,
			 struct nn_pool *pool)
{
	const size_t hw = (size_t)s->h * s->w;
	const size_t pix = (size_t)s->n * hw;
	const int c = s->c;
	const size_t nr = (size_t)s->n * r, nc = (size_t)s->n * c;
	float *dgate = scratch;
	float *dpooled = dgate + nc;
	float *dhidden = dpooled + nc;
	struct se_pass q = {.out = dgate,
			    .dx = dx,
			    .sums = in_sums,
			    .x = x,
			    .gate = gate,
			    .dpooled = dpooled,
			    .v = v,
			    .hw = hw,
			    .pix = pix,
			    .c = c,
			    .ns = nn_slices_for(pix)};

	assert(!v->gate);
	nn_pool_run(se_pool(pool, s), s->n, dgate_task, &q);
	/* as nn_se_backward */
	memset(dhidden, 0, nr * sizeof(float));
	nn_linear_backward(dhidden, dw2, db2, dgate, hidden, w2, s->n, r, c);
	for (size_t i = 0; i < nr; i++)
		if (!(hidden[i] > 0.0f))
			dhidden[i] = 0.0f;
	memset(dpooled, 0, nc * sizeof(float));
	nn_linear_backward(dpooled, dw1, db1, dhidden, pooled, w1, s->n, c, r);
	nn_pool_run(se_pool(pool, s), q.ns, rescale_task, &q);
}
