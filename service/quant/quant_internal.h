/* SPDX-License-Identifier: Apache-2.0 */
/* quant_internal.h - private to service/quant: the calibration statistics
 * shared by calib.c (which gathers them) and ptq.c (which turns them into
 * scales and zero points). */
#ifndef LMNAS_QUANT_INTERNAL_H
#define LMNAS_QUANT_INTERNAL_H

#include "quant.h"

/* Per observed tensor, slot 2 * id + pre (pre = 1: the pre-activation of an
 * op whose activation is a table). */
struct quant_calib {
	int nslots;
	double *lo, *hi; /* (nslots) min and max seen */
	uint64_t *count; /* (nslots) values seen */
	uint64_t *hist;	 /* (nslots, QUANT_HIST_BINS) over [lo, hi], or NULL */
	int pass;	 /* 1: min/max, 2: histogram */
	int bad_slot;	 /* first slot that saw a NaN or infinity, or -1 */
};

/* Runs f on the n images x and gathers min/max (and, for percentile < 100,
 * histograms in a second pass). On success c owns its arrays
 * (quant_calib_free); on failure c is empty. */
enum core_status quant_calib_run(const struct quant_fnet *f, const float *x,
				 int n, double percentile,
				 struct quant_calib *c, char *err,
				 size_t errlen);
void quant_calib_free(struct quant_calib *c);

/* The calibrated range of a slot: min/max, or the percentile clip. A slot
 * never observed gives [0, 0]. */
void quant_calib_range(const struct quant_calib *c, int slot, double percentile,
		       double *lo, double *hi);

#endif
