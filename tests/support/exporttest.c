/* SPDX-License-Identifier: Apache-2.0 */
/* exporttest.c - tiny architectures, random models and images for the
 * quantization and export tests. */
#include "exporttest.h"

#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct arch_stage stage(enum arch_block b, int out, int layers, int k,
			       int stride, int expand, double se,
			       enum arch_skip skip, enum arch_act act)
{
	struct arch_stage s = {b,      out, layers, k,	stride,
			       expand, se,  skip,   act};
	return s;
}

void exporttest_arch(int i, struct arch *a)
{
	memset(a, 0, sizeof *a);
	a->channels = 3;
	switch (i) {
	case 0:
		snprintf(a->name, sizeof a->name, "stem_mbconv");
		a->resolution = 16;
		a->stem = (struct arch_stem){1, 8, 3, 1, ARCH_ACT_RELU6};
		a->nstages = 2;
		a->stages[0] = stage(ARCH_BLOCK_MBCONV, 8, 2, 3, 1, 2, 0.25,
				     ARCH_SKIP_RESIDUAL, ARCH_ACT_SWISH);
		a->stages[1] = stage(ARCH_BLOCK_DWSEP, 12, 1, 5, 2, 1, 0.0,
				     ARCH_SKIP_NONE, ARCH_ACT_HSWISH);
		a->classes = 10;
		break;
	case 1:
		snprintf(a->name, sizeof a->name, "nostem_dwsep");
		a->resolution = 12;
		a->nstages = 2;
		a->stages[0] = stage(ARCH_BLOCK_DWSEP, 8, 2, 3, 1, 1, 0.5,
				     ARCH_SKIP_RESIDUAL, ARCH_ACT_LEAKYRELU);
		a->stages[1] = stage(ARCH_BLOCK_MBCONV, 4, 1, 3, 1, 3, 0.0,
				     ARCH_SKIP_RESIDUAL, ARCH_ACT_RELU);
		a->classes = 5;
		break;
	default:
		snprintf(a->name, sizeof a->name, "k7_k1");
		a->resolution = 16;
		a->stem = (struct arch_stem){1, 6, 5, 2, ARCH_ACT_RELU};
		a->nstages = 2;
		a->stages[0] = stage(ARCH_BLOCK_MBCONV, 6, 2, 7, 1, 4, 0.25,
				     ARCH_SKIP_RESIDUAL, ARCH_ACT_RELU6);
		a->stages[1] = stage(ARCH_BLOCK_MBCONV, 10, 1, 1, 1, 2, 0.0,
				     ARCH_SKIP_RESIDUAL, ARCH_ACT_HSWISH);
		a->classes = 4;
		break;
	}
}

static double normal(struct core_rng *r)
{
	double u1 = core_rng_uniform(r), u2 = core_rng_uniform(r);

	return sqrt(-2.0 * log(u1 + 1e-300)) * cos(6.283185307179586 * u2);
}

struct model *exporttest_model(const struct arch *a, uint64_t seed)
{
	struct model *m = NULL;
	struct core_rng r;
	char err[CORE_ERR_LEN];

	if (model_build(a, 1, 0, seed, &m, err, sizeof err)) {
		fprintf(stderr, "exporttest_model: %s\n", err);
		abort();
	}
	core_rng_seed(&r, seed ^ 0x9e3779b97f4a7c15ull);
	for (int i = 0; i < m->ntensors; i++) {
		const struct model_tensor *t = &m->tensors[i];
		float *d = model_tensor_data(m, t);

		for (size_t k = 0; k < t->count; k++) {
			if (strstr(t->name, "running_var"))
				d[k] =
				    (float)(0.5 + 1.5 * core_rng_uniform(&r));
			else if (strstr(t->name, "running_mean"))
				d[k] = (float)(0.2 * normal(&r));
			else if (strstr(t->name, ".bn.weight"))
				d[k] =
				    (float)(0.6 + 0.8 * core_rng_uniform(&r));
			else if (strstr(t->name, ".bias"))
				d[k] = (float)(0.1 * normal(&r));
			else if (strcmp(t->name, "head.fc.weight") == 0)
				d[k] *= 50.0f; /* logits that depend on x */
		}
	}
	return m;
}

float *exporttest_images(int n, int r, int c, uint64_t seed)
{
	const size_t count = (size_t)n * (size_t)r * (size_t)r * (size_t)c;
	float *x = core_malloc(count * sizeof *x);
	struct core_rng g;

	if (!x)
		abort();
	core_rng_seed(&g, seed);
	for (size_t i = 0; i < count; i++) {
		double v = normal(&g);
		x[i] = (float)(v < -3 ? -3 : (v > 3 ? 3 : v));
	}
	return x;
}

int exporttest_checkpoint_write(const struct model *m, const char *path)
{
	struct train_state st = {0};
	char err[CORE_ERR_LEN];
	void *blob = NULL;
	size_t len = 0;
	int rc;

	if (train_checkpoint_encode(m, NULL, &st, &blob, &len, err,
				    sizeof err)) {
		fprintf(stderr, "checkpoint: %s\n", err);
		return -1;
	}
	rc = core_file_write_atomic(path, blob, len, err, sizeof err) ? -1 : 0;
	core_free(blob);
	return rc;
}
