/* SPDX-License-Identifier: Apache-2.0 */
/* test_data_import.c - data: ImageFolder and CIFAR import into a cache,
 * opening it (mmap, the cache's mean/std), and a tiny network trained from
 * it. Data sets are generated here as PNG and JPEG files (classes differ by
 * colour; sizes and formats vary), so a network learns them in seconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/ts_cifar.h"
#include "data/data.h"
#include "imgtest.h"
#include "train/train.h"

#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static const char *const class_names[3] = {"red", "green", "blue"};

static int setup(void **state)
{
	snprintf(root, sizeof root, "/tmp/lmnas-import-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void mkdirs(const char *p)
{
	char cmd[512];

	snprintf(cmd, sizeof cmd, "mkdir -p '%s'", p);
	assert_int_equal(system(cmd), 0);
}

/* Image i of class c: w x h (varied), the class colour plus noise, a
 * darker square somewhere; even i as PNG, odd i as JPEG. */
static void write_image(const char *dir, int c, int i, unsigned *seed)
{
	int w = 30 + (i % 3) * 7, h = 30 + (i % 2) * 11;
	uint8_t *px = malloc((size_t)w * h * 3), *f;
	char path[700];
	size_t n;
	int sx = rand_r(seed) % (w - 8), sy = rand_r(seed) % (h - 8);

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int k = 0; k < 3; k++) {
				int v = (k == c ? 200 : 40) +
					rand_r(seed) % 41 - 20;
				if (x >= sx && x < sx + 8 && y >= sy &&
				    y < sy + 8)
					v /= 2;
				px[((size_t)y * w + x) * 3 + k] = (uint8_t)v;
			}
	if (i % 2 == 0)
		f = it_png(w, h, PNG_COLOR_TYPE_RGB, 8, px, (size_t)w * 3, NULL,
			   0, &n);
	else
		f = it_jpeg(w, h, 3, JCS_RGB, px, 90, NULL, 0, &n);
	snprintf(path, sizeof path, "%s/img%03d.%s", dir, i,
		 i % 2 ? "jpg" : "png");
	it_file_write(path, f, n);
	free(f);
	free(px);
}

/* base/<class>/ with n images per class. */
static void make_folder(const char *base, int nclasses, int n, unsigned seed)
{
	char d[512];

	for (int c = 0; c < nclasses; c++) {
		snprintf(d, sizeof d, "%s/%s", base, class_names[c]);
		mkdirs(d);
		for (int i = 0; i < n; i++)
			write_image(d, c, i, &seed);
	}
}

static int count_glob(const char *pat)
{
	glob_t g;
	int n;

	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	n = (int)g.gl_pathc;
	globfree(&g);
	return n;
}

struct prog {
	int calls;
	double last;
};

static void on_progress(double frac, const char *what, void *ctx)
{
	struct prog *p = ctx;

	assert_true(frac >= p->last && frac <= 1.0);
	assert_non_null(what);
	p->last = frac;
	p->calls++;
}

static int count_of(const json_t *rep, const char *split, const char *cls)
{
	return (int)json_integer_value(json_object_get(
	    json_object_get(json_object_get(rep, "counts"), split), cls));
}

static const char *arch_json =
    "{\"format\":\"lmnas-arch/1\",\"input\":{\"resolution\":16},"
    "\"stem\":{\"out\":8,\"kernel\":3,\"stride\":2},"
    "\"stages\":["
    "{\"block\":\"dwsep\",\"out\":16,\"layers\":1,\"kernel\":3,\"stride\":2,"
    "\"skip\":\"none\",\"act\":\"relu6\"}],"
    "\"head\":{\"dropout\":0.0,\"classes\":3}}";

/* The loader over 16 x 16 records: the cache's mean/std by default, and
 * each sample equal to the kernels applied to its record (normalize, then
 * bilinear to 24 x 24); with augmentation too (crop, flip, cutout inside
 * the record: ASan checks the scratch sizes). */
static void loader_matches_kernels(const struct data_set *ds)
{
	struct data_loader_cfg lc;
	struct data_loader *ld;
	const struct data_batch *b;
	float lut[3][256], norm[16 * 16 * 3], want[24 * 24 * 3];
	float *rs = malloc(data_resize_scratch_size(16, 24, 3) * sizeof *rs);
	char err[CORE_ERR_LEN];

	data_loader_cfg_default(&lc, ds);
	for (int k = 0; k < 3; k++) {
		assert_true(lc.mean[k] == ds->mean[k]);
		assert_true(lc.std[k] == ds->std[k]);
	}
	lc.augment = 0;
	lc.shuffle = 0;
	lc.resolution = 24;
	lc.batch_size = 4;
	lc.epochs = 1;
	assert_int_equal(data_loader_open(&lc, &ld, err, sizeof err), CORE_OK);
	assert_int_equal(data_loader_next(ld, &b, err, sizeof err), CORE_OK);
	data_norm_table(lut, ds->mean, ds->std);
	for (int i = 0; i < 4; i++) {
		data_crop_flip_normalize(norm, ds->pixels + (size_t)i * 768, 16,
					 16, 0, NULL, lut);
		data_resize_bilinear(want, 24, 24, norm, 16, 16, 3, rs);
		assert_int_equal(b->record[i], i);
		assert_int_equal(b->y[i], ds->labels[i]);
		assert_memory_equal(b->x + (size_t)i * 24 * 24 * 3, want,
				    sizeof want);
	}
	data_loader_close(ld);
	lc.augment = 1;
	lc.cutout = 8;
	lc.threads = 2;
	assert_int_equal(data_loader_open(&lc, &ld, err, sizeof err), CORE_OK);
	while (data_loader_next(ld, &b, err, sizeof err) == CORE_OK && b)
		for (int i = 0; i < b->n * 24 * 24 * 3; i++)
			assert_true(isfinite(b->x[i]));
	data_loader_close(ld);
	free(rs);
}

static char *slurp(const char *dir, const char *name, size_t *n)
{
	char p[256], err[CORE_ERR_LEN], *d = NULL;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	assert_int_equal(core_file_read(p, 1u << 26, &d, n, err, sizeof err),
			 CORE_OK);
	return d;
}

/* Three decoding threads give the very same cache as one. */
static void same_with_threads(const char *src, const char *dst1,
			      const struct data_import_opts *o1)
{
	struct data_import_opts o = *o1;
	char dst[160], err[CORE_ERR_LEN];
	const char *files[2] = {DATA_CACHE_PIXELS, DATA_CACHE_INDEX};
	json_t *rep = NULL;

	assert_int_equal(o.threads, 1);
	o.threads = 3;
	snprintf(dst, sizeof dst, "%s.threads", dst1);
	if (data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err))
		fail_msg("import: %s", err);
	json_decref(rep);
	for (int i = 0; i < 2; i++) {
		size_t n1, n2;
		char *a = slurp(dst1, files[i], &n1),
		     *b = slurp(dst, files[i], &n2);

		assert_int_equal(n1, n2);
		assert_memory_equal(a, b, n1);
		core_free(a);
		core_free(b);
	}
}

/* Import, open, statistics, and a network trained from the cache. */
static void import_open_and_train(void **state)
{
	char src[128], dst[128], err[CORE_ERR_LEN];
	struct data_import_opts o;
	struct data_set tr, va;
	json_t *rep = NULL, *sizes;
	struct prog pg = {0};
	double sum[3] = {0}, sq[3] = {0}, npx;
	struct arch a;
	struct core_field_errors fe;
	struct train_config c;
	struct train_result r;

	snprintf(src, sizeof src, "%s/flat", root);
	snprintf(dst, sizeof dst, "%s/flat.cache", root);
	make_folder(src, 3, 40, 1);
	data_import_opts_default(&o);
	o.resolution = 16;
	o.seed = 3;
	if (data_import_dir(src, dst, &o, on_progress, &pg, &rep, err,
			    sizeof err))
		fail_msg("import: %s", err);
	assert_true(pg.calls >= 2);
	assert_true(pg.last == 1.0);
	/* classes sorted by name, 40 per class: 4 test, 4 val, 32 train */
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(rep, "classes"), 0)),
			    "blue");
	assert_int_equal(json_integer_value(json_object_get(rep, "records")),
			 120);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(count_of(rep, "test", class_names[k]), 4);
		assert_int_equal(count_of(rep, "val", class_names[k]), 4);
		assert_int_equal(count_of(rep, "train", class_names[k]), 32);
	}
	assert_int_equal(json_array_size(json_object_get(rep, "bad")), 0);
	assert_int_equal(json_array_size(json_object_get(rep, "duplicates")),
			 0);
	sizes = json_object_get(rep, "source_sizes");
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(sizes, "width"), "min")),
			 30);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(sizes, "height"), "max")),
			 41);
	assert_int_equal(count_glob("/tmp/lmnas-import-*/flat.cache.tmp-*"), 0);
	same_with_threads(src, dst, &o);

	assert_int_equal(
	    data_cache_load(dst, DATA_SPLIT_TRAIN, &tr, err, sizeof err),
	    CORE_OK);
	assert_int_equal(tr.n, 96);
	assert_int_equal(tr.height, 16);
	assert_int_equal(tr.width, 16);
	assert_int_equal(tr.classes, 3);
	assert_non_null(tr.map); /* mapped, not read */
	assert_string_equal(data_set_label_name(&tr, 2), "red");
	/* the colour of every record matches its label (blue=0, green=1,
	 * red=2 -> channel 2, 1, 0) */
	for (int i = 0; i < tr.n; i++) {
		const uint8_t *p = tr.pixels + (size_t)i * 16 * 16 * 3;
		double m[3] = {0};
		int want = 2 - tr.labels[i], best = 0;

		for (int j = 0; j < 16 * 16; j++)
			for (int k = 0; k < 3; k++)
				m[k] += p[3 * j + k];
		for (int k = 1; k < 3; k++)
			if (m[k] > m[best])
				best = k;
		assert_int_equal(best, want);
		for (int j = 0; j < 16 * 16 * 3; j++) {
			sum[j % 3] += p[j] / 255.0;
			sq[j % 3] += (p[j] / 255.0) * (p[j] / 255.0);
		}
	}
	/* the index's statistics are the training records' */
	npx = tr.n * 16.0 * 16.0;
	for (int k = 0; k < 3; k++) {
		double m = sum[k] / npx, s = sqrt(sq[k] / npx - m * m);
		assert_true(fabs(tr.mean[k] - m) < 1e-6);
		assert_true(fabs(tr.std[k] - s) < 1e-5);
	}
	loader_matches_kernels(&tr);
	assert_int_equal(
	    data_cache_load(dst, DATA_SPLIT_VAL, &va, err, sizeof err),
	    CORE_OK);
	assert_int_equal(va.n, 12);
	data_set_free(&va);
	data_set_free(&tr);

	/* train from the cache at 16 px; evaluated on its test split */
	core_field_errors_clear(&fe);
	assert_int_equal(arch_parse(arch_json, strlen(arch_json), &a, &fe),
			 CORE_OK);
	train_config_default(&c);
	c.data_dir = dst;
	c.kind = DATA_KIND_CACHE;
	c.val_fraction = 0.1;
	c.epochs = 4;
	c.batch = 16;
	c.lr = 0.05;
	c.warmup_epochs = 0.5;
	c.threads = 2;
	c.eval_test = 1;
	if (train_run(&a, &c, NULL, 0, NULL, &r, err, sizeof err))
		fail_msg("train: %s", err);
	printf("# 3-colour set from the cache: val top-1 %.3f, test top-1 "
	       "%.3f\n",
	       r.val.top1, r.test.top1);
	assert_int_equal(r.test.n, 12);
	assert_true(r.test.top1 > 0.9); /* chance is 1/3 */
	json_decref(rep);
}

/* The upload's own train/ and test/, a duplicate, a corrupt file within
 * and beyond the allowed fraction. */
/* A cache with its own val split: the upload's val/ has every class in
 * the next class's colour, so a network that learned train's colours
 * scores near 0 on it and near 1 on anything drawn from train. The
 * session validates on exactly the val records (n = the split's count),
 * not on val_fraction of train; a cache without val records falls back to
 * holding out train (train_data_load leaves val empty, no error). */
static void cache_val_split_used(void **state)
{
	char src[128], dst[128], d[256], err[CORE_ERR_LEN];
	struct data_import_opts o;
	json_t *rep = NULL;
	struct arch a;
	struct core_field_errors fe;
	struct train_config c;
	struct train_result r;
	struct train_data td;
	unsigned seed = 5;

	snprintf(src, sizeof src, "%s/ownval", root);
	for (int k = 0; k < 3; k++) {
		snprintf(d, sizeof d, "%s/train/%s", src, class_names[k]);
		mkdirs(d);
		for (int i = 0; i < 30; i++)
			write_image(d, k, i, &seed);
		snprintf(d, sizeof d, "%s/test/%s", src, class_names[k]);
		mkdirs(d);
		for (int i = 0; i < 4; i++)
			write_image(d, k, i, &seed);
		snprintf(d, sizeof d, "%s/val/%s", src, class_names[k]);
		mkdirs(d);
		for (int i = 0; i < 5; i++)
			write_image(d, (k + 1) % 3, i, &seed);
	}
	snprintf(dst, sizeof dst, "%s/ownval.cache", root);
	data_import_opts_default(&o);
	o.resolution = 16;
	if (data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err))
		fail_msg("import: %s", err);
	json_decref(rep);
	assert_int_equal(
	    train_data_load(dst, DATA_KIND_CACHE, 0, &td, err, sizeof err),
	    CORE_OK);
	assert_int_equal(td.train.n, 90);
	assert_int_equal(td.val.n, 15);
	train_data_free(&td);

	core_field_errors_clear(&fe);
	assert_int_equal(arch_parse(arch_json, strlen(arch_json), &a, &fe),
			 CORE_OK);
	train_config_default(&c);
	c.data_dir = dst;
	c.kind = DATA_KIND_CACHE;
	c.val_fraction = 0.1; /* ignored: the cache has its own val */
	c.epochs = 4;
	c.batch = 16;
	c.lr = 0.05;
	c.warmup_epochs = 0.5;
	c.threads = 2;
	c.eval_test = 1;
	if (train_run(&a, &c, NULL, 0, NULL, &r, err, sizeof err))
		fail_msg("train: %s", err);
	printf("# own val split (swapped colours): val n %d top-1 %.3f, test "
	       "top-1 %.3f\n",
	       r.val.n, r.val.top1, r.test.top1);
	assert_int_equal(r.val.n, 15);
	assert_true(r.test.top1 > 0.9);
	assert_true(r.val.top1 < 0.2);

	/* no val records: nothing loaded, the session holds out train */
	snprintf(src, sizeof src, "%s/noval", root);
	make_folder(src, 2, 10, 6);
	snprintf(dst, sizeof dst, "%s/noval.cache", root);
	o.val_fraction = 0;
	if (data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err))
		fail_msg("import: %s", err);
	json_decref(rep);
	assert_int_equal(
	    train_data_load(dst, DATA_KIND_CACHE, 0, &td, err, sizeof err),
	    CORE_OK);
	assert_true(td.train.n > 0);
	assert_int_equal(td.val.n, 0);
	train_data_free(&td);
}

static void splits_duplicates_bad(void **state)
{
	char src[128], dst[128], p[256], q[256], err[CORE_ERR_LEN];
	struct data_import_opts o;
	json_t *rep = NULL, *bad;
	char cmd[600];

	snprintf(src, sizeof src, "%s/split", root);
	snprintf(p, sizeof p, "%s/train", src);
	make_folder(p, 2, 20, 2);
	snprintf(p, sizeof p, "%s/test", src);
	make_folder(p, 2, 5, 3);
	snprintf(p, sizeof p, "%s/train/red/img000.png", src);
	snprintf(q, sizeof q, "%s/train/red/copy.png", src);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", p, q);
	assert_int_equal(system(cmd), 0);
	snprintf(p, sizeof p, "%s/train/green/broken.png", src);
	it_file_write(p, "\x89PNG\r\n\x1a\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		      40);
	snprintf(p, sizeof p, "%s/train/green/notes.txt", src); /* ignored */
	it_file_write(p, "hello", 5);

	data_import_opts_default(&o);
	o.resolution = 24;
	o.max_bad_fraction = 0.0;
	snprintf(dst, sizeof dst, "%s/split.cache", root);
	assert_int_equal(
	    data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(err, "1 of 52 images are bad"));
	assert_int_equal(access(dst, F_OK), -1);
	assert_int_equal(count_glob("/tmp/lmnas-import-*/split.cache.tmp-*"),
			 0);
	json_decref(rep);

	o.max_bad_fraction = 0.05;
	if (data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err))
		fail_msg("import: %s", err);
	bad = json_object_get(rep, "bad");
	assert_int_equal(json_array_size(bad), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(bad, 0), "file")),
	    "train/green/broken.png");
	assert_non_null(strstr(json_string_value(json_object_get(
				   json_array_get(bad, 0), "reason")),
			       "png:"));
	assert_int_equal(json_array_size(json_object_get(rep, "duplicates")),
			 1);
	assert_int_equal(
	    json_array_size(json_object_get(
		json_array_get(json_object_get(rep, "duplicates"), 0),
		"files")),
	    2);
	/* the upload's test split kept as is; val drawn from train */
	assert_int_equal(count_of(rep, "test", "red"), 5);
	assert_int_equal(count_of(rep, "test", "green"), 5);
	assert_int_equal(count_of(rep, "val", "red"), 2); /* of 21 */
	assert_int_equal(count_of(rep, "train", "red"), 19);
	assert_int_equal(count_of(rep, "train", "green"), 18); /* 20 - 2 */
	json_decref(rep);
	/* the destination exists now */
	assert_int_equal(
	    data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err),
	    CORE_ERR_CONFLICT);
	json_decref(rep);
}

static void bad_layouts(void **state)
{
	char src[128], dst[128], p[256], err[CORE_ERR_LEN];
	struct data_import_opts o;
	json_t *rep = NULL;

	data_import_opts_default(&o);
	snprintf(dst, sizeof dst, "%s/never.cache", root);
	/* one class */
	snprintf(src, sizeof src, "%s/one", root);
	make_folder(src, 1, 3, 4);
	assert_int_equal(
	    data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(err, "only one class folder (red)"));
	json_decref(rep);
	/* an empty class next to a full one */
	snprintf(p, sizeof p, "%s/yellow", src);
	mkdirs(p);
	snprintf(p, sizeof p, "%s/yellow/readme.txt", src);
	it_file_write(p, "x", 1);
	assert_int_equal(
	    data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(err, "class yellow has no usable"));
	json_decref(rep);
	/* no class folder at all */
	snprintf(src, sizeof src, "%s/none", root);
	mkdirs(src);
	assert_int_equal(
	    data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(err, "no class folder"));
	json_decref(rep);
	/* bad options */
	o.resolution = 4;
	assert_int_equal(
	    data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(err, "resolution"));
	json_decref(rep);
	assert_int_equal(access(dst, F_OK), -1);
}

/* CIFAR binary into the same cache format: records and labels equal to
 * what data_cifar_load reads, in the documented order. */
static void cifar_import(void **state)
{
	char src[128], dst[128], err[CORE_ERR_LEN];
	struct data_import_opts o;
	struct data_set raw, tr, te;
	struct data_subsets sub;
	struct data_split_cfg sc = {
	    .val_fraction = 0.1, .train_fraction = 1, .seed = 9};
	json_t *rep = NULL;

	snprintf(src, sizeof src, "%s/c100", root);
	snprintf(dst, sizeof dst, "%s/c100.cache", root);
	mkdirs(src);
	assert_int_equal(ts_cifar100_write(src, 200, 50, 10, 7), 0);
	data_import_opts_default(&o);
	o.seed = 9;
	if (data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err))
		fail_msg("import: %s", err);
	assert_string_equal(json_string_value(json_object_get(rep, "format")),
			    "cifar100");
	assert_int_equal(json_integer_value(json_object_get(rep, "records")),
			 250);
	assert_int_equal(data_cifar_load(src, DATA_KIND_CIFAR100,
					 DATA_SPLIT_TRAIN, &raw, err,
					 sizeof err),
			 CORE_OK);
	assert_int_equal(
	    data_split_stratified(&raw, &sc, &sub, err, sizeof err), CORE_OK);
	assert_int_equal(data_set_load(dst, DATA_KIND_CACHE, DATA_SPLIT_TRAIN,
				       &tr, err, sizeof err),
			 CORE_OK);
	assert_int_equal(tr.n, sub.n_train);
	assert_int_equal(tr.classes, 100);
	for (int i = 0; i < tr.n; i++) {
		assert_int_equal(tr.labels[i], raw.labels[sub.train[i]]);
		assert_memory_equal(tr.pixels + (size_t)i * DATA_IMAGE_BYTES,
				    raw.pixels +
					(size_t)sub.train[i] * DATA_IMAGE_BYTES,
				    DATA_IMAGE_BYTES);
	}
	assert_int_equal(data_set_load(dst, DATA_KIND_CACHE, DATA_SPLIT_TEST,
				       &te, err, sizeof err),
			 CORE_OK);
	assert_int_equal(te.n, 50);
	data_set_free(&te);
	data_set_free(&tr);
	data_subsets_free(&sub);
	data_set_free(&raw);
	json_decref(rep);
}

/* 10,000 classes of one 8 x 8 PNG each (the cap): imported, names sorted
 * ("c00000" < ... < "c09999"), every class in train; one more class folder
 * is refused before any image is read. */
static void ten_thousand_classes(void **state)
{
	char src[128], dst[128], p[256], err[CORE_ERR_LEN];
	struct data_import_opts o;
	struct data_set ds;
	uint8_t px[8 * 8 * 3];
	json_t *rep = NULL;
	uint8_t *f;
	size_t n;

	snprintf(src, sizeof src, "%s/many", root);
	snprintf(dst, sizeof dst, "%s/many.cache", root);
	mkdirs(src);
	for (int c = 0; c < DATA_CACHE_MAX_CLASSES; c++) {
		/* a distinct image per class, so no duplicates */
		for (size_t i = 0; i < sizeof px; i++)
			px[i] = (uint8_t)(i < 3 ? (size_t)c >> (8 * i) : i);
		f = it_png(8, 8, PNG_COLOR_TYPE_RGB, 8, px, 24, NULL, 0, &n);
		snprintf(p, sizeof p, "%s/c%05d", src, c);
		assert_int_equal(mkdir(p, 0700), 0);
		snprintf(p, sizeof p, "%s/c%05d/a.png", src, c);
		it_file_write(p, f, n);
		free(f);
	}
	data_import_opts_default(&o);
	o.resolution = 8;
	if (data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err))
		fail_msg("import: %s", err);
	assert_int_equal(json_array_size(json_object_get(rep, "classes")),
			 DATA_CACHE_MAX_CLASSES);
	assert_int_equal(json_array_size(json_object_get(rep, "duplicates")),
			 0);
	json_decref(rep);
	assert_int_equal(
	    data_cache_load(dst, DATA_SPLIT_TRAIN, &ds, err, sizeof err),
	    CORE_OK);
	assert_int_equal(ds.n, DATA_CACHE_MAX_CLASSES);
	assert_int_equal(ds.classes, DATA_CACHE_MAX_CLASSES);
	assert_string_equal(data_set_label_name(&ds, 9999), "c09999");
	for (int i = 0; i < ds.n; i++) {
		const uint8_t *r = ds.pixels + (size_t)i * 8 * 8 * 3;
		assert_int_equal(ds.labels[i], i); /* train: by class */
		assert_int_equal(r[0] | r[1] << 8, i);
	}
	data_set_free(&ds);
	snprintf(p, sizeof p, "%s/z-one-more", src);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(dst, sizeof dst, "%s/many2.cache", root);
	assert_int_equal(
	    data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(err, "more than 10000"));
	json_decref(rep);
}

/* A damaged index or pixel file is refused with the reason. */
static void cache_damage(void **state)
{
	char src[128], dst[128], p[256], err[CORE_ERR_LEN];
	struct data_import_opts o;
	struct data_set ds;
	json_t *rep = NULL;
	FILE *f;

	snprintf(src, sizeof src, "%s/dmg", root);
	snprintf(dst, sizeof dst, "%s/dmg.cache", root);
	make_folder(src, 2, 4, 5);
	data_import_opts_default(&o);
	o.resolution = 8;
	o.val_fraction = o.test_fraction = 0;
	if (data_import_dir(src, dst, &o, NULL, NULL, &rep, err, sizeof err))
		fail_msg("import: %s", err);
	json_decref(rep);
	assert_int_equal(
	    data_cache_load(dst, DATA_SPLIT_TEST, &ds, err, sizeof err),
	    CORE_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "split test is empty"));
	snprintf(p, sizeof p, "%s/%s", dst, DATA_CACHE_PIXELS);
	f = fopen(p, "ab");
	fputc(0, f);
	fclose(f);
	assert_int_equal(
	    data_cache_load(dst, DATA_SPLIT_TRAIN, &ds, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(err, "the index says 8 records"));
	assert_null(ds.pixels);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(import_open_and_train),
	    cmocka_unit_test(splits_duplicates_bad),
	    cmocka_unit_test(cache_val_split_used),
	    cmocka_unit_test(bad_layouts),
	    cmocka_unit_test(cifar_import),
	    cmocka_unit_test(cache_damage),
	    cmocka_unit_test(ten_thousand_classes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
