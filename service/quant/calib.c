/* SPDX-License-Identifier: Apache-2.0 */
/* calib.c - activation calibration: per-tensor min/max over sample images
 * and percentile clipping from histograms; owns struct quant_calib. */
#include "quant_internal.h"

#include <math.h>
#include <string.h>

void quant_calib_free(struct quant_calib *c)
{
	core_free(c->lo);
	core_free(c->hi);
	core_free(c->count);
	core_free(c->hist);
	memset(c, 0, sizeof *c);
	c->bad_slot = -1;
}

static void observe(void *ctx, int tensor, int pre, const float *v, size_t n)
{
	struct quant_calib *c = ctx;
	const int s = 2 * tensor + pre;
	double lo = c->lo[s], hi = c->hi[s];

	if (c->pass == 1) {
		for (size_t i = 0; i < n; i++) {
			const double x = v[i];

			if (!isfinite(x)) {
				if (c->bad_slot < 0)
					c->bad_slot = s;
				return;
			}
			if (x < lo)
				lo = x;
			if (x > hi)
				hi = x;
		}
		c->lo[s] = lo;
		c->hi[s] = hi;
		c->count[s] += n;
		return;
	}
	/* pass 2: bins over the [lo, hi] of pass 1 */
	{
		uint64_t *h = c->hist + (size_t)s * QUANT_HIST_BINS;
		const double width = (hi - lo) / QUANT_HIST_BINS;

		for (size_t i = 0; i < n; i++) {
			long b = width > 0 ? (long)((v[i] - lo) / width) : 0;

			if (b < 0)
				b = 0;
			if (b >= QUANT_HIST_BINS)
				b = QUANT_HIST_BINS - 1;
			h[b]++;
		}
	}
}

enum core_status quant_calib_run(const struct quant_fnet *f, const float *x,
				 int n, double percentile,
				 struct quant_calib *c, char *err,
				 size_t errlen)
{
	const struct graph *g = &f->graph;
	const struct graph_tensor *in = &g->tensors[g->input];
	const size_t img = (size_t)in->h * (size_t)in->w * (size_t)in->c;
	const struct quant_observer obs = {observe, c};
	float *logits = NULL;
	enum core_status rc = CORE_OK;
	const size_t ns = 2 * (size_t)g->ntensors;

	memset(c, 0, sizeof *c);
	c->bad_slot = -1;
	if (n < 1 || !(percentile > 50.0 && percentile <= 100.0)) {
		core_errf(err, errlen,
			  "calibration: need at least one image and a "
			  "percentile in (50, 100] (got %d, %g)",
			  n, percentile);
		return CORE_ERR_INVALID;
	}
	c->nslots = (int)ns;
	c->lo = core_malloc(ns * sizeof *c->lo);
	c->hi = core_malloc(ns * sizeof *c->hi);
	c->count = core_calloc(ns, sizeof *c->count);
	logits = core_malloc((size_t)f->arch.classes * sizeof *logits);
	if (!c->lo || !c->hi || !c->count || !logits) {
		core_errf(err, errlen, "calibration: out of memory");
		rc = CORE_ERR_NOMEM;
		goto out;
	}
	for (size_t s = 0; s < ns; s++) {
		c->lo[s] = INFINITY;
		c->hi[s] = -INFINITY;
	}
	c->pass = 1;
	for (int i = 0; i < n && !rc; i++)
		rc = quant_fnet_forward(f, x + (size_t)i * img, logits, &obs,
					err, errlen);
	if (rc)
		goto out;
	if (c->bad_slot >= 0) {
		core_errf(
		    err, errlen,
		    "calibration: tensor %d (%s) holds NaN or infinity",
		    c->bad_slot / 2,
		    g->tensors[c->bad_slot / 2].producer >= 0
			? g->ops[g->tensors[c->bad_slot / 2].producer].name
			: "input");
		rc = CORE_ERR_INVALID;
		goto out;
	}
	if (percentile < 100.0) {
		c->hist = core_calloc(ns * QUANT_HIST_BINS, sizeof *c->hist);
		if (!c->hist) {
			core_errf(err, errlen,
				  "calibration: out of memory for histograms");
			rc = CORE_ERR_NOMEM;
			goto out;
		}
		c->pass = 2;
		for (int i = 0; i < n && !rc; i++)
			rc = quant_fnet_forward(f, x + (size_t)i * img, logits,
						&obs, err, errlen);
	}
out:
	core_free(logits);
	if (rc)
		quant_calib_free(c);
	return rc;
}

void quant_calib_range(const struct quant_calib *c, int slot, double percentile,
		       double *lo, double *hi)
{
	const uint64_t *h;
	double width, total, cum = 0;
	int k_lo = 0, k_hi = QUANT_HIST_BINS - 1;

	if (!c->count[slot]) {
		*lo = *hi = 0.0;
		return;
	}
	*lo = c->lo[slot];
	*hi = c->hi[slot];
	if (percentile >= 100.0 || !c->hist || !(*hi > *lo))
		return;
	h = c->hist + (size_t)slot * QUANT_HIST_BINS;
	width = (*hi - *lo) / QUANT_HIST_BINS;
	total = (double)c->count[slot];
	/* the first bin where the cumulative share reaches 1 - p, and the
	 * first where it reaches p */
	for (int k = 0; k < QUANT_HIST_BINS; k++) {
		double before = cum;

		cum += (double)h[k];
		if (before < total * (1.0 - percentile / 100.0) &&
		    cum >= total * (1.0 - percentile / 100.0))
			k_lo = k;
		if (cum >= total * (percentile / 100.0)) {
			k_hi = k;
			break;
		}
	}
	*hi = *lo + (k_hi + 1) * width;
	*lo = *lo + k_lo * width;
}
