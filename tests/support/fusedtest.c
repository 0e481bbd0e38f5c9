/* SPDX-License-Identifier: Apache-2.0 */
/* fusedtest.c - test-only helpers of the fused nn kernels' tests: random
 * tensors, the reference BN + activation and its backward, relative
 * errors. */
#include "fusedtest.h"

#include <math.h>
#include <string.h>

float *fusedtest_rand(size_t n, struct core_rng *r, float lo, float hi)
{
	float *p = core_malloc((n ? n : 1) * sizeof(float));

	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++)
		p[i] = (float)(lo + (hi - lo) * core_rng_uniform(r));
	return p;
}

float *fusedtest_zero(size_t n)
{
	return core_calloc(n ? n : 1, sizeof(float));
}

int fusedtest_bn_make(struct ft_bn *b, struct nn_shape s, enum nn_act act,
		      struct core_rng *r)
{
	size_t n = nn_shape_count(&s);
	size_t c = (size_t)s.c;
	void *scr = core_malloc(nn_bn_scratch_size(&s));

	memset(b, 0, sizeof *b);
	b->s = s;
	b->act = act;
	b->x = fusedtest_rand(n, r, -2.0f, 3.0f);
	b->y = fusedtest_zero(n);
	b->gamma = fusedtest_rand(c, r, 0.5f, 1.5f);
	b->beta = fusedtest_rand(c, r, -0.5f, 0.5f);
	b->mean = fusedtest_zero(c);
	b->rstd = fusedtest_zero(c);
	b->scale = fusedtest_zero(c);
	b->rm = fusedtest_zero(c);
	b->rv = fusedtest_zero(c);
	if (!scr || !b->x || !b->y || !b->gamma || !b->beta || !b->mean ||
	    !b->rstd || !b->scale || !b->rm || !b->rv) {
		core_free(scr);
		fusedtest_bn_free(b);
		return -1;
	}
	nn_bn_act_forward(b->y, b->mean, b->rstd, b->rm, b->rv, b->x, b->gamma,
			  b->beta, &s, act, scr);
	for (size_t ch = 0; ch < c; ch++)
		b->scale[ch] = b->rstd[ch] * b->gamma[ch];
	b->v = (struct nn_bn_view){b->mean,
				   b->rstd,
				   b->scale,
				   b->beta,
				   act,
				   NULL,
				   (size_t)s.h * (size_t)s.w};
	core_free(scr);
	return 0;
}

void fusedtest_bn_free(struct ft_bn *b)
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
	memset(b, 0, sizeof *b);
}

int fusedtest_bn_backward(const struct ft_bn *b, const float *d, float *dpre,
			  float *dgamma, float *dbeta)
{
	struct nn_shape s = b->s;
	void *scr = core_malloc(nn_bn_scratch_size(&s));

	if (!scr)
		return -1;
	memset(dpre, 0, nn_shape_count(&s) * sizeof(float));
	nn_bn_act_backward(dpre, dgamma, dbeta, d, b->x, b->mean, b->rstd,
			   b->gamma, b->beta, &s, b->act, scr);
	core_free(scr);
	return 0;
}

double fusedtest_rel_err(const float *got, const float *want, size_t n,
			 size_t *at)
{
	double worst = 0.0;

	*at = 0;
	for (size_t i = 0; i < n; i++) {
		double e = fabs((double)got[i] - want[i]) /
			   fmax(1.0, fabs((double)want[i]));
		if (!(e <= worst)) {
			worst = e;
			*at = i;
		}
	}
	return worst;
}
