/* SPDX-License-Identifier: Apache-2.0 */
/* test_nn_fused_dw.c - the fused depthwise convolution against the
 * reference layer (strides 1 and 2, kernels 1 to 7, channel counts that are
 * not multiples of 8 or span several channel blocks, more images than
 * slices; forward, statistics, input and weight gradients, through the
 * output BN, the input's BN-backward sums, set and add modes), the worker
 * pool (every task once, many lists back to back, failures), and the same
 * bits from every fused kernel for 1 and 2 workers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/fusedtest.h"
#include "nn/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- depthwise --------------------------------------------------------- */

struct dw_case {
	int n, h, w, c, k, stride;
	enum nn_act in_act;
	int view;
};

static void run_dw_case(const struct dw_case *dc)
{
	struct core_rng r;
	struct nn_dwconv_dims d;
	struct nn_shape sin = {dc->n, dc->h, dc->w, dc->c};
	struct ft_bn in;
	char err[CORE_ERR_LEN], what[96];
	size_t nin, nout, nw;
	int ns;
	float *a, *w, *out, *want, *dpre, *dinp, *dinpw, *dw, *dww;
	double *stats, *insums;
	void *scr, *rscr;
	const struct nn_bn_view *v;

	core_rng_seed(&r, 4);
	assert_int_equal(nn_dwconv_dims_init(&d, dc->n, dc->h, dc->w, dc->c,
					     dc->k, dc->stride, dc->k / 2, err,
					     sizeof err),
			 CORE_OK);
	snprintf(what, sizeof what, "dw n%d %dx%d c%d k%d s%d %s%s", dc->n,
		 dc->h, dc->w, dc->c, dc->k, dc->stride,
		 nn_act_name(dc->in_act), dc->view ? " view" : "");
	ns = nn_dw_slices(&d);
	nin = nn_shape_count(&sin);
	nout = (size_t)d.n * d.ho * d.wo * d.c;
	nw = (size_t)d.k * d.k * d.c;
	scr = ft_scratch(nn_dw_scratch_size(&d, 1));
	rscr = ft_scratch(nn_dwconv_scratch_size(&d));
	ft_bn_make(&in, sin, dc->in_act, &r);
	a = dc->view ? in.y : in.x; /* what the conv reads */
	v = dc->view ? &in.v : NULL;
	w = ft_rand(nw, &r, -0.5f, 0.5f);
	out = ft_zero(nout);
	want = ft_zero(nout);
	stats = core_calloc((size_t)ns * 2 * d.c, sizeof(double));
	insums = core_calloc((size_t)ns * 2 * d.c, sizeof(double));
	assert_non_null(stats);
	assert_non_null(insums);

	nn_dwconv_forward(want, a, w, &d);
	nn_dw_forward(out, stats, in.x, v, w, &d, NULL, scr);
	ft_close(what, out, want, nout, 1e-5);
	{
		/* statistics against a plain sum in double */
		for (int ch = 0; ch < d.c; ch++) {
			double s1 = 0.0, s2 = 0.0, f1 = 0.0, f2 = 0.0;

			for (size_t p = 0; p < nout / d.c; p++) {
				s1 += want[p * d.c + ch];
				s2 += (double)want[p * d.c + ch] *
				      want[p * d.c + ch];
			}
			for (int sl = 0; sl < ns; sl++) {
				f1 += stats[(size_t)sl * 2 * d.c + ch];
				f2 += stats[(size_t)sl * 2 * d.c + d.c + ch];
			}
			assert_true(fabs(f1 - s1) <=
				    1e-4 * fmax(1.0, fabs(s1)));
			assert_true(fabs(f2 - s2) <=
				    1e-4 * fmax(1.0, fabs(s2)));
		}
	}

	dpre = ft_rand(nout, &r, -1.0f, 1.0f);
	dinp = ft_zero(nin);
	dinpw = ft_zero(nin);
	dw = ft_zero(nw);
	dww = ft_zero(nw);
	nn_dwconv_backward(dinpw, dww, dpre, a, w, &d, rscr);
	memset(dinp, 0xff, nin * sizeof *dinp); /* set, not add */
	nn_dw_backward(dinp, 0, v ? insums : NULL, dw, dpre, NULL, NULL, in.x,
		       v, w, &d, NULL, scr);
	ft_close("dw dinp", dinp, dinpw, nin, 1e-5);
	ft_close("dw dw", dw, dww, nw, 1e-4);
	if (v) {
		float *idg = ft_zero(d.c), *idb = ft_zero(d.c);
		float *idgw = ft_zero(d.c), *idbw = ft_zero(d.c);
		float *im1 = ft_zero(d.c), *im2 = ft_zero(d.c),
		      *tmp = ft_zero(nin);

		ft_bn_backward(&in, dinpw, tmp, idgw, idbw);
		ft_finish_sums(insums, ns, nin / d.c, d.c, idg, idb, im1, im2);
		ft_close("dw in-sums dgamma", idg, idgw, d.c, 1e-4);
		ft_close("dw in-sums dbeta", idb, idbw, d.c, 1e-4);
		core_free(idg);
		core_free(idb);
		core_free(idgw);
		core_free(idbw);
		core_free(im1);
		core_free(im2);
		core_free(tmp);
	}
	/* add mode, and no weight gradient */
	nn_dw_backward(dinp, 1, NULL, NULL, dpre, NULL, NULL, in.x, v, w, &d,
		       NULL, scr);
	for (size_t i = 0; i < nin; i++)
		dinpw[i] *= 2.0f;
	ft_close("dw dinp add", dinp, dinpw, nin, 1e-5);
	/* no input gradient: the weight gradient alone */
	memset(dw, 0, nw * sizeof *dw);
	nn_dw_backward(NULL, 0, NULL, dw, dpre, NULL, NULL, in.x, v, w, &d,
		       NULL, scr);
	ft_close("dw dw alone", dw, dww, nw, 1e-4);
	{
		/* through the output's BN: dpre is the BN backward of dout */
		struct nn_shape so = {d.n, d.ho, d.wo, d.c};
		struct ft_bn ob;
		float *dout = ft_rand(nout, &r, -1.0f, 1.0f);
		float *dg = ft_zero(d.c), *db = ft_zero(d.c);
		float *m1 = ft_zero(d.c), *m2 = ft_zero(d.c);
		double *part =
		    core_calloc((size_t)nn_bn_grad_slices(nout / d.c) * 2 * d.c,
				sizeof(double));
		struct nn_bn_grad g;

		assert_non_null(part);
		ft_bn_make(&ob, so, NN_ACT_RELU6, &r);
		ft_bn_backward(&ob, dout, dpre, dg, db);
		memset(dinpw, 0, nin * sizeof *dinpw);
		memset(dww, 0, nw * sizeof *dww);
		nn_dwconv_backward(dinpw, dww, dpre, a, w, &d, rscr);
		nn_bn_grad_sums(part, dout, ob.x, &ob.v, nout / d.c, d.c, NULL);
		ft_finish_sums(part, nn_bn_grad_slices(nout / d.c), nout / d.c,
			       d.c, dg, db, m1, m2);
		g.v = ob.v;
		g.m1 = m1;
		g.m2 = m2;
		memset(dw, 0, nw * sizeof *dw);
		nn_dw_backward(dinp, 0, NULL, dw, dout, ob.x, &g, in.x, v, w,
			       &d, NULL, scr);
		ft_close("dw dinp through BN", dinp, dinpw, nin, 1e-5);
		ft_close("dw dw through BN", dw, dww, nw, 1e-4);
		fusedtest_bn_free(&ob);
		core_free(dout);
		core_free(dg);
		core_free(db);
		core_free(m1);
		core_free(m2);
		core_free(part);
	}

	fusedtest_bn_free(&in);
	core_free(w);
	core_free(out);
	core_free(want);
	core_free(stats);
	core_free(insums);
	core_free(dpre);
	core_free(dinp);
	core_free(dinpw);
	core_free(dw);
	core_free(dww);
	core_free(scr);
	core_free(rscr);
}

static void dw_matches_reference(void **state)
{
	static const struct dw_case cases[] = {
	    {2, 7, 9, 13, 3, 1, NN_ACT_RELU6, 1},
	    {3, 10, 8, 70, 3, 2, NN_ACT_SWISH, 1},
	    {2, 9, 9, 24, 5, 2, NN_ACT_HSWISH, 1},
	    {2, 6, 6, 8, 5, 1, NN_ACT_NONE, 0},
	    {2, 5, 6, 16, 1, 2, NN_ACT_RELU, 1},
	    {1, 4, 4, 3, 3, 2, NN_ACT_LEAKYRELU, 0},
	    {2, 11, 11, 129, 7, 1, NN_ACT_SIGMOID, 1},
	    {40, 3, 3, 8, 3, 1, NN_ACT_RELU, 1}, /* more images than slices */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_dw_case(&cases[i]);
}

/* ---- the worker pool ------------------------------------------------------
 */

struct count_ctx {
	int *hits;   /* per task */
	int *worker; /* per task: the worker that ran it */
	int workers;
};

static void count_task(void *ctx, int task, int worker)
{
	struct count_ctx *c = ctx;

	c->hits[task]++;
	c->worker[task] = worker;
}

struct count_run {
	struct nn_pool *pool;
	struct count_ctx c;
	int lists, ntasks;
};

static void count_session(void *ctx)
{
	struct count_run *r = ctx;

	/* many lists back to back: generations must not mix */
	for (int l = 0; l < r->lists; l++)
		nn_pool_run(r->pool, r->ntasks, count_task, &r->c);
}

static void pool_runs_every_task_once(void **state)
{
	struct nn_pool *p = NULL;
	char err[CORE_ERR_LEN];
	int hits[257], worker[257];
	struct count_run r = {
	    .c = {hits, worker, 2}, .lists = 500, .ntasks = 257};

	assert_int_equal(nn_pool_create(0, &p, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_null(p);
	core_alloc_fail_after(0);
	assert_int_equal(nn_pool_create(2, &p, err, sizeof err),
			 CORE_ERR_NOMEM);
	core_alloc_fail_after(-1);
	assert_null(p);
	assert_int_equal(nn_pool_create(2, &p, err, sizeof err), CORE_OK);
	assert_int_equal(nn_pool_workers(p), 2);
	assert_int_equal(nn_pool_workers(NULL), 1);
	r.pool = p;
	memset(hits, 0, sizeof hits);
	nn_pool_session(p, count_session, &r);
	for (int i = 0; i < 257; i++) {
		assert_int_equal(hits[i], 500);
		assert_true(worker[i] >= 0 && worker[i] < 2);
	}
	/* outside a session, and without a pool: in order on the caller */
	memset(hits, 0, sizeof hits);
	nn_pool_run(p, 257, count_task, &r.c);
	nn_pool_run(NULL, 257, count_task, &r.c);
	for (int i = 0; i < 257; i++) {
		assert_int_equal(hits[i], 2);
		assert_int_equal(worker[i], 0);
	}
	nn_pool_free(p);
	nn_pool_free(NULL);
}

/* ---- the same bits for any thread count ---------------------------------- */

/* Every fused kernel on one input set, results in one buffer. */
struct fused_run {
	struct nn_pool *pool;
	struct ft_bn in;
	struct nn_pw_dims pd;
	struct nn_dwconv_dims dd;
	struct nn_shape s;
	float *res, *w, *wd, *dout, *w1, *b1, *w2, *b2, *dx;
	double *stats;
	void *scr;
	size_t len;
};

static void fused_session(void *ctx)
{
	struct fused_run *f = ctx;
	struct nn_pool *p = f->pool;
	size_t nin = nn_shape_count(&f->s), nout = f->pd.m * 40, pos = 0;
	float *res = f->res;

	nn_pw_forward(res + pos, f->stats, f->in.x, &f->in.v, f->w, &f->pd, p,
		      f->scr);
	pos += nout;
	for (int i = 0; i < NN_SLICES * 2 * 40; i++)
		res[pos++] = (float)f->stats[i];
	nn_pw_backward(res + pos, 0, f->stats, res + pos + nin, f->dout, NULL,
		       NULL, f->in.x, &f->in.v, f->w, &f->pd, p, f->scr);
	pos += nin + 24 * 40;
	for (int i = 0; i < NN_SLICES * 2 * 24; i++)
		res[pos++] = (float)f->stats[i];
	nn_dw_backward(res + pos, 0, f->stats, res + pos + nin, f->dout, NULL,
		       NULL, f->in.x, &f->in.v, f->wd, &f->dd, p, f->scr);
	pos += nin + 25 * 24;
	for (int i = 0; i < 4 * 2 * 24; i++)
		res[pos++] = (float)f->stats[i];
	nn_dw_forward(res + pos, f->stats, f->in.x, &f->in.v, f->wd, &f->dd, p,
		      f->scr);
	pos += (size_t)f->dd.n * f->dd.ho * f->dd.wo * 24;
	nn_bn_view_apply(res + pos, f->in.x, &f->in.v, f->dout, NULL, nin / 24,
			 24, p);
	pos += nin;
	nn_bn_grad_sums(f->stats, f->dout, f->in.x, &f->in.v, nin / 24, 24, p);
	for (int i = 0; i < NN_SLICES * 2 * 24; i++)
		res[pos++] = (float)f->stats[i];
	nn_se_forward_view(res + pos, res + pos + 96, res + pos + 120, f->in.x,
			   &f->in.v, f->w1, f->b1, f->w2, f->b2, &f->s, 6, p);
	memcpy(f->dx, f->dout, nin * sizeof *f->dx);
	nn_se_backward_view(f->dx, f->stats, res + pos + 216,
			    res + pos + 216 + 144, res + pos + 216 + 150,
			    res + pos + 216 + 294, f->in.x, &f->in.v, res + pos,
			    res + pos + 96, res + pos + 120, f->w1, f->w2,
			    &f->s, 6, f->scr, p);
	pos += 216 + 318;
	memcpy(res + pos, f->dx, nin * sizeof *f->dx);
	pos += nin;
	f->len = pos;
}

static float *fused_outputs(int workers, size_t *len)
{
	struct core_rng r;
	struct fused_run f;
	char err[CORE_ERR_LEN];
	size_t nin, nout, sb;

	memset(&f, 0, sizeof f);
	f.pd = (struct nn_pw_dims){4 * 16 * 16, 24, 40};
	f.s = (struct nn_shape){4, 16, 16, 24};
	nin = nn_shape_count(&f.s);
	nout = f.pd.m * 40;
	assert_int_equal(nn_pool_create(workers, &f.pool, err, sizeof err),
			 CORE_OK);
	assert_int_equal(
	    nn_dwconv_dims_init(&f.dd, 4, 16, 16, 24, 5, 2, 2, err, sizeof err),
	    CORE_OK);
	sb = nn_pw_scratch_size(&f.pd, workers);
	if (nn_dw_scratch_size(&f.dd, workers) > sb)
		sb = nn_dw_scratch_size(&f.dd, workers);
	if (nn_se_scratch_size(&f.s, 6) > sb)
		sb = nn_se_scratch_size(&f.s, 6);
	f.scr = ft_scratch(sb);
	f.stats = core_calloc(NN_SLICES * 2 * 40, sizeof(double));
	assert_non_null(f.stats);
	core_rng_seed(&r, 6);
	ft_bn_make(&f.in, f.s, NN_ACT_SWISH, &r);
	f.w = ft_rand(24 * 40, &r, -0.5f, 0.5f);
	f.wd = ft_rand(25 * 24, &r, -0.5f, 0.5f);
	f.dout = ft_rand(nout, &r, -1.0f, 1.0f);
	f.w1 = ft_rand(6 * 24, &r, -0.5f, 0.5f);
	f.b1 = ft_rand(6, &r, -0.2f, 0.2f);
	f.w2 = ft_rand(24 * 6, &r, -0.5f, 0.5f);
	f.b2 = ft_rand(24, &r, -0.2f, 0.2f);
	f.dx = ft_zero(nin);
	f.res = ft_zero(8 * nout);
	nn_pool_session(f.pool, fused_session, &f);
	*len = f.len;
	assert_true(f.len <= 8 * nout);
	fusedtest_bn_free(&f.in);
	core_free(f.w);
	core_free(f.wd);
	core_free(f.dout);
	core_free(f.w1);
	core_free(f.b1);
	core_free(f.w2);
	core_free(f.b2);
	core_free(f.dx);
	core_free(f.stats);
	core_free(f.scr);
	nn_pool_free(f.pool);
	return f.res;
}

static void same_bits_for_any_thread_count(void **state)
{
	size_t n1, n2;
	float *a, *b;

	a = fused_outputs(1, &n1);
	b = fused_outputs(2, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1 * sizeof *a);
	core_free(a);
	core_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(dw_matches_reference),
	    cmocka_unit_test(pool_runs_every_task_once),
	    cmocka_unit_test(same_bits_for_any_thread_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
