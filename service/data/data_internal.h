/* SPDX-License-Identifier: Apache-2.0 */
/* data_internal.h - shared by import.c and cache_write.c: the cache writer
 * (records appended in split order into a temporary directory, renamed into
 * place by finish) and the CIFAR import. Not part of the module's face. */
#ifndef LMNAS_DATA_INTERNAL_H
#define LMNAS_DATA_INTERNAL_H

#include "data.h"

#include <stdio.h>

/* order of the splits in pixels.u8 */
extern const enum data_split data_split_order[3];

struct data_cache_w {
	char tmp[4096];
	int made; /* tmp exists */
	FILE *px;
	json_t *labels, *sources;
	int n, nclasses;
	int start[3], count[3]; /* by enum data_split */
	int *per_class;		/* (3, nclasses) */
	double sum[3], sq[3];	/* over the training records' pixels */
	double npx;
};

/* Creates dir.tmp-XXXXXX next to dir (which must not exist:
 * CORE_ERR_CONFLICT). On failure nothing is left behind. */
enum core_status data_cache_w_open(struct data_cache_w *w, const char *dir,
				   int nclasses, char *err, size_t errlen);
/* Appends one record (bytes of HWC uint8) of label in split. */
enum core_status data_cache_w_add(struct data_cache_w *w, const uint8_t *rec,
				  size_t bytes, int label,
				  enum data_split split, const char *source,
				  char *err, size_t errlen);
/* Writes index.json and report.json (report gains classes, counts, mean,
 * std, records, stored), renames the directory into place. Frees w either
 * way; on failure the temporary directory is removed. */
enum core_status data_cache_w_finish(struct data_cache_w *w, const char *dir,
				     int side, char **classes, json_t *report,
				     char *err, size_t errlen);
/* Frees w and removes its temporary directory. */
void data_cache_w_abort(struct data_cache_w *w);

/* CIFAR-10/100 binary in src into a cache at dst: train minus a stratified
 * val (o->val_fraction, o->seed), val, test, 32 x 32, no crop. */
enum core_status data_import_cifar(json_t *report,
				   const struct data_import_opts *o,
				   const char *src, enum data_kind kind,
				   const char *dst, char *err, size_t errlen);

#endif
