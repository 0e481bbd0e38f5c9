/* SPDX-License-Identifier: Apache-2.0 */
/* test_nn_gradcheck.c - finite-difference checks of every nn layer's and
 * loss's backward: for L = sum(out * R) with a fixed random R (or the loss
 * itself), each input and parameter element is moved by +-h, L is taken in
 * double from the float32 forward, and the central difference is compared
 * with what backward added. Inputs are kept away from activation kinks so
 * the difference quotient is meaningful there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn/nn.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define GC_MAX_T     6
#define GC_MAX_ALLOC 24

/* One problem: the tensors to perturb, the output and its weights R, the
 * forward and backward under test, and whatever layer state they need. */
struct gc {
	const char *label;
	int nt;
	struct {
		const char *name;
		float *v, *g; /* value and gradient, n each */
		size_t n;
	} t[GC_MAX_T];
	float *out, *r; /* nout each; nout == 0 for a loss */
	size_t nout;
	double loss;
	void (*fwd)(struct gc *);
	void (*bwd)(struct gc *); /* adds dL/dt into every t[i].g */
	/* layer state */
	struct nn_conv2d_dims cd;
	struct nn_dwconv_dims dd;
	struct nn_shape s;
	enum nn_act act;
	int ho, wo, n, cin, cout, k, rr;
	float *saved[4];
	void *scratch;
	size_t scratch_bytes;
	int32_t *labels;
	float hyper[3];
	struct core_rng rng;
	void *allocs[GC_MAX_ALLOC];
	int nalloc;
	struct core_rng init;
};

static void *gc_alloc(struct gc *g, size_t bytes)
{
	void *p = core_calloc(1, bytes ? bytes : 1);

	assert_non_null(p);
	assert_true(g->nalloc < GC_MAX_ALLOC);
	g->allocs[g->nalloc++] = p;
	return p;
}

static float *gc_rand(struct gc *g, size_t n, float lo, float hi)
{
	float *p = gc_alloc(g, n * sizeof(float));

	for (size_t i = 0; i < n; i++)
		p[i] = lo + (hi - lo) * (float)core_rng_uniform(&g->init);
	return p;
}

static void gc_tensor(struct gc *g, const char *name, float *v, size_t n)
{
	assert_true(g->nt < GC_MAX_T);
	g->t[g->nt].name = name;
	g->t[g->nt].v = v;
	g->t[g->nt].g = gc_alloc(g, n * sizeof(float));
	g->t[g->nt].n = n;
	g->nt++;
}

static void gc_output(struct gc *g, size_t n)
{
	g->nout = n;
	g->out = gc_alloc(g, n * sizeof(float));
	g->r = gc_rand(g, n, -1.0f, 1.0f);
}

static void gc_free(struct gc *g)
{
	for (int i = 0; i < g->nalloc; i++)
		core_free(g->allocs[i]);
	g->nalloc = 0;
}

static double gc_loss(struct gc *g)
{
	double l = 0.0;

	g->fwd(g);
	if (g->nout == 0)
		return g->loss;
	for (size_t i = 0; i < g->nout; i++)
		l += (double)g->out[i] * g->r[i];
	return l;
}

static void gradcheck(struct gc *g, float h, double tol)
{
	for (int t = 0; t < g->nt; t++)
		memset(g->t[t].g, 0, g->t[t].n * sizeof(float));
	g->fwd(g);
	g->bwd(g);
	for (int t = 0; t < g->nt; t++) {
		double maxn = 0.0, maxd = 0.0, err;

		for (size_t i = 0; i < g->t[t].n; i++) {
			float *v = &g->t[t].v[i], save = *v;
			float up = save + h, dn = save - h;
			double lp, lm, num;

			*v = up;
			lp = gc_loss(g);
			*v = dn;
			lm = gc_loss(g);
			*v = save;
			/* The step actually taken, after float rounding. */
			num = (lp - lm) / ((double)up - (double)dn);
			maxn = fmax(maxn, fabs(num));
			maxd = fmax(maxd, fabs(num - g->t[t].g[i]));
		}
		err = maxd / fmax(maxn, 1e-2);
		printf("# %-22s d%-6s max|num-ana| %.2e  max|num| %.2e  rel "
		       "%.2e\n",
		       g->label, g->t[t].name, maxd, maxn, err);
		if (!(err <= tol))
			fail_msg("%s d%s: finite differences disagree: max "
				 "|num - ana| = %.3e, max |num| = %.3e, rel "
				 "%.3e > %.0e",
				 g->label, g->t[t].name, maxd, maxn, err, tol);
	}
}

#define H    1e-2f
#define BN_H 2e-3f /* smaller: BN's nonlinearity and its kinks */
#define TOL  2e-3  /* worst measured ~1.7e-4: float32 noise of L / 2h */

/* ---- conv2d, depthwise --------------------------------------------------- */

static void conv_fwd(struct gc *g)
{
	nn_conv2d_forward(g->out, g->t[0].v, g->t[1].v, &g->cd, g->scratch,
			  g->scratch_bytes);
}

static void conv_bwd(struct gc *g)
{
	nn_conv2d_backward(g->t[0].g, g->t[1].g, g->r, g->t[0].v, g->t[1].v,
			   &g->cd, g->scratch, g->scratch_bytes);
}

static void conv_case(const char *label, int n, int hh, int w, int cin,
		      int cout, int k, int stride, int pad, int min_scratch)
{
	struct gc g = {.label = label, .fwd = conv_fwd, .bwd = conv_bwd};
	char err[CORE_ERR_LEN];

	core_rng_seed(&g.init, 11);
	assert_int_equal(nn_conv2d_dims_init(&g.cd, n, hh, w, cin, cout, k,
					     stride, pad, err, sizeof err),
			 CORE_OK);
	g.scratch_bytes = min_scratch ? nn_conv2d_scratch_min(&g.cd)
				      : nn_conv2d_scratch_size(&g.cd);
	g.scratch = gc_alloc(&g, g.scratch_bytes);
	gc_tensor(&g, "x", gc_rand(&g, (size_t)n * hh * w * cin, -1, 1),
		  (size_t)n * hh * w * cin);
	gc_tensor(&g, "w", gc_rand(&g, (size_t)cout * k * k * cin, -0.5f, 0.5f),
		  (size_t)cout * k * k * cin);
	gc_output(&g, (size_t)n * g.cd.ho * g.cd.wo * cout);
	gradcheck(&g, H, TOL);
	gc_free(&g);
}

static void conv2d_gradcheck(void **state)
{
	conv_case("conv2d k3 s2", 2, 7, 6, 3, 4, 3, 2, 1, 0);
	conv_case("conv2d k5 s1 1row", 2, 5, 5, 2, 3, 5, 1, 2, 1);
	conv_case("conv2d 1x1", 2, 3, 3, 5, 4, 1, 1, 0, 0);
	conv_case("conv2d 1x1 s2", 1, 5, 4, 3, 2, 1, 2, 0, 0);
}

static void dw_fwd(struct gc *g)
{
	nn_dwconv_forward(g->out, g->t[0].v, g->t[1].v, &g->dd);
}

static void dw_bwd(struct gc *g)
{
	nn_dwconv_backward(g->t[0].g, g->t[1].g, g->r, g->t[0].v, g->t[1].v,
			   &g->dd, g->scratch);
}

static void dw_case(const char *label, int n, int hh, int w, int c, int k,
		    int stride)
{
	struct gc g = {.label = label, .fwd = dw_fwd, .bwd = dw_bwd};
	char err[CORE_ERR_LEN];

	core_rng_seed(&g.init, 12);
	assert_int_equal(nn_dwconv_dims_init(&g.dd, n, hh, w, c, k, stride,
					     k / 2, err, sizeof err),
			 CORE_OK);
	g.scratch = gc_alloc(&g, nn_dwconv_scratch_size(&g.dd));
	gc_tensor(&g, "x", gc_rand(&g, (size_t)n * hh * w * c, -1, 1),
		  (size_t)n * hh * w * c);
	gc_tensor(&g, "w", gc_rand(&g, (size_t)k * k * c, -0.5f, 0.5f),
		  (size_t)k * k * c);
	gc_output(&g, (size_t)n * g.dd.ho * g.dd.wo * c);
	gradcheck(&g, H, TOL);
	gc_free(&g);
}

static void dwconv_gradcheck(void **state)
{
	dw_case("dwconv k3 s1", 2, 5, 4, 3, 3, 1);
	dw_case("dwconv k5 s2", 2, 7, 7, 2, 5, 2);
	dw_case("dwconv k7 s2", 1, 5, 6, 3, 7, 2);
}

/* ---- activations and BN ---------------------------------------------------
 */

/* Where act's derivative jumps: a central difference across a kink
 * measures neither side. */
static int near_kink(enum nn_act act, const float *z, size_t n, float margin)
{
	static const float relu[] = {0}, relu6[] = {0, 6}, hsw[] = {-3, 3};
	const float *k = NULL;
	size_t nk = 0;

	switch (act) {
	case NN_ACT_RELU:
	case NN_ACT_LEAKYRELU: k = relu, nk = 1; break;
	case NN_ACT_RELU6: k = relu6, nk = 2; break;
	case NN_ACT_HSWISH: k = hsw, nk = 2; break;
	default: return 0;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < nk; j++)
			if (fabsf(z[i] - k[j]) < margin)
				return 1;
	return 0;
}

static void act_fwd(struct gc *g)
{
	size_t n = g->t[0].n;

	nn_act_forward(g->out, g->t[0].v, n, g->act);
}

static void act_bwd(struct gc *g)
{
	nn_act_backward(g->t[0].g, g->r, g->t[0].v, g->t[0].n, g->act);
}

static void act_gradcheck(void **state)
{
	for (int a = 0; a < NN_ACT_COUNT; a++) {
		struct gc g = {.fwd = act_fwd, .bwd = act_bwd};
		float *x;

		g.label = nn_act_name((enum nn_act)a);
		g.act = (enum nn_act)a;
		core_rng_seed(&g.init, 13);
		x = gc_rand(&g, 64, -8.0f, 8.0f);
		for (size_t i = 0; i < 64; i++)
			while (near_kink(g.act, &x[i], 1, 0.1f))
				x[i] += 0.25f;
		gc_tensor(&g, "x", x, 64);
		gc_output(&g, 64);
		gradcheck(&g, H, TOL);
		gc_free(&g);
	}
}

static void bn_fwd(struct gc *g)
{
	float *rm = g->saved[2], *rv = g->saved[3];

	nn_bn_act_forward(g->out, g->saved[0], g->saved[1], rm, rv, g->t[0].v,
			  g->t[1].v, g->t[2].v, &g->s, g->act, g->scratch);
}

static void bn_bwd(struct gc *g)
{
	nn_bn_act_backward(g->t[0].g, g->t[1].g, g->t[2].g, g->r, g->t[0].v,
			   g->saved[0], g->saved[1], g->t[1].v, g->t[2].v,
			   &g->s, g->act, g->scratch);
}

static void bn_gradcheck(void **state)
{
	for (int a = 0; a < NN_ACT_COUNT; a++) {
		struct gc g = {.fwd = bn_fwd, .bwd = bn_bwd};
		size_t nx, c = 4;
		enum nn_act act = (enum nn_act)a;
		uint64_t seed = 100;
		char label[48];

		g.s = (struct nn_shape){2, 3, 3, (int)c};
		nx = nn_shape_count(&g.s);
		/* Draw until no pre-activation sits within 0.02 of a kink:
		 * a step of BN_H moves z_i by gamma * rstd * BN_H < 0.01. */
		for (;;) {
			core_rng_seed(&g.init, seed++);
			g.scratch = gc_alloc(&g, nn_bn_scratch_size(&g.s));
			for (int i = 0; i < 4; i++)
				g.saved[i] = gc_alloc(&g, c * sizeof(float));
			gc_tensor(&g, "x", gc_rand(&g, nx, -1.0f, 1.0f), nx);
			gc_tensor(&g, "gamma", gc_rand(&g, c, 0.5f, 1.5f), c);
			gc_tensor(&g, "beta", gc_rand(&g, c, -1.0f, 1.0f), c);
			gc_output(&g, nx);
			g.act = NN_ACT_NONE;
			bn_fwd(&g);
			if (!near_kink(act, g.out, nx, 0.02f) || seed > 1000)
				break;
			gc_free(&g);
			g.nt = 0;
		}
		assert_false(near_kink(act, g.out, nx, 0.02f));
		g.act = act;
		snprintf(label, sizeof label, "bn+%s (seed %d)",
			 nn_act_name(act), (int)seed - 1);
		g.label = label;
		gradcheck(&g, BN_H, TOL);
		gc_free(&g);
	}
}

/* ---- pooling, linear, SE, resize, add, dropout --------------------------- */

static void gap_fwd(struct gc *g)
{
	nn_gap_forward(g->out, g->t[0].v, &g->s);
}

static void gap_bwd(struct gc *g)
{
	nn_gap_backward(g->t[0].g, g->r, &g->s);
}

static void lin_fwd(struct gc *g)
{
	nn_linear_forward(g->out, g->t[0].v, g->t[1].v, g->t[2].v, g->n, g->cin,
			  g->cout);
}

static void lin_bwd(struct gc *g)
{
	nn_linear_backward(g->t[0].g, g->t[1].g, g->t[2].g, g->r, g->t[0].v,
			   g->t[1].v, g->n, g->cin, g->cout);
}

static void gap_linear_gradcheck(void **state)
{
	struct gc g = {.label = "gap", .fwd = gap_fwd, .bwd = gap_bwd};
	struct gc l = {.label = "linear", .fwd = lin_fwd, .bwd = lin_bwd};

	core_rng_seed(&g.init, 14);
	g.s = (struct nn_shape){2, 3, 4, 5};
	gc_tensor(&g, "x", gc_rand(&g, 120, -1, 1), 120);
	gc_output(&g, 10);
	gradcheck(&g, H, TOL);
	gc_free(&g);

	core_rng_seed(&l.init, 15);
	l.n = 3;
	l.cin = 7;
	l.cout = 4;
	gc_tensor(&l, "x", gc_rand(&l, 21, -1, 1), 21);
	gc_tensor(&l, "w", gc_rand(&l, 28, -0.5f, 0.5f), 28);
	gc_tensor(&l, "b", gc_rand(&l, 4, -0.5f, 0.5f), 4);
	gc_output(&l, 12);
	gradcheck(&l, H, TOL);
	gc_free(&l);
}

/* saved: pooled (N, C), hidden (N, R), gate (N, C). */
static void se_fwd(struct gc *g)
{
	nn_se_forward(g->out, g->saved[0], g->saved[1], g->saved[2], g->t[0].v,
		      g->t[1].v, g->t[2].v, g->t[3].v, g->t[4].v, &g->s, g->rr);
}

static void se_bwd(struct gc *g)
{
	nn_se_backward(g->t[0].g, g->t[1].g, g->t[2].g, g->t[3].g, g->t[4].g,
		       g->r, g->t[0].v, g->saved[0], g->saved[1], g->saved[2],
		       g->t[1].v, g->t[3].v, &g->s, g->rr, g->scratch);
}

static void se_gradcheck(void **state)
{
	struct gc g = {.label = "se", .fwd = se_fwd, .bwd = se_bwd};
	size_t nx, c = 6, r = 3, n = 2;
	float *b1;

	core_rng_seed(&g.init, 16);
	g.s = (struct nn_shape){(int)n, 3, 3, (int)c};
	g.rr = (int)r;
	nx = nn_shape_count(&g.s);
	g.saved[0] = gc_alloc(&g, n * c * sizeof(float));
	g.saved[1] = gc_alloc(&g, n * r * sizeof(float));
	g.saved[2] = gc_alloc(&g, n * c * sizeof(float));
	g.scratch = gc_alloc(&g, nn_se_scratch_size(&g.s, g.rr));
	gc_tensor(&g, "x", gc_rand(&g, nx, -1, 1), nx);
	gc_tensor(&g, "w1", gc_rand(&g, r * c, -0.3f, 0.3f), r * c);
	/* Hidden pre-activations: two clearly on, one clearly off, so the
	 * ReLU's kink is never crossed by a step and both sides are seen. */
	b1 = gc_rand(&g, r, 0.0f, 0.0f);
	b1[0] = 1.5f;
	b1[1] = -1.5f;
	b1[2] = 1.2f;
	gc_tensor(&g, "b1", b1, r);
	gc_tensor(&g, "w2", gc_rand(&g, c * r, -1, 1), c * r);
	gc_tensor(&g, "b2", gc_rand(&g, c, -1, 1), c);
	gc_output(&g, nx);
	gradcheck(&g, H, TOL);
	gc_free(&g);
}

static void rs_fwd(struct gc *g)
{
	nn_resize_bilinear_forward(g->out, g->t[0].v, &g->s, g->ho, g->wo);
}

static void rs_bwd(struct gc *g)
{
	nn_resize_bilinear_backward(g->t[0].g, g->r, &g->s, g->ho, g->wo);
}

static void resize_gradcheck(void **state)
{
	static const int sizes[][2] = {{9, 7}, {3, 2}, {4, 4}};

	for (int i = 0; i < 3; i++) {
		struct gc g = {.label = "resize", .fwd = rs_fwd, .bwd = rs_bwd};
		size_t nx;

		core_rng_seed(&g.init, 17);
		g.s = (struct nn_shape){2, 4, 4, 3};
		g.ho = sizes[i][0];
		g.wo = sizes[i][1];
		nx = nn_shape_count(&g.s);
		gc_tensor(&g, "x", gc_rand(&g, nx, -1, 1), nx);
		gc_output(&g, (size_t)2 * g.ho * g.wo * 3);
		gradcheck(&g, H, TOL);
		gc_free(&g);
	}
}

static void add_fwd(struct gc *g)
{
	nn_add_forward(g->out, g->t[0].v, g->t[1].v, g->t[0].n);
}

static void add_bwd(struct gc *g)
{
	nn_add_backward(g->t[0].g, g->t[1].g, g->r, g->t[0].n);
}

/* The mask is redrawn from the same seed at every forward: a fixed mask. */
static void drop_fwd(struct gc *g)
{
	core_rng_seed(&g->rng, 99);
	nn_dropout_forward(g->out, g->saved[0], g->t[0].v, g->t[0].n, 0.4f,
			   &g->rng);
}

static void drop_bwd(struct gc *g)
{
	nn_dropout_backward(g->t[0].g, g->r, g->saved[0], g->t[0].n);
}

static void add_dropout_gradcheck(void **state)
{
	struct gc a = {.label = "add", .fwd = add_fwd, .bwd = add_bwd};
	struct gc d = {.label = "dropout", .fwd = drop_fwd, .bwd = drop_bwd};

	core_rng_seed(&a.init, 18);
	gc_tensor(&a, "a", gc_rand(&a, 30, -1, 1), 30);
	gc_tensor(&a, "b", gc_rand(&a, 30, -1, 1), 30);
	gc_output(&a, 30);
	gradcheck(&a, H, TOL);
	gc_free(&a);

	core_rng_seed(&d.init, 19);
	d.saved[0] = gc_alloc(&d, 50 * sizeof(float));
	gc_tensor(&d, "x", gc_rand(&d, 50, -1, 1), 50);
	gc_output(&d, 50);
	gradcheck(&d, H, TOL);
	gc_free(&d);
}

/* ---- losses -------------------------------------------------------------- */

static void ce_fwd(struct gc *g)
{
	char err[CORE_ERR_LEN];

	assert_int_equal(nn_loss_cross_entropy(&g->loss, NULL, g->t[0].v,
					       g->labels, g->n, g->k,
					       g->hyper[0], err, sizeof err),
			 CORE_OK);
}

/* The loss writes dlogits; the harness wants it added. */
static void ce_bwd(struct gc *g)
{
	char err[CORE_ERR_LEN];
	size_t nz = (size_t)g->n * g->k;
	float *d = g->saved[0];
	double l;

	assert_int_equal(nn_loss_cross_entropy(&l, d, g->t[0].v, g->labels,
					       g->n, g->k, g->hyper[0], err,
					       sizeof err),
			 CORE_OK);
	for (size_t i = 0; i < nz; i++)
		g->t[0].g[i] += d[i];
}

static void kd_fwd(struct gc *g)
{
	char err[CORE_ERR_LEN];

	assert_int_equal(nn_loss_distill(&g->loss, NULL, g->t[0].v, g->saved[1],
					 g->labels, g->n, g->k, g->hyper[0],
					 g->hyper[1], g->hyper[2], err,
					 sizeof err),
			 CORE_OK);
}

static void kd_bwd(struct gc *g)
{
	char err[CORE_ERR_LEN];
	size_t nz = (size_t)g->n * g->k;
	float *d = g->saved[0];
	double l;

	assert_int_equal(nn_loss_distill(&l, d, g->t[0].v, g->saved[1],
					 g->labels, g->n, g->k, g->hyper[0],
					 g->hyper[1], g->hyper[2], err,
					 sizeof err),
			 CORE_OK);
	for (size_t i = 0; i < nz; i++)
		g->t[0].g[i] += d[i];
}

static void loss_case(const char *label, int kd, float a, float t, float eps)
{
	struct gc g = {.label = label};
	size_t nz;

	g.fwd = kd ? kd_fwd : ce_fwd;
	g.bwd = kd ? kd_bwd : ce_bwd;
	core_rng_seed(&g.init, 20);
	g.n = 4;
	g.k = 6;
	nz = (size_t)g.n * g.k;
	g.hyper[0] = kd ? a : eps;
	g.hyper[1] = t;
	g.hyper[2] = eps;
	g.labels = gc_alloc(&g, (size_t)g.n * sizeof(int32_t));
	for (int i = 0; i < g.n; i++)
		g.labels[i] = (int32_t)core_rng_below(&g.init, (uint64_t)g.k);
	g.saved[0] = gc_alloc(&g, nz * sizeof(float));
	g.saved[1] = gc_rand(&g, nz, -3, 3); /* teacher */
	gc_tensor(&g, "logits", gc_rand(&g, nz, -3, 3), nz);
	gradcheck(&g, H, TOL);
	gc_free(&g);
}

static void loss_gradcheck(void **state)
{
	loss_case("cross-entropy", 0, 0, 0, 0.0f);
	loss_case("cross-entropy eps0.1", 0, 0, 0, 0.1f);
	loss_case("distill a0.5 T4", 1, 0.5f, 4.0f, 0.1f);
	loss_case("distill a0 T2", 1, 0.0f, 2.0f, 0.0f);
	loss_case("distill a1 T1", 1, 1.0f, 1.0f, 0.0f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(conv2d_gradcheck),
	    cmocka_unit_test(dwconv_gradcheck),
	    cmocka_unit_test(act_gradcheck),
	    cmocka_unit_test(bn_gradcheck),
	    cmocka_unit_test(gap_linear_gradcheck),
	    cmocka_unit_test(se_gradcheck),
	    cmocka_unit_test(resize_gradcheck),
	    cmocka_unit_test(add_dropout_gradcheck),
	    cmocka_unit_test(loss_gradcheck),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
