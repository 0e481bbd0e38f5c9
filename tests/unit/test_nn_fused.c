/* SPDX-License-Identifier: Apache-2.0 */
/* test_nn_fused.c - the fused kernels of the model's fast path against the
 * reference layers they replace (which test_nn_layers checks against
 * PyTorch): BN views (apply with a residual or a shortcut view, backward
 * sums and apply), the fused 1x1 convolution and the stem's k x k
 * convolution over im2col chunks (forward, statistics, backward through the
 * output BN, the input's BN-backward sums, set and add modes), SE on a
 * view; every activation, with and without an SE gate, several slices and
 * chunks, widths that are not multiples of 8. The depthwise kernel, the
 * worker pool and thread-count independence are in test_nn_fused_dw.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/fusedtest.h"
#include "nn/nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- views ------------------------------------------------------------- */

static void view_apply_matches_bn_act(void **state)
{
	struct core_rng r;
	struct nn_shape s = {3, 5, 7, 13};
	size_t n = nn_shape_count(&s);

	core_rng_seed(&r, 1);
	for (int a = 0; a < NN_ACT_COUNT; a++) {
		struct ft_bn b, sc;
		float *out = ft_zero(n), *want = ft_zero(n);
		float *res = ft_rand(n, &r, -1.0f, 1.0f);
		char what[64];

		ft_bn_make(&b, s, (enum nn_act)a, &r);
		ft_bn_make(&sc, s, NN_ACT_NONE, &r);
		/* the reference output (z is one FMA in a view) */
		nn_bn_view_apply(out, b.x, &b.v, NULL, NULL, n / s.c, s.c,
				 NULL);
		snprintf(what, sizeof what, "view %s", nn_act_name(b.act));
		ft_close(what, out, b.y, n, 1e-6);
		/* plus a residual */
		for (size_t i = 0; i < n; i++)
			want[i] = b.y[i] + res[i];
		nn_bn_view_apply(out, b.x, &b.v, res, NULL, n / s.c, s.c, NULL);
		ft_close("view + residual", out, want, n, 1e-6);
		/* plus a shortcut seen through its own view */
		for (size_t i = 0; i < n; i++)
			want[i] = b.y[i] + sc.y[i];
		nn_bn_view_apply(out, b.x, &b.v, sc.x, &sc.v, n / s.c, s.c,
				 NULL);
		ft_close("view + shortcut view", out, want, n, 1e-6);
		fusedtest_bn_free(&b);
		fusedtest_bn_free(&sc);
		core_free(out);
		core_free(want);
		core_free(res);
	}
}

static void grad_sums_and_apply_match_bn_backward(void **state)
{
	struct core_rng r;
	struct nn_shape s = {4, 9, 9, 21};
	size_t n = nn_shape_count(&s), pix = n / s.c;
	int ns = nn_bn_grad_slices(pix);

	core_rng_seed(&r, 2);
	for (int a = 0; a < NN_ACT_COUNT; a++) {
		struct ft_bn b;
		float *d = ft_rand(n, &r, -1.0f, 1.0f), *dpre = ft_zero(n);
		float *want = ft_zero(n), *dg = ft_zero(21), *db = ft_zero(21);
		float *dgw = ft_zero(21), *dbw = ft_zero(21);
		float *m1 = ft_zero(21), *m2 = ft_zero(21);
		double *part = core_calloc((size_t)ns * 2 * 21, sizeof(double));
		struct nn_bn_grad g;

		assert_non_null(part);
		ft_bn_make(&b, s, (enum nn_act)a, &r);
		ft_bn_backward(&b, d, want, dgw, dbw);
		nn_bn_grad_sums(part, d, b.x, &b.v, pix, s.c, NULL);
		ft_finish_sums(part, ns, pix, s.c, dg, db, m1, m2);
		ft_close("dgamma", dg, dgw, 21, 1e-5);
		ft_close("dbeta", db, dbw, 21, 1e-5);
		g.v = b.v;
		g.m1 = m1;
		g.m2 = m2;
		nn_bn_grad_apply(dpre, d, b.x, &g, pix, s.c, NULL);
		ft_close("dpre", dpre, want, n, 1e-5);
		/* in place: the same bits */
		nn_bn_grad_apply(d, d, b.x, &g, pix, s.c, NULL);
		ft_close("dpre in place", d, dpre, n, 0.0);
		fusedtest_bn_free(&b);
		core_free(d);
		core_free(dpre);
		core_free(want);
		core_free(dg);
		core_free(db);
		core_free(dgw);
		core_free(dbw);
		core_free(m1);
		core_free(m2);
		core_free(part);
	}
}

/* ---- 1x1 convolution --------------------------------------------------- */

struct pw_case {
	int n, h, w, cin, cout;
	enum nn_act in_act, out_act;
	int gate;
};

/* Input (the previous unit's pre-BN x through its view, optionally gated)
 * and output BN; compares forward, statistics, backward and input sums with
 * the reference layers. */
static void run_pw_case(const struct pw_case *pc)
{
	struct core_rng r;
	struct nn_shape sin = {pc->n, pc->h, pc->w, pc->cin};
	struct nn_shape sout = {pc->n, pc->h, pc->w, pc->cout};
	struct nn_pw_dims d = {(size_t)pc->n * pc->h * pc->w, pc->cin,
			       pc->cout};
	struct nn_conv2d_dims cd;
	struct ft_bn in, outbn;
	char err[CORE_ERR_LEN];
	size_t m = d.m, nin = m * pc->cin, nout = m * pc->cout;
	size_t nw = (size_t)pc->cin * pc->cout;
	int ns = nn_pw_slices(&d);
	float *gate = NULL, *a, *w, *out, *want, *dout, *dpre, *dinp, *dinpw;
	float *dw, *dww, *dg, *db, *dgw, *dbw, *m1, *m2;
	double *stats, *insums;
	void *scr = ft_scratch(nn_pw_scratch_size(&d, 1));

	core_rng_seed(&r, 3);
	assert_int_equal(nn_conv2d_dims_init(&cd, pc->n, pc->h, pc->w, pc->cin,
					     pc->cout, 1, 1, 0, err,
					     sizeof err),
			 CORE_OK);
	ft_bn_make(&in, sin, pc->in_act, &r);
	a = ft_zero(nin);
	memcpy(a, in.y, nin * sizeof *a);
	if (pc->gate) {
		gate = ft_rand((size_t)pc->n * pc->cin, &r, 0.1f, 1.0f);
		in.v.gate = gate;
		for (size_t p = 0; p < m; p++)
			for (int ch = 0; ch < pc->cin; ch++)
				a[p * pc->cin + ch] *=
				    gate[(p / in.v.hw) * pc->cin + ch];
	}
	w = ft_rand(nw, &r, -0.5f, 0.5f);
	out = ft_zero(nout);
	want = ft_zero(nout);
	stats = core_calloc((size_t)ns * 2 * pc->cout, sizeof(double));
	insums = core_calloc((size_t)ns * 2 * pc->cin, sizeof(double));
	assert_non_null(stats);
	assert_non_null(insums);

	/* forward and the output's statistics */
	nn_conv2d_forward(want, a, w, &cd, NULL, 0);
	nn_pw_forward(out, stats, in.x, &in.v, w, &d, NULL, scr);
	ft_close("pw forward", out, want, nout, 1e-5);
	ft_bn_make(&outbn, sout, pc->out_act, &r);
	memcpy(outbn.x, out, nout * sizeof *out);
	{
		float *mean = ft_zero(pc->cout), *rstd = ft_zero(pc->cout);
		float *scale = ft_zero(pc->cout), *rm = ft_zero(pc->cout);
		float *rv = ft_zero(pc->cout);
		void *bs = ft_scratch(nn_bn_scratch_size(&sout));

		nn_bn_stats_finish(mean, rstd, scale, rm, rv, outbn.gamma,
				   stats, ns, m, pc->cout);
		/* the reference statistics of the same tensor */
		memset(outbn.rm, 0, pc->cout * sizeof(float));
		memset(outbn.rv, 0, pc->cout * sizeof(float));
		nn_bn_act_forward(outbn.y, outbn.mean, outbn.rstd, outbn.rm,
				  outbn.rv, outbn.x, outbn.gamma, outbn.beta,
				  &sout, outbn.act, bs);
		ft_close("pw stats mean", mean, outbn.mean, pc->cout, 1e-6);
		ft_close("pw stats rstd", rstd, outbn.rstd, pc->cout, 1e-5);
		ft_close("pw running var", rv, outbn.rv, pc->cout, 1e-6);
		for (int ch = 0; ch < pc->cout; ch++)
			outbn.scale[ch] = outbn.rstd[ch] * outbn.gamma[ch];
		core_free(mean);
		core_free(rstd);
		core_free(scale);
		core_free(rm);
		core_free(rv);
		core_free(bs);
	}

	/* backward through the output BN and the conv */
	dout = ft_rand(nout, &r, -1.0f, 1.0f);
	dpre = ft_zero(nout);
	dinp = ft_zero(nin);
	dinpw = ft_zero(nin);
	dw = ft_zero(nw);
	dww = ft_zero(nw);
	dg = ft_zero(pc->cout);
	db = ft_zero(pc->cout);
	dgw = ft_zero(pc->cout);
	dbw = ft_zero(pc->cout);
	m1 = ft_zero(pc->cout);
	m2 = ft_zero(pc->cout);
	ft_bn_backward(&outbn, dout, dpre, dgw, dbw);
	nn_conv2d_backward(dinpw, dww, dpre, a, w, &cd, NULL, 0);
	{
		double *part =
		    core_calloc((size_t)nn_bn_grad_slices(m) * 2 * pc->cout,
				sizeof(double));
		struct nn_bn_grad g;

		assert_non_null(part);
		nn_bn_grad_sums(part, dout, out, &outbn.v, m, pc->cout, NULL);
		ft_finish_sums(part, nn_bn_grad_slices(m), m, pc->cout, dg, db,
			       m1, m2);
		ft_close("pw out dgamma", dg, dgw, pc->cout, 1e-5);
		ft_close("pw out dbeta", db, dbw, pc->cout, 1e-5);
		g.v = outbn.v;
		g.m1 = m1;
		g.m2 = m2;
		memset(dinp, 0xff, nin * sizeof *dinp); /* set, not add */
		nn_pw_backward(dinp, 0, pc->gate ? NULL : insums, dw, dout, out,
			       &g, in.x, &in.v, w, &d, NULL, scr);
		ft_close("pw dinp", dinp, dinpw, nin, 1e-5);
		ft_close("pw dw", dw, dww, nw, 1e-4);
		/* add mode doubles the input gradient */
		nn_pw_backward(dinp, 1, NULL, dw, dout, out, &g, in.x, &in.v, w,
			       &d, NULL, scr);
		for (size_t i = 0; i < nin; i++)
			dinpw[i] *= 2.0f;
		ft_close("pw dinp add", dinp, dinpw, nin, 1e-5);
		core_free(part);
	}
	if (!pc->gate) {
		/* the input BN's backward sums, against its reference */
		float *idg = ft_zero(pc->cin), *idb = ft_zero(pc->cin);
		float *idgw = ft_zero(pc->cin), *idbw = ft_zero(pc->cin);
		float *im1 = ft_zero(pc->cin), *im2 = ft_zero(pc->cin);
		float *tmp = ft_zero(nin);

		for (size_t i = 0; i < nin; i++)
			dinpw[i] *= 0.5f;
		ft_bn_backward(&in, dinpw, tmp, idgw, idbw);
		ft_finish_sums(insums, ns, m, pc->cin, idg, idb, im1, im2);
		ft_close("pw in-sums dgamma", idg, idgw, pc->cin, 1e-4);
		ft_close("pw in-sums dbeta", idb, idbw, pc->cin, 1e-4);
		core_free(idg);
		core_free(idb);
		core_free(idgw);
		core_free(idbw);
		core_free(im1);
		core_free(im2);
		core_free(tmp);
	}

	fusedtest_bn_free(&in);
	fusedtest_bn_free(&outbn);
	core_free(gate);
	core_free(a);
	core_free(w);
	core_free(out);
	core_free(want);
	core_free(stats);
	core_free(insums);
	core_free(dout);
	core_free(dpre);
	core_free(dinp);
	core_free(dinpw);
	core_free(dw);
	core_free(dww);
	core_free(dg);
	core_free(db);
	core_free(dgw);
	core_free(dbw);
	core_free(m1);
	core_free(m2);
	core_free(scr);
}

static void pw_matches_reference(void **state)
{
	static const struct pw_case cases[] = {
	    /* one slice, one chunk */
	    {2, 3, 5, 6, 10, NN_ACT_RELU6, NN_ACT_NONE, 0},
	    /* several slices and chunks per slice, odd widths */
	    {4, 12, 12, 200, 117, NN_ACT_SWISH, NN_ACT_RELU, 0},
	    {4, 12, 12, 72, 24, NN_ACT_HSWISH, NN_ACT_NONE, 1},
	    {3, 9, 11, 37, 29, NN_ACT_LEAKYRELU, NN_ACT_SWISH, 0},
	    {2, 8, 8, 16, 16, NN_ACT_SIGMOID, NN_ACT_HSWISH, 1},
	    {2, 8, 8, 16, 16, NN_ACT_NONE, NN_ACT_RELU6, 0},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_pw_case(&cases[i]);
}

/* ---- k x k convolution over im2col chunks ------------------------------ */

static void run_dense_case(int n, int hw, int cin, int cout, int k, int stride,
			   enum nn_act act)
{
	struct core_rng r;
	struct nn_conv2d_dims d;
	struct ft_bn outbn;
	char err[CORE_ERR_LEN];
	size_t nin, nout, nw, sb;
	int ns;
	float *x, *w, *out, *want, *dout, *dpre, *dw, *dww, *dg, *db, *m1, *m2;
	float *dgw, *dbw;
	double *stats, *part;
	void *scr, *rscr;
	struct nn_bn_grad g;

	core_rng_seed(&r, 8);
	assert_int_equal(nn_conv2d_dims_init(&d, n, hw, hw, cin, cout, k,
					     stride, k / 2, err, sizeof err),
			 CORE_OK);
	ns = nn_conv2d_fused_slices(&d);
	nin = (size_t)n * hw * hw * cin;
	nout = (size_t)n * d.ho * d.wo * cout;
	nw = (size_t)cout * k * k * cin;
	sb = nn_conv2d_scratch_size(&d);
	scr = ft_scratch(nn_conv2d_fused_scratch_size(&d, 1));
	rscr = ft_scratch(sb);
	x = ft_rand(nin, &r, -1.0f, 1.0f);
	w = ft_rand(nw, &r, -0.5f, 0.5f);
	out = ft_zero(nout);
	want = ft_zero(nout);
	stats = core_calloc((size_t)ns * 2 * cout, sizeof(double));
	assert_non_null(stats);

	nn_conv2d_forward(want, x, w, &d, rscr, sb);
	nn_conv2d_forward_fused(out, stats, x, w, &d, NULL, scr);
	ft_close("dense forward", out, want, nout, 1e-5);
	{
		struct nn_shape so = {n, d.ho, d.wo, cout};
		float *mean = ft_zero(cout), *rstd = ft_zero(cout);
		float *scale = ft_zero(cout), *rm = ft_zero(cout),
		      *rv = ft_zero(cout);

		ft_bn_make(&outbn, so, act, &r);
		memcpy(outbn.x, out, nout * sizeof *out);
		{
			void *bs = ft_scratch(nn_bn_scratch_size(&so));
			nn_bn_act_forward(
			    outbn.y, outbn.mean, outbn.rstd, outbn.rm, outbn.rv,
			    outbn.x, outbn.gamma, outbn.beta, &so, act, bs);
			core_free(bs);
		}
		nn_bn_stats_finish(mean, rstd, scale, rm, rv, outbn.gamma,
				   stats, ns, nout / cout, cout);
		ft_close("dense stats mean", mean, outbn.mean, cout, 1e-6);
		ft_close("dense stats rstd", rstd, outbn.rstd, cout, 1e-5);
		for (int ch = 0; ch < cout; ch++)
			outbn.scale[ch] = outbn.rstd[ch] * outbn.gamma[ch];
		core_free(mean);
		core_free(rstd);
		core_free(scale);
		core_free(rm);
		core_free(rv);
	}
	/* the weight gradient through the output BN */
	dout = ft_rand(nout, &r, -1.0f, 1.0f);
	dpre = ft_zero(nout);
	dw = ft_zero(nw);
	dww = ft_zero(nw);
	dg = ft_zero(cout);
	db = ft_zero(cout);
	dgw = ft_zero(cout);
	dbw = ft_zero(cout);
	m1 = ft_zero(cout);
	m2 = ft_zero(cout);
	part = core_calloc((size_t)nn_bn_grad_slices(nout / cout) * 2 * cout,
			   sizeof(double));
	assert_non_null(part);
	ft_bn_backward(&outbn, dout, dpre, dgw, dbw);
	nn_conv2d_backward(NULL, dww, dpre, x, w, &d, rscr, sb);
	nn_bn_grad_sums(part, dout, out, &outbn.v, nout / cout, cout, NULL);
	ft_finish_sums(part, nn_bn_grad_slices(nout / cout), nout / cout, cout,
		       dg, db, m1, m2);
	g.v = outbn.v;
	g.m1 = m1;
	g.m2 = m2;
	nn_conv2d_backward_fused(dw, dout, out, &g, x, &d, NULL, scr);
	ft_close("dense dw", dw, dww, nw, 1e-4);

	fusedtest_bn_free(&outbn);
	core_free(x);
	core_free(w);
	core_free(out);
	core_free(want);
	core_free(stats);
	core_free(part);
	core_free(dout);
	core_free(dpre);
	core_free(dw);
	core_free(dww);
	core_free(dg);
	core_free(db);
	core_free(dgw);
	core_free(dbw);
	core_free(m1);
	core_free(m2);
	core_free(scr);
	core_free(rscr);
}

static void dense_matches_reference(void **state)
{
	run_dense_case(3, 11, 3, 10, 3, 2, NN_ACT_RELU6);
	run_dense_case(4, 24, 3, 16, 3, 1, NN_ACT_SWISH);
	run_dense_case(2, 9, 4, 9, 5, 1, NN_ACT_HSWISH);
	run_dense_case(2, 7, 5, 6, 1, 2, NN_ACT_NONE);
}

/* ---- squeeze-excitation on a view --------------------------------------- */

static void se_view_matches_reference(void **state)
{
	struct core_rng r;
	struct nn_shape s = {3, 6, 5, 20};
	const int c = 20, rr = 5;
	size_t n = nn_shape_count(&s), pix = n / c;
	int ns = nn_bn_grad_slices(pix);

	core_rng_seed(&r, 5);
	for (int a = 0; a < NN_ACT_COUNT; a++) {
		struct ft_bn in;
		float *w1 = ft_rand((size_t)rr * c, &r, -0.5f, 0.5f);
		float *b1 = ft_rand((size_t)rr, &r, -0.2f, 0.2f);
		float *w2 = ft_rand((size_t)c * rr, &r, -0.5f, 0.5f);
		float *b2 = ft_rand((size_t)c, &r, -0.2f, 0.2f);
		float *pooled = ft_zero(3 * c), *hidden = ft_zero(3 * rr);
		float *gate = ft_zero(3 * c), *pw = ft_zero(3 * c);
		float *hw = ft_zero(3 * rr), *gw = ft_zero(3 * c),
		      *outw = ft_zero(n);
		float *dout = ft_rand(n, &r, -1.0f, 1.0f), *dx = ft_zero(n);
		float *dxw = ft_zero(n), *g1 = ft_zero(4 * 100),
		      *g2 = ft_zero(4 * 100);
		double *part = core_calloc((size_t)ns * 2 * c, sizeof(double));
		void *scr = ft_scratch(nn_se_scratch_size(&s, rr));

		assert_non_null(part);
		ft_bn_make(&in, s, (enum nn_act)a, &r);
		nn_se_forward(outw, pw, hw, gw, in.y, w1, b1, w2, b2, &s, rr);
		nn_se_forward_view(pooled, hidden, gate, in.x, &in.v, w1, b1,
				   w2, b2, &s, rr, NULL);
		ft_close("se pooled", pooled, pw, 3 * c, 1e-6);
		ft_close("se gate", gate, gw, 3 * c, 1e-6);
		/* g1, g2: dw1 (R, C), db1 (R), dw2 (C, R), db2 (C) */
		nn_se_backward(dxw, g1, g1 + 100, g1 + 200, g1 + 300, dout,
			       in.y, pw, hw, gw, w1, w2, &s, rr, scr);
		memcpy(dx, dout, n * sizeof *dx);
		nn_se_backward_view(dx, part, g2, g2 + 100, g2 + 200, g2 + 300,
				    in.x, &in.v, pooled, hidden, gate, w1, w2,
				    &s, rr, scr, NULL);
		ft_close("se dx", dx, dxw, n, 1e-5);
		ft_close("se param grads", g2, g1, 400, 1e-5);
		{
			float *idg = ft_zero(c), *idb = ft_zero(c);
			float *idgw = ft_zero(c), *idbw = ft_zero(c);
			float *im1 = ft_zero(c), *im2 = ft_zero(c),
			      *tmp = ft_zero(n);

			ft_bn_backward(&in, dxw, tmp, idgw, idbw);
			ft_finish_sums(part, ns, pix, c, idg, idb, im1, im2);
			ft_close("se in-sums dgamma", idg, idgw, c, 1e-5);
			ft_close("se in-sums dbeta", idb, idbw, c, 1e-5);
			core_free(idg);
			core_free(idb);
			core_free(idgw);
			core_free(idbw);
			core_free(im1);
			core_free(im2);
			core_free(tmp);
		}
		fusedtest_bn_free(&in);
		core_free(w1);
		core_free(b1);
		core_free(w2);
		core_free(b2);
		core_free(pooled);
		core_free(hidden);
		core_free(gate);
		core_free(pw);
		core_free(hw);
		core_free(gw);
		core_free(outw);
		core_free(dout);
		core_free(dx);
		core_free(dxw);
		core_free(g1);
		core_free(g2);
		core_free(part);
		core_free(scr);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(view_apply_matches_bn_act),
	    cmocka_unit_test(grad_sums_and_apply_match_bn_backward),
	    cmocka_unit_test(pw_matches_reference),
	    cmocka_unit_test(dense_matches_reference),
	    cmocka_unit_test(se_view_matches_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
