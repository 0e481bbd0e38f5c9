/* SPDX-License-Identifier: Apache-2.0 */
/* loss.c - softmax cross-entropy with label smoothing and the knowledge
 * distillation loss, each returning the batch-mean loss and dL/dlogits.
 * Every softmax goes through a log-sum-exp in double. */
#include "nn/nn.h"

#include <math.h>

/* log(sum_j exp(l[j] / t)), stable for any finite logits: the largest
 * term contributes exactly 1, so the sum is >= 1 and nothing overflows. */
static double row_logsumexp(const float *l, int k, double t)
{
	double m = (double)l[0] / t, sum = 1.0;
	int jm = 0;

	for (int j = 1; j < k; j++)
		if ((double)l[j] / t > m) {
			m = (double)l[j] / t;
			jm = j;
		}
	for (int j = 0; j < k; j++)
		if (j != jm)
			sum += exp((double)l[j] / t - m);
	return m + log(sum);
}

/* Loss of one row, -(1 - eps) log p_y - eps/K sum_j log p_j, and when drow
 * is not NULL drow = scale * (p - q), q the smoothed one-hot target. */
static double ce_row(const float *l, int k, int y, double eps, double scale,
		     float *drow)
{
	double lse = row_logsumexp(l, k, 1.0), sum_logp = 0.0;

	for (int j = 0; j < k; j++)
		sum_logp += (double)l[j] - lse;
	if (drow)
		for (int j = 0; j < k; j++) {
			double q = eps / k + (j == y ? 1.0 - eps : 0.0);

			drow[j] =
			    (float)(scale * (exp((double)l[j] - lse) - q));
		}
	return -(1.0 - eps) * ((double)l[y] - lse) - eps / k * sum_logp;
}

static enum core_status check_labels(const int32_t *labels, int n, int k,
				     char *err, size_t errlen)
{
	if (n < 1 || k < 1) {
		core_errf(err, errlen,
			  "loss: batch %d and classes %d must be >= 1", n, k);
		return CORE_ERR_INVALID;
	}
	for (int i = 0; i < n; i++)
		if (labels[i] < 0 || labels[i] >= k) {
			core_errf(err, errlen,
				  "loss: labels[%d] = %d is outside [0, %d)", i,
				  (int)labels[i], k);
			return CORE_ERR_INVALID;
		}
	return CORE_OK;
}

enum core_status nn_loss_cross_entropy(double *loss, float *dlogits,
				       const float *logits,
				       const int32_t *labels, int n, int k,
				       float smoothing, char *err,
				       size_t errlen)
{
	enum core_status rc;
	double total = 0.0;

	rc = check_labels(labels, n, k, err, errlen);
	if (rc)
		return rc;
	if (!(smoothing >= 0.0f && smoothing <= 1.0f)) {
		core_errf(err, errlen, "loss: label smoothing %g not in [0, 1]",
			  (double)smoothing);
		return CORE_ERR_INVALID;
	}
	for (int i = 0; i < n; i++)
		total +=
		    ce_row(logits + (size_t)i * k, k, labels[i], smoothing,
			   1.0 / n, dlogits ? dlogits + (size_t)i * k : NULL);
	*loss = total / n;
	return CORE_OK;
}

enum core_status nn_loss_distill(double *loss, float *dlogits,
				 const float *student, const float *teacher,
				 const int32_t *labels, int n, int k,
				 float alpha, float temperature,
				 float smoothing, char *err, size_t errlen)
{
	enum core_status rc;
	double ce = 0.0, kl = 0.0, t = temperature;

	rc = check_labels(labels, n, k, err, errlen);
	if (rc)
		return rc;
	if (!(alpha >= 0.0f && alpha <= 1.0f) || !(temperature > 0.0f) ||
	    !isfinite(temperature) ||
	    !(smoothing >= 0.0f && smoothing <= 1.0f)) {
		core_errf(err, errlen,
			  "distill: need alpha in [0, 1] (%g), temperature > 0 "
			  "(%g), smoothing in [0, 1] (%g)",
			  (double)alpha, (double)temperature,
			  (double)smoothing);
		return CORE_ERR_INVALID;
	}
	for (int i = 0; i < n; i++) {
		const float *s = student + (size_t)i * k;
		const float *te = teacher + (size_t)i * k;
		float *drow = dlogits ? dlogits + (size_t)i * k : NULL;
		double lse_s = row_logsumexp(s, k, t);
		double lse_t = row_logsumexp(te, k, t);

		ce +=
		    ce_row(s, k, labels[i], smoothing, (double)alpha / n, drow);
		/* KL(pt || ps) = sum pt (log pt - log ps); pt = 0 adds 0
		 * (PyTorch's xlogy convention). d/ds_j = (ps_j - pt_j) / T,
		 * times (1 - alpha) T^2 / N. */
		for (int j = 0; j < k; j++) {
			double lpt = (double)te[j] / t - lse_t;
			double lps = (double)s[j] / t - lse_s;
			double pt = exp(lpt);

			if (pt > 0.0)
				kl += pt * (lpt - lps);
			if (drow)
				drow[j] += (float)((1.0 - alpha) * t *
						   (exp(lps) - pt) / n);
		}
	}
	*loss = alpha * ce / n + (1.0 - alpha) * t * t * kl / n;
	return CORE_OK;
}
