/* SPDX-License-Identifier: Apache-2.0 */
/* fusedtest.h - test-only helpers of the fused nn kernels' tests
 * (test_nn_fused*.c): random tensors, a pre-BN tensor with its BN +
 * activation computed by the reference layers and the view that reproduces
 * it, the reference BN backward, and a relative-error check. The ft_*
 * inline wrappers assert through cmocka, which must be included before this
 * header. */
#ifndef LMNAS_FUSEDTEST_H
#define LMNAS_FUSEDTEST_H

#include "core/core.h"
#include "nn/nn.h"

#include <stddef.h>

/* A pre-BN tensor x (pix, C) and y = act(bn(x)) by nn_bn_act_forward, with
 * the batch statistics and the view v that reproduces y. */
struct ft_bn {
	struct nn_shape s;
	enum nn_act act;
	float *x, *y, *gamma, *beta, *mean, *rstd, *scale, *rm, *rv;
	struct nn_bn_view v;
};

/* n floats uniform in [lo, hi) / zeros; NULL when out of memory. */
float *fusedtest_rand(size_t n, struct core_rng *r, float lo, float hi);
float *fusedtest_zero(size_t n);
/* Fills b (x in [-2, 3), gamma in [0.5, 1.5), beta in [-0.5, 0.5)); 0, or
 * -1 when out of memory (b is then freed). */
int fusedtest_bn_make(struct ft_bn *b, struct nn_shape s, enum nn_act act,
		      struct core_rng *r);
void fusedtest_bn_free(struct ft_bn *b);
/* The reference BN backward of a gradient d of y: dpre (pix, C) written,
 * dgamma, dbeta (C) added to. 0, or -1 when out of memory. */
int fusedtest_bn_backward(const struct ft_bn *b, const float *d, float *dpre,
			  float *dgamma, float *dbeta);
/* max |got - want| / max(1, |want|) over n, and where (NaN counts as
 * worst). */
double fusedtest_rel_err(const float *got, const float *want, size_t n,
			 size_t *at);

/* ---- asserting wrappers, for test files (cmocka included first) ---- */
#ifdef cmocka_unit_test

static inline float *ft_rand(size_t n, struct core_rng *r, float lo, float hi)
{
	float *p = fusedtest_rand(n, r, lo, hi);

	assert_non_null(p);
	return p;
}

static inline float *ft_zero(size_t n)
{
	float *p = fusedtest_zero(n);

	assert_non_null(p);
	return p;
}

static inline void *ft_scratch(size_t bytes)
{
	void *p = core_malloc(bytes ? bytes : 1);

	assert_non_null(p);
	return p;
}

static inline void ft_bn_make(struct ft_bn *b, struct nn_shape s,
			      enum nn_act act, struct core_rng *r)
{
	assert_int_equal(fusedtest_bn_make(b, s, act, r), 0);
}

static inline void ft_bn_backward(const struct ft_bn *b, const float *d,
				  float *dpre, float *dgamma, float *dbeta)
{
	assert_int_equal(fusedtest_bn_backward(b, d, dpre, dgamma, dbeta), 0);
}

/* The fused path's BN-backward sums finished into zeroed dgamma, dbeta. */
static inline void ft_finish_sums(const double *part, int ns, size_t pix, int c,
				  float *dgamma, float *dbeta, float *m1,
				  float *m2)
{
	for (int ch = 0; ch < c; ch++)
		dgamma[ch] = dbeta[ch] = 0.0f;
	nn_bn_grad_finish(dgamma, dbeta, m1, m2, part, ns, pix, c);
}

/* Fails the test, naming what, unless got is within tol of want. */
#define ft_close(what, got, want, n, tol)                                      \
	do {                                                                   \
		size_t at_ = 0;                                                \
		double e_ = fusedtest_rel_err((got), (want), (n), &at_);       \
		if (!(e_ <= (tol)))                                            \
			fail_msg("%s: max rel err %.3g at %zu (got %.8g, "     \
				 "want %.8g)",                                 \
				 (what), e_, at_, (double)(got)[at_],          \
				 (double)(want)[at_]);                         \
	} while (0)

#endif /* cmocka_unit_test */

#endif
