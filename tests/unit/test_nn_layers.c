/* SPDX-License-Identifier: Apache-2.0 */
/* test_nn_layers.c - every nn layer's forward output and input/weight
 * gradients against PyTorch fixtures (tools/gen_nn_fixtures.py), with the
 * measured max relative error printed per layer. Gradient buffers start
 * non-zero, so every comparison also checks that backward adds; conv2d runs
 * twice, with full scratch and with one output row of scratch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/nn_fixture.h"
#include "nn/nn.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

/* Allowed error of every tensor: max |c - torch| <= RTOL * max |torch| +
 * atol. RTOL sits near what is measured (relative to the tensor's largest
 * value: below 4e-7 for most tensors, 2.7e-6 for the SE's small weight
 * gradients, float32 sums in another order than PyTorch's): a 3x BN
 * epsilon moves BN outputs by ~1.4e-5 relative and fails. atol is 0, except for
 * gradients read back from a buffer prefilled with ACC0: (ACC0 + g) - ACC0
 * loses up to half an ulp of ACC0 whatever g's size (ACC_ATOL, twice that),
 * which matters only for gradients near zero. */
#define RTOL	 3e-6
#define ACC_ATOL 6e-8 /* 2^-24: one ulp of 0.5 */
/* Gradient buffers start at this value so that "backward adds" is checked
 * by every comparison. */
#define ACC0 0.5f

static double worst_seen;

static void check_tol(const char *cs, const char *what, const float *got,
		      const float *want, size_t n, double atol)
{
	double diff = 0.0, scale = 0.0, bound;

	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - (double)want[i]);

		if (!(d <= diff)) /* NaN propagates */
			diff = d;
		if (fabs((double)want[i]) > scale)
			scale = fabs((double)want[i]);
	}
	bound = RTOL * scale + atol;
	printf("# %-22s %-10s max abs err %.2e, max |ref| %.2e: rel %.2e\n", cs,
	       what, diff, scale, scale > 0 ? diff / scale : diff);
	if (scale > 0 && diff / scale > worst_seen)
		worst_seen = diff / scale;
	if (!(diff <= bound))
		fail_msg("%s %s: max abs err %.3e > %.1e * %.3e + %.0e", cs,
			 what, diff, RTOL, scale, atol);
}

/* A forward output or anything not read through a prefilled buffer. */
static void check(const char *cs, const char *what, const float *got,
		  const float *want, size_t n)
{
	check_tol(cs, what, got, want, n, 0.0);
}

/* A gradient read back through unacc(). */
static void check_acc(const char *cs, const char *what, const float *got,
		      const float *want, size_t n)
{
	check_tol(cs, what, got, want, n, ACC_ATOL);
}

static float *fbuf(size_t n, float fill)
{
	float *p = core_malloc((n ? n : 1) * sizeof(float));

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = fill;
	return p;
}

/* got -= ACC0 in place, undoing the prefill before comparing. */
static float *unacc(float *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		g[i] -= ACC0;
	return g;
}

static void load(struct nn_fixture *f, const char *name)
{
	char err[CORE_ERR_LEN];

	if (nn_fixture_load(f, name, err, sizeof err) != CORE_OK)
		fail_msg("fixture %s: %s", name, err);
}

static const float *ten(const struct nn_fixture *f, const char *name,
			size_t want)
{
	size_t n = 0;
	const float *p = nn_fixture_f32(f, name, &n);

	if (!p)
		fail_msg("fixture lacks float tensor '%s'", name);
	if (n != want)
		fail_msg("tensor '%s' has %zu elements, expected %zu", name, n,
			 want);
	return p;
}

static const int32_t *params(const struct nn_fixture *f, size_t want)
{
	size_t n = 0;
	const int32_t *p = nn_fixture_i32(f, "params", &n);

	if (!p || n != want)
		fail_msg("fixture params missing or not %zu long", want);
	return p;
}

/* ---- conv2d ------------------------------------------------------------ */

static const char *const conv_cases[] = {
    "conv2d_k3_s2_stem",  "conv2d_k5_s1_odd", "conv2d_k7_s2",
    "conv2d_k3_s1_nopad", "conv2d_1x1",	      "conv2d_1x1_s2",
};

static void conv_case(const char *cs)
{
	struct nn_fixture f;
	struct nn_conv2d_dims d;
	char err[CORE_ERR_LEN], label[64];
	const int32_t *p;
	size_t nx, ny, nw, sizes[2];

	load(&f, cs);
	p = params(&f, 8);
	assert_int_equal(nn_conv2d_dims_init(&d, p[0], p[1], p[2], p[3], p[4],
					     p[5], p[6], p[7], err, sizeof err),
			 CORE_OK);
	nx = (size_t)d.n * d.h * d.w * d.cin;
	ny = (size_t)d.n * d.ho * d.wo * d.cout;
	nw = (size_t)d.cout * d.k * d.k * d.cin;
	sizes[0] = nn_conv2d_scratch_size(&d);
	sizes[1] = nn_conv2d_scratch_min(&d);
	if (d.k == 1 && d.stride == 1 && d.pad == 0)
		assert_int_equal(sizes[0], 0); /* the one-GEMM fast path */
	for (int pass = 0; pass < 2; pass++) {
		float *w = fbuf(nw, 0), *wt = fbuf(nw, 0), *y = fbuf(ny, 0);
		float *dx = fbuf(nx, ACC0), *dw = fbuf(nw, ACC0);
		void *scratch = core_malloc(sizes[pass] + 1);
		const char *tag = pass ? "/1row" : "";

		assert_non_null(scratch);
		nn_conv2d_weight_from_torch(w, ten(&f, "w", nw), d.cout, d.cin,
					    d.k);
		nn_conv2d_weight_to_torch(wt, w, d.cout, d.cin, d.k);
		assert_memory_equal(wt, ten(&f, "w", nw), nw * sizeof(float));
		nn_conv2d_forward(y, ten(&f, "x", nx), w, &d, scratch,
				  sizes[pass]);
		snprintf(label, sizeof label, "y%s", tag);
		check(cs, label, y, ten(&f, "y", ny), ny);
		nn_conv2d_backward(dx, dw, ten(&f, "dy", ny), ten(&f, "x", nx),
				   w, &d, scratch, sizes[pass]);
		snprintf(label, sizeof label, "dx%s", tag);
		check_acc(cs, label, unacc(dx, nx), ten(&f, "dx", nx), nx);
		nn_conv2d_weight_to_torch(wt, unacc(dw, nw), d.cout, d.cin,
					  d.k);
		snprintf(label, sizeof label, "dw%s", tag);
		check_acc(cs, label, wt, ten(&f, "dw", nw), nw);
		core_free(scratch);
		core_free(w);
		core_free(wt);
		core_free(y);
		core_free(dx);
		core_free(dw);
	}
	nn_fixture_free(&f);
}

static void conv2d_matches_torch(void **state)
{
	for (size_t i = 0; i < sizeof conv_cases / sizeof *conv_cases; i++)
		conv_case(conv_cases[i]);
}

/* ---- depthwise ---------------------------------------------------------- */

static const char *const dw_cases[] = {
    "dwconv_k3_s1", "dwconv_k3_s2_even",  "dwconv_k5_s2",
    "dwconv_k7_s1", "dwconv_k7_s2_small",
};

static void dwconv_matches_torch(void **state)
{
	for (size_t i = 0; i < sizeof dw_cases / sizeof *dw_cases; i++) {
		const char *cs = dw_cases[i];
		struct nn_fixture f;
		struct nn_dwconv_dims d;
		char err[CORE_ERR_LEN];
		const int32_t *p;
		size_t nx, ny, nw;
		float *w, *wt, *y, *dx, *dw;
		void *scratch;

		load(&f, cs);
		p = params(&f, 7);
		assert_int_equal(nn_dwconv_dims_init(&d, p[0], p[1], p[2], p[3],
						     p[4], p[5], p[6], err,
						     sizeof err),
				 CORE_OK);
		nx = (size_t)d.n * d.h * d.w * d.c;
		ny = (size_t)d.n * d.ho * d.wo * d.c;
		nw = (size_t)d.k * d.k * d.c;
		w = fbuf(nw, 0);
		wt = fbuf(nw, 0);
		y = fbuf(ny, 0);
		dx = fbuf(nx, ACC0);
		dw = fbuf(nw, ACC0);
		scratch = core_malloc(nn_dwconv_scratch_size(&d));
		assert_non_null(scratch);
		nn_dwconv_weight_from_torch(w, ten(&f, "w", nw), d.c, d.k);
		nn_dwconv_weight_to_torch(wt, w, d.c, d.k);
		assert_memory_equal(wt, ten(&f, "w", nw), nw * sizeof(float));
		nn_dwconv_forward(y, ten(&f, "x", nx), w, &d);
		check(cs, "y", y, ten(&f, "y", ny), ny);
		nn_dwconv_backward(dx, dw, ten(&f, "dy", ny), ten(&f, "x", nx),
				   w, &d, scratch);
		check_acc(cs, "dx", unacc(dx, nx), ten(&f, "dx", nx), nx);
		nn_dwconv_weight_to_torch(wt, unacc(dw, nw), d.c, d.k);
		check_acc(cs, "dw", wt, ten(&f, "dw", nw), nw);
		core_free(scratch);
		core_free(w);
		core_free(wt);
		core_free(y);
		core_free(dx);
		core_free(dw);
		nn_fixture_free(&f);
	}
}

/* ---- batch norm + activation ------------------------------------------- */

static const char *const bn_cases[] = {
    "bn_none",	"bn_relu",   "bn_relu6",   "bn_leakyrelu",
    "bn_swish", "bn_hswish", "bn_sigmoid", "bn_relu6_wide",
};

static void bn_act_matches_torch(void **state)
{
	for (size_t i = 0; i < sizeof bn_cases / sizeof *bn_cases; i++) {
		const char *cs = bn_cases[i];
		struct nn_fixture f;
		struct nn_shape s;
		const int32_t *p;
		size_t nx, c;
		float *y, *mean, *rstd, *rm, *rv, *dx, *dg, *db;
		void *scratch;
		enum nn_act act;

		load(&f, cs);
		p = params(&f, 5);
		s = (struct nn_shape){p[0], p[1], p[2], p[3]};
		act = (enum nn_act)p[4];
		nx = nn_shape_count(&s);
		c = (size_t)s.c;
		y = fbuf(nx, 0);
		mean = fbuf(c, 0);
		rstd = fbuf(c, 0);
		rm = fbuf(c, 0);
		rv = fbuf(c, 0);
		dx = fbuf(nx, ACC0);
		dg = fbuf(c, ACC0);
		db = fbuf(c, ACC0);
		scratch = core_malloc(nn_bn_scratch_size(&s));
		assert_non_null(scratch);
		memcpy(rm, ten(&f, "rm_in", c), c * sizeof(float));
		memcpy(rv, ten(&f, "rv_in", c), c * sizeof(float));
		nn_bn_act_forward(y, mean, rstd, rm, rv, ten(&f, "x", nx),
				  ten(&f, "gamma", c), ten(&f, "beta", c), &s,
				  act, scratch);
		check(cs, "y", y, ten(&f, "y", nx), nx);
		check(cs, "mean", mean, ten(&f, "mean", c), c);
		check(cs, "rstd", rstd, ten(&f, "rstd", c), c);
		check(cs, "run_mean", rm, ten(&f, "rm_out", c), c);
		check(cs, "run_var", rv, ten(&f, "rv_out", c), c);
		nn_bn_act_backward(
		    dx, dg, db, ten(&f, "dy", nx), ten(&f, "x", nx), mean, rstd,
		    ten(&f, "gamma", c), ten(&f, "beta", c), &s, act, scratch);
		check_acc(cs, "dx", unacc(dx, nx), ten(&f, "dx", nx), nx);
		check_acc(cs, "dgamma", unacc(dg, c), ten(&f, "dgamma", c), c);
		check_acc(cs, "dbeta", unacc(db, c), ten(&f, "dbeta", c), c);
		nn_bn_act_forward_eval(y, ten(&f, "x", nx), ten(&f, "rm_in", c),
				       ten(&f, "rv_in", c), ten(&f, "gamma", c),
				       ten(&f, "beta", c), &s, act);
		check(cs, "y_eval", y, ten(&f, "y_eval", nx), nx);
		core_free(scratch);
		core_free(y);
		core_free(mean);
		core_free(rstd);
		core_free(rm);
		core_free(rv);
		core_free(dx);
		core_free(dg);
		core_free(db);
		nn_fixture_free(&f);
	}
}

/* ---- activations -------------------------------------------------------- */

static void act_matches_torch(void **state)
{
	static const char *const cases[] = {
	    "act_none",	 "act_relu",   "act_relu6",   "act_leakyrelu",
	    "act_swish", "act_hswish", "act_sigmoid",
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct nn_fixture f;
		const int32_t *p;
		size_t n;
		float *y, *dx;
		enum nn_act act;

		load(&f, cases[i]);
		p = params(&f, 2);
		n = (size_t)p[0];
		act = (enum nn_act)p[1];
		assert_string_equal(nn_act_name(act), cases[i] + 4);
		y = fbuf(n, 0);
		dx = fbuf(n, ACC0);
		nn_act_forward(y, ten(&f, "x", n), n, act);
		check(cases[i], "y", y, ten(&f, "y", n), n);
		/* The first five inputs sit exactly on the kinks -6, -3, 0,
		 * 3, 6: this compares PyTorch's conventions there too. */
		nn_act_backward(dx, ten(&f, "dy", n), ten(&f, "x", n), n, act);
		check_acc(cases[i], "dx", unacc(dx, n), ten(&f, "dx", n), n);
		core_free(y);
		core_free(dx);
		nn_fixture_free(&f);
	}
}

/* ---- pooling, linear, SE, resize ---------------------------------------- */

static void gap_matches_torch(void **state)
{
	static const char *const cases[] = {"gap", "gap_1x1"};

	for (size_t i = 0; i < 2; i++) {
		struct nn_fixture f;
		const int32_t *p;
		struct nn_shape s;
		size_t nx, ny;
		float *y, *dx;

		load(&f, cases[i]);
		p = params(&f, 4);
		s = (struct nn_shape){p[0], p[1], p[2], p[3]};
		nx = nn_shape_count(&s);
		ny = (size_t)s.n * s.c;
		y = fbuf(ny, 0);
		dx = fbuf(nx, ACC0);
		nn_gap_forward(y, ten(&f, "x", nx), &s);
		check(cases[i], "y", y, ten(&f, "y", ny), ny);
		nn_gap_backward(dx, ten(&f, "dy", ny), &s);
		check_acc(cases[i], "dx", unacc(dx, nx), ten(&f, "dx", nx), nx);
		core_free(y);
		core_free(dx);
		nn_fixture_free(&f);
	}
}

static void linear_matches_torch(void **state)
{
	static const char *const cases[] = {"linear", "linear_n1"};

	for (size_t i = 0; i < 2; i++) {
		struct nn_fixture f;
		const int32_t *p;
		int n, ci, co;
		size_t nx, ny, nw;
		float *y, *dx, *dw, *db;

		load(&f, cases[i]);
		p = params(&f, 3);
		n = p[0];
		ci = p[1];
		co = p[2];
		nx = (size_t)n * ci;
		ny = (size_t)n * co;
		nw = (size_t)co * ci;
		y = fbuf(ny, 0);
		dx = fbuf(nx, ACC0);
		dw = fbuf(nw, ACC0);
		db = fbuf((size_t)co, ACC0);
		nn_linear_forward(y, ten(&f, "x", nx), ten(&f, "w", nw),
				  ten(&f, "b", (size_t)co), n, ci, co);
		check(cases[i], "y", y, ten(&f, "y", ny), ny);
		nn_linear_backward(dx, dw, db, ten(&f, "dy", ny),
				   ten(&f, "x", nx), ten(&f, "w", nw), n, ci,
				   co);
		check_acc(cases[i], "dx", unacc(dx, nx), ten(&f, "dx", nx), nx);
		check_acc(cases[i], "dw", unacc(dw, nw), ten(&f, "dw", nw), nw);
		check_acc(cases[i], "db", unacc(db, (size_t)co),
			  ten(&f, "db", (size_t)co), (size_t)co);
		/* Without bias the output is the bias-free GEMM. */
		nn_linear_forward(y, ten(&f, "x", nx), ten(&f, "w", nw), NULL,
				  n, ci, co);
		for (size_t j = 0; j < ny; j++)
			y[j] += ten(&f, "b", (size_t)co)[j % (size_t)co];
		check(cases[i], "y_nobias", y, ten(&f, "y", ny), ny);
		core_free(y);
		core_free(dx);
		core_free(dw);
		core_free(db);
		nn_fixture_free(&f);
	}
}

static void se_matches_torch(void **state)
{
	static const char *const cases[] = {"se_c8_r2", "se_c13_r3"};

	for (size_t i = 0; i < 2; i++) {
		const char *cs = cases[i];
		struct nn_fixture f;
		const int32_t *p;
		struct nn_shape s;
		int r;
		size_t nx, nc, nr, c, rr;
		float *y, *pooled, *hidden, *gate, *dx, *dw1, *db1, *dw2, *db2;
		void *scratch;

		load(&f, cs);
		p = params(&f, 5);
		s = (struct nn_shape){p[0], p[1], p[2], p[3]};
		r = p[4];
		nx = nn_shape_count(&s);
		c = (size_t)s.c;
		rr = (size_t)r;
		nc = (size_t)s.n * c;
		nr = (size_t)s.n * rr;
		y = fbuf(nx, 0);
		pooled = fbuf(nc, 0);
		hidden = fbuf(nr, 0);
		gate = fbuf(nc, 0);
		dx = fbuf(nx, ACC0);
		dw1 = fbuf(rr * c, ACC0);
		db1 = fbuf(rr, ACC0);
		dw2 = fbuf(c * rr, ACC0);
		db2 = fbuf(c, ACC0);
		scratch = core_malloc(nn_se_scratch_size(&s, r));
		assert_non_null(scratch);
		nn_se_forward(y, pooled, hidden, gate, ten(&f, "x", nx),
			      ten(&f, "w1", rr * c), ten(&f, "b1", rr),
			      ten(&f, "w2", c * rr), ten(&f, "b2", c), &s, r);
		check(cs, "y", y, ten(&f, "y", nx), nx);
		nn_se_backward(dx, dw1, db1, dw2, db2, ten(&f, "dy", nx),
			       ten(&f, "x", nx), pooled, hidden, gate,
			       ten(&f, "w1", rr * c), ten(&f, "w2", c * rr), &s,
			       r, scratch);
		check_acc(cs, "dx", unacc(dx, nx), ten(&f, "dx", nx), nx);
		check_acc(cs, "dw1", unacc(dw1, rr * c), ten(&f, "dw1", rr * c),
			  rr * c);
		check_acc(cs, "db1", unacc(db1, rr), ten(&f, "db1", rr), rr);
		check_acc(cs, "dw2", unacc(dw2, c * rr), ten(&f, "dw2", c * rr),
			  c * rr);
		check_acc(cs, "db2", unacc(db2, c), ten(&f, "db2", c), c);
		core_free(scratch);
		core_free(y);
		core_free(pooled);
		core_free(hidden);
		core_free(gate);
		core_free(dx);
		core_free(dw1);
		core_free(db1);
		core_free(dw2);
		core_free(db2);
		nn_fixture_free(&f);
	}
}

static void resize_matches_torch(void **state)
{
	static const char *const cases[] = {"resize_up", "resize_up_rect",
					    "resize_down", "resize_same"};

	for (size_t i = 0; i < 4; i++) {
		struct nn_fixture f;
		const int32_t *p;
		struct nn_shape s;
		int ho, wo;
		size_t nx, ny;
		float *y, *dx;

		load(&f, cases[i]);
		p = params(&f, 6);
		s = (struct nn_shape){p[0], p[1], p[2], p[3]};
		ho = p[4];
		wo = p[5];
		nx = nn_shape_count(&s);
		ny = (size_t)s.n * ho * wo * s.c;
		y = fbuf(ny, 0);
		dx = fbuf(nx, ACC0);
		nn_resize_bilinear_forward(y, ten(&f, "x", nx), &s, ho, wo);
		check(cases[i], "y", y, ten(&f, "y", ny), ny);
		nn_resize_bilinear_backward(dx, ten(&f, "dy", ny), &s, ho, wo);
		check_acc(cases[i], "dx", unacc(dx, nx), ten(&f, "dx", nx), nx);
		core_free(y);
		core_free(dx);
		nn_fixture_free(&f);
	}
}

/* ---- losses ------------------------------------------------------------- */

static void losses_match_torch(void **state)
{
	static const char *const ce_cases[] = {"ce_plain", "ce_smooth",
					       "ce_large_logits"};
	static const char *const kd_cases[] = {"kd_a05_t4", "kd_a09_t1",
					       "kd_a0_t2"};
	char err[CORE_ERR_LEN];

	for (size_t i = 0; i < 3; i++) {
		struct nn_fixture f;
		const int32_t *p, *labels;
		size_t nl = 0, nz;
		double loss = 0;
		float lossf, *dl;

		load(&f, ce_cases[i]);
		p = params(&f, 2);
		nz = (size_t)p[0] * p[1];
		labels = nn_fixture_i32(&f, "labels", &nl);
		assert_non_null(labels);
		assert_int_equal(nl, (size_t)p[0]);
		dl = fbuf(nz, 0);
		assert_int_equal(nn_loss_cross_entropy(
				     &loss, dl, ten(&f, "logits", nz), labels,
				     p[0], p[1], ten(&f, "hyper", 1)[0], err,
				     sizeof err),
				 CORE_OK);
		lossf = (float)loss;
		check(ce_cases[i], "loss", &lossf, ten(&f, "loss", 1), 1);
		check(ce_cases[i], "dlogits", dl, ten(&f, "dlogits", nz), nz);
		core_free(dl);
		nn_fixture_free(&f);
	}
	for (size_t i = 0; i < 3; i++) {
		struct nn_fixture f;
		const int32_t *p, *labels;
		const float *hy;
		size_t nz;
		double loss = 0;
		float lossf, *dl;

		load(&f, kd_cases[i]);
		p = params(&f, 2);
		nz = (size_t)p[0] * p[1];
		labels = nn_fixture_i32(&f, "labels", NULL);
		assert_non_null(labels);
		hy = ten(&f, "hyper", 3);
		dl = fbuf(nz, 0);
		assert_int_equal(
		    nn_loss_distill(&loss, dl, ten(&f, "student", nz),
				    ten(&f, "teacher", nz), labels, p[0], p[1],
				    hy[0], hy[1], hy[2], err, sizeof err),
		    CORE_OK);
		lossf = (float)loss;
		check(kd_cases[i], "loss", &lossf, ten(&f, "loss", 1), 1);
		check(kd_cases[i], "dlogits", dl, ten(&f, "dlogits", nz), nz);
		/* Evaluation: no gradient asked, same loss. */
		assert_int_equal(
		    nn_loss_distill(&loss, NULL, ten(&f, "student", nz),
				    ten(&f, "teacher", nz), labels, p[0], p[1],
				    hy[0], hy[1], hy[2], err, sizeof err),
		    CORE_OK);
		assert_float_equal((float)loss, lossf, 0.0f);
		core_free(dl);
		nn_fixture_free(&f);
	}
	printf("# worst relative error over all layers vs PyTorch: %.2e\n",
	       worst_seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(conv2d_matches_torch),
	    cmocka_unit_test(dwconv_matches_torch),
	    cmocka_unit_test(bn_act_matches_torch),
	    cmocka_unit_test(act_matches_torch),
	    cmocka_unit_test(gap_matches_torch),
	    cmocka_unit_test(linear_matches_torch),
	    cmocka_unit_test(se_matches_torch),
	    cmocka_unit_test(resize_matches_torch),
	    cmocka_unit_test(losses_match_torch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
