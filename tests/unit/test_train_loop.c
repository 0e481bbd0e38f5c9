/* SPDX-License-Identifier: Apache-2.0 */
/* test_train_loop.c - the training loop on a small synthetic CIFAR-format
 * data set: it learns, distillation runs, a resumed run continues exactly as
 * if uninterrupted, divergence is caught, and bad settings, teacher files and
 * checkpoints are refused with errors that name the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/ts_cifar.h"
#include "train/train.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static const char *arch_json =
    "{\"format\":\"lmnas-arch/1\",\"input\":{\"resolution\":16},"
    "\"stem\":{\"out\":8,\"kernel\":3,\"stride\":1},"
    "\"stages\":["
    "{\"block\":\"mbconv\",\"out\":8,\"layers\":1,\"kernel\":3,\"stride\":2,"
    "\"expand\":2,\"se\":0.25,\"skip\":\"residual\",\"act\":\"swish\"},"
    "{\"block\":\"dwsep\",\"out\":16,\"layers\":2,\"kernel\":3,\"stride\":2,"
    "\"skip\":\"residual\",\"act\":\"relu6\"}],"
    "\"head\":{\"dropout\":0.1,\"classes\":10}}";

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/lmnas-train-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return ts_cifar100_write(dir, 400, 100, 10, 5);
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void get_arch(struct arch *a)
{
	struct core_field_errors fe;

	core_field_errors_clear(&fe);
	assert_int_equal(arch_parse(arch_json, strlen(arch_json), a, &fe),
			 CORE_OK);
}

static void small_config(struct train_config *c)
{
	train_config_default(c);
	c->data_dir = dir;
	c->kind = DATA_KIND_CIFAR100; /* the synthetic set uses 10 of 100 */
	c->val_fraction = 0.1;
	c->epochs = 3;
	c->batch = 16;
	c->lr = 0.1;
	c->warmup_epochs = 0.5;
	c->threads = 2;
	c->label_smoothing = 0.0;
}

/* Keeps the last checkpoint blob and counts epochs. */
struct capture {
	void *blob[8];
	size_t len[8];
	int epochs;
	int progress_calls;
};

static enum core_status keep_ckpt(const void *blob, size_t len, int epoch,
				  void *ctx, char *err, size_t errlen)
{
	struct capture *c = ctx;

	assert_true(epoch >= 1 && epoch < 8);
	free(c->blob[epoch]);
	c->blob[epoch] = malloc(len);
	memcpy(c->blob[epoch], blob, len);
	c->len[epoch] = len;
	c->epochs = epoch;
	return CORE_OK;
}

static int count_progress(const struct train_progress *p, void *ctx)
{
	struct capture *c = ctx;

	c->progress_calls++;
	assert_true(p->loss >= 0.0);
	return 0;
}

static void capture_free(struct capture *c)
{
	for (int i = 0; i < 8; i++)
		free(c->blob[i]);
	memset(c, 0, sizeof *c);
}

static void arch_with_classes(struct arch *a, int classes)
{
	get_arch(a);
	a->classes = classes;
}

static void it_learns(void **state)
{
	struct arch a;
	struct train_config c;
	struct train_result r;
	struct capture cap = {0};
	struct train_hooks h = {count_progress, keep_ckpt, &cap};
	char err[CORE_ERR_LEN];

	arch_with_classes(&a, 100);
	small_config(&c);
	c.epochs = 4;
	assert_int_equal(train_run(&a, &c, NULL, 0, &h, &r, err, sizeof err),
			 CORE_OK);
	printf(
	    "# synthetic 10-class set: val top-1 %.3f, test top-1 %.3f after "
	    "%d epochs\n",
	    r.val.top1, r.test.top1, r.epochs_done);
	assert_int_equal(r.epochs_done, 4);
	assert_int_equal(cap.epochs, 4);
	assert_int_equal(r.val.n, 40);
	assert_int_equal(r.test.n, 100);
	assert_true(r.val.top1 > 0.5); /* chance is 0.1 */
	assert_true(r.test.top1 > 0.5);
	assert_true(cap.progress_calls >= 4);
	capture_free(&cap);
}

static void resume_continues_exactly(void **state)
{
	struct arch a;
	struct train_config c;
	struct train_result r1, r2;
	struct capture straight = {0}, resumed = {0};
	struct train_hooks h1 = {NULL, keep_ckpt, &straight};
	struct train_hooks h2 = {NULL, keep_ckpt, &resumed};
	struct train_ckpt d1, d2;
	const struct train_ckpt_section *p1, *p2, *m1, *m2;
	char err[CORE_ERR_LEN];

	arch_with_classes(&a, 100);
	small_config(&c);
	c.eval_test = 0;
	assert_int_equal(train_run(&a, &c, NULL, 0, &h1, &r1, err, sizeof err),
			 CORE_OK);
	/* from the epoch-1 checkpoint of the same run */
	assert_int_equal(train_run(&a, &c, straight.blob[1], straight.len[1],
				   &h2, &r2, err, sizeof err),
			 CORE_OK);
	assert_int_equal(resumed.epochs, 3);
	assert_null(resumed.blob[1]); /* epoch 1 was not trained again */
	assert_int_equal(train_ckpt_decode(straight.blob[3], straight.len[3],
					   &d1, err, sizeof err),
			 CORE_OK);
	assert_int_equal(train_ckpt_decode(resumed.blob[3], resumed.len[3], &d2,
					   err, sizeof err),
			 CORE_OK);
	p1 = train_ckpt_find(&d1, "params");
	p2 = train_ckpt_find(&d2, "params");
	m1 = train_ckpt_find(&d1, "bn");
	m2 = train_ckpt_find(&d2, "bn");
	assert_int_equal(p1->size, p2->size);
	assert_memory_equal(p1->data, p2->data, p1->size);
	assert_memory_equal(m1->data, m2->data, m1->size);
	assert_true(r1.val.top1 == r2.val.top1);
	assert_true(r1.val.loss == r2.val.loss);
	/* a finished run cannot be resumed past its epochs */
	assert_int_equal(train_run(&a, &c, straight.blob[3], straight.len[3],
				   NULL, &r2, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "already"));
	capture_free(&straight);
	capture_free(&resumed);
}

static void distillation_runs_and_checks_the_teacher(void **state)
{
	struct arch a;
	struct train_config c;
	struct train_result r;
	struct data_set ds;
	char err[CORE_ERR_LEN], path[128], bad[128];

	arch_with_classes(&a, 100);
	small_config(&c);
	c.epochs = 2;
	c.eval_test = 0;
	assert_int_equal(data_cifar_load(dir, DATA_KIND_CIFAR100,
					 DATA_SPLIT_TRAIN, &ds, err,
					 sizeof err),
			 CORE_OK);
	snprintf(path, sizeof path, "%s/teacher.npy", dir);
	assert_int_equal(ts_npy_logits_write(path, ds.n, 100, ds.labels), 0);
	snprintf(bad, sizeof bad, "%s/teacher-bad.npy", dir);
	assert_int_equal(ts_npy_logits_write(bad, ds.n, 10, ds.labels), 0);
	data_set_free(&ds);
	c.teacher_logits = path;
	c.kd_alpha0 = 0.3;
	c.kd_alpha1 = 0.9;
	assert_int_equal(train_run(&a, &c, NULL, 0, NULL, &r, err, sizeof err),
			 CORE_OK);
	printf("# distilled: val top-1 %.3f\n", r.val.top1);
	assert_true(r.val.top1 > 0.3);
	c.teacher_logits = bad; /* 10 classes for a 100-class data set */
	assert_int_equal(train_run(&a, &c, NULL, 0, NULL, &r, err, sizeof err),
			 CORE_ERR_INVALID);
	printf("# refused: %s\n", err);
	assert_non_null(strstr(err, "teacher-bad.npy"));
}

static void divergence_is_caught(void **state)
{
	struct arch a;
	struct train_config c;
	struct train_result r;
	char err[CORE_ERR_LEN];

	arch_with_classes(&a, 100);
	small_config(&c);
	c.lr = 10.0;
	c.momentum = 0.99;
	c.warmup_epochs = 0;
	c.decay = TRAIN_LR_CONSTANT;
	c.weight_decay = 0;
	c.epochs = 20;
	c.eval_test = 0;
	assert_int_equal(train_run(&a, &c, NULL, 0, NULL, &r, err, sizeof err),
			 CORE_ERR_INVALID);
	printf("# %s\n", err);
	assert_non_null(strstr(err, "diverged"));
}

/* `lmnas train --lr 10` (momentum 0.9, warmup, cosine) kept a finite loss
 * in the thousands and ended "successfully": a loss that stays far above a
 * fresh network's stops the run too. */
static void a_loss_far_above_the_start_stops_the_run(void **state)
{
	struct arch a;
	struct train_config c;
	struct train_result r;
	struct capture cap = {0};
	struct train_hooks h = {NULL, keep_ckpt, &cap};
	char err[CORE_ERR_LEN];

	arch_with_classes(&a, 100);
	small_config(&c);
	c.lr = 10.0;
	c.clip_norm = 1.0;
	c.warmup_epochs = 1;
	c.epochs = 6;
	c.eval_test = 0;
	assert_int_equal(train_run(&a, &c, NULL, 0, &h, &r, err, sizeof err),
			 CORE_ERR_INVALID);
	printf("# %s\n", err);
	assert_non_null(strstr(err, "diverged"));
	assert_true(cap.epochs < 6);
	capture_free(&cap);
	/* the same run at a sound rate is not stopped */
	c.lr = 0.1;
	c.epochs = 2;
	assert_int_equal(train_run(&a, &c, NULL, 0, NULL, &r, err, sizeof err),
			 CORE_OK);
}

/* Sessions read data loaded once by the caller (no data directory at all),
 * give the numbers train_run gives, and leave the process's OpenMP thread
 * count alone. */
static void sessions_share_loaded_data(void **state)
{
	struct arch a;
	struct train_config c;
	struct train_result r0, r1 = {0}, r2 = {0};
	struct train_data d;
	char err[CORE_ERR_LEN];
	int before = omp_get_max_threads();

	arch_with_classes(&a, 100);
	small_config(&c);
	c.epochs = 2;
	c.threads = 1;
	assert_int_equal(train_run(&a, &c, NULL, 0, NULL, &r0, err, sizeof err),
			 CORE_OK);
	assert_int_equal(omp_get_max_threads(), before);
	assert_int_equal(
	    train_data_load(dir, DATA_KIND_CIFAR100, 1, &d, err, sizeof err),
	    CORE_OK);
	c.data_dir = "/nonexistent/lmnas";
	for (int k = 0; k < 2; k++) {
		struct train_session *s = NULL;
		struct train_result *r = k ? &r2 : &r1;
		int done = 0, epochs = 0;
		enum core_status st;

		assert_int_equal(train_session_open(&a, &c, &d, NULL, 0, &s,
						    err, sizeof err),
				 CORE_OK);
		do {
			st = train_session_epoch(s, NULL, &done, err,
						 sizeof err);
			epochs++;
		} while (st == CORE_OK && !done);
		assert_int_equal(st, CORE_OK);
		assert_int_equal(epochs, 2);
		assert_int_equal(train_session_result(s, r, err, sizeof err),
				 CORE_OK);
		train_session_close(s);
	}
	assert_int_equal(omp_get_max_threads(), before);
	assert_int_equal(r1.epochs_done, 2);
	assert_true(r1.val.loss == r0.val.loss);
	assert_true(r1.test.top1 == r0.test.top1);
	assert_true(r2.val.loss == r1.val.loss);
	assert_int_equal(r1.test.n, 100);
	/* the test split is needed for the test evaluation */
	data_set_free(&d.test);
	{
		struct train_session *s = NULL;

		assert_int_equal(train_session_open(&a, &c, &d, NULL, 0, &s,
						    err, sizeof err),
				 CORE_ERR_INVALID);
		assert_null(s);
		assert_non_null(strstr(err, "test split"));
	}
	train_data_free(&d);
}

static void bad_settings_are_named(void **state)
{
	struct arch a, other;
	struct train_config c;
	struct train_result r;
	char err[CORE_ERR_LEN];
	struct capture cap = {0};
	struct train_hooks h = {NULL, keep_ckpt, &cap};

	arch_with_classes(&a, 100);
	small_config(&c);
	c.batch = 1;
	assert_int_equal(train_run(&a, &c, NULL, 0, NULL, &r, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "batch"));
	small_config(&c);
	c.val_fraction = 0.7;
	assert_int_equal(train_config_validate(&c, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "val-fraction"));
	small_config(&c);
	c.data_dir = "/nonexistent/lmnas";
	assert_int_not_equal(
	    train_run(&a, &c, NULL, 0, NULL, &r, err, sizeof err), CORE_OK);
	assert_non_null(strstr(err, "/nonexistent/lmnas"));
	/* classes must match the data set */
	arch_with_classes(&other, 10);
	small_config(&c);
	assert_int_equal(
	    train_run(&other, &c, NULL, 0, NULL, &r, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(err, "classes"));
	/* a checkpoint of another architecture, and a corrupt one */
	small_config(&c);
	c.epochs = 1;
	c.eval_test = 0;
	c.train_fraction = 0.5;
	assert_int_equal(train_run(&a, &c, NULL, 0, &h, &r, err, sizeof err),
			 CORE_OK);
	other = a;
	other.stages[0].kernel = 5;
	c.epochs = 2;
	assert_int_equal(train_run(&other, &c, cap.blob[1], cap.len[1], NULL,
				   &r, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "another architecture"));
	((unsigned char *)cap.blob[1])[cap.len[1] - 1] ^= 0x40;
	assert_int_equal(train_run(&a, &c, cap.blob[1], cap.len[1], NULL, &r,
				   err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "checksum"));
	capture_free(&cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(it_learns),
	    cmocka_unit_test(resume_continues_exactly),
	    cmocka_unit_test(distillation_runs_and_checks_the_teacher),
	    cmocka_unit_test(divergence_is_caught),
	    cmocka_unit_test(a_loss_far_above_the_start_stops_the_run),
	    cmocka_unit_test(sessions_share_loaded_data),
	    cmocka_unit_test(bad_settings_are_named),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
