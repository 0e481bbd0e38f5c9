/* test_nn_fused.c - the fused kernels of the model's fast path (BN views,
 * the fused 1x1 and depthwise convolutions, SE on a view) against the
 * reference layers they replace (which test_nn_layers checks against
 * PyTorch), the stem's k x k convolution over im2col chunks: every
 * activation, with and without an SE gate, strides 1 and 2,
 * kernels 1 to 5, channel counts that are not multiples of 8 or span several
 * channel blocks, several slices and chunks; set and add modes; the same
 * bits for 1 and 2 threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn/nn.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *frand(size_t n, struct core_rng *r, float lo, float hi)
{
	float *p = core_malloc(n * sizeof(float));

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (float)(lo + (hi - lo) * core_rng_uniform(r));
	return p;
}

static float *fzero(size_t n)
{
	float *p = core_calloc(n ? n : 1, sizeof(float));

	assert_non_null(p);
	return p;
}

static void *scratch_of(size_t bytes)
{
	void *p = core_malloc(bytes ? bytes : 1);

	assert_non_null(p);
	return p;
}

/* max |got - want| / max(1, |want|) <= tol, else fail naming what. */
static void close_enough(const char *what, const float *got, const float *want,
			 size_t n, double tol)
{
	double worst = 0.0;
	size_t at = 0;

	for (size_t i = 0; i < n; i++) {
		double e = fabs((double)got[i] - want[i]) /
			   fmax(1.0, fabs((double)want[i]));
		if (!(e <= worst)) {
			worst = e;
			at = i;
		}
	}
	if (!(worst <= tol))
		fail_msg("%s: max rel err %.3g at %zu (got %.8g, want %.8g)",
			 what, worst, at, got[at], want[at]);
}

/* A pre-BN tensor x (pix, C) and its training BN + activation computed by
 * the reference layer: y = act(bn(x)), and the view that reproduces it. */
struct bnref {
	struct nn_shape s;
	enum nn_act act;
	float *x, *y, *gamma, *beta, *mean, *rstd, *scale, *rm, *rv;
	struct nn_bn_view v;
};

static void bnref_make(struct bnref *b, struct nn_shape s, enum nn_act act,
		       struct core_rng *r)
{
	size_t n = nn_shape_count(&s);
	void *scr = scratch_of(nn_bn_scratch_size(&s));
	int c = s.c;

	memset(b, 0, sizeof *b);
	b->s = s;
	b->act = act;
	b->x = frand(n, r, -2.0f, 3.0f);
	b->y = fzero(n);
	b->gamma = frand((size_t)c, r, 0.5f, 1.5f);
	b->beta = frand((size_t)c, r, -0.5f, 0.5f);
	b->mean = fzero((size_t)c);
	b->rstd = fzero((size_t)c);
	b->scale = fzero((size_t)c);
	b->rm = fzero((size_t)c);
	b->rv = fzero((size_t)c);
	nn_bn_act_forward(b->y, b->mean, b->rstd, b->rm, b->rv, b->x, b->gamma,
			  b->beta, &s, act, scr);
	for (int ch = 0; ch < c; ch++)
		b->scale[ch] = b->rstd[ch] * b->gamma[ch];
	b->v = (struct nn_bn_view){b->mean,
				   b->rstd,
				   b->scale,
				   b->beta,
				   act,
				   NULL,
				   (size_t)s.h * (size_t)s.w};
	core_free(scr);
}

static void bnref_free(struct bnref *b)
{
	core_free(b->x);
	core_free(b->y);
	core_free(b->gamma);
	core_free(b->beta);
	core_free(b->mean);
	core_free(b->rstd);
	core_free(b->scale);
	core_free(b->rm);
	core_free(b->rv);
}

/* Reference BN backward: dgamma, dbeta (C) of the BN at b for a gradient d
 * of y, and dpre (pix, C). */
static void bnref_backward(const struct bnref *b, const float *d, float *dpre,
			   float *dgamma, float *dbeta)
{
	struct nn_shape s = b->s;
	void *scr = scratch_of(nn_bn_scratch_size(&s));

	memset(dpre, 0, nn_shape_count(&s) * sizeof(float));
	nn_bn_act_backward(dpre, dgamma, dbeta, d, b->x, b->mean, b->rstd,
			   b->gamma, b->beta, &s, b->act, scr);
	core_free(scr);
}

/* The fused path's sums finished into dgamma, dbeta, m1, m2. */
static void finish_sums(const double *part, int ns, size_t pix, int c,
			float *dgamma, float *dbeta, float *m1, float *m2)
{
	memset(dgamma, 0, (size_t)c * sizeof(float));
	memset(dbeta, 0, (size_t)c * sizeof(float));
	nn_bn_grad_finish(dgamma, dbeta, m1, m2, part, ns, pix, c);
}

/* ---- views ------------------------------------------------------------- */

static void view_apply_matches_bn_act(void **state)
{
	struct core_rng r;
	struct nn_shape s = {3, 5, 7, 13};
	size_t n = nn_shape_count(&s);

	core_rng_seed(&r, 1);
	for (int a = 0; a < NN_ACT_COUNT; a++) {
		struct bnref b, sc;
		float *out = fzero(n), *want = fzero(n);
		float *res = frand(n, &r, -1.0f, 1.0f);
		char what[64];

		bnref_make(&b, s, (enum nn_act)a, &r);
		bnref_make(&sc, s, NN_ACT_NONE, &r);
		/* the reference output (z is one FMA in a view) */
		nn_bn_view_apply(out, b.x, &b.v, NULL, NULL, n / s.c, s.c,
				 NULL);
		snprintf(what, sizeof what, "view %s", nn_act_name(b.act));
		close_enough(what, out, b.y, n, 1e-6);
		/* plus a residual */
		for (size_t i = 0; i < n; i++)
			want[i] = b.y[i] + res[i];
		nn_bn_view_apply(out, b.x, &b.v, res, NULL, n / s.c, s.c, NULL);
		close_enough("view + residual", out, want, n, 1e-6);
		/* plus a shortcut seen through its own view */
		for (size_t i = 0; i < n; i++)
			want[i] = b.y[i] + sc.y[i];
		nn_bn_view_apply(out, b.x, &b.v, sc.x, &sc.v, n / s.c, s.c,
				 NULL);
		close_enough("view + shortcut view", out, want, n, 1e-6);
		bnref_free(&b);
		bnref_free(&sc);
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
		struct bnref b;
		float *d = frand(n, &r, -1.0f, 1.0f), *dpre = fzero(n);
		float *want = fzero(n), *dg = fzero(21), *db = fzero(21);
		float *dgw = fzero(21), *dbw = fzero(21);
		float *m1 = fzero(21), *m2 = fzero(21);
		double *part = core_calloc((size_t)ns * 2 * 21, sizeof(double));
		struct nn_bn_grad g;

		assert_non_null(part);
		bnref_make(&b, s, (enum nn_act)a, &r);
		bnref_backward(&b, d, want, dgw, dbw);
		nn_bn_grad_sums(part, d, b.x, &b.v, pix, s.c, NULL);
		finish_sums(part, ns, pix, s.c, dg, db, m1, m2);
		close_enough("dgamma", dg, dgw, 21, 1e-5);
		close_enough("dbeta", db, dbw, 21, 1e-5);
		g.v = b.v;
		g.m1 = m1;
		g.m2 = m2;
		nn_bn_grad_apply(dpre, d, b.x, &g, pix, s.c, NULL);
		close_enough("dpre", dpre, want, n, 1e-5);
		/* in place: the same bits */
		nn_bn_grad_apply(d, d, b.x, &g, pix, s.c, NULL);
		close_enough("dpre in place", d, dpre, n, 0.0);
		bnref_free(&b);
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
	struct bnref in, outbn;
	char err[CORE_ERR_LEN];
	size_t m = d.m, nin = m * pc->cin, nout = m * pc->cout;
	size_t nw = (size_t)pc->cin * pc->cout;
	int ns = nn_pw_slices(&d);
	float *gate = NULL, *a, *w, *out, *want, *dout, *dpre, *dinp, *dinpw;
	float *dw, *dww, *dg, *db, *dgw, *dbw, *m1, *m2;
	double *stats, *insums;
	void *scr = scratch_of(nn_pw_scratch_size(&d, 1));

	core_rng_seed(&r, 3);
	assert_int_equal(nn_conv2d_dims_init(&cd, pc->n, pc->h, pc->w, pc->cin,
					     pc->cout, 1, 1, 0, err,
					     sizeof err),
			 CORE_OK);
	bnref_make(&in, sin, pc->in_act, &r);
	a = fzero(nin);
	memcpy(a, in.y, nin * sizeof *a);
	if (pc->gate) {
		gate = frand((size_t)pc->n * pc->cin, &r, 0.1f, 1.0f);
		in.v.gate = gate;
		for (size_t p = 0; p < m; p++)
			for (int ch = 0; ch < pc->cin; ch++)
				a[p * pc->cin + ch] *=
				    gate[(p / in.v.hw) * pc->cin + ch];
	}
	w = frand(nw, &r, -0.5f, 0.5f);
	out = fzero(nout);
	want = fzero(nout);
	stats = core_calloc((size_t)ns * 2 * pc->cout, sizeof(double));
	insums = core_calloc((size_t)ns * 2 * pc->cin, sizeof(double));
	assert_non_null(stats);
	assert_non_null(insums);

	/* forward and the output's statistics */
	nn_conv2d_forward(want, a, w, &cd, NULL, 0);
	nn_pw_forward(out, stats, in.x, &in.v, w, &d, NULL, scr);
	close_enough("pw forward", out, want, nout, 1e-5);
	bnref_make(&outbn, sout, pc->out_act, &r);
	memcpy(outbn.x, out, nout * sizeof *out);
	{
		float *mean = fzero(pc->cout), *rstd = fzero(pc->cout);
		float *scale = fzero(pc->cout), *rm = fzero(pc->cout);
		float *rv = fzero(pc->cout);
		void *bs = scratch_of(nn_bn_scratch_size(&sout));

		nn_bn_stats_finish(mean, rstd, scale, rm, rv, outbn.gamma,
				   stats, ns, m, pc->cout);
		/* the reference statistics of the same tensor */
		memset(outbn.rm, 0, pc->cout * sizeof(float));
		memset(outbn.rv, 0, pc->cout * sizeof(float));
		nn_bn_act_forward(outbn.y, outbn.mean, outbn.rstd, outbn.rm,
				  outbn.rv, outbn.x, outbn.gamma, outbn.beta,
				  &sout, outbn.act, bs);
		close_enough("pw stats mean", mean, outbn.mean, pc->cout, 1e-6);
		close_enough("pw stats rstd", rstd, outbn.rstd, pc->cout, 1e-5);
		close_enough("pw running var", rv, outbn.rv, pc->cout, 1e-6);
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
	dout = frand(nout, &r, -1.0f, 1.0f);
	dpre = fzero(nout);
	dinp = fzero(nin);
	dinpw = fzero(nin);
	dw = fzero(nw);
	dww = fzero(nw);
	dg = fzero(pc->cout);
	db = fzero(pc->cout);
	dgw = fzero(pc->cout);
	dbw = fzero(pc->cout);
	m1 = fzero(pc->cout);
	m2 = fzero(pc->cout);
	bnref_backward(&outbn, dout, dpre, dgw, dbw);
	nn_conv2d_backward(dinpw, dww, dpre, a, w, &cd, NULL, 0);
	{
		double *part =
		    core_calloc((size_t)nn_bn_grad_slices(m) * 2 * pc->cout,
				sizeof(double));
		struct nn_bn_grad g;

		assert_non_null(part);
		nn_bn_grad_sums(part, dout, out, &outbn.v, m, pc->cout, NULL);
		finish_sums(part, nn_bn_grad_slices(m), m, pc->cout, dg, db, m1,
			    m2);
		close_enough("pw out dgamma", dg, dgw, pc->cout, 1e-5);
		close_enough("pw out dbeta", db, dbw, pc->cout, 1e-5);
		g.v = outbn.v;
		g.m1 = m1;
		g.m2 = m2;
		memset(dinp, 0xff, nin * sizeof *dinp); /* set, not add */
		nn_pw_backward(dinp, 0, pc->gate ? NULL : insums, dw, dout, out,
			       &g, in.x, &in.v, w, &d, NULL, scr);
		close_enough("pw dinp", dinp, dinpw, nin, 1e-5);
		close_enough("pw dw", dw, dww, nw, 1e-4);
		/* add mode doubles the input gradient */
		nn_pw_backward(dinp, 1, NULL, dw, dout, out, &g, in.x, &in.v, w,
			       &d, NULL, scr);
		for (size_t i = 0; i < nin; i++)
			dinpw[i] *= 2.0f;
		close_enough("pw dinp add", dinp, dinpw, nin, 1e-5);
		core_free(part);
	}
	if (!pc->gate) {
		/* the input BN's backward sums, against its reference */
		float *idg = fzero(pc->cin), *idb = fzero(pc->cin);
		float *idgw = fzero(pc->cin), *idbw = fzero(pc->cin);
		float *im1 = fzero(pc->cin), *im2 = fzero(pc->cin);
		float *tmp = fzero(nin);

		for (size_t i = 0; i < nin; i++)
			dinpw[i] *= 0.5f;
		bnref_backward(&in, dinpw, tmp, idgw, idbw);
		finish_sums(insums, ns, m, pc->cin, idg, idb, im1, im2);
		close_enough("pw in-sums dgamma", idg, idgw, pc->cin, 1e-4);
		close_enough("pw in-sums dbeta", idb, idbw, pc->cin, 1e-4);
		core_free(idg);
		core_free(idb);
		core_free(idgw);
		core_free(idbw);
		core_free(im1);
		core_free(im2);
		core_free(tmp);
	}

	bnref_free(&in);
	bnref_free(&outbn);
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
	struct bnref outbn;
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
	scr = scratch_of(nn_conv2d_fused_scratch_size(&d, 1));
	rscr = scratch_of(sb);
	x = frand(nin, &r, -1.0f, 1.0f);
	w = frand(nw, &r, -0.5f, 0.5f);
	out = fzero(nout);
	want = fzero(nout);
	stats = core_calloc((size_t)ns * 2 * cout, sizeof(double));
	assert_non_null(stats);

	nn_conv2d_forward(want, x, w, &d, rscr, sb);
	nn_conv2d_forward_fused(out, stats, x, w, &d, NULL, scr);
	close_enough("dense forward", out, want, nout, 1e-5);
	{
		struct nn_shape so = {n, d.ho, d.wo, cout};
		float *mean = fzero(cout), *rstd = fzero(cout);
		float *scale = fzero(cout), *rm = fzero(cout),
		      *rv = fzero(cout);

		bnref_make(&outbn, so, act, &r);
		memcpy(outbn.x, out, nout * sizeof *out);
		{
			void *bs = scratch_of(nn_bn_scratch_size(&so));
			nn_bn_act_forward(
			    outbn.y, outbn.mean, outbn.rstd, outbn.rm, outbn.rv,
			    outbn.x, outbn.gamma, outbn.beta, &so, act, bs);
			core_free(bs);
		}
		nn_bn_stats_finish(mean, rstd, scale, rm, rv, outbn.gamma,
				   stats, ns, nout / cout, cout);
		close_enough("dense stats mean", mean, outbn.mean, cout, 1e-6);
		close_enough("dense stats rstd", rstd, outbn.rstd, cout, 1e-5);
		for (int ch = 0; ch < cout; ch++)
			outbn.scale[ch] = outbn.rstd[ch] * outbn.gamma[ch];
		core_free(mean);
		core_free(rstd);
		core_free(scale);
		core_free(rm);
		core_free(rv);
	}
	/* the weight gradient through the output BN */
	dout = frand(nout, &r, -1.0f, 1.0f);
	dpre = fzero(nout);
	dw = fzero(nw);
	dww = fzero(nw);
	dg = fzero(cout);
	db = fzero(cout);
	dgw = fzero(cout);
	dbw = fzero(cout);
	m1 = fzero(cout);
	m2 = fzero(cout);
	part = core_calloc((size_t)nn_bn_grad_slices(nout / cout) * 2 * cout,
			   sizeof(double));
	assert_non_null(part);
	bnref_backward(&outbn, dout, dpre, dgw, dbw);
	nn_conv2d_backward(NULL, dww, dpre, x, w, &d, rscr, sb);
	nn_bn_grad_sums(part, dout, out, &outbn.v, nout / cout, cout, NULL);
	finish_sums(part, nn_bn_grad_slices(nout / cout), nout / cout, cout, dg,
		    db, m1, m2);
	g.v = outbn.v;
	g.m1 = m1;
	g.m2 = m2;
	nn_conv2d_backward_fused(dw, dout, out, &g, x, &d, NULL, scr);
	close_enough("dense dw", dw, dww, nw, 1e-4);

	bnref_free(&outbn);
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
	struct bnref in;
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
	scr = scratch_of(nn_dw_scratch_size(&d, 1));
	rscr = scratch_of(nn_dwconv_scratch_size(&d));
	bnref_make(&in, sin, dc->in_act, &r);
	a = dc->view ? in.y : in.x; /* what the conv reads */
	v = dc->view ? &in.v : NULL;
	w = frand(nw, &r, -0.5f, 0.5f);
	out = fzero(nout);
	want = fzero(nout);
	stats = core_calloc((size_t)ns * 2 * d.c, sizeof(double));
	insums = core_calloc((size_t)ns * 2 * d.c, sizeof(double));
	assert_non_null(stats);
	assert_non_null(insums);

	nn_dwconv_forward(want, a, w, &d);
	nn_dw_forward(out, stats, in.x, v, w, &d, NULL, scr);
	close_enough(what, out, want, nout, 1e-5);
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

	dpre = frand(nout, &r, -1.0f, 1.0f);
	dinp = fzero(nin);
	dinpw = fzero(nin);
	dw = fzero(nw);
	dww = fzero(nw);
	nn_dwconv_backward(dinpw, dww, dpre, a, w, &d, rscr);
	memset(dinp, 0xff, nin * sizeof *dinp); /* set, not add */
	nn_dw_backward(dinp, 0, v ? insums : NULL, dw, dpre, NULL, NULL, in.x,
		       v, w, &d, NULL, scr);
	close_enough("dw dinp", dinp, dinpw, nin, 1e-5);
	close_enough("dw dw", dw, dww, nw, 1e-4);
	if (v) {
		float *idg = fzero(d.c), *idb = fzero(d.c);
		float *idgw = fzero(d.c), *idbw = fzero(d.c);
		float *im1 = fzero(d.c), *im2 = fzero(d.c), *tmp = fzero(nin);

		bnref_backward(&in, dinpw, tmp, idgw, idbw);
		finish_sums(insums, ns, nin / d.c, d.c, idg, idb, im1, im2);
		close_enough("dw in-sums dgamma", idg, idgw, d.c, 1e-4);
		close_enough("dw in-sums dbeta", idb, idbw, d.c, 1e-4);
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
	close_enough("dw dinp add", dinp, dinpw, nin, 1e-5);
	/* no input gradient: the weight gradient alone */
	memset(dw, 0, nw * sizeof *dw);
	nn_dw_backward(NULL, 0, NULL, dw, dpre, NULL, NULL, in.x, v, w, &d,
		       NULL, scr);
	close_enough("dw dw alone", dw, dww, nw, 1e-4);
	{
		/* through the output's BN: dpre is the BN backward of dout */
		struct nn_shape so = {d.n, d.ho, d.wo, d.c};
		struct bnref ob;
		float *dout = frand(nout, &r, -1.0f, 1.0f);
		float *dg = fzero(d.c), *db = fzero(d.c);
		float *m1 = fzero(d.c), *m2 = fzero(d.c);
		double *part =
		    core_calloc((size_t)nn_bn_grad_slices(nout / d.c) * 2 * d.c,
				sizeof(double));
		struct nn_bn_grad g;

		assert_non_null(part);
		bnref_make(&ob, so, NN_ACT_RELU6, &r);
		bnref_backward(&ob, dout, dpre, dg, db);
		memset(dinpw, 0, nin * sizeof *dinpw);
		memset(dww, 0, nw * sizeof *dww);
		nn_dwconv_backward(dinpw, dww, dpre, a, w, &d, rscr);
		nn_bn_grad_sums(part, dout, ob.x, &ob.v, nout / d.c, d.c, NULL);
		finish_sums(part, nn_bn_grad_slices(nout / d.c), nout / d.c,
			    d.c, dg, db, m1, m2);
		g.v = ob.v;
		g.m1 = m1;
		g.m2 = m2;
		memset(dw, 0, nw * sizeof *dw);
		nn_dw_backward(dinp, 0, NULL, dw, dout, ob.x, &g, in.x, v, w,
			       &d, NULL, scr);
		close_enough("dw dinp through BN", dinp, dinpw, nin, 1e-5);
		close_enough("dw dw through BN", dw, dww, nw, 1e-4);
		bnref_free(&ob);
		core_free(dout);
		core_free(dg);
		core_free(db);
		core_free(m1);
		core_free(m2);
		core_free(part);
	}

	bnref_free(&in);
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
		struct bnref in;
		float *w1 = frand((size_t)rr * c, &r, -0.5f, 0.5f);
		float *b1 = frand((size_t)rr, &r, -0.2f, 0.2f);
		float *w2 = frand((size_t)c * rr, &r, -0.5f, 0.5f);
		float *b2 = frand((size_t)c, &r, -0.2f, 0.2f);
		float *pooled = fzero(3 * c), *hidden = fzero(3 * rr);
		float *gate = fzero(3 * c), *pw = fzero(3 * c);
		float *hw = fzero(3 * rr), *gw = fzero(3 * c), *outw = fzero(n);
		float *dout = frand(n, &r, -1.0f, 1.0f), *dx = fzero(n);
		float *dxw = fzero(n), *g1 = fzero(4 * 100),
		      *g2 = fzero(4 * 100);
		double *part = core_calloc((size_t)ns * 2 * c, sizeof(double));
		void *scr = scratch_of(nn_se_scratch_size(&s, rr));

		assert_non_null(part);
		bnref_make(&in, s, (enum nn_act)a, &r);
		nn_se_forward(outw, pw, hw, gw, in.y, w1, b1, w2, b2, &s, rr);
		nn_se_forward_view(pooled, hidden, gate, in.x, &in.v, w1, b1,
				   w2, b2, &s, rr, NULL);
		close_enough("se pooled", pooled, pw, 3 * c, 1e-6);
		close_enough("se gate", gate, gw, 3 * c, 1e-6);
		/* g1, g2: dw1 (R, C), db1 (R), dw2 (C, R), db2 (C) */
		nn_se_backward(dxw, g1, g1 + 100, g1 + 200, g1 + 300, dout,
			       in.y, pw, hw, gw, w1, w2, &s, rr, scr);
		memcpy(dx, dout, n * sizeof *dx);
		nn_se_backward_view(dx, part, g2, g2 + 100, g2 + 200, g2 + 300,
				    in.x, &in.v, pooled, hidden, gate, w1, w2,
				    &s, rr, scr, NULL);
		close_enough("se dx", dx, dxw, n, 1e-5);
		close_enough("se param grads", g2, g1, 400, 1e-5);
		{
			float *idg = fzero(c), *idb = fzero(c);
			float *idgw = fzero(c), *idbw = fzero(c);
			float *im1 = fzero(c), *im2 = fzero(c), *tmp = fzero(n);

			bnref_backward(&in, dxw, tmp, idgw, idbw);
			finish_sums(part, ns, pix, c, idg, idb, im1, im2);
			close_enough("se in-sums dgamma", idg, idgw, c, 1e-5);
			close_enough("se in-sums dbeta", idb, idbw, c, 1e-5);
			core_free(idg);
			core_free(idb);
			core_free(idgw);
			core_free(idbw);
			core_free(im1);
			core_free(im2);
			core_free(tmp);
		}
		bnref_free(&in);
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
	struct bnref in;
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
	f.scr = scratch_of(sb);
	f.stats = core_calloc(NN_SLICES * 2 * 40, sizeof(double));
	assert_non_null(f.stats);
	core_rng_seed(&r, 6);
	bnref_make(&f.in, f.s, NN_ACT_SWISH, &r);
	f.w = frand(24 * 40, &r, -0.5f, 0.5f);
	f.wd = frand(25 * 24, &r, -0.5f, 0.5f);
	f.dout = frand(nout, &r, -1.0f, 1.0f);
	f.w1 = frand(6 * 24, &r, -0.5f, 0.5f);
	f.b1 = frand(6, &r, -0.2f, 0.2f);
	f.w2 = frand(24 * 6, &r, -0.5f, 0.5f);
	f.b2 = frand(24, &r, -0.2f, 0.2f);
	f.dx = fzero(nin);
	f.res = fzero(8 * nout);
	nn_pool_session(f.pool, fused_session, &f);
	*len = f.len;
	assert_true(f.len <= 8 * nout);
	bnref_free(&f.in);
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
	    cmocka_unit_test(view_apply_matches_bn_act),
	    cmocka_unit_test(grad_sums_and_apply_match_bn_backward),
	    cmocka_unit_test(pw_matches_reference),
	    cmocka_unit_test(dense_matches_reference),
	    cmocka_unit_test(dw_matches_reference),
	    cmocka_unit_test(se_view_matches_reference),
	    cmocka_unit_test(pool_runs_every_task_once),
	    cmocka_unit_test(same_bits_for_any_thread_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
