/* loop.c - train_run: the epoch loop (forward, loss, backward, clip, SGD),
 * validation each epoch, checkpoints, and evaluation. */
#include "train.h"

#include <math.h>
#include <omp.h>
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
	CHECK(c->data_dir && *c->data_dir, "data: a data directory is needed");
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

/* Everything a run owns, freed in one place. */
struct run {
	struct data_set train, test;
	struct data_subsets sub;
	struct data_logits teacher;
	struct model *m;
	float *momentum;
	float *dlogits;
	float *tlogits; /* (batch, classes) teacher rows of a batch */
	struct data_loader *ld;
	void *blob;
};

static void run_free(struct run *r)
{
	data_loader_close(r->ld);
	model_free(r->m);
	core_free(r->momentum);
	core_free(r->dlogits);
	core_free(r->tlogits);
	core_free(r->blob);
	data_logits_free(&r->teacher);
	data_subsets_free(&r->sub);
	data_set_free(&r->train);
	data_set_free(&r->test);
}

static enum core_status end_epoch(struct run *r, const struct train_config *c,
				  const struct train_hooks *h,
				  struct train_state *state, int resolution,
				  struct train_progress *p, char *err,
				  size_t errlen)
{
	size_t len = 0;
	enum core_status st;

	st = train_evaluate(r->m, &r->train, r->sub.val, r->sub.n_val, c->batch,
			    resolution, c->loader_threads, &state->val, err,
			    errlen);
	if (st)
		return st;
	p->epoch_done = 1;
	p->val = state->val;
	if (h && h->checkpoint) {
		core_free(r->blob);
		r->blob = NULL;
		st = train_checkpoint_encode(r->m, r->momentum, state, &r->blob,
					     &len, err, errlen);
		if (!st)
			st = h->checkpoint(r->blob, len, state->epoch, h->ctx,
					   err, errlen);
		if (st)
			return st;
	}
	if (h && h->progress && h->progress(p, h->ctx)) {
		core_errf(err, errlen, "cancelled after epoch %d",
			  p->epoch + 1);
		return CORE_ERR_CANCELLED;
	}
	return CORE_OK;
}

enum core_status train_run(const struct arch *a, const struct train_config *c,
			   const void *resume, size_t resume_len,
			   const struct train_hooks *h,
			   struct train_result *res, char *err, size_t errlen)
{
	struct run r;
	struct arch arch = *a;
	struct train_state state;
	struct data_split_cfg sc;
	struct data_loader_cfg lc;
	struct train_lr_schedule sched;
	struct train_sgd opt;
	struct core_rng rng;
	struct train_progress p;
	const struct data_batch *b;
	enum core_status st;
	double t0 = core_now_seconds(), t_epoch = t0, loss_sum = 0.0;
	long epoch_steps = 0, bpe, trained_images = 0;

	memset(&r, 0, sizeof r);
	memset(res, 0, sizeof *res);
	memset(&state, 0, sizeof state);
	st = train_config_validate(c, err, errlen);
	if (st)
		return st;
	if (c->resolution)
		arch.resolution = c->resolution;
	if (c->threads > 0)
		omp_set_num_threads(c->threads);

	st = data_cifar_load(c->data_dir, c->kind, DATA_SPLIT_TRAIN, &r.train,
			     err, errlen);
	if (st)
		goto out;
	if (arch.channels != 3 || arch.classes != r.train.classes) {
		core_errf(err, errlen,
			  "the architecture takes %d channels and "
			  "%d classes; %s has 3 and %d",
			  arch.channels, arch.classes, data_kind_name(c->kind),
			  r.train.classes);
		st = CORE_ERR_INVALID;
		goto out;
	}
	sc.val_fraction = c->val_fraction;
	sc.train_fraction = c->train_fraction;
	sc.seed = c->seed;
	st = data_split_stratified(&r.train, &sc, &r.sub, err, errlen);
	if (st)
		goto out;
	if (c->teacher_logits) {
		st = data_logits_load(c->teacher_logits, &r.train, &r.teacher,
				      err, errlen);
		if (st)
			goto out;
	}
	st = model_build(&arch, c->batch, 1, c->seed, &r.m, err, errlen);
	if (st)
		goto out;
	r.momentum = core_calloc(r.m->nparams, sizeof(float));
	r.dlogits = core_calloc((size_t)c->batch * arch.classes, sizeof(float));
	r.tlogits = core_calloc((size_t)c->batch * arch.classes, sizeof(float));
	if (!r.momentum || !r.dlogits || !r.tlogits) {
		core_errf(err, errlen, "out of memory");
		st = CORE_ERR_NOMEM;
		goto out;
	}
	/* the model's mask excludes BN parameters and biases */
	if (c->decay_bn_and_bias)
		memset(r.m->decay_mask, 1, r.m->nparams);
	core_rng_seed(&rng, data_seed_derive(c->seed, 0x44524f50u, 0, 0));
	if (resume) {
		st = train_checkpoint_restore(resume, resume_len, r.m,
					      r.momentum, &state, err, errlen);
		if (st)
			goto out;
		memcpy(rng.s, state.rng, sizeof rng.s);
		if (state.epoch >= c->epochs) {
			core_errf(err, errlen,
				  "the checkpoint has already "
				  "trained %d of %d epochs",
				  state.epoch, c->epochs);
			st = CORE_ERR_INVALID;
			goto out;
		}
	}

	data_loader_cfg_default(&lc, &r.train);
	lc.indices = r.sub.train;
	lc.n_indices = r.sub.n_train;
	lc.batch_size = c->batch;
	lc.resolution = arch.resolution;
	lc.augment = c->augment;
	lc.cutout = c->cutout;
	lc.drop_last = 1;
	lc.seed = c->seed;
	lc.threads = c->loader_threads;
	lc.start_epoch = state.epoch;
	lc.epochs = c->epochs;
	st = data_loader_open(&lc, &r.ld, err, errlen);
	if (st)
		goto out;
	bpe = data_loader_batches_per_epoch(r.ld);
	if (bpe < 1) {
		core_errf(err, errlen,
			  "the training split (%d images) is "
			  "smaller than one batch of %d",
			  r.sub.n_train, c->batch);
		st = CORE_ERR_INVALID;
		goto out;
	}
	memset(&sched, 0, sizeof sched);
	sched.base_lr = c->lr;
	sched.min_lr = c->min_lr;
	sched.warmup_epochs = c->warmup_epochs;
	sched.warmup_start = 0.1;
	sched.decay = c->decay;
	sched.step_epochs = c->step_epochs;
	sched.gamma = c->step_gamma;
	sched.epochs = c->epochs;
	sched.steps_per_epoch = bpe;
	opt.momentum = (float)c->momentum;
	opt.nesterov = c->nesterov;
	opt.weight_decay = (float)c->weight_decay;

	memset(&p, 0, sizeof p);
	p.epochs = c->epochs;
	p.steps = bpe;
	for (;;) {
		const float *logits;
		double loss, alpha;
		int k = arch.classes;

		st = data_loader_next(r.ld, &b, err, errlen);
		if (st)
			goto out;
		if (!b)
			break;
		opt.lr = (float)train_lr_at(&sched, state.step);
		logits = model_forward(r.m, b->x, b->n, 1, &rng);
		if (c->teacher_logits) {
			for (int i = 0; i < b->n; i++)
				memcpy(r.tlogits + (size_t)i * k,
				       r.teacher.v + (size_t)b->record[i] * k,
				       (size_t)k * sizeof(float));
			alpha = train_kd_alpha_at(c->kd_alpha0, c->kd_alpha1,
						  b->epoch, c->epochs);
			st = nn_loss_distill(
			    &loss, r.dlogits, logits, r.tlogits, b->y, b->n, k,
			    (float)alpha, (float)c->kd_temperature,
			    (float)c->label_smoothing, err, errlen);
		} else {
			st = nn_loss_cross_entropy(
			    &loss, r.dlogits, logits, b->y, b->n, k,
			    (float)c->label_smoothing, err, errlen);
		}
		if (st)
			goto out;
		if (!isfinite(loss)) {
			core_errf(err, errlen,
				  "the loss became %g at epoch %d "
				  "step %d (lr %.4g): training diverged; try a "
				  "lower learning rate",
				  loss, b->epoch + 1, b->index + 1, opt.lr);
			st = CORE_ERR_INVALID;
			goto out;
		}
		model_zero_grads(r.m);
		model_backward(r.m, r.dlogits, b->n);
		if (c->clip_norm > 0)
			train_clip_grad_norm(r.m->grads, r.m->nparams,
					     c->clip_norm);
		train_sgd_step(&opt, r.m->params, r.m->grads, r.momentum,
			       r.m->decay_mask, r.m->nparams);
		state.step++;
		epoch_steps++;
		trained_images += b->n;
		loss_sum += loss;

		p.epoch = b->epoch;
		p.step = b->index + 1;
		p.loss = loss_sum / (double)epoch_steps;
		p.lr = opt.lr;
		p.img_per_s = (double)trained_images /
			      fmax(core_now_seconds() - t0, 1e-9);
		p.eta_s = (double)(((long)c->epochs - b->epoch) * bpe -
				   b->index - 1) *
			  b->n / fmax(p.img_per_s, 1e-9);
		p.epoch_done = 0;
		if (b->index + 1 == bpe) {
			state.epoch = b->epoch + 1;
			memcpy(state.rng, rng.s, sizeof state.rng);
			p.epoch_seconds = core_now_seconds() - t_epoch;
			st = end_epoch(&r, c, h, &state, arch.resolution, &p,
				       err, errlen);
			if (st)
				goto out;
			loss_sum = 0.0;
			epoch_steps = 0;
			t_epoch = core_now_seconds();
		} else if (h && h->progress && (p.step % 10 == 0) &&
			   h->progress(&p, h->ctx)) {
			core_errf(err, errlen, "cancelled in epoch %d",
				  b->epoch + 1);
			st = CORE_ERR_CANCELLED;
			goto out;
		}
	}
	res->epochs_done = state.epoch;
	res->val = state.val;
	res->train_img_per_s =
	    (double)trained_images / fmax(core_now_seconds() - t0, 1e-9);
	if (c->eval_test) {
		st = data_cifar_load(c->data_dir, c->kind, DATA_SPLIT_TEST,
				     &r.test, err, errlen);
		if (!st)
			st = train_evaluate(r.m, &r.test, NULL, r.test.n,
					    c->batch, arch.resolution,
					    c->loader_threads, &res->test, err,
					    errlen);
		if (st)
			goto out;
	}
	res->seconds = core_now_seconds() - t0;
out:
	run_free(&r);
	return st;
}
