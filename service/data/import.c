/* SPDX-License-Identifier: Apache-2.0 */
/* import.c - imports an ImageFolder directory or a CIFAR-10/100 binary
 * directory into an import cache (format in data.h). Two passes over an
 * image folder: the first reads every file's header and hash (sizes, the
 * stored side, duplicates, splits), the second decodes, crops and resizes
 * each image straight into the pixel file, so memory holds one image at a
 * time whatever the data set's size. */
#include "data_internal.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMPORT_MAX_FILE_BYTES (64u * 1024u * 1024u)
#define IMPORT_NAME_MAX	      512
#define IMPORT_CHUNK	      64 /* images decoded in parallel per step */

static const char *const split_dirs[3] = {"train", "test", "val"};
/* order of the splits in pixels.u8 (enum data_split values) */

struct imp_file {
	char *path;		    /* full path */
	char name[IMPORT_NAME_MAX]; /* relative, UTF-8 sanitized */
	int cls;		    /* index into the sorted class list */
	int split;		    /* enum data_split; -1: to draw */
	int w, h;		    /* after orientation (pass 1) */
	char hash[65];		    /* sha256 of the file */
	int bad;		    /* 1: skipped, reason in the report */
};

struct imp {
	const struct data_import_opts *o;
	void (*progress)(double, const char *, void *);
	void *ctx;
	char **classes; /* sorted, unique */
	int nclasses;
	struct imp_file *f;
	int nf, capf;
	int has_splits; /* the upload has train/ (val/, test/) */
	int have_split[3];
	json_t *report, *bad;
	int nbad;
};

void data_import_opts_default(struct data_import_opts *o)
{
	o->resolution = 256;
	o->val_fraction = 0.1;
	o->test_fraction = 0.1;
	o->seed = 0;
	o->max_bad_fraction = 0.05;
	o->threads = 1;
}

static int is_dir(const char *p)
{
	struct stat sb;

	return lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int has_image_ext(const char *n)
{
	const char *d = strrchr(n, '.');

	return d && (!strcasecmp(d, ".png") || !strcasecmp(d, ".jpg") ||
		     !strcasecmp(d, ".jpeg"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void imp_bad(struct imp *im, const char *name, const char *why)
{
	json_t *e = json_object();
	char r[CORE_ERR_LEN];

	core_utf8_copy(r, sizeof r, why);
	json_object_set_new(e, "file", json_string(name));
	json_object_set_new(e, "reason", json_string(r));
	json_array_append_new(im->bad, e);
	im->nbad++;
}

/* Lists the sub-directories of dir (not dot ones) into a sorted array. */
static enum core_status list_dirs(const char *dir, char ***out, int *n,
				  char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, p[4096];
	int cnt = 0, cap = 0;

	*out = NULL;
	*n = 0;
	if (!d) {
		core_errf(err, errlen, "%s: cannot open directory (%s)", dir,
			  strerror(errno));
		return CORE_ERR_NOT_FOUND;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >=
			(int)sizeof p ||
		    !is_dir(p))
			continue;
		if (cnt == cap) {
			char **nv;

			cap = cap ? cap * 2 : 16;
			nv = realloc(v, (size_t)cap * sizeof *v);
			if (!nv)
				goto nomem;
			v = nv;
		}
		v[cnt] = strdup(e->d_name);
		if (!v[cnt])
			goto nomem;
		cnt++;
		if (cnt > DATA_CACHE_MAX_CLASSES) {
			core_errf(err, errlen, "%s: more than %d class folders",
				  dir, DATA_CACHE_MAX_CLASSES);
			closedir(d);
			*out = v;
			*n = cnt;
			return CORE_ERR_INVALID;
		}
	}
	closedir(d);
	if (cnt)
		qsort(v, (size_t)cnt, sizeof *v, cmp_str);
	*out = v;
	*n = cnt;
	return CORE_OK;
nomem:
	closedir(d);
	*out = v;
	*n = cnt;
	core_errf(err, errlen, "%s: out of memory", dir);
	return CORE_ERR_NOMEM;
}

static void free_strs(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Adds the class names under root to im->classes (merged, sorted). */
static enum core_status classes_add(struct imp *im, const char *root, char *err,
				    size_t errlen)
{
	char **v;
	int n;
	enum core_status st = list_dirs(root, &v, &n, err, errlen);

	for (int i = 0; !st && i < n; i++) {
		size_t len = strlen(v[i]);
		int found = 0;

		if (!core_utf8_valid(v[i], len) || len >= DATA_LABEL_NAME_MAX) {
			core_errf(err, errlen,
				  "%s: class folder name is not UTF-8 of at "
				  "most %d bytes",
				  root, DATA_LABEL_NAME_MAX - 1);
			st = CORE_ERR_INVALID;
			break;
		}
		for (int j = 0; j < im->nclasses && !found; j++)
			found = strcmp(im->classes[j], v[i]) == 0;
		if (found)
			continue;
		if (im->nclasses >= DATA_CACHE_MAX_CLASSES) {
			core_errf(err, errlen, "more than %d classes",
				  DATA_CACHE_MAX_CLASSES);
			st = CORE_ERR_INVALID;
			break;
		}
		if (im->nclasses % 64 == 0) {
			char **nc =
			    realloc(im->classes,
				    (size_t)(im->nclasses + 64) * sizeof *nc);
			if (!nc) {
				st = CORE_ERR_NOMEM;
				core_errf(err, errlen, "out of memory");
				break;
			}
			im->classes = nc;
		}
		im->classes[im->nclasses++] = v[i];
		v[i] = NULL;
	}
	free_strs(v, n);
	if (!st && im->nclasses)
		qsort(im->classes, (size_t)im->nclasses, sizeof *im->classes,
		      cmp_str);
	return st;
}

/* Adds the image files of root/<class>/ with split sp (-1: to draw). */
static enum core_status files_add(struct imp *im, const char *root,
				  const char *prefix, int sp, char *err,
				  size_t errlen)
{
	for (int c = 0; c < im->nclasses; c++) {
		char dir[4096], p[4096];
		DIR *d;
		struct dirent *e;

		if (snprintf(dir, sizeof dir, "%s/%s", root, im->classes[c]) >=
		    (int)sizeof dir)
			continue;
		d = opendir(dir);
		if (!d)
			continue; /* a class absent from this split */
		while ((e = readdir(d)) != NULL) {
			struct imp_file *f;
			char rel[IMPORT_NAME_MAX * 2];

			if (e->d_name[0] == '.' || !has_image_ext(e->d_name))
				continue;
			if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >=
			    (int)sizeof p)
				continue;
			if (im->nf >= DATA_CACHE_MAX_RECORDS) {
				closedir(d);
				core_errf(err, errlen, "more than %d images",
					  DATA_CACHE_MAX_RECORDS);
				return CORE_ERR_INVALID;
			}
			if (im->nf == im->capf) {
				int cap = im->capf ? im->capf * 2 : 256;
				struct imp_file *nf =
				    realloc(im->f, (size_t)cap * sizeof *nf);
				if (!nf) {
					closedir(d);
					core_errf(err, errlen, "out of memory");
					return CORE_ERR_NOMEM;
				}
				im->f = nf;
				im->capf = cap;
			}
			f = &im->f[im->nf];
			memset(f, 0, sizeof *f);
			f->path = strdup(p);
			if (!f->path) {
				closedir(d);
				core_errf(err, errlen, "out of memory");
				return CORE_ERR_NOMEM;
			}
			im->nf++;
			snprintf(rel, sizeof rel, "%s%s/%s", prefix,
				 im->classes[c], e->d_name);
			core_utf8_copy(f->name, sizeof f->name, rel);
			f->cls = c;
			f->split = sp;
		}
		closedir(d);
	}
	return CORE_OK;
}

static int cmp_file(const void *a, const void *b)
{
	const struct imp_file *x = a, *y = b;
	int ox = 0, oy = 0;

	for (int i = 0; i < 3; i++) {
		if (data_split_order[i] == (enum data_split)x->split)
			ox = i;
		if (data_split_order[i] == (enum data_split)y->split)
			oy = i;
	}
	if (x->bad != y->bad)
		return x->bad - y->bad;
	if (ox != oy)
		return ox - oy;
	if (x->cls != y->cls)
		return x->cls - y->cls;
	return strcmp(x->name, y->name);
}

/* Pass 1: header and hash of every file. Returns the stored side. */
static enum core_status pass_headers(struct imp *im, int *side, char *err,
				     size_t errlen)
{
	int smin = 0;
	double sw = 0, sh = 0;
	int wmin = 0, wmax = 0, hmin = 0, hmax = 0, ngood = 0;
	json_t *sizes;

	for (int i = 0; i < im->nf; i++) {
		struct imp_file *f = &im->f[i];
		struct data_image img;
		char why[CORE_ERR_LEN];
		char *buf = NULL;
		size_t len = 0;

		if (im->progress && i % 64 == 0)
			im->progress(0.3 * i / im->nf, "scan", im->ctx);
		if (core_file_read(f->path, IMPORT_MAX_FILE_BYTES, &buf, &len,
				   why, sizeof why) ||
		    data_image_decode((uint8_t *)buf, len,
				      DATA_IMAGE_HEADER_ONLY, &img, why,
				      sizeof why)) {
			core_free(buf);
			f->bad = 1;
			imp_bad(im, f->name, why);
			continue;
		}
		core_sha256_hex(buf, len, f->hash);
		core_free(buf);
		f->w = img.width;
		f->h = img.height;
		if ((f->w < f->h ? f->w : f->h) < DATA_MIN_RESOLUTION) {
			snprintf(why, sizeof why,
				 "%d x %d is smaller than %d pixels a side",
				 f->w, f->h, DATA_MIN_RESOLUTION);
			f->bad = 1;
			imp_bad(im, f->name, why);
			continue;
		}
		if (!ngood || f->w < wmin)
			wmin = f->w;
		if (!ngood || f->h < hmin)
			hmin = f->h;
		wmax = f->w > wmax ? f->w : wmax;
		hmax = f->h > hmax ? f->h : hmax;
		sw += f->w;
		sh += f->h;
		ngood++;
		if (!smin || (f->w < f->h ? f->w : f->h) < smin)
			smin = f->w < f->h ? f->w : f->h;
	}
	sizes = json_pack("{s:{s:i,s:i,s:f},s:{s:i,s:i,s:f}}", "width", "min",
			  wmin, "max", wmax, "mean", ngood ? sw / ngood : 0.0,
			  "height", "min", hmin, "max", hmax, "mean",
			  ngood ? sh / ngood : 0.0);
	json_object_set_new(im->report, "source_sizes", sizes);
	if (!ngood) {
		core_errf(err, errlen, "no usable image (%d bad)", im->nbad);
		return CORE_ERR_INVALID;
	}
	*side = smin < im->o->resolution ? smin : im->o->resolution;
	return CORE_OK;
}

/* Stratified draw of the splits the upload did not give, per class. */
static void draw_splits(struct imp *im)
{
	const struct data_import_opts *o = im->o;
	int *idx = malloc((size_t)im->nf * sizeof *idx);

	if (!idx)
		return; /* caller checks every file got a split */
	for (int c = 0; c < im->nclasses; c++) {
		struct core_rng r;
		int n = 0, ntest, nval;

		for (int i = 0; i < im->nf; i++)
			if (!im->f[i].bad && im->f[i].cls == c &&
			    (im->f[i].split == -1 ||
			     im->f[i].split == DATA_SPLIT_TRAIN))
				idx[n++] = i;
		/* files are sorted by name within a class, so the draw only
		 * depends on the seed and the names */
		core_rng_seed(&r, data_seed_derive(o->seed, 'I', c, 0));
		for (int i = n - 1; i > 0; i--) {
			int j = (int)core_rng_below(&r, (uint64_t)i + 1);
			int t = idx[i];
			idx[i] = idx[j];
			idx[j] = t;
		}
		ntest = im->have_split[DATA_SPLIT_TEST]
			    ? 0
			    : (int)floor(n * o->test_fraction + 0.5);
		nval = im->have_split[DATA_SPLIT_VAL]
			   ? 0
			   : (int)floor(n * o->val_fraction + 0.5);
		while (ntest + nval >= n && (ntest || nval)) {
			if (ntest >= nval)
				ntest--;
			else
				nval--;
		}
		for (int k = 0; k < n; k++)
			im->f[idx[k]].split = k < ntest ? DATA_SPLIT_TEST
					      : k < ntest + nval
						  ? DATA_SPLIT_VAL
						  : DATA_SPLIT_TRAIN;
	}
	free(idx);
}

static int cmp_hash(const void *a, const void *b)
{
	const struct imp_file *x = *(struct imp_file *const *)a,
			      *y = *(struct imp_file *const *)b;
	int c = strcmp(x->hash, y->hash);

	return c ? c : strcmp(x->name, y->name);
}

/* Groups of files with equal content (sorted by hash, then name). */
static void report_duplicates(struct imp *im)
{
	json_t *dups = json_array();
	struct imp_file **v = malloc((size_t)im->nf * sizeof *v);
	int n = 0;

	for (int i = 0; v && i < im->nf; i++)
		if (!im->f[i].bad)
			v[n++] = &im->f[i];
	if (v && n)
		qsort(v, (size_t)n, sizeof *v, cmp_hash);
	for (int i = 0; v && i < n;) {
		int j = i + 1;

		while (j < n && strcmp(v[i]->hash, v[j]->hash) == 0)
			j++;
		if (j - i > 1) {
			json_t *files = json_array();

			for (int k = i; k < j; k++)
				json_array_append_new(files,
						      json_string(v[k]->name));
			json_array_append_new(
			    dups, json_pack("{s:s,s:o}", "sha256", v[i]->hash,
					    "files", files));
		}
		i = j;
	}
	free(v);
	json_object_set_new(im->report, "duplicates", dups);
}

/* ---- ImageFolder -------------------------------------------------------- */

static enum core_status scan_folder(struct imp *im, const char *src, char *err,
				    size_t errlen)
{
	char p[4096];
	enum core_status st;

	snprintf(p, sizeof p, "%s/train", src);
	im->has_splits = is_dir(p);
	if (!im->has_splits) {
		st = classes_add(im, src, err, errlen);
		if (!st && im->nclasses)
			st = files_add(im, src, "", -1, err, errlen);
		return st;
	}
	for (int s = 0; s < 3; s++) {
		snprintf(p, sizeof p, "%s/%s", src, split_dirs[s]);
		im->have_split[s] = is_dir(p);
		if (im->have_split[s]) {
			st = classes_add(im, p, err, errlen);
			if (st)
				return st;
		}
	}
	for (int s = 0; s < 3; s++) {
		char prefix[16];

		if (!im->have_split[s])
			continue;
		snprintf(p, sizeof p, "%s/%s", src, split_dirs[s]);
		snprintf(prefix, sizeof prefix, "%s/", split_dirs[s]);
		/* split_dirs is indexed by enum data_split */
		st = files_add(im, p, prefix, s, err, errlen);
		if (st)
			return st;
	}
	return CORE_OK;
}

/* At least two classes, none without a usable image. */
static enum core_status classes_check(struct imp *im, char *err, size_t errlen)
{
	int *n;

	if (im->nclasses < 2) {
		if (im->nclasses)
			core_errf(err, errlen,
				  "only one class folder (%s): a classifier "
				  "needs at least two",
				  im->classes[0]);
		else
			core_errf(err, errlen,
				  "no class folder: expected DIR/<class>/*.png "
				  "or DIR/{train,val,test}/<class>/...");
		return CORE_ERR_INVALID;
	}
	n = calloc((size_t)im->nclasses, sizeof *n);
	if (!n) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	for (int i = 0; i < im->nf; i++)
		if (!im->f[i].bad)
			n[im->f[i].cls]++;
	for (int c = 0; c < im->nclasses; c++)
		if (!n[c]) {
			core_errf(err, errlen,
				  "class %s has no usable PNG or JPEG image",
				  im->classes[c]);
			free(n);
			return CORE_ERR_INVALID;
		}
	free(n);
	return CORE_OK;
}

static enum core_status bad_check(const struct imp *im, int total, char *err,
				  size_t errlen)
{
	if (total > 0 && (double)im->nbad / total > im->o->max_bad_fraction) {
		core_errf(err, errlen,
			  "%d of %d images are bad (more than the allowed "
			  "fraction %g): see the report",
			  im->nbad, total, im->o->max_bad_fraction);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

/* Decodes, crops and resizes file f into rec; 0, or -1 with the reason in
 * why (a bad file), or -2 when out of memory. Thread-safe: touches only f's
 * path, rec and why. */
static int image_to_record(const struct imp_file *f, uint8_t *rec, int side,
			   char *why, size_t whylen)
{
	struct data_image img;
	char *buf = NULL;
	size_t len = 0;
	int rc = 0;

	if (core_file_read(f->path, IMPORT_MAX_FILE_BYTES, &buf, &len, why,
			   whylen) ||
	    data_image_decode((uint8_t *)buf, len, 0, &img, why, whylen)) {
		core_free(buf);
		return -1;
	}
	core_free(buf);
	if (data_image_crop_resize(rec, side, img.rgb, img.height, img.width))
		rc = -2;
	data_image_free(&img);
	return rc;
}

/* Pass 2: every good file (sorted in cache order, the bad ones last)
 * decoded, cropped and resized by o->threads threads a chunk at a time,
 * then appended in order by this thread, so the cache does not depend on
 * the thread count. */
static enum core_status pass_pixels(struct imp *im, struct data_cache_w *w,
				    int side, char *err, size_t errlen)
{
	const size_t bytes = (size_t)side * side * 3;
	const int chunk = IMPORT_CHUNK;
	const int threads = im->o->threads > 1 ? im->o->threads : 1;
	uint8_t *recs = core_malloc(bytes * chunk);
	char(*why)[CORE_ERR_LEN] = core_malloc(sizeof *why * chunk);
	int *rc = core_malloc(sizeof *rc * chunk);
	int ngood = 0;
	enum core_status st = CORE_OK;

	if (!recs || !why || !rc) {
		core_errf(err, errlen, "out of memory");
		st = CORE_ERR_NOMEM;
		goto out;
	}
	while (ngood < im->nf && !im->f[ngood].bad)
		ngood++;
	for (int c0 = 0; c0 < ngood && !st; c0 += chunk) {
		int n = ngood - c0 < chunk ? ngood - c0 : chunk;

		if (im->progress)
			im->progress(0.3 + 0.7 * c0 / im->nf, "decode",
				     im->ctx);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
		for (int k = 0; k < n; k++)
			rc[k] = image_to_record(&im->f[c0 + k],
						recs + (size_t)k * bytes, side,
						why[k], sizeof why[k]);
		for (int k = 0; k < n && !st; k++) {
			struct imp_file *f = &im->f[c0 + k];

			if (rc[k] == -1) {
				f->bad = 1;
				imp_bad(im, f->name, why[k]);
			} else if (rc[k] == -2) {
				core_errf(err, errlen, "out of memory");
				st = CORE_ERR_NOMEM;
			} else {
				st = data_cache_w_add(
				    w, recs + (size_t)k * bytes, bytes, f->cls,
				    (enum data_split)f->split, f->name, err,
				    errlen);
			}
		}
	}
out:
	core_free(recs);
	core_free(why);
	core_free(rc);
	return st;
}

static enum core_status import_folder(struct imp *im, const char *src,
				      const char *dst, char *err, size_t errlen)
{
	struct data_cache_w w;
	enum core_status st;
	int side = 0, total;

	st = scan_folder(im, src, err, errlen);
	if (st)
		return st;
	total = im->nf;
	if (im->nclasses >= 2)
		st = pass_headers(im, &side, err, errlen);
	if (!st)
		st = classes_check(im, err, errlen);
	if (!st)
		st = bad_check(im, total, err, errlen);
	if (st)
		return st;
	report_duplicates(im);
	draw_splits(im);
	qsort(im->f, (size_t)im->nf, sizeof *im->f, cmp_file);
	st = data_cache_w_open(&w, dst, im->nclasses, err, errlen);
	if (st)
		return st;
	st = pass_pixels(im, &w, side, err, errlen);
	if (!st)
		st = bad_check(im, total, err, errlen);
	if (!st && !w.count[DATA_SPLIT_TRAIN]) {
		core_errf(err, errlen, "the training split is empty");
		st = CORE_ERR_INVALID;
	}
	json_object_set_new(
	    im->report, "splits_from",
	    json_string(im->has_splits ? "upload (missing ones drawn by seed)"
				       : "stratified draw by seed"));
	json_object_set_new(
	    im->report, "crop_policy",
	    json_pack("{s:s,s:i,s:s}", "crop",
		      "centre square of the shorter side", "side", side,
		      "resize",
		      "triangle filter (antialiased bilinear) to side x side, "
		      "side = min(resolution, smallest shorter side)"));
	if (st) {
		data_cache_w_abort(&w);
		return st;
	}
	return data_cache_w_finish(&w, dst, side, im->classes, im->report, err,
				   errlen);
}

/* ---- entry point -------------------------------------------------------- */

enum core_status
data_import_dir(const char *src_dir, const char *cache_dir,
		const struct data_import_opts *o,
		void (*progress)(double frac, const char *what, void *ctx),
		void *ctx, json_t **report, char *err, size_t errlen)
{
	struct imp im;
	char p[4096];
	enum core_status st;
	const char *format = "imagefolder";
	enum data_kind kind = DATA_KIND_CACHE;

	*report = NULL;
	if (o->resolution < DATA_MIN_RESOLUTION ||
	    o->resolution > DATA_MAX_RESOLUTION ||
	    !(o->val_fraction >= 0 && o->val_fraction < 0.5) ||
	    !(o->test_fraction >= 0 && o->test_fraction < 0.5) ||
	    !(o->max_bad_fraction >= 0 && o->max_bad_fraction <= 1) ||
	    o->threads < 0 || o->threads > 64) {
		core_errf(err, errlen,
			  "import: resolution must be %d..%d, val_fraction and "
			  "test_fraction in [0, 0.5), max_bad_fraction in [0, "
			  "1], threads 0..64",
			  DATA_MIN_RESOLUTION, DATA_MAX_RESOLUTION);
		return CORE_ERR_INVALID;
	}
	memset(&im, 0, sizeof im);
	im.o = o;
	im.progress = progress;
	im.ctx = ctx;
	im.report = json_object();
	im.bad = json_array();
	if (!im.report || !im.bad) {
		json_decref(im.report);
		json_decref(im.bad);
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	snprintf(p, sizeof p, "%s/data_batch_1.bin", src_dir);
	if (access(p, F_OK) == 0) {
		kind = DATA_KIND_CIFAR10;
	} else {
		snprintf(p, sizeof p, "%s/train.bin", src_dir);
		if (access(p, F_OK) == 0)
			kind = DATA_KIND_CIFAR100;
	}
	if (kind != DATA_KIND_CACHE) {
		format = data_kind_name(kind);
		st = data_import_cifar(im.report, o, src_dir, kind, cache_dir,
				       err, errlen);
	} else {
		st = import_folder(&im, src_dir, cache_dir, err, errlen);
	}
	json_object_set_new(im.report, "format", json_string(format));
	json_object_set_new(im.report, "seed",
			    json_integer((json_int_t)o->seed));
	json_object_set_new(im.report, "bad", im.bad);
	if (progress && !st)
		progress(1.0, "done", ctx);
	for (int i = 0; i < im.nf; i++)
		free(im.f[i].path);
	free(im.f);
	free_strs(im.classes, im.nclasses);
	*report = im.report;
	return st;
}
