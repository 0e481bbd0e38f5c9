/* SPDX-License-Identifier: Apache-2.0 */
/* session.c - a training run over already-loaded data as a few calls:
 * train_session_open (split, model, optimizer, resume), train_session_step
 * (next batch, forward, loss, backward, update), train_session_epoch (steps
 * to the end of an epoch, validation, checkpoint, progress),
 * train_session_result (test evaluation) and train_session_close. Loading
 * the data set is the caller's (train_data_load), so a search job reads it
 * once for all its candidates. Owns struct train_session. */
#include "train.h"

#include <math.h>
#include <string.h>

/* Divergence (see train.h): the loss stays above DIVERGE_FACTOR times its
 * starting level for DIVERGE_STEPS optimizer steps in a row. */
#define DIVERGE_FACTOR 3.0
#define DIVERGE_STEPS  10

struct train_session {
	struct train_config c; /* strings borrowed from the caller */
	struct arch arch;      /* resolution as trained */
	const struct train_data *data;
	struct data_subsets sub;
	struct data_logits teacher;   /* loaded here, when data has none */
	const struct data_logits *tl; /* the teacher in use */
	struct model *m;
	float *momentum; /* (nparams) */
	float *dlogits;	 /* (batch, classes) */
	float *tlogits;	 /* (batch, classes) teacher rows of a batch */
	struct data_loader *ld;
	void *blob; /* the last checkpoint */
	struct train_state state;
	struct train_lr_schedule sched;
	struct train_sgd opt;
	struct core_rng rng;
	struct train_progress p;
	long bpe; /* batches per epoch */
	double t0, t_epoch, loss_sum;
	long epoch_steps, trained_images;
	double diverge_level; /* loss above this counts towards divergence */
	int above;	      /* consecutive steps above diverge_level */
	int finished;	      /* the loader has no more batches */
};

enum core_status train_data_load(const char *dir, enum data_kind kind,
				 int with_test, struct train_data *d, char *err,
				 size_t errlen)
{
	enum core_status st;

	memset(d, 0, sizeof *d);
	d->kind = kind;
	st = data_set_load(dir, kind, DATA_SPLIT_TRAIN, &d->train, err, errlen);
	if (!st && with_test)
		st = data_set_load(dir, kind, DATA_SPLIT_TEST, &d->test, err,
				   errlen);
	/* A cache's own val split (the upload's val/ or the import's draw)
	 * is what its owner means to validate on; an empty one (NOT_FOUND,
	 * the index having been read for train already) leaves the session
	 * to hold out val_fraction of train, as for CIFAR. */
	if (!st && kind == DATA_KIND_CACHE) {
		st = data_cache_load(dir, DATA_SPLIT_VAL, &d->val, err, errlen);
		if (st == CORE_ERR_NOT_FOUND) {
			st = CORE_OK;
			if (errlen)
				err[0] = '\0';
		}
	}
	if (st)
		train_data_free(d);
	return st;
}

enum core_status train_data_load_teacher(struct train_data *d, const char *path,
					 char *err, size_t errlen)
{
	data_logits_free(&d->teacher);
	return data_logits_load(path, &d->train, &d->teacher, err, errlen);
}

void train_data_free(struct train_data *d)
{
	data_set_free(&d->train);
	data_set_free(&d->test);
	data_set_free(&d->val);
	data_logits_free(&d->teacher);
	memset(d, 0, sizeof *d);
}

void train_session_close(struct train_session *s)
{
	if (!s)
		return;
	data_loader_close(s->ld);
	model_free(s->m);
	core_free(s->momentum);
	core_free(s->dlogits);
	core_free(s->tlogits);
	core_free(s->blob);
	data_logits_free(&s->teacher);
	data_subsets_free(&s->sub);
	core_free(s);
}

/* The compute threads of the run: the model's worker pool runs every pass
 * (forward, backward, evaluation) as one OpenMP team of its own size, and
 * BLAS inside a pass runs on the calling team thread, so the pool's size is
 * the run's thread count. Nothing process-wide (omp_set_num_threads,
 * openblas_set_num_threads) is touched: two runs in two threads of one
 * process keep their own counts. A pool never grows past what the model's
 * scratch was sized for at build (omp_get_max_threads()). */
static enum core_status set_threads(struct model *m, int threads, char *err,
				    size_t errlen)
{
	struct nn_pool *pool = NULL;
	enum core_status st;

	if (threads <= 0 || threads >= nn_pool_workers(m->pool))
		return CORE_OK;
	st = nn_pool_create(threads, &pool, err, errlen);
	if (st)
		return st;
	nn_pool_free(m->pool);
	m->pool = pool;
	return CORE_OK;
}

static enum core_status open_loader(struct train_session *s, char *err,
				    size_t errlen)
{
	const struct train_config *c = &s->c;
	struct data_loader_cfg lc;
	enum core_status st;

	data_loader_cfg_default(&lc, &s->data->train);
	lc.indices = s->sub.train;
	lc.n_indices = s->sub.n_train;
	lc.batch_size = c->batch;
	lc.resolution = s->arch.resolution;
	lc.augment = c->augment;
	lc.cutout = c->cutout;
	lc.drop_last = 1;
	lc.seed = c->seed;
	lc.threads = c->loader_threads;
	lc.start_epoch = s->state.epoch;
	lc.epochs = c->epochs;
	st = data_loader_open(&lc, &s->ld, err, errlen);
	if (st)
		return st;
	s->bpe = data_loader_batches_per_epoch(s->ld);
	if (s->bpe < 1) {
		core_errf(err, errlen,
			  "the training split (%d images) is "
			  "smaller than one batch of %d",
			  s->sub.n_train, c->batch);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

/* A fresh network predicts close to uniformly: its loss starts near
 * ln(classes), and a distillation loss (alpha CE + (1 - alpha) T^2 KL, the
 * KL of a uniform student at most ln(classes)) near max(1, T^2)
 * ln(classes). Training only lowers it; a loss that stays at three times
 * that level is a run that has left the basin (the issue's `--lr 10` run
 * sat at 4262 with 100 classes, where the level is 13.8). */
static double diverge_level(const struct train_config *c, int classes)
{
	double level = log((double)(classes > 1 ? classes : 2));

	if (c->teacher_logits && c->kd_temperature > 1)
		level *= c->kd_temperature * c->kd_temperature;
	return DIVERGE_FACTOR * level;
}

enum core_status train_session_open(const struct arch *a,
				    const struct train_config *c,
				    const struct train_data *data,
				    const void *resume, size_t resume_len,
				    struct train_session **out, char *err,
				    size_t errlen)
{
	struct train_session *s;
	struct data_split_cfg sc;
	enum core_status st;

	*out = NULL;
	st = train_config_validate(c, err, errlen);
	if (st)
		return st;
	if (!data->train.n) {
		core_errf(err, errlen,
			  "data: the training split is not "
			  "loaded");
		return CORE_ERR_INVALID;
	}
	if (c->eval_test && !data->test.n) {
		core_errf(err, errlen,
			  "data: the test split is not loaded (needed for the "
			  "final test evaluation)");
		return CORE_ERR_INVALID;
	}
	s = core_calloc(1, sizeof *s);
	if (!s) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	s->c = *c;
	s->arch = *a;
	s->data = data;
	s->t0 = s->t_epoch = core_now_seconds();
	if (c->resolution)
		s->arch.resolution = c->resolution;
	if (s->arch.channels != 3 || s->arch.classes != data->train.classes) {
		core_errf(err, errlen,
			  "the architecture takes %d channels and "
			  "%d classes; %s has 3 and %d",
			  s->arch.channels, s->arch.classes,
			  data_kind_name(data->kind), data->train.classes);
		st = CORE_ERR_INVALID;
		goto fail;
	}
	sc.val_fraction = data->val.n ? 0.0 : c->val_fraction;
	sc.train_fraction = c->train_fraction;
	sc.seed = c->seed;
	st = data_split_stratified(&data->train, &sc, &s->sub, err, errlen);
	if (st)
		goto fail;
	if (c->teacher_logits && data->teacher.v) {
		s->tl = &data->teacher;
	} else if (c->teacher_logits) {
		st = data_logits_load(c->teacher_logits, &data->train,
				      &s->teacher, err, errlen);
		if (st)
			goto fail;
		s->tl = &s->teacher;
	}
	st = model_build(&s->arch, c->batch, 1, c->seed, &s->m, err, errlen);
	if (!st)
		st = set_threads(s->m, c->threads, err, errlen);
	if (st)
		goto fail;
	s->momentum = core_calloc(s->m->nparams, sizeof(float));
	s->dlogits =
	    core_calloc((size_t)c->batch * s->arch.classes, sizeof(float));
	s->tlogits =
	    core_calloc((size_t)c->batch * s->arch.classes, sizeof(float));
	if (!s->momentum || !s->dlogits || !s->tlogits) {
		core_errf(err, errlen, "out of memory");
		st = CORE_ERR_NOMEM;
		goto fail;
	}
	/* the model's mask excludes BN parameters and biases */
	if (c->decay_bn_and_bias)
		memset(s->m->decay_mask, 1, s->m->nparams);
	core_rng_seed(&s->rng, data_seed_derive(c->seed, 0x44524f50u, 0, 0));
	if (resume) {
		st = train_checkpoint_restore(resume, resume_len, s->m,
					      s->momentum, &s->state, err,
					      errlen);
		if (st)
			goto fail;
		memcpy(s->rng.s, s->state.rng, sizeof s->rng.s);
		if (s->state.epoch >= c->epochs) {
			core_errf(err, errlen,
				  "the checkpoint has already "
				  "trained %d of %d epochs",
				  s->state.epoch, c->epochs);
			st = CORE_ERR_INVALID;
			goto fail;
		}
	}
	st = open_loader(s, err, errlen);
	if (st)
		goto fail;
	s->sched.base_lr = c->lr;
	s->sched.min_lr = c->min_lr;
	s->sched.warmup_epochs = c->warmup_epochs;
	s->sched.warmup_start = 0.1;
	s->sched.decay = c->decay;
	s->sched.step_epochs = c->step_epochs;
	s->sched.gamma = c->step_gamma;
	s->sched.epochs = c->epochs;
	s->sched.steps_per_epoch = s->bpe;
	s->opt.momentum = (float)c->momentum;
	s->opt.nesterov = c->nesterov;
	s->opt.weight_decay = (float)c->weight_decay;
	s->p.epochs = c->epochs;
	s->p.steps = s->bpe;
	s->diverge_level = diverge_level(c, s->arch.classes);
	*out = s;
	return CORE_OK;
fail:
	train_session_close(s);
	return st;
}

/* The loss of batch b into s->dlogits. */
static enum core_status batch_loss(struct train_session *s,
				   const struct data_batch *b,
				   const float *logits, double *loss, char *err,
				   size_t errlen)
{
	const struct train_config *c = &s->c;
	int k = s->arch.classes;
	double alpha;

	if (!c->teacher_logits)
		return nn_loss_cross_entropy(loss, s->dlogits, logits, b->y,
					     b->n, k, (float)c->label_smoothing,
					     err, errlen);
	for (int i = 0; i < b->n; i++)
		memcpy(s->tlogits + (size_t)i * k,
		       s->tl->v + (size_t)b->record[i] * k,
		       (size_t)k * sizeof(float));
	alpha =
	    train_kd_alpha_at(c->kd_alpha0, c->kd_alpha1, b->epoch, c->epochs);
	return nn_loss_distill(loss, s->dlogits, logits, s->tlogits, b->y, b->n,
			       k, (float)alpha, (float)c->kd_temperature,
			       (float)c->label_smoothing, err, errlen);
}

/* Stops a run whose loss is not finite, or has stayed far above where a
 * fresh network starts (diverge_level) for DIVERGE_STEPS steps. */
static enum core_status check_loss(struct train_session *s,
				   const struct data_batch *b, double loss,
				   char *err, size_t errlen)
{
	if (!isfinite(loss)) {
		core_errf(err, errlen,
			  "the loss became %g at epoch %d step %d (lr %.4g): "
			  "training diverged; try a lower learning rate",
			  loss, b->epoch + 1, b->index + 1, s->opt.lr);
		return CORE_ERR_INVALID;
	}
	s->above = loss > s->diverge_level ? s->above + 1 : 0;
	if (s->above >= DIVERGE_STEPS) {
		core_errf(err, errlen,
			  "training diverged: the loss stayed above %.3g (%g "
			  "times a fresh network's) for %d steps, %.4g at "
			  "epoch %d step %d (lr %.4g); try a lower learning "
			  "rate",
			  s->diverge_level, DIVERGE_FACTOR, DIVERGE_STEPS, loss,
			  b->epoch + 1, b->index + 1, s->opt.lr);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

enum core_status train_session_step(struct train_session *s, int *epoch_end,
				    char *err, size_t errlen)
{
	const struct data_batch *b = NULL;
	const float *logits;
	double loss = 0.0;
	enum core_status st;

	*epoch_end = 0;
	if (s->finished)
		return CORE_OK;
	st = data_loader_next(s->ld, &b, err, errlen);
	if (st)
		return st;
	if (!b) {
		s->finished = 1;
		return CORE_OK;
	}
	s->opt.lr = (float)train_lr_at(&s->sched, s->state.step);
	logits = model_forward(s->m, b->x, b->n, 1, &s->rng);
	st = batch_loss(s, b, logits, &loss, err, errlen);
	if (!st)
		st = check_loss(s, b, loss, err, errlen);
	if (st)
		return st;
	model_zero_grads(s->m);
	model_backward(s->m, s->dlogits, b->n);
	if (s->c.clip_norm > 0)
		train_clip_grad_norm(s->m->grads, s->m->nparams,
				     s->c.clip_norm);
	train_sgd_step(&s->opt, s->m->params, s->m->grads, s->momentum,
		       s->m->decay_mask, s->m->nparams);
	s->state.step++;
	s->epoch_steps++;
	s->trained_images += b->n;
	s->loss_sum += loss;

	s->p.epoch = b->epoch;
	s->p.step = b->index + 1;
	s->p.loss = s->loss_sum / (double)s->epoch_steps;
	s->p.lr = s->opt.lr;
	s->p.img_per_s =
	    (double)s->trained_images / fmax(core_now_seconds() - s->t0, 1e-9);
	s->p.eta_s =
	    (double)(((long)s->c.epochs - b->epoch) * s->bpe - b->index - 1) *
	    b->n / fmax(s->p.img_per_s, 1e-9);
	s->p.epoch_done = 0;
	if (b->index + 1 == s->bpe) {
		s->state.epoch = b->epoch + 1;
		memcpy(s->state.rng, s->rng.s, sizeof s->state.rng);
		s->p.epoch_seconds = core_now_seconds() - s->t_epoch;
		*epoch_end = 1;
	}
	return CORE_OK;
}

/* After an epoch's last step: validation, checkpoint, progress. */
static enum core_status end_epoch(struct train_session *s,
				  const struct train_hooks *h, char *err,
				  size_t errlen)
{
	size_t len = 0;
	enum core_status st;

	if (s->data->val.n)
		st = train_evaluate(s->m, &s->data->val, NULL, s->data->val.n,
				    s->c.batch, s->arch.resolution,
				    s->c.loader_threads, &s->state.val, err,
				    errlen);
	else
		st = train_evaluate(s->m, &s->data->train, s->sub.val,
				    s->sub.n_val, s->c.batch,
				    s->arch.resolution, s->c.loader_threads,
				    &s->state.val, err, errlen);
	if (st)
		return st;
	s->p.epoch_done = 1;
	s->p.val = s->state.val;
	if (h && h->checkpoint) {
		core_free(s->blob);
		s->blob = NULL;
		st = train_checkpoint_encode(s->m, s->momentum, &s->state,
					     &s->blob, &len, err, errlen);
		if (!st)
			st = h->checkpoint(s->blob, len, s->state.epoch, h->ctx,
					   err, errlen);
		if (st)
			return st;
	}
	if (h && h->progress && h->progress(&s->p, h->ctx)) {
		core_errf(err, errlen, "cancelled after epoch %d",
			  s->p.epoch + 1);
		return CORE_ERR_CANCELLED;
	}
	s->loss_sum = 0.0;
	s->epoch_steps = 0;
	s->t_epoch = core_now_seconds();
	return CORE_OK;
}

enum core_status train_session_epoch(struct train_session *s,
				     const struct train_hooks *h, int *done,
				     char *err, size_t errlen)
{
	enum core_status st;
	int end = 0;

	*done = 0;
	while (!end) {
		st = train_session_step(s, &end, err, errlen);
		if (st)
			return st;
		if (s->finished) {
			*done = 1;
			return CORE_OK;
		}
		if (!end && h && h->progress && s->p.step % 10 == 0 &&
		    h->progress(&s->p, h->ctx)) {
			core_errf(err, errlen, "cancelled in epoch %d",
				  s->p.epoch + 1);
			return CORE_ERR_CANCELLED;
		}
	}
	st = end_epoch(s, h, err, errlen);
	if (!st && s->state.epoch >= s->c.epochs) {
		s->finished = 1;
		*done = 1;
	}
	return st;
}

enum core_status train_session_result(struct train_session *s,
				      struct train_result *res, char *err,
				      size_t errlen)
{
	enum core_status st;

	memset(res, 0, sizeof *res);
	res->epochs_done = s->state.epoch;
	res->val = s->state.val;
	res->train_img_per_s =
	    (double)s->trained_images / fmax(core_now_seconds() - s->t0, 1e-9);
	if (s->c.eval_test) {
		st = train_evaluate(s->m, &s->data->test, NULL, s->data->test.n,
				    s->c.batch, s->arch.resolution,
				    s->c.loader_threads, &res->test, err,
				    errlen);
		if (st)
			return st;
	}
	res->seconds = core_now_seconds() - s->t0;
	return CORE_OK;
}

const struct model *train_session_model(const struct train_session *s)
{
	return s->m;
}
