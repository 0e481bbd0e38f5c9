/* SPDX-License-Identifier: Apache-2.0 */
/* test_data_loader.c - data: the prefetching loader (every sample once per
 * epoch, determinism across thread counts, per-sample augmentation equal to
 * the kernels, resume, drop_last, clean stop mid-epoch, bad configurations,
 * allocation failure) and the stratified split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "data/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S DATA_IMAGE_SIZE

/* Class of record r: uneven class sizes (class c has 2c + 5 of every 140
 * records) so that stratification is visible. */
static int class_of(int r)
{
	int k = r % 140, c = 0;

	while (k >= 2 * c + 5) {
		k -= 2 * c + 5;
		c++;
	}
	return c;
}

static void make_set(struct data_set *ds, int n)
{
	char err[CORE_ERR_LEN];

	assert_int_equal(data_set_alloc(ds, DATA_KIND_CIFAR10, DATA_SPLIT_TRAIN,
					n, err, sizeof err),
			 CORE_OK);
	for (int r = 0; r < n; r++) {
		uint8_t *img = ds->pixels + (size_t)r * DATA_IMAGE_BYTES;
		ds->labels[r] = class_of(r);
		for (int i = 0; i < DATA_IMAGE_BYTES; i++)
			img[i] = (uint8_t)(r * 31 + i * 7 + (i >> 6));
	}
}

static struct data_loader *open_ok(const struct data_loader_cfg *cfg)
{
	struct data_loader *ld = NULL;
	char err[CORE_ERR_LEN];
	enum core_status st = data_loader_open(cfg, &ld, err, sizeof err);

	if (st)
		fail_msg("data_loader_open: %s", err);
	return ld;
}

static const struct data_batch *next_ok(struct data_loader *ld)
{
	const struct data_batch *b = NULL;
	char err[CORE_ERR_LEN];

	assert_int_equal(data_loader_next(ld, &b, err, sizeof err), CORE_OK);
	return b;
}

static void every_sample_once_per_epoch(void **state)
{
	struct data_set ds;
	struct data_loader_cfg cfg;
	struct data_loader *ld;
	const struct data_batch *b;
	int seen[103], order[2][103], at;
	float lut[3][256], want[S * S * 3];

	make_set(&ds, 103);
	data_loader_cfg_default(&cfg, &ds);
	cfg.batch_size = 10;
	cfg.augment = 0;
	cfg.epochs = 2;
	cfg.threads = 2;
	cfg.seed = 5;
	data_norm_table(lut, cfg.mean, cfg.std);
	ld = open_ok(&cfg);
	assert_int_equal(data_loader_batches_per_epoch(ld), 11);
	for (int e = 0; e < 2; e++) {
		memset(seen, 0, sizeof seen);
		at = 0;
		for (int i = 0; i < 11; i++) {
			int pe, pb;
			data_loader_position(ld, &pe, &pb);
			assert_int_equal(pe, e);
			assert_int_equal(pb, i);
			b = next_ok(ld);
			assert_non_null(b);
			assert_int_equal(b->epoch, e);
			assert_int_equal(b->index, i);
			assert_int_equal(b->resolution, 32);
			assert_int_equal(b->n, i < 10 ? 10 : 3);
			for (int k = 0; k < b->n; k++) {
				int r = b->record[k];
				if (r < 0 || r >= 103)
					fail_msg("record %d is outside 0..102",
						 r);
				else
					seen[r]++;
				order[e][at++] = r;
				assert_int_equal(b->y[k], ds.labels[r]);
			}
			/* without augmentation x is the normalized image */
			data_crop_flip_normalize(
			    want,
			    ds.pixels + (size_t)b->record[0] * DATA_IMAGE_BYTES,
			    S, S, 0, NULL, lut);
			assert_memory_equal(b->x, want, sizeof want);
		}
		for (int r = 0; r < 103; r++)
			assert_int_equal(seen[r], 1);
	}
	assert_true(memcmp(order[0], order[1], sizeof order[0]) != 0);
	b = next_ok(ld);
	assert_null(b); /* two epochs served */
	b = next_ok(ld);
	assert_null(b);
	data_loader_close(ld);

	/* shuffle off: record order */
	cfg.shuffle = 0;
	cfg.epochs = 1;
	ld = open_ok(&cfg);
	for (int i = 0; i < 11; i++) {
		b = next_ok(ld);
		for (int k = 0; k < b->n; k++)
			assert_int_equal(b->record[k], i * 10 + k);
	}
	data_loader_close(ld);
	data_set_free(&ds);
}

/* Runs `batches` batches and returns a copy of everything they held. */
struct run {
	size_t xlen, n;
	float *x;
	int32_t *y, *rec;
	int *epoch, *index, *count;
};

static void run_collect(const struct data_loader_cfg *cfg, int batches,
			struct run *out)
{
	struct data_loader *ld = open_ok(cfg);
	size_t per =
	    (size_t)cfg->batch_size * cfg->resolution * cfg->resolution * 3;

	memset(out, 0, sizeof *out);
	out->x = calloc((size_t)batches, per * sizeof *out->x);
	out->y = calloc((size_t)batches * cfg->batch_size, sizeof *out->y);
	out->rec = calloc((size_t)batches * cfg->batch_size, sizeof *out->rec);
	out->epoch = calloc((size_t)batches, sizeof(int));
	out->index = calloc((size_t)batches, sizeof(int));
	out->count = calloc((size_t)batches, sizeof(int));
	assert_true(out->x && out->y && out->rec && out->epoch && out->index &&
		    out->count);
	for (int i = 0; i < batches; i++) {
		const struct data_batch *b = next_ok(ld);
		size_t img = (size_t)b->resolution * b->resolution * 3;

		assert_non_null(b);
		memcpy(out->x + i * per, b->x, b->n * img * sizeof *b->x);
		memcpy(out->y + (size_t)i * cfg->batch_size, b->y,
		       b->n * sizeof *b->y);
		memcpy(out->rec + (size_t)i * cfg->batch_size, b->record,
		       b->n * sizeof *b->record);
		out->epoch[i] = b->epoch;
		out->index[i] = b->index;
		out->count[i] = b->n;
	}
	out->n = (size_t)batches;
	out->xlen = (size_t)batches * per;
	data_loader_close(ld);
}

static void run_free(struct run *r)
{
	free(r->x);
	free(r->y);
	free(r->rec);
	free(r->epoch);
	free(r->index);
	free(r->count);
}

/* batches [from, from + n) of a equal batches [0, n) of b */
static void run_equal(const struct run *a, size_t from, const struct run *b,
		      size_t n, int batch, int res)
{
	size_t per = (size_t)batch * res * res * 3;

	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a->epoch[from + i], b->epoch[i]);
		assert_int_equal(a->index[from + i], b->index[i]);
		assert_int_equal(a->count[from + i], b->count[i]);
		assert_memory_equal(a->rec + (from + i) * batch,
				    b->rec + i * batch,
				    batch * sizeof(int32_t));
		assert_memory_equal(a->y + (from + i) * batch, b->y + i * batch,
				    batch * sizeof(int32_t));
		assert_memory_equal(a->x + (from + i) * per, b->x + i * per,
				    per * sizeof(float));
	}
}

static void deterministic_across_threads_and_prefetch(void **state)
{
	struct data_set ds;
	struct data_loader_cfg cfg;
	struct run one, three;

	make_set(&ds, 77);
	data_loader_cfg_default(&cfg, &ds);
	cfg.batch_size = 8;
	cfg.resolution = 40;
	cfg.cutout = 8;
	cfg.seed = 1234;
	cfg.epochs = 2;
	cfg.threads = 1;
	cfg.prefetch = 2;
	run_collect(&cfg, 20, &one);
	cfg.threads = 3;
	cfg.prefetch = 5;
	run_collect(&cfg, 20, &three);
	run_equal(&one, 0, &three, 20, 8, 40);
	run_free(&three);
	/* another seed changes the batches */
	cfg.seed = 1235;
	run_collect(&cfg, 1, &three);
	assert_true(memcmp(one.rec, three.rec, 8 * sizeof(int32_t)) != 0 ||
		    memcmp(one.x, three.x, 8 * 40 * 40 * 3 * sizeof(float)));
	run_free(&three);
	run_free(&one);
	data_set_free(&ds);
}

static void augmented_sample_equals_kernels(void **state)
{
	struct data_set ds;
	struct data_loader_cfg cfg;
	struct data_loader *ld;
	const struct data_batch *b;
	float lut[3][256], src[S * S * 3], want[48 * 48 * 3], tmp[S * 48 * 3];
	int flips = 0, checked = 0;

	make_set(&ds, 50);
	data_loader_cfg_default(&cfg, &ds);
	cfg.batch_size = 16;
	cfg.resolution = 48;
	cfg.cutout = 12;
	cfg.seed = 99;
	cfg.threads = 2;
	cfg.start_epoch = 3;
	data_norm_table(lut, cfg.mean, cfg.std);
	ld = open_ok(&cfg);
	for (int i = 0; i < 4; i++) {
		b = next_ok(ld);
		for (int k = 0; k < b->n; k++) {
			struct data_aug a;
			int r = b->record[k];

			data_aug_draw(&a, 99, b->epoch, r, 4);
			flips += a.flip;
			data_crop_flip_normalize(
			    src, ds.pixels + (size_t)r * DATA_IMAGE_BYTES, S, S,
			    4, &a, lut);
			data_cutout(src, S, S, 3, a.cy, a.cx, 12);
			data_resize_bilinear(want, 48, 48, src, S, S, 3, tmp);
			assert_memory_equal(b->x + (size_t)k * 48 * 48 * 3,
					    want, sizeof want);
			checked++;
		}
	}
	assert_int_equal(checked, 50); /* all of epoch 3 */
	assert_true(flips > 10 && flips < 40);
	data_loader_close(ld);
	data_set_free(&ds);
}

static void drop_last_and_subsets(void **state)
{
	struct data_set ds;
	struct data_loader_cfg cfg;
	struct data_loader *ld;
	const struct data_batch *b;
	int32_t sub[] = {3, 9, 10, 11, 40, 41, 42, 60, 61, 62, 63};
	int seen[103] = {0};

	make_set(&ds, 103);
	data_loader_cfg_default(&cfg, &ds);
	cfg.batch_size = 10;
	cfg.drop_last = 1;
	cfg.epochs = 1;
	cfg.augment = 0;
	ld = open_ok(&cfg);
	assert_int_equal(data_loader_batches_per_epoch(ld), 10);
	for (int i = 0; i < 10; i++) {
		b = next_ok(ld);
		assert_int_equal(b->n, 10);
		for (int k = 0; k < 10; k++)
			seen[b->record[k]]++;
	}
	assert_null(next_ok(ld));
	data_loader_close(ld);
	{
		int total = 0;
		for (int r = 0; r < 103; r++) {
			assert_true(seen[r] <= 1);
			total += seen[r];
		}
		assert_int_equal(total, 100);
	}
	cfg.indices = sub;
	cfg.n_indices = 11;
	cfg.batch_size = 4;
	cfg.drop_last = 0;
	cfg.epochs = 3;
	ld = open_ok(&cfg);
	assert_int_equal(data_loader_batches_per_epoch(ld), 3);
	for (int i = 0; i < 9; i++) {
		b = next_ok(ld);
		assert_int_equal(b->n, i % 3 == 2 ? 3 : 4);
		for (int k = 0; k < b->n; k++) {
			int hit = 0;
			for (int j = 0; j < 11; j++)
				hit |= sub[j] == b->record[k];
			assert_true(hit);
		}
	}
	assert_null(next_ok(ld));
	data_loader_close(ld);
	data_set_free(&ds);
}

static void resume_gives_identical_batches(void **state)
{
	struct data_set ds;
	struct data_loader_cfg cfg;
	struct run full, resumed;
	struct data_loader *ld;
	int e, b;

	make_set(&ds, 61);
	data_loader_cfg_default(&cfg, &ds);
	cfg.batch_size = 7; /* 9 batches an epoch, the last of 5 */
	cfg.resolution = 36;
	cfg.cutout = 6;
	cfg.seed = 77;
	cfg.epochs = 3;
	cfg.threads = 2;
	run_collect(&cfg, 27, &full);
	/* resume at (1, 4): batches 13..26 of the uninterrupted run */
	cfg.start_epoch = 1;
	cfg.start_batch = 4;
	cfg.threads = 3;
	run_collect(&cfg, 14, &resumed);
	run_equal(&full, 13, &resumed, 14, 7, 36);
	run_free(&resumed);
	ld = open_ok(&cfg);
	data_loader_position(ld, &e, &b);
	assert_int_equal(e, 1);
	assert_int_equal(b, 4);
	for (int i = 0; i < 14; i++)
		assert_non_null(next_ok(ld));
	assert_null(next_ok(ld)); /* epochs counts from 0, not from start */
	data_loader_close(ld);
	run_free(&full);
	data_set_free(&ds);
}

static void stops_cleanly_mid_epoch(void **state)
{
	struct data_set ds;
	struct data_loader_cfg cfg;
	struct data_loader *ld;
	double t0 = core_now_seconds();

	make_set(&ds, 300);
	data_loader_cfg_default(&cfg, &ds);
	cfg.batch_size = 16;
	cfg.resolution = 64;
	cfg.threads = 3;
	cfg.prefetch = 2;
	/* closed before any batch was taken, workers blocked on full ring */
	ld = open_ok(&cfg);
	data_loader_close(ld);
	/* closed mid-epoch while holding a batch, endless epochs */
	for (int round = 0; round < 5; round++) {
		ld = open_ok(&cfg);
		for (int i = 0; i < 1 + round * 3; i++)
			assert_non_null(next_ok(ld));
		data_loader_close(ld);
	}
	/* more workers than slots, one slot */
	cfg.threads = 4;
	cfg.prefetch = 1;
	ld = open_ok(&cfg);
	for (int i = 0; i < 30; i++)
		assert_non_null(next_ok(ld));
	data_loader_close(ld);
	data_loader_close(NULL);
	assert_true(core_now_seconds() - t0 < 30.0);
	data_set_free(&ds);
}

static void expect_bad(const struct data_loader_cfg *cfg, const char *needle)
{
	struct data_loader *ld = (struct data_loader *)&ld; /* poison */
	char err[CORE_ERR_LEN];

	assert_int_equal(data_loader_open(cfg, &ld, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_null(ld);
	if (!strstr(err, needle))
		fail_msg("error '%s' lacks '%s'", err, needle);
}

static void rejects_bad_configurations(void **state)
{
	struct data_set ds;
	struct data_loader_cfg cfg, c;
	int32_t bad_idx[] = {1, 2, 500};

	make_set(&ds, 20);
	data_loader_cfg_default(&cfg, &ds);
	c = cfg;
	c.ds = NULL;
	expect_bad(&c, "no data set");
	c = cfg;
	c.batch_size = 0;
	expect_bad(&c, "batch_size 0");
	c = cfg;
	c.resolution = 7;
	expect_bad(&c, "resolution 7");
	c = cfg;
	c.resolution = 513;
	expect_bad(&c, "resolution 513");
	c = cfg;
	c.threads = 0;
	expect_bad(&c, "threads 0");
	c = cfg;
	c.prefetch = 0;
	expect_bad(&c, "prefetch 0");
	c = cfg;
	c.cutout = 33;
	expect_bad(&c, "cutout 33");
	c = cfg;
	c.crop_padding = -1;
	expect_bad(&c, "crop_padding -1");
	c = cfg;
	c.std[1] = 0;
	expect_bad(&c, "channel 1: std 0");
	c = cfg;
	c.mean[2] = NAN;
	expect_bad(&c, "channel 2");
	c = cfg;
	c.drop_last = 1;
	c.batch_size = 21;
	expect_bad(&c, "no full batch");
	c = cfg;
	c.batch_size = 8;
	c.start_batch = 3;
	expect_bad(&c, "outside an epoch of 3 batches");
	c = cfg;
	c.epochs = 2;
	c.start_epoch = 2;
	expect_bad(&c, "not before epochs 2");
	c = cfg;
	c.indices = bad_idx;
	c.n_indices = 3;
	expect_bad(&c, "indices[2] = 500");
	c = cfg;
	c.indices = bad_idx;
	c.n_indices = 0;
	expect_bad(&c, "n_indices 0");
	c = cfg;
	c.batch_size = 65536;
	c.resolution = 512;
	expect_bad(&c, "limit");
	data_set_free(&ds);
}

static void open_survives_allocation_failure(void **state)
{
	struct data_set ds;
	struct data_loader_cfg cfg;
	struct data_loader *ld = NULL;
	char err[CORE_ERR_LEN];
	enum core_status st = CORE_ERR_NOMEM;
	int n;

	make_set(&ds, 30);
	data_loader_cfg_default(&cfg, &ds);
	cfg.batch_size = 4;
	cfg.threads = 2;
	for (n = 0; n < 40 && st != CORE_OK; n++) {
		core_alloc_fail_after(n);
		st = data_loader_open(&cfg, &ld, err, sizeof err);
		core_alloc_fail_after(-1);
		if (st) {
			assert_int_equal(st, CORE_ERR_NOMEM);
			assert_null(ld);
		}
	}
	assert_int_equal(st, CORE_OK);
	assert_true(n > 5);
	assert_non_null(next_ok(ld));
	data_loader_close(ld);
	data_set_free(&ds);
}

/* ---- stratified split -------------------------------------------------- */

static void split_is_stratified_disjoint_and_seeded(void **state)
{
	struct data_set ds;
	struct data_split_cfg sc = {
	    .val_fraction = 0.1, .train_fraction = 1.0, .seed = 11};
	struct data_subsets a, b, half;
	char err[CORE_ERR_LEN];
	int count[10] = {0}, vcount[10] = {0}, tcount[10] = {0},
	    hcount[10] = {0};
	char *mark;

	make_set(&ds, 1400); /* class c: 10 * (2c + 5) records */
	for (int r = 0; r < ds.n; r++)
		count[ds.labels[r]]++;
	for (int c = 0; c < 10; c++)
		assert_int_equal(count[c], 10 * (2 * c + 5));
	assert_int_equal(data_split_stratified(&ds, &sc, &a, err, sizeof err),
			 CORE_OK);
	mark = calloc((size_t)ds.n, 1);
	assert_non_null(mark);
	for (int i = 0; i < a.n_val; i++) {
		if (i)
			assert_true(a.val[i] > a.val[i - 1]); /* sorted */
		mark[a.val[i]] |= 1;
		vcount[ds.labels[a.val[i]]]++;
	}
	for (int i = 0; i < a.n_train; i++) {
		if (i)
			assert_true(a.train[i] > a.train[i - 1]);
		assert_int_equal(mark[a.train[i]], 0); /* disjoint */
		mark[a.train[i]] |= 2;
		tcount[ds.labels[a.train[i]]]++;
	}
	for (int c = 0; c < 10; c++) {
		/* round(10 (2c+5) * 0.1) = 2c + 5 */
		assert_int_equal(vcount[c], 2 * c + 5);
		assert_int_equal(tcount[c], count[c] - vcount[c]);
	}
	assert_int_equal(a.n_val + a.n_train, ds.n);

	/* same seed, same split; another seed, another split */
	assert_int_equal(data_split_stratified(&ds, &sc, &b, err, sizeof err),
			 CORE_OK);
	assert_int_equal(b.n_val, a.n_val);
	assert_memory_equal(a.val, b.val, a.n_val * sizeof *a.val);
	data_subsets_free(&b);
	sc.seed = 12;
	assert_int_equal(data_split_stratified(&ds, &sc, &b, err, sizeof err),
			 CORE_OK);
	assert_true(memcmp(a.val, b.val, a.n_val * sizeof *a.val) != 0);
	data_subsets_free(&b);

	/* train_fraction 0.5: same val, a stratified half of the rest, a
	 * subset of the full training part */
	sc.seed = 11;
	sc.train_fraction = 0.5;
	assert_int_equal(
	    data_split_stratified(&ds, &sc, &half, err, sizeof err), CORE_OK);
	assert_int_equal(half.n_val, a.n_val);
	assert_memory_equal(half.val, a.val, a.n_val * sizeof *a.val);
	for (int i = 0; i < half.n_train; i++) {
		assert_int_equal(mark[half.train[i]], 2);
		hcount[ds.labels[half.train[i]]]++;
	}
	for (int c = 0; c < 10; c++) /* round(9 (2c+5) / 2), half up */
		assert_int_equal(hcount[c], (9 * (2 * c + 5) + 1) / 2);
	data_subsets_free(&half);
	data_subsets_free(&a);
	free(mark);
	data_set_free(&ds);
}

static void split_rejects_bad_input_and_survives_nomem(void **state)
{
	struct data_set ds;
	struct data_split_cfg sc = {.val_fraction = 0.05,
				    .train_fraction = 1.0};
	struct data_subsets s;
	char err[CORE_ERR_LEN];
	enum core_status st = CORE_ERR_NOMEM;
	int n;

	make_set(&ds, 65);
	sc.val_fraction = 1.0;
	assert_int_equal(data_split_stratified(&ds, &sc, &s, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "val_fraction 1"));
	sc.val_fraction = NAN;
	assert_int_equal(data_split_stratified(&ds, &sc, &s, err, sizeof err),
			 CORE_ERR_INVALID);
	sc.val_fraction = 0.05;
	sc.train_fraction = 0;
	assert_int_equal(data_split_stratified(&ds, &sc, &s, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "train_fraction 0"));
	/* classes of 5..20 records: 0.99 of each rounds to all of it */
	sc.val_fraction = 0.99;
	sc.train_fraction = 0.01;
	assert_int_equal(data_split_stratified(&ds, &sc, &s, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "no training records"));
	assert_null(s.train);
	ds.labels[7] = 10;
	sc.val_fraction = 0.05;
	sc.train_fraction = 1;
	assert_int_equal(data_split_stratified(&ds, &sc, &s, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "record 7: label 10"));
	ds.labels[7] = class_of(7);
	for (n = 0; n < 20 && st != CORE_OK; n++) {
		core_alloc_fail_after(n);
		st = data_split_stratified(&ds, &sc, &s, err, sizeof err);
		core_alloc_fail_after(-1);
		if (st) {
			assert_int_equal(st, CORE_ERR_NOMEM);
			assert_null(s.train);
			assert_null(s.val);
		}
	}
	assert_int_equal(st, CORE_OK);
	assert_true(n > 4);
	data_subsets_free(&s);
	data_set_free(&ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_sample_once_per_epoch),
	    cmocka_unit_test(deterministic_across_threads_and_prefetch),
	    cmocka_unit_test(augmented_sample_equals_kernels),
	    cmocka_unit_test(drop_last_and_subsets),
	    cmocka_unit_test(resume_gives_identical_batches),
	    cmocka_unit_test(stops_cleanly_mid_epoch),
	    cmocka_unit_test(rejects_bad_configurations),
	    cmocka_unit_test(open_survives_allocation_failure),
	    cmocka_unit_test(split_is_stratified_disjoint_and_seeded),
	    cmocka_unit_test(split_rejects_bad_input_and_survives_nomem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
