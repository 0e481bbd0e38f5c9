/* SPDX-License-Identifier: Apache-2.0 */
/* test_model_parity.c - the whole training step against PyTorch: the same
 * architecture and initial weights (exported from PyTorch), the same batches,
 * distillation loss with label smoothing, SGD with Nesterov momentum and
 * weight decay on conv/linear weights: 20 losses within 1e-3 relative, and
 * the final parameters and BN running statistics close
 * (tools/gen_model_fixtures.py). A fixture must say that PyTorch itself
 * reproduces its losses from starts moved by +-1 ulp and in float64 to
 * within 1e-5: a trajectory that grazes an activation kink flips with
 * rounding noise and tests nothing (see the generator). Also: the parameter
 * table matches PyTorch's state_dict names and shapes, and a model that
 * cannot be built fails cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/costtest.h"
#include "model/model.h"
#include "nn/nn.h"
#include "train/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	json_t *meta;
	struct arch arch;
	float *bin;
	size_t nfloats;
};

static void load_fixture(const char *name, struct fixture *f)
{
	char rel[256], path[1024], err[CORE_ERR_LEN];
	json_error_t jerr;
	char *data = NULL;
	size_t len = 0;

	snprintf(rel, sizeof rel, "model/%s.json", name);
	costtest_fixture_path(rel, path, sizeof path);
	f->meta = json_load_file(path, 0, &jerr);
	assert_non_null(f->meta);
	assert_int_equal(
	    costtest_arch_from_json(json_object_get(f->meta, "arch"), &f->arch,
				    err, sizeof err),
	    CORE_OK);
	snprintf(rel, sizeof rel, "model/%s.bin", name);
	costtest_fixture_path(rel, path, sizeof path);
	assert_int_equal(
	    core_file_read(path, 64u << 20, &data, &len, err, sizeof err),
	    CORE_OK);
	f->bin = (float *)(void *)data;
	f->nfloats = len / sizeof(float);
}

static void free_fixture(struct fixture *f)
{
	json_decref(f->meta);
	core_free(f->bin);
}

/* Imports the state_dict at *pos into m (torch layout), checking names and
 * shapes against the model's table; advances *pos. */
static void import_state(struct model *m, json_t *table, const float *bin,
			 size_t *pos)
{
	size_t i;
	json_t *t;

	assert_int_equal(json_array_size(table), (size_t)m->ntensors);
	json_array_foreach(table, i, t)
	{
		const char *name =
		    json_string_value(json_object_get(t, "name"));
		const struct model_tensor *mt = model_tensor_find(m, name);
		json_t *shape = json_object_get(t, "shape");
		size_t k;
		json_t *d;

		if (!mt)
			fail_msg("tensor %s missing from the model", name);
		assert_string_equal(m->tensors[i].name, name); /* same order */
		assert_int_equal(json_array_size(shape), (size_t)mt->ndim);
		json_array_foreach(shape, k, d)
		{
			assert_int_equal(json_integer_value(d), mt->shape[k]);
		}
		model_tensor_from_torch(m, mt, bin + *pos);
		*pos += mt->count;
	}
}

static double max_rel_state(struct model *m, const float *want)
{
	double worst = 0.0;
	size_t pos = 0;
	float *tmp = NULL;

	for (int i = 0; i < m->ntensors; i++) {
		const struct model_tensor *t = &m->tensors[i];
		float *grown = realloc(tmp, t->count * sizeof *tmp);

		assert_non_null(grown);
		tmp = grown;
		model_tensor_to_torch(m, t, tmp);
		for (size_t k = 0; k < t->count; k++) {
			double d = fabs((double)tmp[k] - want[pos + k]) /
				   fmax(1.0, fabs(want[pos + k]));
			if (d > worst)
				worst = d;
		}
		pos += t->count;
	}
	free(tmp);
	return worst;
}

static void run_parity(const char *name)
{
	struct fixture f;
	struct model *m = NULL;
	char err[CORE_ERR_LEN];
	size_t pos = 0, xsz, ysz, tsz, xoff, yoff, toff;
	int steps, nb, n, k;
	double lr, mom, wd, alpha, temp, smooth, worst = 0.0, worst_state;
	double torch_spread;
	json_t *losses, *cond;
	float *dlogits;
	int32_t *labels;
	struct core_rng rng;

	load_fixture(name, &f);
	steps = (int)json_integer_value(json_object_get(f.meta, "steps"));
	nb = (int)json_integer_value(json_object_get(f.meta, "batches"));
	n = (int)json_integer_value(json_object_get(f.meta, "batch"));
	lr = json_number_value(json_object_get(f.meta, "lr"));
	mom = json_number_value(json_object_get(f.meta, "momentum"));
	wd = json_number_value(json_object_get(f.meta, "weight_decay"));
	alpha = json_number_value(json_object_get(f.meta, "alpha"));
	temp = json_number_value(json_object_get(f.meta, "temperature"));
	smooth = json_number_value(json_object_get(f.meta, "smoothing"));
	losses = json_object_get(f.meta, "losses");
	k = f.arch.classes;
	cond = json_object_get(json_object_get(f.meta, "conditioning"),
			       "max_rel_loss_diff");
	assert_true(json_is_number(cond));
	torch_spread = json_number_value(cond);
	assert_true(torch_spread <= 1e-5);

	assert_int_equal(model_build(&f.arch, n, 1, 1, &m, err, sizeof err),
			 CORE_OK);
	import_state(m, json_object_get(f.meta, "tensors"), f.bin, &pos);
	xsz =
	    (size_t)n * f.arch.resolution * f.arch.resolution * f.arch.channels;
	ysz = (size_t)n;
	tsz = (size_t)n * (size_t)k;
	xoff = pos;
	yoff = xoff + (size_t)nb * xsz;
	toff = yoff + (size_t)nb * ysz;
	pos = toff + (size_t)nb * tsz;
	assert_true(pos + m->nparams + m->nbuffers <= f.nfloats);

	{
		struct train_sgd opt = {(float)lr, (float)mom, 1, (float)wd};
		float *buf = calloc(m->nparams, sizeof *buf);
		dlogits = calloc(tsz, sizeof *dlogits);
		labels = calloc((size_t)n, sizeof *labels);
		core_rng_seed(&rng, 1);
		for (int s = 0; s < steps; s++) {
			int b = s % nb;
			const float *logits;
			double loss, want;
			for (int i = 0; i < n; i++)
				labels[i] = (int32_t)f.bin[yoff + b * ysz + i];
			logits = model_forward(m, f.bin + xoff + b * xsz, n, 1,
					       &rng);
			assert_int_equal(
			    nn_loss_distill(&loss, dlogits, logits,
					    f.bin + toff + b * tsz, labels, n,
					    k, (float)alpha, (float)temp,
					    (float)smooth, err, sizeof err),
			    CORE_OK);
			model_zero_grads(m);
			model_backward(m, dlogits, n);
			train_sgd_step(&opt, m->params, m->grads, buf,
				       m->decay_mask, m->nparams);
			want = json_number_value(
			    json_array_get(losses, (size_t)s));
			worst = fmax(worst, fabs(loss - want) / fabs(want));
			if (getenv("PARITY_VERBOSE"))
				printf("# step %d %.7f %.7f\n", s, loss, want);
			if (fabs(loss - want) / fabs(want) > 1e-3)
				fail_msg("%s step %d: loss %.7f, PyTorch %.7f",
					 name, s, loss, want);
		}
		free(buf);
	}
	worst_state = max_rel_state(m, f.bin + pos);
	printf("# %s: %d steps, max rel loss err %.3g, final state max rel "
	       "err %.3g (PyTorch's own perturbed re-runs: %.3g)\n",
	       name, steps, worst, worst_state, torch_spread);
	assert_true(worst_state < 1e-3);
	free(dlogits);
	free(labels);
	model_free(m);
	free_fixture(&f);
}

static void parity_mbconv_se_projection(void **state)
{
	run_parity("mb_se_proj");
}

static void parity_dwsep_without_stem(void **state)
{
	run_parity("dwsep_nostem");
}

static void eval_forward_is_deterministic(void **state)
{
	struct fixture f;
	struct model *m = NULL;
	char err[CORE_ERR_LEN];
	float *x, *l1;
	const float *l2;
	size_t nx, nl;

	load_fixture("mb_se_proj", &f);
	assert_int_equal(model_build(&f.arch, 3, 0, 7, &m, err, sizeof err),
			 CORE_OK);
	assert_null(m->grads);
	nx = 3u * 16 * 16 * 3;
	nl = 3u * (size_t)f.arch.classes;
	x = calloc(nx, sizeof *x);
	l1 = calloc(nl, sizeof *l1);
	for (size_t i = 0; i < nx; i++)
		x[i] = (float)sin((double)i);
	memcpy(l1, model_forward(m, x, 3, 0, NULL), nl * sizeof *l1);
	/* a smaller batch gives the same per-image logits in eval mode */
	l2 = model_forward(m, x, 1, 0, NULL);
	for (int c = 0; c < f.arch.classes; c++)
		assert_true(fabsf(l1[c] - l2[c]) < 1e-5f);
	free(x);
	free(l1);
	model_free(m);
	free_fixture(&f);
}

static void build_failures_are_clean(void **state)
{
	struct fixture f;
	struct model *m = NULL;
	char err[CORE_ERR_LEN];
	long before, total;

	load_fixture("dwsep_nostem", &f);
	assert_int_equal(model_build(&f.arch, 0, 1, 1, &m, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_null(m);
	/* fail every allocation in turn: no crash, no leak, NULL model */
	before = core_alloc_count();
	assert_int_equal(model_build(&f.arch, 2, 1, 1, &m, err, sizeof err),
			 CORE_OK);
	model_free(m);
	total = core_alloc_count() - before;
	for (long i = 0; i < total; i++) {
		core_alloc_fail_after(i);
		m = NULL;
		enum core_status st =
		    model_build(&f.arch, 2, 1, 1, &m, err, sizeof err);
		core_alloc_fail_after(-1);
		if (st == CORE_OK) {
			model_free(m);
			break;
		}
		assert_int_equal(st, CORE_ERR_NOMEM);
		assert_null(m);
	}
	free_fixture(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parity_mbconv_se_projection),
	    cmocka_unit_test(parity_dwsep_without_stem),
	    cmocka_unit_test(eval_forward_is_deterministic),
	    cmocka_unit_test(build_failures_are_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
