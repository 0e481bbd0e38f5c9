/* SPDX-License-Identifier: Apache-2.0 */
/* test_train_optim.c - SGD (momentum, Nesterov, weight decay masks) and
 * gradient clipping against PyTorch's numbers (tools/gen_optim_fixtures.py);
 * the schedules against closed forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "train/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *open_fixture(const char *rel)
{
	char path[1024];
	const char *root = getenv("LMNAS_ROOT");

	snprintf(path, sizeof path, "%s/%s", root ? root : ".", rel);
	return fopen(path, "r");
}

static void read_floats(FILE *f, float *v, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(fscanf(f, "%f", &v[i]), 1);
}

static void sgd_matches_pytorch(void **state)
{
	FILE *f = open_fixture("tests/fixtures/train/sgd.txt");
	char name[64];
	int n, steps, nesterov, cases = 0;
	double lr, mom, wd, clip;

	assert_non_null(f);
	while (fscanf(f, " case %63s %d %d %lf %lf %d %lf %lf", name, &n,
		      &steps, &lr, &mom, &nesterov, &wd, &clip) == 8) {
		float *p = calloc((size_t)n, sizeof *p);
		float *g = calloc((size_t)n, sizeof *g);
		float *want = calloc((size_t)n, sizeof *want);
		float *buf = calloc((size_t)n, sizeof *buf);
		unsigned char *mask = calloc((size_t)n, 1);
		struct train_sgd opt = {(float)lr, (float)mom, nesterov,
					(float)wd};
		double maxrel = 0.0;

		for (int i = 0; i < n; i++) {
			int m;
			assert_int_equal(fscanf(f, "%d", &m), 1);
			mask[i] = (unsigned char)m;
		}
		read_floats(f, p, n);
		for (int s = 0; s < steps; s++) {
			read_floats(f, g, n);
			read_floats(f, want, n);
			if (clip > 0)
				train_clip_grad_norm(g, (size_t)n, clip);
			train_sgd_step(&opt, p, g, buf, mask, (size_t)n);
			for (int i = 0; i < n; i++) {
				double rel = fabs(p[i] - want[i]) /
					     fmax(1.0, fabs(want[i]));
				maxrel = fmax(maxrel, rel);
			}
		}
		printf("# sgd %-10s max rel err %.3g over %d steps\n", name,
		       maxrel, steps);
		assert_true(maxrel <= 1e-6);
		free(p), free(g), free(want), free(buf), free(mask);
		cases++;
	}
	fclose(f);
	assert_int_equal(cases, 4);
}

static void clip_only_shrinks(void **state)
{
	float g[4] = {3, 4, 0, 0};
	double norm = train_clip_grad_norm(g, 4, 10.0);

	assert_true(fabs(norm - 5.0) < 1e-9);
	assert_true(g[0] == 3.0f && g[1] == 4.0f); /* untouched below max */
	norm = train_clip_grad_norm(g, 4, 1.0);
	assert_true(fabs(train_grad_norm(g, 4) - 1.0) < 1e-5);
}

static void cosine_schedule_with_warmup(void **state)
{
	struct train_lr_schedule s = {.base_lr = 0.1,
				      .min_lr = 0.0,
				      .warmup_epochs = 2,
				      .warmup_start = 0.1,
				      .decay = TRAIN_LR_COSINE,
				      .epochs = 10,
				      .steps_per_epoch = 100};

	assert_true(fabs(train_lr_at(&s, 0) - 0.01) < 1e-12);
	assert_true(fabs(train_lr_at(&s, 100) - 0.055) < 1e-12);
	assert_true(fabs(train_lr_at(&s, 200) - 0.1) < 1e-12);
	/* halfway through the cosine part: base/2 */
	assert_true(fabs(train_lr_at(&s, 600) - 0.05) < 1e-12);
	assert_true(train_lr_at(&s, 1000) < 1e-12);
	for (long k = 200; k < 999; k++)
		assert_true(train_lr_at(&s, k + 1) <= train_lr_at(&s, k));
}

static void step_schedule(void **state)
{
	struct train_lr_schedule s = {.base_lr = 1.0,
				      .decay = TRAIN_LR_STEP,
				      .step_epochs = 3,
				      .gamma = 0.1,
				      .epochs = 9,
				      .steps_per_epoch = 10};

	assert_true(fabs(train_lr_at(&s, 29) - 1.0) < 1e-12);
	assert_true(fabs(train_lr_at(&s, 30) - 0.1) < 1e-12);
	assert_true(fabs(train_lr_at(&s, 60) - 0.01) < 1e-12);
}

static void kd_alpha_schedule(void **state)
{
	assert_true(train_kd_alpha_at(0.5, -1, 7, 10) == 0.5);
	assert_true(fabs(train_kd_alpha_at(0.5, 0.8, 0, 4) - 0.5) < 1e-12);
	assert_true(fabs(train_kd_alpha_at(0.5, 0.8, 3, 4) - 0.8) < 1e-12);
	assert_true(fabs(train_kd_alpha_at(0.5, 0.8, 1, 4) - 0.6) < 1e-12);
	assert_true(train_kd_alpha_at(0.3, 0.9, 0, 1) == 0.3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sgd_matches_pytorch),
	    cmocka_unit_test(clip_only_shrinks),
	    cmocka_unit_test(cosine_schedule_with_warmup),
	    cmocka_unit_test(step_schedule),
	    cmocka_unit_test(kd_alpha_schedule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
