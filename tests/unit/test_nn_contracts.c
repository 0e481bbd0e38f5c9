/* SPDX-License-Identifier: Apache-2.0 */
/* test_nn_contracts.c - the nn layer library's contracts beyond matching
 * PyTorch: results independent of the thread count, residual add and
 * dropout, shape and loss input validation (with nothing written on
 * failure), the activation mapping, scratch sizing, edge shapes, and the
 * fixture reader's failure paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/nn_fixture.h"
#include "nn/nn.h"
#include "nn/nn_internal.h" /* nn_expf, tested directly */

#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static float *frand(size_t n, struct core_rng *r, float scale)
{
	float *p = core_malloc(n * sizeof(float));

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (float)((core_rng_uniform(r) * 2.0 - 1.0) * scale);
	return p;
}

static float *fzero(size_t n)
{
	float *p = core_calloc(n, sizeof(float));

	assert_non_null(p);
	return p;
}

/* ---- thread-count independence ------------------------------------------ */

/* Runs the non-GEMM kernels on tensors large enough to go parallel and
 * returns one buffer holding every output, for bitwise comparison. */
static float *run_kernels(int threads, size_t *len)
{
	struct core_rng r;
	struct nn_dwconv_dims d;
	struct nn_shape s = {4, 16, 16, 40};
	char err[CORE_ERR_LEN];
	size_t nx, ny, nw, c = 40, pos = 0, total;
	float *x, *w, *dy, *out, *gamma, *beta;
	void *scratch;

	omp_set_num_threads(threads);
	core_rng_seed(&r, 7);
	assert_int_equal(
	    nn_dwconv_dims_init(&d, 4, 16, 16, 40, 5, 2, 2, err, sizeof err),
	    CORE_OK);
	nx = nn_shape_count(&s);
	ny = (size_t)d.n * d.ho * d.wo * d.c;
	nw = (size_t)d.k * d.k * d.c;
	x = frand(nx, &r, 2.0f);
	w = frand(nw, &r, 0.5f);
	dy = frand(nx, &r, 1.0f);
	gamma = frand(c, &r, 1.0f);
	beta = frand(c, &r, 1.0f);
	total = ny + nx + nw + NN_ACT_COUNT * (3 * nx + 6 * c) + s.n * c +
		3 * nx + nx / 4;
	out = fzero(total);
	scratch =
	    core_malloc(nn_dwconv_scratch_size(&d) + nn_bn_scratch_size(&s));
	assert_non_null(scratch);

	nn_dwconv_forward(out + pos, x, w, &d);
	pos += ny;
	nn_dwconv_backward(out + pos, out + pos + nx, dy, x, w, &d, scratch);
	pos += nx + nw;
	for (int a = 0; a < NN_ACT_COUNT; a++) {
		float *y = out + pos, *mean = y + nx, *rstd = mean + c;
		float *rm = rstd + c, *rv = rm + c, *dx = rv + c;
		float *dg = dx + nx, *db = dg + c;

		nn_bn_act_forward(y, mean, rstd, rm, rv, x, gamma, beta, &s,
				  (enum nn_act)a, scratch);
		nn_bn_act_backward(dx, dg, db, dy, x, mean, rstd, gamma, beta,
				   &s, (enum nn_act)a, scratch);
		nn_act_forward(db + c, x, nx, (enum nn_act)a);
		nn_act_backward(db + c, dy, x, nx, (enum nn_act)a);
		pos += 3 * nx + 6 * c;
	}
	nn_gap_forward(out + pos, x, &s);
	pos += s.n * c;
	nn_gap_backward(out + pos, dy, &s);
	pos += nx;
	nn_resize_bilinear_forward(out + pos, x, &s, 16, 16);
	pos += nx;
	{
		struct nn_shape small = {4, 8, 8, 40};

		nn_resize_bilinear_forward(out + pos, x, &small, 16, 16);
		pos += nx;
		nn_resize_bilinear_backward(out + pos, dy, &small, 16, 16);
		pos += nx / 4;
	}
	assert_true(pos <= total);
	core_free(scratch);
	core_free(x);
	core_free(w);
	core_free(dy);
	core_free(gamma);
	core_free(beta);
	*len = total;
	return out;
}

static void results_do_not_depend_on_thread_count(void **state)
{
	int saved = omp_get_max_threads();
	size_t n1, n2, n3;
	float *a = run_kernels(1, &n1);
	float *b = run_kernels(2, &n2);
	float *c = run_kernels(3, &n3);

	omp_set_num_threads(saved);
	assert_int_equal(n1, n2);
	assert_int_equal(n1, n3);
	assert_memory_equal(a, b, n1 * sizeof(float));
	assert_memory_equal(a, c, n1 * sizeof(float));
	core_free(a);
	core_free(b);
	core_free(c);
}

/* ---- add, dropout ------------------------------------------------------- */

static void add_forward_and_backward(void **state)
{
	float a[5] = {1, 2, 3, 4, 5}, b[5] = {0.5f, -2, 0, 1e6f, -5};
	float out[5], da[5] = {1, 1, 1, 1, 1}, db[5] = {0};
	float g[5] = {0.25f, 1, -1, 2, 3};

	nn_add_forward(out, a, b, 5);
	for (int i = 0; i < 5; i++)
		assert_true(out[i] == a[i] + b[i]);
	nn_add_backward(da, db, g, 5);
	nn_add_backward(NULL, db, g, 5); /* a branch without gradient */
	for (int i = 0; i < 5; i++) {
		assert_true(da[i] == 1 + g[i]);
		assert_true(db[i] == 2 * g[i]);
	}
	nn_add_forward(a, a, b, 5); /* in place */
	for (int i = 0; i < 5; i++)
		assert_true(a[i] == out[i]);
}

static void dropout_masks_scales_and_repeats(void **state)
{
	const size_t n = 20000;
	struct core_rng r1, r2;
	float *x, *y1, *y2, *m1, *m2, *dx;
	size_t zeros = 0;
	const float keep = 1.0f / (1.0f - 0.3f);

	core_rng_seed(&r1, 42);
	x = frand(n, &r1, 3.0f);
	y1 = fzero(n);
	y2 = fzero(n);
	m1 = fzero(n);
	m2 = fzero(n);
	dx = fzero(n);
	core_rng_seed(&r1, 9);
	core_rng_seed(&r2, 9);
	nn_dropout_forward(y1, m1, x, n, 0.3f, &r1);
	nn_dropout_forward(y2, m2, x, n, 0.3f, &r2);
	assert_memory_equal(m1, m2, n * sizeof(float)); /* seed -> mask */
	for (size_t i = 0; i < n; i++) {
		assert_true(m1[i] == 0.0f || m1[i] == keep);
		zeros += m1[i] == 0.0f;
		assert_true(y1[i] == x[i] * m1[i]);
	}
	printf("# dropout p=0.3 dropped %.4f of %zu\n", (double)zeros / n, n);
	assert_true(fabs((double)zeros / n - 0.3) < 0.015);
	for (size_t i = 0; i < n; i++)
		dx[i] = 1.0f;
	nn_dropout_backward(dx, x, m1, n);
	for (size_t i = 0; i < n; i++)
		assert_true(dx[i] == 1.0f + x[i] * m1[i]);
	/* p = 0 keeps everything unscaled. */
	nn_dropout_forward(y1, m1, x, n, 0.0f, &r1);
	assert_memory_equal(y1, x, n * sizeof(float));
	core_free(x);
	core_free(y1);
	core_free(y2);
	core_free(m1);
	core_free(m2);
	core_free(dx);
}

/* ---- validation --------------------------------------------------------- */

static void shape_and_dims_checks(void **state)
{
	struct nn_conv2d_dims cd;
	struct nn_dwconv_dims dd;
	struct nn_shape ok = {2, 3, 4, 5}, zero = {2, 0, 4, 5};
	struct nn_shape huge = {65536, 256, 256, 1};
	char err[CORE_ERR_LEN];

	assert_int_equal(nn_shape_check(&ok, err, sizeof err), CORE_OK);
	assert_int_equal(nn_shape_count(&ok), 120);
	assert_int_equal(nn_shape_check(&zero, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "< 1"));
	assert_int_equal(nn_shape_check(&huge, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "GEMM"));

	assert_int_equal(
	    nn_conv2d_dims_init(&cd, 2, 9, 7, 3, 8, 3, 2, 1, err, sizeof err),
	    CORE_OK);
	assert_int_equal(cd.ho, 5);
	assert_int_equal(cd.wo, 4);
	assert_int_equal(
	    nn_conv2d_dims_init(&cd, 2, 9, 9, 3, 8, 3, 0, 1, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(err, "stride"));
	assert_int_equal(
	    nn_conv2d_dims_init(&cd, 2, 2, 2, 3, 8, 7, 1, 1, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(err, "larger than padded"));
	assert_int_equal(
	    nn_conv2d_dims_init(&cd, 2, 9, 9, 3, 0, 3, 1, 1, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_int_equal(
	    nn_conv2d_dims_init(&cd, 2, 9, 9, 3, 4, 3, 1, -1, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_int_equal(nn_conv2d_dims_init(&cd, 1, 4095, 4095, 1 << 20, 4,
					     4095, 1, 0, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "k*k*cin"));

	assert_int_equal(
	    nn_dwconv_dims_init(&dd, 1, 8, 8, 5, 3, 2, 1, err, sizeof err),
	    CORE_OK);
	assert_int_equal(dd.ho, 4);
	assert_int_equal(
	    nn_dwconv_dims_init(&dd, 1, 8, 8, 5, 3, 2, 3, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_int_equal(
	    nn_dwconv_dims_init(&dd, 1, 1, 1, 5, 5, 1, 1, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_int_equal(
	    nn_dwconv_dims_init(&dd, 0, 8, 8, 5, 3, 1, 1, err, sizeof err),
	    CORE_ERR_INVALID);
}

static void losses_reject_bad_input(void **state)
{
	float logits[6] = {1, 2, 3, 4, 5, 6}, d[6];
	int32_t good[2] = {0, 2}, bad_hi[2] = {0, 3}, bad_lo[2] = {-1, 0};
	char err[CORE_ERR_LEN];
	double loss = -1.0;

	for (int i = 0; i < 6; i++)
		d[i] = 77.0f;
	assert_int_equal(nn_loss_cross_entropy(&loss, d, logits, bad_hi, 2, 3,
					       0.0f, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "labels[1] = 3"));
	assert_int_equal(nn_loss_cross_entropy(&loss, d, logits, bad_lo, 2, 3,
					       0.0f, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(nn_loss_cross_entropy(&loss, d, logits, good, 2, 3,
					       NAN, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(nn_loss_cross_entropy(&loss, d, logits, good, 2, 3,
					       1.5f, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(nn_loss_cross_entropy(&loss, d, logits, good, 0, 3,
					       0.0f, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(nn_loss_distill(&loss, d, logits, logits, good, 2, 3,
					 1.5f, 2.0f, 0.0f, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(nn_loss_distill(&loss, d, logits, logits, good, 2, 3,
					 0.5f, 0.0f, 0.0f, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(nn_loss_distill(&loss, d, logits, logits, good, 2, 3,
					 0.5f, INFINITY, 0.0f, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(nn_loss_distill(&loss, d, logits, logits, bad_hi, 2, 3,
					 0.5f, 2.0f, 0.0f, err, sizeof err),
			 CORE_ERR_INVALID);
	/* Nothing written on failure. */
	assert_true(loss == -1.0);
	for (int i = 0; i < 6; i++)
		assert_true(d[i] == 77.0f);
}

static void losses_are_stable_and_consistent(void **state)
{
	/* Logits far beyond exp's range: a naive softmax gives inf/NaN. */
	float logits[4] = {1e4f, -1e4f, 3e4f, 0.0f}, d[4];
	int32_t label = 0;
	char err[CORE_ERR_LEN];
	double loss, kd_loss;

	assert_int_equal(nn_loss_cross_entropy(&loss, d, logits, &label, 1, 4,
					       0.0f, err, sizeof err),
			 CORE_OK);
	assert_true(isfinite(loss));
	assert_true(fabs(loss - 2e4) < 1.0); /* 3e4 - 1e4 */
	assert_true(fabs(d[0] + 1.0f) < 1e-6f && fabs(d[2] - 1.0f) < 1e-6f);
	/* The teacher equal to the student adds no KL: KD = alpha * CE. */
	assert_int_equal(nn_loss_distill(&kd_loss, d, logits, logits, &label, 1,
					 4, 0.25f, 3.0f, 0.0f, err, sizeof err),
			 CORE_OK);
	assert_true(fabs(kd_loss - 0.25 * loss) < 1e-6 * loss);
	/* Every dlogits row of a softmax loss sums to zero. */
	{
		float lg[6] = {0.1f, -2, 3, 1, 1, 1}, dl[6];
		int32_t lb[2] = {2, 0};

		assert_int_equal(nn_loss_cross_entropy(&loss, dl, lg, lb, 2, 3,
						       0.1f, err, sizeof err),
				 CORE_OK);
		assert_true(fabs(dl[0] + dl[1] + dl[2]) < 1e-7f);
		assert_true(fabs(dl[3] + dl[4] + dl[5]) < 1e-7f);
	}
}

static void act_mapping_and_names(void **state)
{
	static const enum arch_act from[] = {ARCH_ACT_RELU, ARCH_ACT_RELU6,
					     ARCH_ACT_LEAKYRELU, ARCH_ACT_SWISH,
					     ARCH_ACT_HSWISH};
	static const enum nn_act to[] = {NN_ACT_RELU, NN_ACT_RELU6,
					 NN_ACT_LEAKYRELU, NN_ACT_SWISH,
					 NN_ACT_HSWISH};
	enum nn_act a;

	for (int i = 0; i < ARCH_ACT_COUNT; i++) {
		assert_int_equal(nn_act_from_arch(from[i], &a), CORE_OK);
		assert_int_equal(a, to[i]);
	}
	assert_int_equal(nn_act_from_arch((enum arch_act)99, &a),
			 CORE_ERR_INVALID);
	/* A NaN goes through every activation (and BN) to the loss. */
	for (int i = 0; i < NN_ACT_COUNT; i++) {
		float x = NAN, y = 0.0f;

		nn_act_forward(&y, &x, 1, (enum nn_act)i);
		assert_true(isnan(y));
	}
	assert_string_equal(nn_act_name(NN_ACT_HSWISH), "hswish");
	assert_string_equal(nn_act_name((enum nn_act)99), "unknown");
}

/* The vectorisable expf behind swish and sigmoid, over its whole range. */
static void expf_accuracy(void **state)
{
	double worst = 0.0;

	for (int i = 0; i <= 200000; i++) {
		float x = -87.0f + 175.0f * (float)i / 200000.0f;
		double want = exp((double)x);

		worst = fmax(worst, fabs(nn_expf(x) - want) / want);
	}
	printf("# nn_expf max relative error on [-87, 88]: %.2e\n", worst);
	assert_true(worst < 4e-7); /* ~3 ulp */
	assert_true(nn_expf(0.0f) == 1.0f);
	assert_true(isnan(nn_expf(NAN)));
	assert_true(nn_expf(-1000.0f) >= 0.0f && nn_expf(-1000.0f) < 1e-37f);
	assert_true(isfinite(nn_expf(1000.0f)));
	assert_true(nn_sigmoidf(100.0f) == 1.0f);
	assert_true(nn_sigmoidf(-100.0f) >= 0.0f &&
		    nn_sigmoidf(-100.0f) < 1e-37f);
	assert_true(fabsf(nn_sigmoidf(0.0f) - 0.5f) == 0.0f);
}

/* ---- edge shapes and scratch -------------------------------------------- */

static void conv_scratch_sizes(void **state)
{
	struct nn_conv2d_dims d;
	char err[CORE_ERR_LEN];

	assert_int_equal(nn_conv2d_dims_init(&d, 64, 56, 56, 32, 64, 1, 1, 0,
					     err, sizeof err),
			 CORE_OK);
	assert_int_equal(nn_conv2d_scratch_size(&d), 0);
	assert_int_equal(nn_conv2d_scratch_min(&d), 0);
	/* A big stem: capped near 8 MiB, whole rows, at least the minimum. */
	assert_int_equal(nn_conv2d_dims_init(&d, 256, 224, 224, 3, 32, 3, 2, 1,
					     err, sizeof err),
			 CORE_OK);
	assert_true(nn_conv2d_scratch_size(&d) <= (size_t)8 << 20);
	assert_true(nn_conv2d_scratch_size(&d) >= nn_conv2d_scratch_min(&d));
	assert_int_equal(nn_conv2d_scratch_size(&d) % nn_conv2d_scratch_min(&d),
			 0);
	assert_int_equal(nn_conv2d_scratch_min(&d), 112 * 27 * sizeof(float));
}

/* One value per channel: biased variance 0, running variance stays finite,
 * and the output is act(beta). */
static void bn_single_value_per_channel(void **state)
{
	struct nn_shape s = {1, 1, 1, 3};
	float x[3] = {1, -2, 5}, g[3] = {1, 2, 3}, b[3] = {0.5f, -1, 2};
	float y[3], mean[3], rstd[3], rm[3] = {0}, rv[3] = {1, 1, 1};
	float dx[3] = {0}, dg[3] = {0}, db[3] = {0}, dy[3] = {1, 1, 1};
	void *scratch = core_malloc(nn_bn_scratch_size(&s));

	assert_non_null(scratch);
	nn_bn_act_forward(y, mean, rstd, rm, rv, x, g, b, &s, NN_ACT_RELU,
			  scratch);
	for (int i = 0; i < 3; i++) {
		assert_true(y[i] == (b[i] > 0 ? b[i] : 0));
		assert_true(isfinite(rv[i]) && fabsf(rv[i] - 0.9f) < 1e-6f);
		assert_true(fabsf(rm[i] - 0.1f * x[i]) < 1e-6f);
	}
	nn_bn_act_backward(dx, dg, db, dy, x, mean, rstd, g, b, &s, NN_ACT_RELU,
			   scratch);
	for (int i = 0; i < 3; i++)
		assert_true(isfinite(dx[i]) && fabsf(dx[i]) < 1e-6f);
	core_free(scratch);
}

/* Inference BN on more channels than its stack block (256) against a
 * direct double loop. */
static void bn_eval_wide_channels(void **state)
{
	struct nn_shape s = {2, 3, 2, 300};
	struct core_rng r;
	size_t n = nn_shape_count(&s);
	float *x, *rm, *rv, *g, *b, *y;
	double worst = 0.0;

	core_rng_seed(&r, 3);
	x = frand(n, &r, 3.0f);
	rm = frand(300, &r, 1.0f);
	rv = frand(300, &r, 1.0f);
	g = frand(300, &r, 1.0f);
	b = frand(300, &r, 1.0f);
	y = fzero(n);
	for (int c = 0; c < 300; c++)
		rv[c] = fabsf(rv[c]) + 0.1f;
	nn_bn_act_forward_eval(y, x, rm, rv, g, b, &s, NN_ACT_SWISH);
	for (size_t i = 0; i < n; i++) {
		int c = (int)(i % 300);
		double z =
		    ((double)x[i] - rm[c]) / sqrt((double)rv[c] + 1e-5) * g[c] +
		    b[c];
		double want = z / (1.0 + exp(-z));

		worst = fmax(worst, fabs(want - y[i]) / fmax(1.0, fabs(want)));
	}
	printf("# bn eval 300 channels vs double loop: %.2e\n", worst);
	assert_true(worst < 1e-5);
	core_free(x);
	core_free(rm);
	core_free(rv);
	core_free(g);
	core_free(b);
	core_free(y);
}

/* The optional gradients: NULL skips, and the rest is unchanged. */
static void backward_null_gradients_skip_work(void **state)
{
	struct nn_conv2d_dims cd;
	struct nn_dwconv_dims dd;
	struct core_rng r;
	char err[CORE_ERR_LEN];
	size_t nx, ny, nw, sb;
	float *x, *w, *dy, *dw1, *dw2, *dx1, *dx2;
	void *scratch;

	core_rng_seed(&r, 5);
	assert_int_equal(
	    nn_conv2d_dims_init(&cd, 2, 9, 9, 3, 4, 3, 2, 1, err, sizeof err),
	    CORE_OK);
	nx = 2 * 9 * 9 * 3;
	ny = (size_t)2 * cd.ho * cd.wo * 4;
	nw = 4 * 9 * 3;
	sb = nn_conv2d_scratch_size(&cd);
	scratch = core_malloc(sb + 4096);
	assert_non_null(scratch);
	x = frand(nx, &r, 1);
	w = frand(nw, &r, 1);
	dy = frand(ny, &r, 1);
	dw1 = fzero(nw);
	dw2 = fzero(nw);
	dx1 = fzero(nx);
	dx2 = fzero(nx);
	nn_conv2d_backward(dx1, dw1, dy, x, w, &cd, scratch, sb);
	nn_conv2d_backward(NULL, dw2, dy, x, w, &cd, scratch, sb);
	nn_conv2d_backward(dx2, NULL, dy, x, w, &cd, scratch, sb);
	assert_memory_equal(dw1, dw2, nw * sizeof(float));
	assert_memory_equal(dx1, dx2, nx * sizeof(float));

	assert_int_equal(
	    nn_dwconv_dims_init(&dd, 2, 9, 9, 3, 3, 2, 1, err, sizeof err),
	    CORE_OK);
	memset(dx1, 0, nx * sizeof(float));
	memset(dx2, 0, nx * sizeof(float));
	memset(dw1, 0, 27 * sizeof(float));
	memset(dw2, 0, 27 * sizeof(float));
	assert_true(nn_dwconv_scratch_size(&dd) <= sb + 4096);
	nn_dwconv_backward(dx1, dw1, dy, x, w, &dd, scratch);
	nn_dwconv_backward(NULL, dw2, dy, x, w, &dd, scratch);
	nn_dwconv_backward(dx2, NULL, dy, x, w, &dd, scratch);
	assert_memory_equal(dw1, dw2, 27 * sizeof(float));
	assert_memory_equal(dx1, dx2, nx * sizeof(float));
	core_free(scratch);
	core_free(x);
	core_free(w);
	core_free(dy);
	core_free(dw1);
	core_free(dw2);
	core_free(dx1);
	core_free(dx2);
}

/* ---- the fixture reader ------------------------------------------------- */

static void fixture_reader_failures(void **state)
{
	struct nn_fixture f;
	char err[CORE_ERR_LEN], path[] = "/tmp/lmnas-nnfx-XXXXXX";
	static const unsigned char trunc[] = "LMNF0001\x01\0\0\0shortname";
	int fd;

	assert_int_not_equal(
	    nn_fixture_load(&f, "no_such_case", err, sizeof err), CORE_OK);
	assert_null(f.buf);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, trunc, sizeof trunc - 1),
			 (ssize_t)(sizeof trunc - 1));
	close(fd);
	assert_int_equal(nn_fixture_load_path(&f, path, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "truncated"));
	assert_null(f.buf);
	unlink(path);
	/* Allocation failure: reported, nothing leaked. */
	core_alloc_fail_after(0);
	assert_int_equal(nn_fixture_load(&f, "gap", err, sizeof err),
			 CORE_ERR_NOMEM);
	core_alloc_fail_after(-1);
	assert_null(f.buf);
	assert_int_equal(nn_fixture_load(&f, "gap", err, sizeof err), CORE_OK);
	assert_null(nn_fixture_f32(&f, "no_such_tensor", NULL));
	assert_null(nn_fixture_i32(&f, "x", NULL)); /* wrong dtype */
	nn_fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(results_do_not_depend_on_thread_count),
	    cmocka_unit_test(add_forward_and_backward),
	    cmocka_unit_test(dropout_masks_scales_and_repeats),
	    cmocka_unit_test(shape_and_dims_checks),
	    cmocka_unit_test(losses_reject_bad_input),
	    cmocka_unit_test(losses_are_stable_and_consistent),
	    cmocka_unit_test(act_mapping_and_names),
	    cmocka_unit_test(expf_accuracy),
	    cmocka_unit_test(conv_scratch_sizes),
	    cmocka_unit_test(bn_single_value_per_channel),
	    cmocka_unit_test(bn_eval_wide_channels),
	    cmocka_unit_test(backward_null_gradients_skip_work),
	    cmocka_unit_test(fixture_reader_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
