/* SPDX-License-Identifier: Apache-2.0 */
/* test_deploy.c - the deploy module: a checkpoint in memory becomes an int8
 * MCU project and its zip archive in memory (opened back here with libzip,
 * licence included), with the target, calibration and evaluation the
 * options say; failures come back with the real reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/exporttest.h"
#include "../support/ts_cifar.h"
#include "deploy/deploy.h"
#include "train/train.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

static char dir[64];
static struct data_set train, test;
static void *blob;
static size_t blob_len;

static int setup(void **state)
{
	char err[CORE_ERR_LEN];
	struct arch a;
	struct model *m;

	snprintf(dir, sizeof dir, "/tmp/lmnas-deploy-XXXXXX");
	if (!mkdtemp(dir) || ts_cifar100_write(dir, 120, 60, 10, 5))
		return -1;
	if (data_cifar_load(dir, DATA_KIND_CIFAR100, DATA_SPLIT_TRAIN, &train,
			    err, sizeof err) ||
	    data_cifar_load(dir, DATA_KIND_CIFAR100, DATA_SPLIT_TEST, &test,
			    err, sizeof err))
		return -1;
	exporttest_arch(0, &a);
	a.classes = 100;
	m = exporttest_model(&a, 5);
	if (!m || train_checkpoint_encode(m, NULL, &(struct train_state){0},
					  &blob, &blob_len, err, sizeof err))
		return -1;
	model_free(m);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	data_set_free(&train);
	data_set_free(&test);
	core_free(blob);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The entry name of the zip in memory z, or NULL (caller frees). */
static char *entry(zip_t *z, const char *name)
{
	zip_stat_t st;
	zip_file_t *f;
	char *buf;

	if (zip_stat(z, name, 0, &st) != 0)
		return NULL;
	f = zip_fopen(z, name, 0);
	assert_non_null(f);
	buf = calloc(1, st.size + 1);
	assert_int_equal(zip_fread(f, buf, st.size), (zip_int64_t)st.size);
	zip_fclose(f);
	return buf;
}

static zip_t *open_buffer(const void *data, size_t len)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *z;

	zip_error_init(&ze);
	src = zip_source_buffer_create(data, len, 0, &ze);
	assert_non_null(src);
	z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
	assert_non_null(z);
	zip_error_fini(&ze);
	return z;
}

static void checkpoint_to_zip_in_memory(void **state)
{
	struct deploy_options o;
	struct deploy_result d;
	char err[CORE_ERR_LEN], name[192];
	json_t *rep;
	zip_t *z;
	char *text;

	deploy_options_default(&o);
	o.target = CODEGEN_TARGET_QEMU;
	o.calibration_images = 40;
	o.test_images = 2;
	o.eval_images = 30;
	o.name = "dep_net";
	assert_int_equal(deploy_checkpoint(blob, blob_len, &train, &test, &o,
					   &d, err, sizeof err),
			 CORE_OK);
	assert_non_null(d.zip);
	assert_true(d.zip_len > 1000);
	assert_int_equal(d.calibration_images, 40);
	assert_int_equal(d.eval_images, 30);
	assert_true(d.float_top1 >= 0 && d.float_top1 <= 1);
	assert_true(d.int8_top1 >= 0 && d.int8_top1 <= 1);
	z = open_buffer(d.zip, d.zip_len);
	assert_int_equal(zip_get_num_entries(z, 0), d.project.nfiles);
	for (int i = 0; i < d.project.nfiles; i++) {
		const struct codegen_out *f = &d.project.files[i];
		size_t n = strlen(f->path);

		snprintf(name, sizeof name, "dep_net/%s", f->path);
		text = entry(z, name);
		assert_non_null(text);
		assert_memory_equal(text, f->data, f->len);
		if (n > 2 &&
		    (strcmp(f->path + n - 2, ".c") == 0 ||
		     strcmp(f->path + n - 2, ".h") == 0) &&
		    strncmp(text, "/* SPDX-License-Identifier: Apache-2.0 */",
			    41) != 0)
			fail_msg("%s has no SPDX line", f->path);
		free(text);
	}
	text = entry(z, "dep_net/LICENSE");
	assert_non_null(text);
	assert_non_null(strstr(text, "Apache License"));
	free(text);
	text = entry(z, "dep_net/report.json");
	assert_non_null(text);
	assert_string_equal(text, d.report_json);
	rep = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(rep);
	assert_string_equal(json_string_value(json_object_get(rep, "target")),
			    "qemu");
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(rep, "quantization"), "calibration_images")),
	    40);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(rep, "accuracy"), "images")),
			 30);
	json_decref(rep);
	zip_close(z);
	deploy_result_free(&d);
}

/* Percentile calibration clips the ranges min/max keeps: the input's
 * scale shrinks. */
static void calibration_follows_the_options(void **state)
{
	struct deploy_options o;
	struct deploy_result a, b;
	char err[CORE_ERR_LEN];

	deploy_options_default(&o);
	o.calibration_images = 60;
	assert_int_equal(deploy_checkpoint(blob, blob_len, &train, &test, &o,
					   &a, err, sizeof err),
			 CORE_OK);
	o.calibration = DEPLOY_CALIBRATION_PERCENTILE;
	o.percentile = 99.0;
	assert_int_equal(deploy_checkpoint(blob, blob_len, &train, &test, &o,
					   &b, err, sizeof err),
			 CORE_OK);
	printf("# input scale: min/max %g, 99th percentile %g\n", a.input_scale,
	       b.input_scale);
	assert_true(b.input_scale < a.input_scale);
	assert_non_null(strstr(a.report_json, "\"stm32h743\""));
	assert_null(strstr(a.report_json, "\"qemu\""));
	deploy_result_free(&a);
	deploy_result_free(&b);
	/* more calibration images than the split holds: all of it */
	o.calibration_images = 50000;
	assert_int_equal(deploy_checkpoint(blob, blob_len, &train, &test, &o,
					   &a, err, sizeof err),
			 CORE_OK);
	assert_int_equal(a.calibration_images, train.n);
	deploy_result_free(&a);
}

/* A data set with its own statistics (an import cache's) normalizes the
 * generated project like the loader normalized calibration; CIFAR keeps
 * the kind's. */
static void project_normalization_follows_the_data(void **state)
{
	struct deploy_options o;
	struct deploy_result d;
	struct data_set tr = train, te = test; /* shallow: not freed here */
	const struct codegen_out *h;
	char err[CORE_ERR_LEN], *text;

	deploy_options_default(&o);
	o.calibration_images = 20;
	tr.has_stats = te.has_stats = 1;
	for (int c = 0; c < 3; c++) {
		tr.mean[c] = te.mean[c] = 0.25f * (float)(c + 1);
		tr.std[c] = te.std[c] = 0.125f * (float)(c + 1);
	}
	assert_int_equal(deploy_checkpoint(blob, blob_len, &tr, &te, &o, &d,
					   err, sizeof err),
			 CORE_OK);
	h = codegen_project_find(&d.project, "model.h");
	assert_non_null(h);
	text = strndup(h->data, h->len);
	assert_non_null(strstr(text, "{0.25000f, 0.50000f, 0.75000f}"));
	assert_non_null(strstr(text, "{0.12500f, 0.25000f, 0.37500f}"));
	free(text);
	deploy_result_free(&d);
	assert_int_equal(deploy_checkpoint(blob, blob_len, &train, &test, &o,
					   &d, err, sizeof err),
			 CORE_OK);
	h = codegen_project_find(&d.project, "model.h");
	text = strndup(h->data, h->len);
	assert_non_null(strstr(text, "{0.50708f, 0.48655f, 0.44092f}"));
	free(text);
	deploy_result_free(&d);
}

static void failures_say_why(void **state)
{
	struct deploy_options o;
	struct deploy_result d;
	char err[CORE_ERR_LEN];
	unsigned char *bad;

	deploy_options_default(&o);
	o.calibration_images = 0;
	assert_int_equal(deploy_checkpoint(blob, blob_len, &train, &test, &o,
					   &d, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "calibration_images"));
	assert_null(d.zip);
	deploy_options_default(&o);
	o.calibration = DEPLOY_CALIBRATION_PERCENTILE;
	o.percentile = 100;
	assert_int_equal(deploy_options_validate(&o, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "percentile"));
	deploy_options_default(&o);
	o.test_images = 17;
	assert_int_equal(deploy_options_validate(&o, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "test_images"));
	/* a damaged checkpoint: the checksum, not "see its output" */
	deploy_options_default(&o);
	bad = malloc(blob_len);
	memcpy(bad, blob, blob_len);
	bad[blob_len - 1] ^= 0x40;
	assert_int_equal(deploy_checkpoint(bad, blob_len, &train, &test, &o, &d,
					   err, sizeof err),
			 CORE_ERR_INVALID);
	printf("# %s\n", err);
	assert_non_null(strstr(err, "checksum"));
	free(bad);
	assert_int_equal(deploy_calibration_parse("percentile", &o.calibration),
			 CORE_OK);
	assert_int_equal(deploy_calibration_parse("max", &o.calibration),
			 CORE_ERR_INVALID);
	assert_string_equal(deploy_calibration_name(DEPLOY_CALIBRATION_MINMAX),
			    "minmax");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(checkpoint_to_zip_in_memory),
	    cmocka_unit_test(calibration_follows_the_options),
	    cmocka_unit_test(project_normalization_follows_the_data),
	    cmocka_unit_test(failures_say_why),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
