/* SPDX-License-Identifier: Apache-2.0 */
/* optim.h - private to train: SGD with momentum/Nesterov and weight decay,
 * learning-rate and distillation-weight schedules, gradient-norm clipping.
 * Included by train.h; callers use train.h. */
#ifndef LMNAS_TRAIN_OPTIM_H
#define LMNAS_TRAIN_OPTIM_H

#include "core/core.h"

/* PyTorch torch.optim.SGD semantics (dampening 0):
 *   g = grad + wd * p          (wd only where decay[i] says so)
 *   buf = momentum * buf + g   (buf starts at 0, so the first step is g)
 *   step = nesterov ? g + momentum * buf : buf
 *   p -= lr * step
 */
struct train_sgd {
	float lr;
	float momentum;
	int nesterov;
	float weight_decay;
};

/* One update of n parameters in place. decay may be NULL (decay everything)
 * or a per-parameter 0/1 mask (0 for BN parameters and biases when they are
 * excluded). buf (n) is the momentum buffer, zeroed before the first step. */
void train_sgd_step(const struct train_sgd *opt, float *params /* (n) */,
		    const float *grads /* (n) */, float *buf /* (n) */,
		    const unsigned char *decay /* (n) or NULL */, size_t n);

/* L2 norm of the gradient vector (accumulated in double). */
double train_grad_norm(const float *grads, size_t n);

/* Scales grads so that their norm is at most max_norm, as
 * torch.nn.utils.clip_grad_norm_ (factor max_norm / (norm + 1e-6), applied
 * only when it is < 1). Returns the norm before clipping. */
double train_clip_grad_norm(float *grads, size_t n, double max_norm);

enum train_lr_decay {
	TRAIN_LR_COSINE = 0, /* cosine from base_lr to min_lr after warmup */
	TRAIN_LR_STEP,	     /* multiply by gamma every step_epochs */
	TRAIN_LR_CONSTANT
};

struct train_lr_schedule {
	double base_lr;
	double min_lr;	      /* cosine floor */
	double warmup_epochs; /* linear ramp from warmup_start*base_lr */
	double warmup_start;  /* fraction of base_lr at step 0, e.g. 0.1 */
	enum train_lr_decay decay;
	double step_epochs; /* TRAIN_LR_STEP */
	double gamma;	    /* TRAIN_LR_STEP */
	int epochs;
	long steps_per_epoch;
};

/* Learning rate for global step `step` (0-based, per batch). */
double train_lr_at(const struct train_lr_schedule *s, long step);

/* Distillation weight a for epoch e of E: constant a0 when a1 < 0, else
 * linear from a0 (first epoch) to a1 (last epoch). */
double train_kd_alpha_at(double a0, double a1, int epoch, int epochs);

#endif
