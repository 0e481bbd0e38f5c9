/* SPDX-License-Identifier: Apache-2.0 */
/* train.h - the training engine's loop: data, model, loss (cross-entropy with
 * label smoothing, or distillation from teacher logits), SGD with a
 * warmup + cosine/step schedule, per-epoch validation, NaN detection,
 * checkpoints that resume exactly, and evaluation.
 *
 * Layer: train sits above model, nn and data; search and the CLI use it.
 *
 * Determinism: for a given seed and thread count a run gives the same
 * numbers, and a run resumed from an epoch checkpoint continues exactly as
 * if uninterrupted (parameters, BN statistics, momentum, the dropout
 * generator and the data order are all restored). */
#ifndef LMNAS_TRAIN_H
#define LMNAS_TRAIN_H

#include "arch/arch.h"
#include "core/core.h"
#include "data/data.h"
#include "model/model.h"
#include "train/checkpoint.h"
#include "train/optim.h"

struct train_config {
	/* data */
	const char *data_dir; /* train_run only; sessions get loaded data */
	enum data_kind kind;
	double val_fraction;   /* held out of the training set, stratified */
	double train_fraction; /* of the rest, used for training */
	int resolution;	       /* 0: the architecture's */
	int augment;	       /* crop + flip */
	int cutout;	       /* square size, 0 = off */
	int loader_threads;
	/* schedule and optimizer */
	int epochs;
	int batch;
	double lr, min_lr;
	double warmup_epochs;
	enum train_lr_decay decay;
	double step_epochs, step_gamma;
	double momentum;
	int nesterov;
	double weight_decay;
	int decay_bn_and_bias; /* 0 (default): BN parameters and biases excluded
				*/
	double clip_norm;      /* 0 = off */
	double label_smoothing;
	/* distillation */
	const char *teacher_logits; /* .npy (N, classes), NULL = off */
	double kd_temperature;
	double kd_alpha0, kd_alpha1; /* alpha1 < 0: constant alpha0 */
	/* run */
	int threads; /* the model's worker pool, 0 = OpenMP's default */
	uint64_t seed;
	int eval_test;		   /* evaluate the test split at the end */
	double max_steps_fraction; /* (0, 1]: stop an epoch early (tests); 1 */
};

/* Defaults: CIFAR-100, val 0.05, train 1.0, augment, 10 epochs, batch 128,
 * lr 0.05 (cosine to 0, 1 warmup epoch from 0.1 lr), momentum 0.9 Nesterov,
 * weight decay 5e-4 (not on BN and biases), smoothing 0.1, KD T 4 alpha 0.5,
 * seed 1, test evaluation on. */
void train_config_default(struct train_config *c);

struct train_metrics {
	double loss;
	double top1, top5; /* fractions */
	int n;
};

/* What happened in an epoch (and the progress within it). */
struct train_progress {
	int epoch, epochs; /* 0-based epoch */
	long step, steps;  /* within the epoch */
	double loss;	   /* running mean over the epoch so far */
	double lr;
	double img_per_s;
	double eta_s;	/* whole run */
	int epoch_done; /* 1 when val below is filled */
	struct train_metrics val;
	double epoch_seconds;
};

struct train_hooks {
	/* called every few steps and at the end of each epoch; returning
	 * non-zero cancels the run (CORE_ERR_CANCELLED) */
	int (*progress)(const struct train_progress *p, void *ctx);
	/* called after each epoch with a checkpoint blob (not kept after the
	 * call); a non-OK return fails the run */
	enum core_status (*checkpoint)(const void *blob, size_t len, int epoch,
				       void *ctx, char *err, size_t errlen);
	void *ctx;
};

struct train_result {
	int epochs_done;
	struct train_metrics val;  /* after the last epoch */
	struct train_metrics test; /* when eval_test (n = 0 otherwise) */
	double seconds;
	double train_img_per_s;
};

/* ---- a run over loaded data ----------------------------------------------
 *
 * The data set is loaded once by the caller (a search job loads it for all
 * its candidates) and read by any number of sessions:
 *
 *   struct train_data d;
 *   struct train_session *s;
 *   int done = 0;
 *   train_data_load(dir, DATA_KIND_CIFAR100, 1, &d, err, n);
 *   train_session_open(&arch, &cfg, &d, NULL, 0, &s, err, n);
 *   while (!st && !done)
 *           st = train_session_epoch(s, &hooks, &done, err, n);
 *   train_session_result(s, &res, err, n);
 *   train_session_close(s);
 *   train_data_free(&d);
 *
 * Threads: cfg->threads sizes the model's worker pool, which runs each pass
 * as one OpenMP team (BLAS inside it on the team's thread); nothing
 * process-wide is set, so runs in different threads keep their own counts.
 * 0 (or more than OpenMP's default) means OpenMP's default. Limit: with
 * 1 there is no team, and the generic OpenMP loops and BLAS calls of a pass
 * follow OMP_NUM_THREADS (set it to 1 for a strictly single-threaded run).
 *
 * Divergence: a loss that is not finite stops the run at once; so does a
 * loss that stays above 3 x ln(classes) (with distillation, 3 x T^2 x
 * ln(classes)) for 10 steps in a row: a fresh network starts near
 * ln(classes) (near uniform predictions) and training only lowers it, so
 * such a run has left the basin (CORE_ERR_INVALID, err says "diverged",
 * with the loss, epoch, step and learning rate). */
struct train_data {
	enum data_kind kind;
	struct data_set train;	    /* the training file (split per session) */
	struct data_set test;	    /* n = 0 when not loaded */
	struct data_set val;	    /* a cache's own val split; n = 0 when it
				     * has none (val_fraction of train is held
				     * out instead) */
	struct data_logits teacher; /* v = NULL when not loaded */
};

/* Loads the training split (and the test split when with_test) of dir,
 * and a cache's val split when it has a non-empty one (sessions validate on
 * it instead of holding out val_fraction of train).
 * On failure d is empty and err names the file. d is the caller's
 * (train_data_free). */
enum core_status train_data_load(const char *dir, enum data_kind kind,
				 int with_test, struct train_data *d, char *err,
				 size_t errlen);
void train_data_free(struct train_data *d);

/* Loads and checks the teacher logits at path against d->train (shape
 * (records, classes)); sessions with cfg->teacher_logits use them instead
 * of reading the file again. */
enum core_status train_data_load_teacher(struct train_data *d, const char *path,
					 char *err, size_t errlen);

struct train_session; /* opaque */

/* Opens a run of a on data (which must outlive the session) with cfg
 * (validated: errors name the setting; cfg->data_dir is not read; strings
 * are borrowed), from scratch or from the checkpoint blob resume of the
 * same architecture. Splits the training set, loads the teacher logits
 * (cfg->teacher_logits), builds the model. cfg->eval_test needs data->test
 * loaded. The teacher comes from data->teacher when loaded, else from the
 * file. *out is the caller's (train_session_close); NULL on failure. */
enum core_status train_session_open(const struct arch *a,
				    const struct train_config *cfg,
				    const struct train_data *data,
				    const void *resume, size_t resume_len,
				    struct train_session **out, char *err,
				    size_t errlen);

/* One optimizer step on the next batch: forward, loss (checked for
 * divergence), backward, clip, SGD. *epoch_end is 1 when the step finished
 * an epoch (call train_session_epoch's end-of-epoch work through
 * train_session_epoch; step alone is for tests and benchmarks). A step
 * after the last epoch does nothing. */
enum core_status train_session_step(struct train_session *s, int *epoch_end,
				    char *err, size_t errlen);

/* Steps to the end of the current epoch (progress hook every 10 steps),
 * then validates, hands the checkpoint to the hook and reports the epoch.
 * *done is 1 after the last epoch. A hook's cancel gives
 * CORE_ERR_CANCELLED. */
enum core_status train_session_epoch(struct train_session *s,
				     const struct train_hooks *h, int *done,
				     char *err, size_t errlen);

/* The run's figures: epochs done, last validation, and the test split's
 * (when cfg->eval_test). */
enum core_status train_session_result(struct train_session *s,
				      struct train_result *res, char *err,
				      size_t errlen);

/* The session's model (eval mode is chosen per call; owned by s). */
const struct model *train_session_model(const struct train_session *s);

void train_session_close(struct train_session *s);

/* A whole run from cfg->data_dir: loads the training split (and the test
 * split first when cfg->eval_test, so a missing test file fails before
 * training), then a session epoch by epoch. */
enum core_status train_run(const struct arch *a, const struct train_config *cfg,
			   const void *resume, size_t resume_len,
			   const struct train_hooks *hooks,
			   struct train_result *res, char *err, size_t errlen);

enum core_status train_config_validate(const struct train_config *c, char *err,
				       size_t errlen);

/* Evaluates m (eval mode) on the records idx (n, NULL = all) of ds at
 * resolution r. */
enum core_status train_evaluate(struct model *m, const struct data_set *ds,
				const int32_t *idx, int n, int batch,
				int resolution, int threads,
				struct train_metrics *out, char *err,
				size_t errlen);

/* ---- model checkpoints -------------------------------------------------- */

/* State of a run at an epoch boundary. */
struct train_state {
	int epoch;	 /* epochs completed */
	long step;	 /* global optimizer steps so far */
	uint64_t rng[4]; /* the dropout generator */
	struct train_metrics val;
};

/* Encodes model (architecture, parameters, BN statistics), optional momentum
 * buffer (nparams floats) and state into a blob owned by the caller. */
enum core_status train_checkpoint_encode(const struct model *m,
					 const float *momentum,
					 const struct train_state *state,
					 void **blob, size_t *len, char *err,
					 size_t errlen);

/* Reads the architecture of a checkpoint. */
enum core_status train_checkpoint_arch(const void *blob, size_t len,
				       struct arch *a, char *err,
				       size_t errlen);

/* Restores parameters and BN statistics into m (built from the same
 * architecture), momentum (if not NULL and present) and state (if not
 * NULL). */
enum core_status train_checkpoint_restore(const void *blob, size_t len,
					  struct model *m, float *momentum,
					  struct train_state *state, char *err,
					  size_t errlen);

#endif
