/* SPDX-License-Identifier: Apache-2.0 */
/* test_cmd_config.c - the worker settings of the configuration table:
 * durations with units for --artifact-retention (and their refusals,
 * naming the flag or variable), the worker counts' ranges, and the
 * training threads given to each of N workers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cmd/cmd.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Loads the configuration from "lmnas" + args (NULL-terminated). */
static enum core_status load(struct config *cfg, const char *const *args,
			     char *err, size_t errlen)
{
	char *argv[16];
	int argc = 0;

	argv[argc++] = (char *)"lmnas";
	for (; *args && argc < 15; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	return config_load(cfg, &argc, argv, err, errlen);
}

static void retention_durations(void **state)
{
	static const struct {
		const char *text;
		long seconds;
	} ok[] = {{"0", 0},
		  {"45", 45},
		  {"45s", 45},
		  {"90m", 5400},
		  {"12h", 43200},
		  {"30d", 2592000},
		  {"3650d", 315360000}};
	static const char *bad[] = {"5x",   "d",     "-1d", "1.5d",
				    "30dd", "3651d", ""};
	struct config cfg;
	char err[CORE_ERR_LEN];

	(void)state;
	unsetenv("LMNAS_ARTIFACT_RETENTION");
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		const char *args[] = {"--artifact-retention", ok[i].text, NULL};
		assert_int_equal(load(&cfg, args, err, sizeof err), CORE_OK);
		assert_int_equal(cfg.artifact_retention_s, ok[i].seconds);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *args[] = {"--artifact-retention", bad[i], NULL};
		assert_int_equal(load(&cfg, args, err, sizeof err),
				 CORE_ERR_INVALID);
		assert_non_null(strstr(err, "--artifact-retention"));
	}
	/* the variable, named in its own message */
	setenv("LMNAS_ARTIFACT_RETENTION", "2w", 1);
	{
		const char *args[] = {NULL};
		assert_int_equal(load(&cfg, args, err, sizeof err),
				 CORE_ERR_INVALID);
		assert_non_null(strstr(err, "LMNAS_ARTIFACT_RETENTION"));
	}
	unsetenv("LMNAS_ARTIFACT_RETENTION");
}

static void worker_counts_and_threads(void **state)
{
	struct config cfg;
	char err[CORE_ERR_LEN];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	{
		const char *args[] = {"serve", "--workers", "257", NULL};
		assert_int_equal(load(&cfg, args, err, sizeof err),
				 CORE_ERR_INVALID);
		assert_non_null(strstr(err, "--workers"));
	}
	{
		const char *args[] = {"worker", "--concurrency", "0", NULL};
		assert_int_equal(load(&cfg, args, err, sizeof err),
				 CORE_ERR_INVALID);
		assert_non_null(strstr(err, "--concurrency"));
	}
	{
		const char *args[] = {"worker", "--concurrency", "3", NULL};
		assert_int_equal(load(&cfg, args, err, sizeof err), CORE_OK);
		assert_int_equal(cfg.concurrency, 3);
		assert_int_equal(cfg.workers, 0);
	}
	/* the cores shared among the workers, at least one each */
	assert_true(cores >= 1);
	assert_int_equal(config_worker_threads(&cfg, 1), (int)cores);
	assert_int_equal(config_worker_threads(&cfg, (int)cores), 1);
	assert_int_equal(config_worker_threads(&cfg, (int)cores * 4), 1);
	if (cores >= 2)
		assert_int_equal(config_worker_threads(&cfg, 2),
				 (int)(cores / 2));
	/* configured: taken as given, above the cores too */
	{
		const char *args[] = {"--worker-threads", "64", NULL};
		assert_int_equal(load(&cfg, args, err, sizeof err), CORE_OK);
		assert_int_equal(config_worker_threads(&cfg, 8), 64);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(retention_durations),
	    cmocka_unit_test(worker_counts_and_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
