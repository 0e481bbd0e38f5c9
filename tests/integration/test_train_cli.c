/* SPDX-License-Identifier: Apache-2.0 */
/* test_train_cli.c - `lmnas train`, `eval` and `export` as a user meets
 * them: --help prints the options and exits 0, `eval` without arguments
 * says what is missing, `train` checks every input (data set with its test
 * split, teacher, writable --out) before it creates --out or trains, and a
 * diverging run exits non-zero saying so. Also: the unused --data-dir
 * setting is gone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/testsupport.h"
#include "../support/ts_cifar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], data[128], no_test[128], arch[128], teacher[128];

static const char *arch_json =
    "{\"format\":\"lmnas-arch/1\",\"input\":{\"resolution\":16},"
    "\"stem\":{\"out\":8,\"kernel\":3,\"stride\":1},"
    "\"stages\":[{\"block\":\"dwsep\",\"out\":16,\"layers\":1,\"kernel\":3,"
    "\"stride\":2,\"skip\":\"none\",\"act\":\"relu6\"}],"
    "\"head\":{\"classes\":100}}";

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int setup(void **state)
{
	char cmd[512];

	snprintf(dir, sizeof dir, "/tmp/lmnas-train-cli-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(data, sizeof data, "%s/data", dir);
	snprintf(no_test, sizeof no_test, "%s/no-test", dir);
	snprintf(arch, sizeof arch, "%s/arch.json", dir);
	snprintf(teacher, sizeof teacher, "%s/teacher.npy", dir);
	if (mkdir(data, 0755) || mkdir(no_test, 0755) ||
	    ts_cifar100_write(data, 160, 40, 10, 5) ||
	    write_text(arch, arch_json))
		return -1;
	/* the training file alone */
	snprintf(cmd, sizeof cmd, "cp '%s/train.bin' '%s/'", data, no_test);
	if (system(cmd) != 0)
		return -1;
	/* logits of 10 classes for a 100-class set */
	{
		int32_t labels[160];

		for (int i = 0; i < 160; i++)
			labels[i] = i % 10;
		return ts_npy_logits_write(teacher, 160, 10, labels);
	}
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int run(const char *const *args, char **log)
{
	struct ts_proc p;
	int code = ts_lmnas_run(&p, args, NULL);

	*log = ts_proc_log_read(&p);
	assert_non_null(*log);
	return code;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void help_prints_the_options(void **state)
{
	const char *const train[] = {"train", "--help", NULL};
	const char *const eval[] = {"eval", "--help", NULL};
	const char *const export[] = {"export", "-h", NULL};
	char *log;

	assert_int_equal(run(train, &log), 0);
	assert_non_null(strstr(log, "lmnas train --arch"));
	assert_non_null(strstr(log, "--teacher-logits"));
	assert_null(strstr(log, "unknown"));
	free(log);
	assert_int_equal(run(eval, &log), 0);
	assert_non_null(strstr(log, "lmnas eval --checkpoint"));
	free(log);
	assert_int_equal(run(export, &log), 0);
	assert_non_null(strstr(log, "--calibration"));
	free(log);
}

static void eval_without_arguments(void **state)
{
	const char *const args[] = {"eval", NULL};
	char *log;

	assert_int_equal(run(args, &log), 2);
	print_message("%s", log);
	assert_non_null(
	    strstr(log, "lmnas eval: --checkpoint and --data are required\n"));
	free(log);
}

/* Each bad input fails before --out exists and before any training. */
static void inputs_are_checked_before_out_is_created(void **state)
{
	char out[160], *log;
	const char *const missing_test[] = {
	    "train", "--arch",	 arch, "--data",  no_test, "--out",
	    out,     "--epochs", "1",  "--batch", "16",	   NULL};
	const char *const bad_teacher[] = {
	    "train", "--arch",	 arch, "--data",	   data,    "--out",
	    out,     "--epochs", "1",  "--teacher-logits", teacher, NULL};
	const char *const no_data[] = {
	    "train", "--arch", arch, "--data", "/nonexistent/lmnas-data",
	    "--out", out,      NULL};

	snprintf(out, sizeof out, "%s/out-a", dir);
	assert_int_equal(run(missing_test, &log), 1);
	print_message("%s", log);
	assert_non_null(strstr(log, "test.bin"));
	assert_null(strstr(log, "\"event\""));
	assert_false(exists(out));
	free(log);
	assert_int_equal(run(bad_teacher, &log), 1);
	print_message("%s", log);
	assert_non_null(strstr(log, "teacher.npy"));
	assert_false(exists(out));
	free(log);
	assert_int_equal(run(no_data, &log), 1);
	assert_non_null(strstr(log, "/nonexistent/lmnas-data"));
	assert_false(exists(out));
	free(log);
}

/* An --out that cannot be written is found at the start, not after the
 * first epoch. /proc/self exists and takes no new files, even as root. */
static void unwritable_out_fails_at_the_start(void **state)
{
	const char *const args[] = {
	    "train",	  "--arch",   arch, "--data",  data, "--out",
	    "/proc/self", "--epochs", "1",  "--batch", "16", NULL};
	char *log;

	assert_int_equal(run(args, &log), 1);
	print_message("%s", log);
	assert_non_null(strstr(log, "not writable"));
	assert_null(strstr(log, "\"event\""));
	free(log);
}

/* `--lr 10` (clipped, so the loss stays finite) used to end with a loss in
 * the thousands and exit 0. */
static void a_diverging_run_exits_non_zero(void **state)
{
	char out[160], *log;
	const char *const args[] = {
	    "train", "--arch", arch,	 "--data", data,      "--out", out,
	    "--lr",  "10",     "--clip", "1",	   "--batch", "16",    NULL};

	snprintf(out, sizeof out, "%s/out-lr10", dir);
	assert_int_equal(run(args, &log), 1);
	print_message("%s", log);
	assert_non_null(strstr(log, "diverged"));
	free(log);
}

static void data_dir_setting_is_gone(void **state)
{
	const char *const args[] = {"help", "config", NULL};
	char *log;

	assert_int_equal(run(args, &log), 0);
	assert_non_null(strstr(log, "--database-url"));
	assert_null(strstr(log, "data-dir"));
	assert_null(strstr(log, "LMNAS_DATA_DIR"));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(help_prints_the_options),
	    cmocka_unit_test(eval_without_arguments),
	    cmocka_unit_test(inputs_are_checked_before_out_is_created),
	    cmocka_unit_test(unwritable_out_fails_at_the_start),
	    cmocka_unit_test(a_diverging_run_exits_non_zero),
	    cmocka_unit_test(data_dir_setting_is_gone),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
