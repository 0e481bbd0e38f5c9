/* SPDX-License-Identifier: Apache-2.0 */
/* split.c - the seeded, stratified train/validation split (and stratified
 * subsets) of a data set's records. */
#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* round half up of a non-negative product, bounded by n */
static int round_count(double x, int n)
{
	long v = (long)floor(x + 0.5);

	if (v < 0)
		v = 0;
	return v > n ? n : (int)v;
}

void data_subsets_free(struct data_subsets *s)
{
	if (!s)
		return;
	core_free(s->train);
	core_free(s->val);
	memset(s, 0, sizeof *s);
}

enum core_status data_split_stratified(const struct data_set *ds,
				       const struct data_split_cfg *cfg,
				       struct data_subsets *out, char *err,
				       size_t errlen)
{
	int *count = NULL, *start = NULL;
	int32_t *by_class = NULL;
	enum core_status st = CORE_OK;

	memset(out, 0, sizeof *out);
	if (!(cfg->val_fraction >= 0.0 && cfg->val_fraction < 1.0)) {
		core_errf(err, errlen, "val_fraction %g is outside [0, 1)",
			  cfg->val_fraction);
		return CORE_ERR_INVALID;
	}
	if (!(cfg->train_fraction > 0.0 && cfg->train_fraction <= 1.0)) {
		core_errf(err, errlen, "train_fraction %g is outside (0, 1]",
			  cfg->train_fraction);
		return CORE_ERR_INVALID;
	}
	if (ds->n <= 0 || ds->classes <= 0) {
		core_errf(err, errlen, "split: empty data set");
		return CORE_ERR_INVALID;
	}
	count = core_calloc((size_t)ds->classes, sizeof *count);
	start = core_calloc((size_t)ds->classes + 1, sizeof *start);
	by_class = core_malloc((size_t)ds->n * sizeof *by_class);
	out->train = core_malloc((size_t)ds->n * sizeof *out->train);
	out->val = core_malloc((size_t)ds->n * sizeof *out->val);
	if (!count || !start || !by_class || !out->train || !out->val) {
		core_errf(err, errlen, "split: out of memory");
		st = CORE_ERR_NOMEM;
		goto out;
	}
	for (int i = 0; i < ds->n; i++) {
		if (ds->labels[i] < 0 || ds->labels[i] >= ds->classes) {
			core_errf(err, errlen,
				  "split: record %d: label %d is outside 0..%d",
				  i, (int)ds->labels[i], ds->classes - 1);
			st = CORE_ERR_INVALID;
			goto out;
		}
		count[ds->labels[i]]++;
	}
	for (int c = 0; c < ds->classes; c++)
		start[c + 1] = start[c] + count[c];
	/* counting sort: each class's records in record order */
	memset(count, 0, (size_t)ds->classes * sizeof *count);
	for (int i = 0; i < ds->n; i++) {
		int c = ds->labels[i];
		by_class[start[c] + count[c]++] = i;
	}
	for (int c = 0; c < ds->classes; c++) {
		int32_t *rec = by_class + start[c];
		int n = count[c], nval, ntrain;
		struct core_rng rng;

		core_rng_seed(&rng, data_seed_derive(cfg->seed, 'V', c, 0));
		for (int i = n - 1; i > 0; i--) {
			int j = (int)core_rng_below(&rng, (uint64_t)i + 1);
			int32_t t = rec[i];
			rec[i] = rec[j];
			rec[j] = t;
		}
		nval = round_count(n * cfg->val_fraction, n);
		ntrain =
		    round_count((n - nval) * cfg->train_fraction, n - nval);
		memcpy(out->val + out->n_val, rec, (size_t)nval * sizeof *rec);
		out->n_val += nval;
		memcpy(out->train + out->n_train, rec + nval,
		       (size_t)ntrain * sizeof *rec);
		out->n_train += ntrain;
	}
	if (out->n_train == 0) {
		core_errf(err, errlen,
			  "split: no training records left (val_fraction %g, "
			  "train_fraction %g, %d records)",
			  cfg->val_fraction, cfg->train_fraction, ds->n);
		st = CORE_ERR_INVALID;
		goto out;
	}
	qsort(out->train, (size_t)out->n_train, sizeof *out->train, cmp_i32);
	qsort(out->val, (size_t)out->n_val, sizeof *out->val, cmp_i32);
out:
	core_free(count);
	core_free(start);
	core_free(by_class);
	if (st)
		data_subsets_free(out);
	return st;
}
