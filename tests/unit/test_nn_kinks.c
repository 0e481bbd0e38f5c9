/* SPDX-License-Identifier: Apache-2.0 */
/* test_nn_kinks.c - activations at their kinks (ReLU, ReLU6, LeakyReLU and
 * Hardswish: 0, 6, -3, 3): on and within a few ulp of every kink, forward
 * values and derivatives follow PyTorch 1.13 (the constants below are what
 * torch printed), and the fused BN+activation takes the same side of a kink
 * in its forward and in both backward passes, which recompute the
 * pre-activation from x instead of storing it (nn.h). Pre-activations are
 * driven onto the kinks by cancellation, (x - mean) * scale + beta ~ 0 with
 * |beta| ~ 1, as happens in training: one element 2e-7 from a LeakyReLU kink
 * once decided a 20-step parity run (tools/gen_model_fixtures.py). The SE
 * hidden ReLU at 0 as well. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn/nn.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* x moved by k ulps (k < 0: towards -inf). */
static float ulps(float x, int k)
{
	for (; k > 0; k--)
		x = nextafterf(x, INFINITY);
	for (; k < 0; k++)
		x = nextafterf(x, -INFINITY);
	return x;
}

static float *fzero(size_t n)
{
	float *p = core_calloc(n, sizeof(float));

	assert_non_null(p);
	return p;
}

/* ---- standalone activations: PyTorch's values at the kinks -------------- */

struct probe {
	enum nn_act act;
	float kink;
	int ulp;    /* x = kink moved by ulp ulps */
	float grad; /* torch: x.grad of act(x).sum() */
};

/* torch 1.13, float32, a 100-element tensor (its vectorised kernels). */
static const struct probe probes[] = {
    {NN_ACT_RELU, 0.0f, -2, 0.0f},
    {NN_ACT_RELU, 0.0f, -1, 0.0f},
    {NN_ACT_RELU, 0.0f, 0, 0.0f},
    {NN_ACT_RELU, 0.0f, 1, 1.0f},
    {NN_ACT_RELU, 0.0f, 2, 1.0f},
    {NN_ACT_RELU6, 0.0f, -1, 0.0f},
    {NN_ACT_RELU6, 0.0f, 0, 0.0f},
    {NN_ACT_RELU6, 0.0f, 1, 1.0f},
    {NN_ACT_RELU6, 6.0f, -2, 1.0f},
    {NN_ACT_RELU6, 6.0f, -1, 1.0f},
    {NN_ACT_RELU6, 6.0f, 0, 0.0f},
    {NN_ACT_RELU6, 6.0f, 1, 0.0f},
    {NN_ACT_LEAKYRELU, 0.0f, -2, NN_LEAKY_SLOPE},
    {NN_ACT_LEAKYRELU, 0.0f, -1, NN_LEAKY_SLOPE},
    {NN_ACT_LEAKYRELU, 0.0f, 0, NN_LEAKY_SLOPE},
    {NN_ACT_LEAKYRELU, 0.0f, 1, 1.0f},
    {NN_ACT_LEAKYRELU, 0.0f, 2, 1.0f},
    {NN_ACT_HSWISH, -3.0f, -2, 0.0f},
    {NN_ACT_HSWISH, -3.0f, -1, 0.0f},
    {NN_ACT_HSWISH, -3.0f, 0, -0.5f},
    {NN_ACT_HSWISH, -3.0f, 1, -0.4999999403953552f},
    {NN_ACT_HSWISH, -3.0f, 2, -0.4999998211860657f},
    {NN_ACT_HSWISH, 3.0f, -2, 1.499999761581421f},
    {NN_ACT_HSWISH, 3.0f, -1, 1.5f},
    {NN_ACT_HSWISH, 3.0f, 0, 1.0f},
    {NN_ACT_HSWISH, 3.0f, 1, 1.0f},
    {NN_ACT_HSWISH, 3.0f, 2, 1.0f},
    {NN_ACT_HSWISH, 0.0f, 0, 0.5f},
};
#define NPROBES (sizeof probes / sizeof *probes)

/* The forward value PyTorch computes, in double. */
static double act_ref(enum nn_act a, double x)
{
	switch (a) {
	case NN_ACT_RELU: return x > 0 ? x : 0;
	case NN_ACT_RELU6: return x > 0 ? (x < 6 ? x : 6) : 0;
	case NN_ACT_LEAKYRELU: return x > 0 ? x : (double)NN_LEAKY_SLOPE * x;
	case NN_ACT_HSWISH: return x * fmin(fmax(x + 3, 0), 6) / 6;
	default: fail_msg("act_ref: %d has no kink", (int)a);
	}
	return 0;
}

/* The derivative PyTorch takes (the side of each kink as in probes[]). */
static float grad_ref(enum nn_act a, float x)
{
	switch (a) {
	case NN_ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
	case NN_ACT_RELU6: return x > 0.0f && x < 6.0f ? 1.0f : 0.0f;
	case NN_ACT_LEAKYRELU: return x > 0.0f ? 1.0f : NN_LEAKY_SLOPE;
	case NN_ACT_HSWISH:
		return x < -3.0f ? 0.0f : (x < 3.0f ? x / 3.0f + 0.5f : 1.0f);
	default: fail_msg("grad_ref: %d has no kink", (int)a);
	}
	return 0;
}

static int same_value(float got, double want)
{
	return fabs((double)got - want) <= 4e-7 * fabs(want) + 1e-45;
}

/* Every probe at 7 positions of a 203-element tensor, so that each meets
 * both the vectorised body and the scalar tail of the kernels. */
static void act_kinks_follow_torch(void **state)
{
	for (int a = 0; a < NN_ACT_COUNT; a++) {
		const size_t n = 203;
		float x[203], y[203], dx[203], dy[203];
		size_t m = 0;

		for (size_t i = 0; i < NPROBES; i++)
			if (probes[i].act == (enum nn_act)a)
				m++;
		if (!m)
			continue;
		for (size_t i = 0, k = 0; i < n; k++) {
			const struct probe *p = &probes[k % NPROBES];

			if (p->act == (enum nn_act)a) {
				x[i] = ulps(p->kink, p->ulp);
				dy[i] = 1.0f;
				dx[i] = 0.0f;
				i++;
			}
		}
		nn_act_forward(y, x, n, (enum nn_act)a);
		nn_act_backward(dx, dy, x, n, (enum nn_act)a);
		for (size_t i = 0, k = 0; i < n; k++) {
			const struct probe *p = &probes[k % NPROBES];

			if (p->act != (enum nn_act)a)
				continue;
			if (dx[i] != p->grad ||
			    !same_value(y[i], act_ref(p->act, x[i])))
				fail_msg(
				    "%s at %a (kink %g %+d ulp): y %a, dy/dx "
				    "%a, torch %a",
				    nn_act_name(p->act), (double)x[i],
				    (double)p->kink, p->ulp, (double)y[i],
				    (double)dx[i], (double)p->grad);
			i++;
		}
		printf("# %-9s %zu probes at its kinks: values and derivatives "
		       "as torch\n",
		       nn_act_name((enum nn_act)a), m);
	}
	/* -0 is not above 0 either. */
	{
		float x = -0.0f, y = 1.0f, dx = 0.0f, one = 1.0f;

		nn_act_forward(&y, &x, 1, NN_ACT_LEAKYRELU);
		nn_act_backward(&dx, &one, &x, 1, NN_ACT_LEAKYRELU);
		assert_true(y == 0.0f && dx == NN_LEAKY_SLOPE);
		dx = 0.0f;
		nn_act_backward(&dx, &one, &x, 1, NN_ACT_RELU);
		assert_true(dx == 0.0f);
	}
}

/* ---- BN + activation: forward and backward on the same side -------------- */

#define BN_PIX	 16 /* (1, 4, 4): max |xhat| of uniform data stays ~1.7 */
#define BN_TUNED 40 /* channels tuned by cancellation, then 6 exact ones */
#define BN_C	 (BN_TUNED + 6)

struct bn_kink {
	float *x, *gamma, *beta, *z, *y, *mean, *rstd, *rm, *rv;
	float *dout, *dinp, *dgamma, *dbeta;
	void *scratch;
	struct nn_shape s;
};

static void bn_forward(struct bn_kink *k, float *out, enum nn_act a)
{
	nn_bn_act_forward(out, k->mean, k->rstd, k->rm, k->rv, k->x, k->gamma,
			  k->beta, &k->s, a, k->scratch);
}

/* Element (pixel p, channel ch) whose pre-activation is put on the kink. */
static size_t probe_at(int ch)
{
	return (size_t)(ch % BN_PIX) * BN_C + (size_t)ch;
}

/* Sets beta so that each tuned channel's probe element has (x - mean) *
 * scale + beta within a few ulp of kink, then moves beta by -4..4 ulp across
 * the channels. The last 6 channels hold one constant value, so their
 * pre-activation is exactly beta: kink, +-1 and +-2 ulp, and -0. */
static void bn_aim(struct bn_kink *k, float kink)
{
	for (int it = 0; it < 4; it++) {
		bn_forward(k, k->z, NN_ACT_NONE);
		for (int ch = 0; ch < BN_TUNED; ch++)
			k->beta[ch] = (float)((double)k->beta[ch] +
					      ((double)kink -
					       (double)k->z[probe_at(ch)]));
	}
	for (int ch = 0; ch < BN_TUNED; ch++)
		k->beta[ch] = ulps(k->beta[ch], ch % 9 - 4);
	for (int i = 0; i < 6; i++) {
		static const int off[6] = {0, -1, 1, -2, 2, 0};

		k->beta[BN_TUNED + i] =
		    i == 5 && kink == 0.0f ? -0.0f : ulps(kink, off[i]);
	}
}

static void bn_kink_case(struct bn_kink *k, enum nn_act a, float kink)
{
	const size_t nx = nn_shape_count(&k->s);
	int below = 0, on = 0, above = 0;
	double spread = 0.0;

	bn_aim(k, kink);
	/* z: the pre-activation exactly as the library computes it */
	bn_forward(k, k->z, NN_ACT_NONE);
	bn_forward(k, k->y, a);
	for (size_t e = 0; e < nx; e++)
		if (!same_value(k->y[e], act_ref(a, k->z[e])))
			fail_msg("bn+%s at %g: element %zu, z %a: forward gave "
				 "%a, act(z) is %a",
				 nn_act_name(a), (double)kink, e,
				 (double)k->z[e], (double)k->y[e],
				 act_ref(a, k->z[e]));
	/* backward with dL/dy one-hot at each channel's probe: dbeta[ch] is
	 * exactly act'(z) there as the first pass saw it, and dinp at the
	 * probe is scale * (dz - m1 - xhat * m2), dz as the second pass saw
	 * it, m1 = dz / P, m2 = dz * xhat / P from the first */
	memset(k->dout, 0, nx * sizeof(float));
	memset(k->dinp, 0, nx * sizeof(float));
	memset(k->dgamma, 0, BN_C * sizeof(float));
	memset(k->dbeta, 0, BN_C * sizeof(float));
	for (int ch = 0; ch < BN_C; ch++)
		k->dout[probe_at(ch)] = 1.0f;
	nn_bn_act_backward(k->dinp, k->dgamma, k->dbeta, k->dout, k->x, k->mean,
			   k->rstd, k->gamma, k->beta, &k->s, a, k->scratch);
	for (int ch = 0; ch < BN_C; ch++) {
		size_t e = probe_at(ch);
		float z = k->z[e], want = grad_ref(a, z);
		double xh = ((double)k->x[e] - k->mean[ch]) * k->rstd[ch];
		double sc = (double)k->rstd[ch] * k->gamma[ch];
		double dinp =
		    sc * want * (1.0 - 1.0 / BN_PIX - xh * xh / BN_PIX);

		if (k->dbeta[ch] != want)
			fail_msg("bn+%s: channel %d, z %a (kink %g %+.2e): "
				 "backward took act' %a, forward's side is %a",
				 nn_act_name(a), ch, (double)z, (double)kink,
				 (double)z - kink, (double)k->dbeta[ch],
				 (double)want);
		if (fabs(k->dinp[e] - dinp) > 1e-5 * fmax(1.0, fabs(dinp)))
			fail_msg(
			    "bn+%s: channel %d, z %a (kink %g): dinp %.7g, "
			    "want %.7g (second pass on the other side)",
			    nn_act_name(a), ch, (double)z, (double)kink,
			    (double)k->dinp[e], dinp);
		below += z < kink;
		on += z == kink;
		above += z > kink;
		if (ch < BN_TUNED)
			spread = fmax(spread, fabs((double)z - kink));
	}
	printf("# bn+%-9s at %2g: %d probes below, %d on, %d above the kink "
	       "(tuned ones within %.1e)\n",
	       nn_act_name(a), (double)kink, below, on, above, spread);
	/* the probes really straddle the kink, as close as float allows */
	assert_true(below >= 4 && on >= 1 && above >= 4);
	assert_true(spread < 1e-5);
}

static void bn_act_kinks_same_side_forward_backward(void **state)
{
	static const struct {
		enum nn_act act;
		float kink;
	} cases[] = {
	    {NN_ACT_RELU, 0.0f},    {NN_ACT_RELU6, 0.0f},
	    {NN_ACT_RELU6, 6.0f},   {NN_ACT_LEAKYRELU, 0.0f},
	    {NN_ACT_HSWISH, -3.0f}, {NN_ACT_HSWISH, 3.0f},
	};
	struct bn_kink k = {0};
	struct core_rng r;
	size_t nx;
	float **bufs[] = {&k.x, &k.z, &k.y, &k.dout, &k.dinp};
	float **chans[] = {&k.gamma, &k.beta, &k.mean,	 &k.rstd,
			   &k.rm,    &k.rv,   &k.dgamma, &k.dbeta};

	k.s = (struct nn_shape){1, 4, 4, BN_C};
	nx = nn_shape_count(&k.s);
	for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
		*bufs[i] = fzero(nx);
	for (size_t i = 0; i < sizeof chans / sizeof *chans; i++)
		*chans[i] = fzero(BN_C);
	k.scratch = core_malloc(nn_bn_scratch_size(&k.s));
	assert_non_null(k.scratch);
	core_rng_seed(&r, 11);
	for (size_t p = 0; p < BN_PIX; p++)
		for (int ch = 0; ch < BN_C; ch++)
			k.x[p * BN_C + ch] =
			    ch < BN_TUNED
				? (float)(4.0 * core_rng_uniform(&r) - 2.0)
				: 0.75f; /* var 0: z = 0 * scale + beta */
	for (int ch = 0; ch < BN_C; ch++)
		k.gamma[ch] = (float)(0.5 + core_rng_uniform(&r));
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		bn_kink_case(&k, cases[i].act, cases[i].kink);
	for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
		core_free(*bufs[i]);
	for (size_t i = 0; i < sizeof chans / sizeof *chans; i++)
		core_free(*chans[i]);
	core_free(k.scratch);
}

/* ---- SE hidden ReLU at 0 ------------------------------------------------- */

/* w1 = 0, so each hidden unit's pre-activation is exactly its bias: +0, -0,
 * +-FLT_MIN, +-1e-30. Units at or below 0 pass no gradient (torch: relu'(0)
 * = 0), units a hair above 0 do; a NaN bias reaches the output. */
static void se_hidden_relu_kink(void **state)
{
	enum { N = 2, H = 2, W = 3, C = 5, R = 6 };
	struct nn_shape s = {N, H, W, C};
	const float b1[R] = {0.0f, -0.0f, FLT_MIN, -FLT_MIN, 1e-30f, -1e-30f};
	float x[N * H * W * C], dout[N * H * W * C], out[N * H * W * C];
	float dx[N * H * W * C] = {0};
	float w1[R * C] = {0}, w2[C * R], b2[C];
	float pooled[N * C], hidden[N * R], gate[N * C];
	float dw1[R * C] = {0}, db1[R] = {0}, dw2[C * R] = {0}, db2[C] = {0};
	void *scratch = core_malloc(nn_se_scratch_size(&s, R));
	struct core_rng r;

	assert_non_null(scratch);
	core_rng_seed(&r, 5);
	for (size_t i = 0; i < sizeof x / sizeof *x; i++) {
		x[i] = (float)(2.0 * core_rng_uniform(&r) - 1.0);
		dout[i] = (float)(2.0 * core_rng_uniform(&r) - 1.0);
	}
	for (int i = 0; i < C * R; i++)
		w2[i] = (float)(2.0 * core_rng_uniform(&r) - 1.0);
	for (int i = 0; i < C; i++)
		b2[i] = (float)(core_rng_uniform(&r) - 0.5);
	nn_se_forward(out, pooled, hidden, gate, x, w1, b1, w2, b2, &s, R);
	for (int n = 0; n < N; n++)
		for (int j = 0; j < R; j++)
			assert_true(hidden[n * R + j] == fmaxf(b1[j], 0.0f));
	nn_se_backward(dx, dw1, db1, dw2, db2, dout, x, pooled, hidden, gate,
		       w1, w2, &s, R, scratch);
	for (int j = 0; j < R; j++) {
		int open = b1[j] > 0.0f;

		assert_true(isfinite(db1[j]));
		if (open != (db1[j] != 0.0f))
			fail_msg("SE hidden unit %d, pre-activation %a: db1 %a",
				 j, (double)b1[j], (double)db1[j]);
		for (int c = 0; c < C; c++)
			assert_true(open || dw1[j * C + c] == 0.0f);
	}
	{
		float bnan[R];

		memcpy(bnan, b1, sizeof bnan);
		bnan[1] = NAN;
		nn_se_forward(out, pooled, hidden, gate, x, w1, bnan, w2, b2,
			      &s, R);
		assert_true(isnan(hidden[1]) && isnan(out[0]));
	}
	core_free(scratch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(act_kinks_follow_torch),
	    cmocka_unit_test(bn_act_kinks_same_side_forward_backward),
	    cmocka_unit_test(se_hidden_relu_kink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
