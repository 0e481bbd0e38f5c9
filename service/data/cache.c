/* SPDX-License-Identifier: Apache-2.0 */
/* cache.c - opening an import cache (index.json + a memory-mapped
 * pixels.u8) as a data_set, and the crop-and-resize of import. The format is
 * described in data.h; import.c writes it. */
#include "data.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define INDEX_MAX_BYTES (512u * 1024u * 1024u)

static int json_int_in(const json_t *o, const char *key, long lo, long hi,
		       long *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi)
		return -1;
	*out = (long)json_integer_value(v);
	return 0;
}

/* Reads the split's [start, start+count) and checks the index's shape. */
static enum core_status index_check(const json_t *ix, enum data_split split,
				    long *h, long *w, long *classes, long *n,
				    long *start, long *count, char *err,
				    size_t errlen)
{
	const json_t *sp, *r;
	const char *f = json_string_value(json_object_get(ix, "format"));
	long ver;

	if (!f || strcmp(f, "lmnas-cache") != 0 ||
	    json_int_in(ix, "version", 1, 1, &ver)) {
		core_errf(err, errlen, "format is not lmnas-cache version 1");
		return CORE_ERR_INVALID;
	}
	if (json_int_in(ix, "height", 1, DATA_MAX_RESOLUTION * 2, h) ||
	    json_int_in(ix, "width", 1, DATA_MAX_RESOLUTION * 2, w)) {
		core_errf(err, errlen, "height/width: missing or outside 1..%d",
			  DATA_MAX_RESOLUTION * 2);
		return CORE_ERR_INVALID;
	}
	*classes = (long)json_array_size(json_object_get(ix, "classes"));
	if (*classes < 2 || *classes > DATA_CACHE_MAX_CLASSES) {
		core_errf(err, errlen, "classes: %ld names, need 2..%d",
			  *classes, DATA_CACHE_MAX_CLASSES);
		return CORE_ERR_INVALID;
	}
	*n = (long)json_array_size(json_object_get(ix, "labels"));
	if (*n < 1 || *n > DATA_CACHE_MAX_RECORDS) {
		core_errf(err, errlen, "labels: %ld records, need 1..%d", *n,
			  DATA_CACHE_MAX_RECORDS);
		return CORE_ERR_INVALID;
	}
	sp = json_object_get(json_object_get(ix, "splits"),
			     data_split_name(split));
	r = json_is_array(sp) && json_array_size(sp) == 2 ? sp : NULL;
	if (!r || !json_is_integer(json_array_get(r, 0)) ||
	    !json_is_integer(json_array_get(r, 1))) {
		core_errf(err, errlen,
			  "splits.%s: missing or not [start, count]",
			  data_split_name(split));
		return CORE_ERR_INVALID;
	}
	*start = (long)json_integer_value(json_array_get(r, 0));
	*count = (long)json_integer_value(json_array_get(r, 1));
	if (*start < 0 || *count < 0 || *start > *n || *count > *n - *start) {
		core_errf(err, errlen,
			  "splits.%s: [%ld, %ld] is outside the %ld records",
			  data_split_name(split), *start, *count, *n);
		return CORE_ERR_INVALID;
	}
	if (*count == 0) {
		core_errf(err, errlen, "split %s is empty",
			  data_split_name(split));
		return CORE_ERR_NOT_FOUND;
	}
	return CORE_OK;
}

enum core_status data_cache_load(const char *dir, enum data_split split,
				 struct data_set *ds, char *err, size_t errlen)
{
	char path[4096], why[256] = "";
	char *text = NULL;
	size_t len = 0, rec;
	json_t *ix = NULL;
	json_error_t je;
	long h, w, classes, n, start, count;
	const json_t *labels, *names, *mean, *sd;
	struct stat sb;
	int fd = -1;
	enum core_status st;

	memset(ds, 0, sizeof *ds);
	if (snprintf(path, sizeof path, "%s/%s", dir, DATA_CACHE_INDEX) >=
	    (int)sizeof path) {
		core_errf(err, errlen, "%s: path too long", dir);
		return CORE_ERR_INVALID;
	}
	st = core_file_read(path, INDEX_MAX_BYTES, &text, &len, err, errlen);
	if (st)
		return st;
	ix = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!ix || !json_is_object(ix)) {
		core_errf(err, errlen, "%s: not a JSON object (%s)", path,
			  ix ? "" : je.text);
		st = CORE_ERR_INVALID;
		goto out;
	}
	st = index_check(ix, split, &h, &w, &classes, &n, &start, &count, why,
			 sizeof why);
	if (st) {
		core_errf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	st = CORE_ERR_INVALID;
	ds->kind = DATA_KIND_CACHE;
	ds->split = split;
	ds->n = (int)count;
	ds->classes = (int)classes;
	ds->height = (int)h;
	ds->width = (int)w;
	ds->has_stats = 1;
	mean = json_object_get(ix, "mean");
	sd = json_object_get(ix, "std");
	for (int c = 0; c < 3; c++) {
		double m = json_number_value(json_array_get(mean, (size_t)c));
		double s = json_number_value(json_array_get(sd, (size_t)c));

		if (!json_is_number(json_array_get(mean, (size_t)c)) ||
		    !json_is_number(json_array_get(sd, (size_t)c)) ||
		    !(m >= 0 && m <= 1) || !(s > 0 && s <= 1)) {
			core_errf(err, errlen,
				  "%s: mean/std[%d]: missing or outside [0, 1] "
				  "(std > 0)",
				  path, c);
			goto out;
		}
		ds->mean[c] = (float)m;
		ds->std[c] = (float)s;
	}
	ds->labels = core_malloc((size_t)count * sizeof *ds->labels);
	ds->label_names = core_calloc((size_t)classes, DATA_LABEL_NAME_MAX);
	if (!ds->labels || !ds->label_names) {
		core_errf(err, errlen, "%s: out of memory", path);
		st = CORE_ERR_NOMEM;
		goto out;
	}
	names = json_object_get(ix, "classes");
	for (long c = 0; c < classes; c++) {
		const char *s = json_string_value(json_array_get(names, c));

		if (!s || !*s || strlen(s) >= DATA_LABEL_NAME_MAX) {
			core_errf(err, errlen,
				  "%s: classes[%ld]: not a name of 1..%d bytes",
				  path, c, DATA_LABEL_NAME_MAX - 1);
			goto out;
		}
		memcpy(ds->label_names + c * DATA_LABEL_NAME_MAX, s,
		       strlen(s) + 1);
	}
	labels = json_object_get(ix, "labels");
	for (long i = 0; i < count; i++) {
		const json_t *v = json_array_get(labels, (size_t)(start + i));

		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) >= classes) {
			core_errf(err, errlen, "%s: labels[%ld]: not in 0..%ld",
				  path, start + i, classes - 1);
			goto out;
		}
		ds->labels[i] = (int32_t)json_integer_value(v);
	}
	/* the pixels: one read-only shared map of the whole file, so every
	 * job on the same cache shares the page cache instead of a copy.
	 * MAP_POPULATE maps every page at open: a shuffled first epoch would
	 * otherwise take a page fault per record (measured 15% fewer
	 * images/s than train.bin in memory without it, equal with it; see
	 * bench/results/import-bench-2026-12-08.txt) */
	rec = (size_t)h * (size_t)w * 3;
	if (snprintf(path, sizeof path, "%s/%s", dir, DATA_CACHE_PIXELS) >=
	    (int)sizeof path) {
		core_errf(err, errlen, "%s: path too long", dir);
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		core_errf(err, errlen, "%s: cannot open (or not a file)", path);
		st = CORE_ERR_NOT_FOUND;
		goto out;
	}
	if ((uint64_t)sb.st_size != (uint64_t)n * rec) {
		core_errf(err, errlen,
			  "%s: %lld bytes, the index says %ld records of %zu",
			  path, (long long)sb.st_size, n, rec);
		goto out;
	}
	ds->map_len = (size_t)sb.st_size;
	ds->map = mmap(NULL, ds->map_len, PROT_READ, MAP_SHARED | MAP_POPULATE,
		       fd, 0);
	if (ds->map == MAP_FAILED) {
		ds->map = NULL;
		core_errf(err, errlen, "%s: mmap failed", path);
		st = CORE_ERR_IO;
		goto out;
	}
	ds->pixels = (uint8_t *)ds->map + (size_t)start * rec;
	st = CORE_OK;
out:
	if (fd >= 0)
		close(fd);
	if (st)
		data_set_free(ds);
	json_decref(ix);
	core_free(text);
	return st;
}

/* ---- crop and resize ------------------------------------------------------
 */

/* Triangle-filter weights of output i (PIL's BILINEAR: the filter widens by
 * the scale when shrinking, so every input pixel counts). */
static int tri_weights(int i, int in, int out, int *lo, float *wt, int maxw)
{
	double scale = (double)in / out, fs = scale > 1 ? scale : 1;
	double center = (i + 0.5) * scale, sum = 0;
	int a = (int)floor(center - fs + 0.5),
	    b = (int)floor(center + fs + 0.5);
	int k = 0;

	if (a < 0)
		a = 0;
	if (b > in)
		b = in;
	for (int j = a; j < b && k < maxw; j++, k++) {
		double x = fabs((j + 0.5 - center) / fs);

		wt[k] = (float)(x < 1 ? 1 - x : 0);
		sum += wt[k];
	}
	for (int j = 0; j < k; j++)
		wt[j] = sum > 0 ? (float)(wt[j] / sum) : 0;
	*lo = a;
	return k;
}

static uint8_t clamp_u8(float v)
{
	v = roundf(v);
	return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

enum core_status data_image_crop_resize(uint8_t *out, int os, const uint8_t *in,
					int h, int w)
{
	const int s = h < w ? h : w, y0 = (h - s) / 2, x0 = (w - s) / 2;
	const int maxw = 2 * (s / os + 2) + 2;
	float *tmp, *wt;
	enum core_status st = CORE_ERR_NOMEM;

	if (s == os) {
		for (int y = 0; y < os; y++)
			memcpy(out + (size_t)y * os * 3,
			       in + ((size_t)(y0 + y) * w + x0) * 3,
			       (size_t)os * 3);
		return CORE_OK;
	}
	/* runs at import, one image at a time: a temporary of its own */
	tmp = core_malloc((size_t)s * os * 3 * sizeof *tmp);
	wt = core_malloc((size_t)maxw * sizeof *wt);
	if (!tmp || !wt)
		goto out;
	for (int x = 0; x < os; x++) { /* horizontal: (s, os, 3) */
		int lo, k = tri_weights(x, s, os, &lo, wt, maxw);

		for (int y = 0; y < s; y++)
			for (int c = 0; c < 3; c++) {
				const uint8_t *p =
				    in + ((size_t)(y0 + y) * w + x0 + lo) * 3 +
				    c;
				float acc = 0;

				for (int j = 0; j < k; j++)
					acc += wt[j] * p[(size_t)j * 3];
				tmp[((size_t)y * os + x) * 3 + c] = acc;
			}
	}
	for (int y = 0; y < os; y++) { /* vertical */
		int lo, k = tri_weights(y, s, os, &lo, wt, maxw);

		for (int x = 0; x < os * 3; x++) {
			float acc = 0;

			for (int j = 0; j < k; j++)
				acc +=
				    wt[j] * tmp[(size_t)(lo + j) * os * 3 + x];
			out[(size_t)y * os * 3 + x] = clamp_u8(acc);
		}
	}
	st = CORE_OK;
out:
	core_free(tmp);
	core_free(wt);
	return st;
}
