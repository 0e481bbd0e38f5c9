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
	const char *data_dir;
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
	int threads; /* OpenMP/BLAS threads, 0 = leave as is */
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

/* Trains a on cfg's data from scratch, or from the checkpoint blob resume
 * (which must be of the same architecture). cfg is validated first: errors
 * name the setting. */
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
