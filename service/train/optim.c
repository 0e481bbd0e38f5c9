/* SPDX-License-Identifier: Apache-2.0 */
/* optim.c - SGD update, gradient-norm clipping and the schedules. */
#include "optim.h"

#include <math.h>

void train_sgd_step(const struct train_sgd *opt, float *params,
		    const float *grads, float *buf, const unsigned char *decay,
		    size_t n)
{
	const float lr = opt->lr, mom = opt->momentum, wd = opt->weight_decay;

#pragma omp parallel for schedule(static) if (n > 65536)
	for (size_t i = 0; i < n; i++) {
		float g = grads[i];
		if (wd != 0.0f && (!decay || decay[i]))
			g += wd * params[i];
		float b = mom * buf[i] + g;
		buf[i] = b;
		float step = opt->nesterov ? g + mom * b : b;
		params[i] -= lr * step;
	}
}

double train_grad_norm(const float *grads, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += (double)grads[i] * (double)grads[i];
	return sqrt(s);
}

double train_clip_grad_norm(float *grads, size_t n, double max_norm)
{
	double norm = train_grad_norm(grads, n);
	double coef = max_norm / (norm + 1e-6);

	if (max_norm > 0.0 && coef < 1.0) {
		float c = (float)coef;
		for (size_t i = 0; i < n; i++)
			grads[i] *= c;
	}
	return norm;
}

double train_lr_at(const struct train_lr_schedule *s, long step)
{
	double spe = s->steps_per_epoch > 0 ? (double)s->steps_per_epoch : 1.0;
	double epoch = (double)step / spe; /* fractional epoch */
	double total = (double)s->epochs;
	double t;

	if (s->warmup_epochs > 0.0 && epoch < s->warmup_epochs) {
		t = epoch / s->warmup_epochs;
		return s->base_lr *
		       (s->warmup_start + (1.0 - s->warmup_start) * t);
	}
	switch (s->decay) {
	case TRAIN_LR_COSINE:
		if (total <= s->warmup_epochs)
			return s->base_lr;
		t = (epoch - s->warmup_epochs) / (total - s->warmup_epochs);
		if (t > 1.0)
			t = 1.0;
		return s->min_lr +
		       (s->base_lr - s->min_lr) * 0.5 * (1.0 + cos(M_PI * t));
	case TRAIN_LR_STEP:
		if (s->step_epochs <= 0.0)
			return s->base_lr;
		return s->base_lr *
		       pow(s->gamma,
			   floor((epoch - s->warmup_epochs) / s->step_epochs));
	case TRAIN_LR_CONSTANT: return s->base_lr;
	}
	return s->base_lr;
}

double train_kd_alpha_at(double a0, double a1, int epoch, int epochs)
{
	if (a1 < 0.0 || epochs <= 1)
		return a0;
	return a0 + (a1 - a0) * (double)epoch / (double)(epochs - 1);
}
