/* SPDX-License-Identifier: Apache-2.0 */
/* test_export_cli.c - `lmnas export` and `lmnas eval --int8` end to end on a
 * checkpoint written by the test and a synthetic CIFAR-100-format data set:
 * the zip archive and its report, a directory export of an untrained
 * architecture without data, the float and int8 figures, and the refusals
 * (missing or conflicting flags, an unknown target, a missing checkpoint). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/exportproj.h"
#include "../support/exporttest.h"
#include "../support/testsupport.h"
#include "../support/ts_cifar.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

struct fx {
	char dir[64];
	char data[128], ckpt[160], zip[160], out_dir[160], arch[160];
};

static int setup(void **state)
{
	static struct fx fx;
	struct arch a;
	struct model *m;
	char *text = NULL;
	FILE *f;

	snprintf(fx.dir, sizeof fx.dir, "/tmp/lmnas-export-cli-XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	snprintf(fx.data, sizeof fx.data, "%s/data", fx.dir);
	snprintf(fx.ckpt, sizeof fx.ckpt, "%s/checkpoint.lmnas", fx.dir);
	snprintf(fx.zip, sizeof fx.zip, "%s/model.zip", fx.dir);
	snprintf(fx.out_dir, sizeof fx.out_dir, "%s/project", fx.dir);
	snprintf(fx.arch, sizeof fx.arch, "%s/arch.json", fx.dir);
	if (mkdir(fx.data, 0755) != 0)
		return -1;
	if (ts_cifar100_write(fx.data, 200, 100, 10, 5))
		return -1;
	exporttest_arch(0, &a);
	a.classes = 100;
	m = exporttest_model(&a, 77);
	if (exporttest_checkpoint_write(m, fx.ckpt))
		return -1;
	model_free(m);
	exporttest_arch(1, &a);
	if (arch_to_text(&a, 1, &text, NULL))
		return -1;
	f = fopen(fx.arch, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	core_free(text);
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	exportproj_rmtree(fx->dir);
	return 0;
}

/* Runs lmnas with args; returns its exit code, the output in *log (free). */
static int run(const char *const *args, char **log)
{
	struct ts_proc p;
	int code = ts_lmnas_run(&p, args, NULL);

	*log = ts_proc_log_read(&p);
	return code;
}

/* zip entry name -> contents (caller frees), or NULL. */
static char *zip_read(const char *zip, const char *name, size_t *len)
{
	int zerr = 0;
	zip_t *z = zip_open(zip, ZIP_RDONLY, &zerr);
	zip_stat_t st;
	zip_file_t *f;
	char *buf = NULL;

	if (!z)
		return NULL;
	if (zip_stat(z, name, 0, &st) == 0 && (f = zip_fopen(z, name, 0))) {
		buf = calloc(1, st.size + 1);
		if (buf && zip_fread(f, buf, st.size) != (zip_int64_t)st.size) {
			free(buf);
			buf = NULL;
		}
		zip_fclose(f);
		*len = st.size;
	}
	zip_close(z);
	return buf;
}

static void export_checkpoint_to_zip(void **state)
{
	struct fx *fx = *state;
	/* ts_lmnas_run takes at most 14 arguments: --flag=value forms */
	const char *const args[] = {
	    "export",	  "--checkpoint", fx->ckpt,    "--target=qemu",
	    "--out",	  fx->zip,	  "--data",    fx->data,
	    "--calib=40", "--images=2",	  "--eval=50", "--name=cli_net",
	    NULL};
	json_t *rep;
	json_error_t je;
	char *text, *log;
	size_t len = 0;

	assert_int_equal(run(args, &log), 0);
	print_message("%s", log);
	assert_non_null(strstr(log, "exported cli_net for QEMU"));
	assert_non_null(strstr(log, "flash estimate"));
	assert_non_null(strstr(log, "top-1 float"));
	free(log);
	text = zip_read(fx->zip, "cli_net/model.c", &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "int model_run(const int8_t *in"));
	free(text);
	text = zip_read(fx->zip, "cli_net/report.json", &len);
	assert_non_null(text);
	rep = json_loads(text, 0, &je);
	free(text);
	assert_non_null(rep);
	assert_string_equal(json_string_value(json_object_get(rep, "target")),
			    "qemu");
	assert_true(json_is_real(
	    json_object_get(json_object_get(rep, "accuracy"), "int8_top1")));
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(rep, "accuracy"), "images")),
			 50);
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(rep, "quantization"), "calibration_images")),
	    40);
	assert_true(json_array_size(json_object_get(
			json_object_get(rep, "cost"), "ops")) > 10);
	json_decref(rep);
}

static void export_arch_without_data(void **state)
{
	struct fx *fx = *state;
	const char *const args[] = {"export",	 "--arch",  fx->arch, "--out",
				    fx->out_dir, "--calib", "4",      NULL};
	char path[256], *log;

	assert_int_equal(run(args, &log), 0);
	assert_non_null(strstr(log, "untrained weights"));
	assert_non_null(strstr(log, "no --data"));
	assert_non_null(strstr(log, "STM32H743"));
	free(log);
	snprintf(path, sizeof path, "%s/targets/stm32h743/arena_region.ld",
		 fx->out_dir);
	assert_int_equal(access(path, R_OK), 0);
	snprintf(path, sizeof path, "%s/kernels/kernels.h", fx->out_dir);
	assert_int_equal(access(path, R_OK), 0);
}

/* --calibration picks the calibration; its report says which. */
static void calibration_flag(void **state)
{
	struct fx *fx = *state;
	char zip[200], *log, *text;
	const char *const args[] = {"export",
				    "--checkpoint",
				    fx->ckpt,
				    "--target=qemu",
				    "--out",
				    zip,
				    "--data",
				    fx->data,
				    "--calib=20",
				    "--calibration=percentile",
				    "--percentile=99.5",
				    NULL};
	const char *const bad[] = {"export", "--checkpoint",  fx->ckpt, "--out",
				   zip,	     "--calibration", "max",	NULL};
	json_t *rep;
	size_t len = 0;

	snprintf(zip, sizeof zip, "%s/pct.zip", fx->dir);
	assert_int_equal(run(args, &log), 0);
	assert_non_null(strstr(log, "percentile clipping"));
	free(log);
	/* the checkpoint is exporttest architecture 0 */
	text = zip_read(zip, "stem_mbconv/report.json", &len);
	assert_non_null(text);
	rep = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(rep);
	assert_true(json_real_value(json_object_get(
			json_object_get(rep, "quantization"), "percentile")) ==
		    99.5);
	json_decref(rep);
	assert_int_equal(run(bad, &log), 2);
	assert_non_null(strstr(log, "--calibration: 'max'"));
	free(log);
}

static void eval_int8(void **state)
{
	struct fx *fx = *state;
	const char *const args[] = {
	    "eval",	    "--checkpoint", fx->ckpt,  "--data",
	    fx->data,	    "--int8",	    "--calib", "30",
	    "--percentile", "99.9",	    NULL};
	char *log;

	assert_int_equal(run(args, &log), 0);
	print_message("%s", log);
	assert_non_null(strstr(log, "cifar100 test: top-1"));
	assert_non_null(strstr(log, "int8 top-1"));
	assert_non_null(strstr(log, "float - int8"));
	free(log);
}

static void refusals(void **state)
{
	struct fx *fx = *state;
	const char *const no_out[] = {"export", "--checkpoint", fx->ckpt, NULL};
	const char *const both[] = {
	    "export", "--checkpoint", fx->ckpt, "--arch",
	    fx->arch, "--out",	      fx->zip,	NULL};
	const char *const bad_target[] = {
	    "export", "--checkpoint", fx->ckpt, "--target",
	    "esp32",  "--out",	      fx->zip,	NULL};
	const char *const missing[] = {
	    "export", "--checkpoint", "/nonexistent/c.lmnas",
	    "--out",  fx->zip,	      NULL};
	char *log;

	assert_int_equal(run(no_out, &log), 2);
	assert_non_null(strstr(log, "--out"));
	free(log);
	assert_int_equal(run(both, &log), 2);
	free(log);
	assert_int_equal(run(bad_target, &log), 2);
	assert_non_null(strstr(log, "stm32h743 or qemu"));
	free(log);
	assert_int_equal(run(missing, &log), 1);
	assert_non_null(strstr(log, "/nonexistent/c.lmnas"));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(export_checkpoint_to_zip),
	    cmocka_unit_test(export_arch_without_data),
	    cmocka_unit_test(calibration_flag),
	    cmocka_unit_test(eval_int8),
	    cmocka_unit_test(refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
