/* SPDX-License-Identifier: Apache-2.0 */
/* loop.c - training settings (defaults, validation), evaluation, and
 * train_run: a whole run from a data directory (load, then a session,
 * session.c, epoch by epoch). */
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void train_config_default(struct train_config *c)
{
	memset(c, 0, sizeof *c);
	c->kind = DATA_KIND_CIFAR100;
	c->val_fraction = 0.05;
	c->train_fraction = 1.0;
	c->augment = 1;
	c->loader_threads = 1;
	c->epochs = 10;
	c->batch = 128;
	c->lr = 0.05;
	c->min_lr = 0.0;
	c->warmup_epochs = 1.0;
	c->decay = TRAIN_LR_COSINE;
	c->step_epochs = 30;
	c->step_gamma = 0.1;
	c->momentum = 0.9;
	c->nesterov = 1;
	c->weight_decay = 5e-4;
	c->label_smoothing = 0.1;
	c->kd_temperature = 4.0;
	c->kd_alpha0 = 0.5;
	c->kd_alpha1 = -1.0;
	c->seed = 1;
	c->eval_test = 1;
}

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			core_errf(err, errlen, __VA_ARGS__);                   \
			return CORE_ERR_INVALID;                               \
		}                                                              \
	} while (0)

enum core_status train_config_validate(const struct train_config *c, char *err,
				       size_t errlen)
{
	CHECK(c->val_fraction > 0 && c->val_fraction < 0.5,
	      "val-fraction: %g is outside (0, 0.5)", c->val_fraction);
	CHECK(c->train_fraction > 0 && c->train_fraction <= 1,
	      "train-fraction: %g is outside (0, 1]", c->train_fraction);
	CHECK(c->resolution == 0 || (c->resolution >= DATA_MIN_RESOLUTION &&
				     c->resolution <= DATA_MAX_RESOLUTION),
	      "resolution: %d is outside %d..%d", c->resolution,
	      DATA_MIN_RESOLUTION, DATA_MAX_RESOLUTION);
	CHECK(c->cutout >= 0 && c->cutout <= 32, "cutout: %d is outside 0..32",
	      c->cutout);
	CHECK(c->loader_threads >= 1 && c->loader_threads <= 64,
	      "loader-threads: %d is outside 1..64", c->loader_threads);
	CHECK(c->epochs >= 1 && c->epochs <= 10000,
	      "epochs: %d is outside 1..10000", c->epochs);
	CHECK(c->batch >= 2 && c->batch <= 4096,
	      "batch: %d is outside 2..4096 (BN needs 2 images)", c->batch);
	CHECK(c->lr > 0 && c->lr <= 10 && isfinite(c->lr),
	      "lr: %g is outside (0, 10]", c->lr);
	CHECK(c->min_lr >= 0 && c->min_lr <= c->lr,
	      "min-lr: %g is outside [0, lr]", c->min_lr);
	CHECK(c->warmup_epochs >= 0 && c->warmup_epochs <= c->epochs,
	      "warmup: %g is outside [0, epochs]", c->warmup_epochs);
	CHECK(
	    c->decay != TRAIN_LR_STEP ||
		(c->step_epochs > 0 && c->step_gamma > 0 && c->step_gamma <= 1),
	    "step schedule: step epochs > 0 and gamma in (0, 1] needed");
	CHECK(c->momentum >= 0 && c->momentum < 1,
	      "momentum: %g is outside [0, 1)", c->momentum);
	CHECK(!c->nesterov || c->momentum > 0,
	      "nesterov: needs a momentum > 0");
	CHECK(c->weight_decay >= 0 && c->weight_decay < 1,
	      "weight-decay: %g is outside [0, 1)", c->weight_decay);
	CHECK(c->clip_norm >= 0, "clip: %g is negative", c->clip_norm);
	CHECK(c->label_smoothing >= 0 && c->label_smoothing < 1,
	      "label-smoothing: %g is outside [0, 1)", c->label_smoothing);
	CHECK(c->kd_temperature > 0 && c->kd_temperature <= 100,
	      "kd-T: %g is outside (0, 100]", c->kd_temperature);
	CHECK(c->kd_alpha0 >= 0 && c->kd_alpha0 <= 1,
	      "kd-alpha: %g is outside [0, 1]", c->kd_alpha0);
	CHECK(c->kd_alpha1 < 0 || c->kd_alpha1 <= 1,
	      "kd-alpha: end value %g is outside [0, 1]", c->kd_alpha1);
	CHECK(c->threads >= 0 && c->threads <= 256,
	      "threads: %d is outside 0..256", c->threads);
	return CORE_OK;
}

static void top_k(const float *logits, const int32_t *y, int n, int k, int *c1,
		  int *c5)
{
	for (int i = 0; i < n; i++) {
		const float *l = logits + (size_t)i * k;
		float t = l[y[i]];
		int above = 0;
		/* rank of the true class: how many logits beat it (ties count
		 * against us, as torch.topk may order them either way) */
		for (int j = 0; j < k; j++)
			if (j != y[i] && l[j] >= t)
				above++;
		*c1 += above == 0;
		*c5 += above < 5;
	}
}

enum core_status train_evaluate(struct model *m, const struct data_set *ds,
				const int32_t *idx, int n, int batch,
				int resolution, int threads,
				struct train_metrics *out, char *err,
				size_t errlen)
{
	struct data_loader_cfg lc;
	struct data_loader *ld = NULL;
	const struct data_batch *b = NULL;
	enum core_status st;
	double loss_sum = 0.0;
	int c1 = 0, c5 = 0, seen = 0;

	memset(out, 0, sizeof *out);
	data_loader_cfg_default(&lc, ds);
	lc.indices = idx;
	lc.n_indices = idx ? n : 0;
	lc.batch_size = batch < m->max_batch ? batch : m->max_batch;
	lc.resolution = resolution;
	lc.shuffle = 0;
	lc.augment = 0;
	lc.epochs = 1;
	lc.threads = threads;
	st = data_loader_open(&lc, &ld, err, errlen);
	if (st)
		return st;
	for (;;) {
		const float *logits;
		double loss;
		st = data_loader_next(ld, &b, err, errlen);
		if (st || !b)
			break;
		logits = model_forward(m, b->x, b->n, 0, NULL);
		st = nn_loss_cross_entropy(&loss, NULL, logits, b->y, b->n,
					   m->classes, 0.0f, err, errlen);
		if (st)
			break;
		loss_sum += loss * b->n;
		top_k(logits, b->y, b->n, m->classes, &c1, &c5);
		seen += b->n;
	}
	data_loader_close(ld);
	if (st)
		return st;
	out->n = seen;
	if (seen) {
		out->loss = loss_sum / seen;
		out->top1 = (double)c1 / seen;
		out->top5 = (double)c5 / seen;
	}
	return CORE_OK;
}

enum core_status train_run(const struct arch *a, const struct train_config *c,
			   const void *resume, size_t resume_len,
			   const struct train_hooks *h,
			   struct train_result *res, char *err, size_t errlen)
{
	struct train_data data;
	struct train_session *s = NULL;
	enum core_status st;
	int done = 0;

	memset(res, 0, sizeof *res);
	memset(&data, 0, sizeof data);
	if (!c->data_dir || !*c->data_dir) {
		core_errf(err, errlen, "data: a data directory is needed");
		return CORE_ERR_INVALID;
	}
	st = train_config_validate(c, err, errlen);
	if (st)
		return st;
	/* both splits up front: a missing test file fails before training */
	st = train_data_load(c->data_dir, c->kind, c->eval_test, &data, err,
			     errlen);
	if (!st)
		st = train_session_open(a, c, &data, resume, resume_len, &s,
					err, errlen);
	while (!st && !done)
		st = train_session_epoch(s, h, &done, err, errlen);
	if (!st)
		st = train_session_result(s, res, err, errlen);
	train_session_close(s);
	train_data_free(&data);
	return st;
}
