/* SPDX-License-Identifier: Apache-2.0 */
/* cache_write.c - writing an import cache (format in data.h): records are
 * appended to a pixel file in a temporary directory, the index and report
 * written at the end and the directory renamed into place, so a cache
 * appears whole or not at all. Also the CIFAR binary import, which needs
 * nothing but the writer. */
#include "data_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const enum data_split data_split_order[3] = {DATA_SPLIT_TRAIN, DATA_SPLIT_VAL,
					     DATA_SPLIT_TEST};

/* ---- the cache writer ---------------------------------------------------- */

void data_cache_w_abort(struct data_cache_w *w)
{
	char p[4200];

	if (w->px)
		fclose(w->px);
	w->px = NULL;
	if (w->made) {
		const char *files[3] = {DATA_CACHE_PIXELS, DATA_CACHE_INDEX,
					DATA_CACHE_REPORT};
		for (int i = 0; i < 3; i++) {
			snprintf(p, sizeof p, "%s/%s", w->tmp, files[i]);
			unlink(p);
		}
		rmdir(w->tmp);
		w->made = 0;
	}
	json_decref(w->labels);
	json_decref(w->sources);
	free(w->per_class);
	w->labels = w->sources = NULL;
	w->per_class = NULL;
}

enum core_status data_cache_w_open(struct data_cache_w *w, const char *dir,
				   int nclasses, char *err, size_t errlen)
{
	struct stat sb;
	char p[4200];

	memset(w, 0, sizeof *w);
	w->nclasses = nclasses;
	if (lstat(dir, &sb) == 0 || errno != ENOENT) {
		core_errf(err, errlen, "%s: the cache directory already exists",
			  dir);
		return CORE_ERR_CONFLICT;
	}
	if (snprintf(w->tmp, sizeof w->tmp, "%s.tmp-XXXXXX", dir) >=
	    (int)sizeof w->tmp) {
		core_errf(err, errlen, "%s: path too long", dir);
		return CORE_ERR_INVALID;
	}
	if (!mkdtemp(w->tmp)) {
		core_errf(err, errlen, "%s: cannot create (%s)", w->tmp,
			  strerror(errno));
		return CORE_ERR_IO;
	}
	w->made = 1;
	snprintf(p, sizeof p, "%s/%s", w->tmp, DATA_CACHE_PIXELS);
	w->px = fopen(p, "wbx");
	w->labels = json_array();
	w->sources = json_array();
	w->per_class = calloc((size_t)3 * nclasses, sizeof *w->per_class);
	if (!w->px || !w->labels || !w->sources || !w->per_class) {
		core_errf(err, errlen, "%s: cannot create the pixel file", p);
		data_cache_w_abort(w);
		return CORE_ERR_IO;
	}
	return CORE_OK;
}

/* Appends one record; records arrive in split order (train, val, test). */
enum core_status data_cache_w_add(struct data_cache_w *w, const uint8_t *rec,
				  size_t bytes, int label,
				  enum data_split split, const char *source,
				  char *err, size_t errlen)
{
	if (!w->count[split])
		w->start[split] = w->n;
	if (fwrite(rec, 1, bytes, w->px) != bytes) {
		core_errf(err, errlen, "%s: write failed (%s)", w->tmp,
			  strerror(errno));
		return CORE_ERR_IO;
	}
	if (json_array_append_new(w->labels, json_integer(label)) ||
	    json_array_append_new(w->sources, json_string(source))) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	if (split == DATA_SPLIT_TRAIN) {
		for (size_t i = 0; i < bytes; i += 3)
			for (int c = 0; c < 3; c++) {
				double v = rec[i + c] / 255.0;
				w->sum[c] += v;
				w->sq[c] += v * v;
			}
		w->npx += (double)(bytes / 3);
	}
	w->per_class[split * w->nclasses + label]++;
	w->count[split]++;
	w->n++;
	return CORE_OK;
}

/* Writes the index and the report, renames tmp to dir. Frees w either way
 * (tmp removed on failure). */
enum core_status data_cache_w_finish(struct data_cache_w *w, const char *dir,
				     int side, char **classes, json_t *report,
				     char *err, size_t errlen)
{
	json_t *ix = NULL, *names = json_array(), *splits = json_object();
	json_t *mean = json_array(), *sd = json_array(), *counts;
	char p[4200];
	enum core_status st = CORE_ERR_IO;

	counts = json_object();
	for (int c = 0; c < w->nclasses; c++)
		json_array_append_new(names, json_string(classes[c]));
	for (int c = 0; c < 3; c++) {
		double m = w->npx > 0 ? w->sum[c] / w->npx : 0.5;
		double v = w->npx > 0 ? w->sq[c] / w->npx - m * m : 0;
		double s = v > 0 ? sqrt(v) : 0;

		/* a constant channel would divide by 0: 1/255 keeps it
		 * finite (the channel then carries no information anyway) */
		json_array_append_new(mean, json_real(m));
		json_array_append_new(sd,
				      json_real(s > 1.0 / 255 ? s : 1.0 / 255));
	}
	for (int i = 0; i < 3; i++) {
		enum data_split sp = data_split_order[i];
		json_t *pc = json_object();

		json_object_set_new(
		    splits, data_split_name(sp),
		    json_pack("[i,i]", w->count[sp] ? w->start[sp] : w->n,
			      w->count[sp]));
		for (int c = 0; c < w->nclasses; c++)
			json_object_set_new(
			    pc, classes[c],
			    json_integer(w->per_class[sp * w->nclasses + c]));
		json_object_set_new(counts, data_split_name(sp), pc);
	}
	json_object_set(report, "classes", names);
	json_object_set_new(report, "counts", counts);
	json_object_set(report, "mean", mean);
	json_object_set(report, "std", sd);
	json_object_set_new(report, "records", json_integer(w->n));
	json_object_set_new(report, "stored",
			    json_pack("{s:i,s:i,s:i}", "height", side, "width",
				      side, "channels", 3));
	ix =
	    json_pack("{s:s,s:i,s:i,s:i,s:o,s:o,s:o,s:o,s:O,s:O}", "format",
		      "lmnas-cache", "version", 1, "height", side, "width",
		      side, "classes", names, "mean", mean, "std", sd, "splits",
		      splits, "labels", w->labels, "sources", w->sources);
	names = mean = sd = splits = NULL; /* stolen by json_pack ("o") */
	if (!ix) {
		core_errf(err, errlen, "out of memory");
		st = CORE_ERR_NOMEM;
		goto out;
	}
	if (fflush(w->px) != 0 || fsync(fileno(w->px)) != 0) {
		core_errf(err, errlen, "%s: write failed (%s)", w->tmp,
			  strerror(errno));
		goto out;
	}
	snprintf(p, sizeof p, "%s/%s", w->tmp, DATA_CACHE_INDEX);
	if (json_dump_file(ix, p, JSON_COMPACT) != 0) {
		core_errf(err, errlen, "%s: write failed", p);
		goto out;
	}
	snprintf(p, sizeof p, "%s/%s", w->tmp, DATA_CACHE_REPORT);
	if (json_dump_file(report, p, JSON_INDENT(1)) != 0) {
		core_errf(err, errlen, "%s: write failed", p);
		goto out;
	}
	if (rename(w->tmp, dir) != 0) {
		core_errf(err, errlen, "%s: cannot rename into place (%s)", dir,
			  strerror(errno));
		goto out;
	}
	w->made = 0;
	st = CORE_OK;
out:
	json_decref(ix);
	data_cache_w_abort(w); /* frees; removes tmp unless renamed */
	return st;
}

/* ---- CIFAR -------------------------------------------------------------- */

static enum core_status cifar_add(struct data_cache_w *w,
				  const struct data_set *ds, const int32_t *idx,
				  int n, enum data_split sp, char *err,
				  size_t errlen)
{
	enum core_status st = CORE_OK;

	for (int i = 0; i < n && !st; i++) {
		int r = idx ? idx[i] : i;
		char src[64];

		snprintf(src, sizeof src, "%s/%d", data_split_name(ds->split),
			 r);
		st = data_cache_w_add(
		    w, ds->pixels + (size_t)r * DATA_IMAGE_BYTES,
		    DATA_IMAGE_BYTES, ds->labels[r], sp, src, err, errlen);
	}
	return st;
}

enum core_status data_import_cifar(json_t *report,
				   const struct data_import_opts *o,
				   const char *src, enum data_kind kind,
				   const char *dst, char *err, size_t errlen)
{
	struct data_set tr = {0}, te = {0};
	struct data_subsets sub = {0};
	struct data_split_cfg sc = {.val_fraction = o->val_fraction,
				    .train_fraction = 1.0,
				    .seed = o->seed};
	struct data_cache_w w;
	char **names = NULL;
	int nc = data_kind_classes(kind), opened = 0;
	enum core_status st;

	st = data_cifar_load(src, kind, DATA_SPLIT_TRAIN, &tr, err, errlen);
	if (!st)
		st = data_cifar_load(src, kind, DATA_SPLIT_TEST, &te, err,
				     errlen);
	if (!st)
		st = data_split_stratified(&tr, &sc, &sub, err, errlen);
	names = calloc((size_t)nc, sizeof *names);
	if (!st && !names) {
		core_errf(err, errlen, "out of memory");
		st = CORE_ERR_NOMEM;
	}
	for (int c = 0; !st && c < nc; c++) {
		char def[16];
		const char *n = data_set_label_name(&tr, c);

		snprintf(def, sizeof def, "%d", c);
		names[c] = strdup(n ? n : def);
		if (!names[c]) {
			core_errf(err, errlen, "out of memory");
			st = CORE_ERR_NOMEM;
		}
	}
	if (!st)
		st = data_cache_w_open(&w, dst, nc, err, errlen);
	opened = !st;
	if (!st)
		st = cifar_add(&w, &tr, sub.train, sub.n_train,
			       DATA_SPLIT_TRAIN, err, errlen);
	if (!st)
		st = cifar_add(&w, &tr, sub.val, sub.n_val, DATA_SPLIT_VAL, err,
			       errlen);
	if (!st)
		st = cifar_add(&w, &te, NULL, te.n, DATA_SPLIT_TEST, err,
			       errlen);
	if (!st) {
		json_object_set_new(report, "splits_from",
				    json_string("cifar files; val drawn from "
						"train by seed"));
		json_object_set_new(report, "crop_policy",
				    json_pack("{s:s,s:i}", "crop", "none",
					      "side", DATA_IMAGE_SIZE));
		json_object_set_new(report, "duplicates", json_array());
		st = data_cache_w_finish(&w, dst, DATA_IMAGE_SIZE, names,
					 report, err, errlen);
	} else if (opened) {
		data_cache_w_abort(&w);
	}
	for (int c = 0; names && c < nc; c++)
		free(names[c]);
	free(names);
	data_subsets_free(&sub);
	data_set_free(&tr);
	data_set_free(&te);
	return st;
}
