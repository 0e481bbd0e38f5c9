/* SPDX-License-Identifier: Apache-2.0 */
/* test_run_sh.c - tests/run.sh's accounting of skipped tests: the closing
 * line is `N passed, N failed, N skipped`, a skip's reason appears on the
 * binary's summary line, a skip without a reason fails, and with
 * LMNAS_ALLOWED_SKIPS set (CI sets it empty) a skip it does not list fails.
 *
 * The test runs run.sh on itself: with LMNAS_RUNSH_FAKE set, this binary is
 * a small cmocka program with one passing and one skipping case (the skip
 * printing its reason first, or not), which is what run.sh sees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the fake test program ----------------------------------------------- */

static void fake_passes(void **state)
{
	assert_true(1);
}

static void fake_skips(void **state)
{
	const char *mode = getenv("LMNAS_RUNSH_FAKE");

	if (strcmp(mode, "reason") == 0)
		print_message("SKIP: fake tool not found\n");
	skip();
}

static int fake_main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fake_passes),
	    cmocka_unit_test(fake_skips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* ---- running run.sh on the fake ------------------------------------------ */

static char out[1 << 15];

/* Runs tests/run.sh on this binary in fake mode `mode` with
 * LMNAS_ALLOWED_SKIPS unset (allowed NULL) or set to allowed; out receives
 * run.sh's output, *last its last line. Returns run.sh's exit status. */
static int run_sh(const char *mode, const char *allowed, const char **last)
{
	char self[512], dir[] = "/tmp/lmnas-runsh-XXXXXX", cmd[2048];
	const char *root = getenv("LMNAS_ROOT");
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	FILE *p;
	size_t len = 0, got;
	int st;
	char *nl;

	assert_true(n > 0);
	self[n] = '\0';
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof cmd,
		 "env -u TEST_FILTER -u LMNAS_ALLOWED_SKIPS %s%s%s "
		 "LMNAS_RUNSH_FAKE=%s BUILD='%s' bash '%s/tests/run.sh' '%s' "
		 "2>&1; rc=$?; rm -rf '%s'; exit $rc",
		 allowed ? "LMNAS_ALLOWED_SKIPS='" : "", allowed ? allowed : "",
		 allowed ? "'" : "", mode, dir, root ? root : ".", self, dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (len + 1 < sizeof out &&
	       (got = fread(out + len, 1, sizeof out - 1 - len, p)) > 0)
		len += got;
	out[len] = '\0';
	st = pclose(p);
	/* the last line, without its newline */
	while (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
	nl = strrchr(out, '\n');
	*last = nl ? nl + 1 : out;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect_last(const char *last, const char *want)
{
	if (strcmp(last, want) != 0)
		fail_msg("run.sh's last line is '%s', expected '%s'", last,
			 want);
}

/* Without LMNAS_ALLOWED_SKIPS (a developer machine), a skip with a reason
 * is counted and shown, and does not fail. */
static void skip_is_counted_with_its_reason(void **state)
{
	const char *last;

	assert_int_equal(run_sh("reason", NULL, &last), 0);
	expect_last(last, "1 passed, 0 failed, 1 skipped");
	assert_non_null(strstr(out, "(1 skipped: fake tool not found)"));
}

/* CI (LMNAS_ALLOWED_SKIPS empty): an unexpected skip is a failure, named
 * with its reason. */
static void unexpected_skip_fails(void **state)
{
	const char *last;

	assert_int_not_equal(run_sh("reason", "", &last), 0);
	expect_last(last, "1 passed, 1 failed, 0 skipped");
	assert_non_null(strstr(out, "fake_skips skipped, not in "
				    "LMNAS_ALLOWED_SKIPS: fake tool not "
				    "found"));
}

/* A skip listed by binary or by binary:case is allowed. */
static void listed_skip_is_allowed(void **state)
{
	const char *last;

	assert_int_equal(run_sh("reason", "other test_run_sh", &last), 0);
	expect_last(last, "1 passed, 0 failed, 1 skipped");
	assert_int_equal(
	    run_sh("reason", "other,test_run_sh:fake_skips", &last), 0);
	expect_last(last, "1 passed, 0 failed, 1 skipped");
	assert_int_not_equal(run_sh("reason", "test_run_sh:other", &last), 0);
	expect_last(last, "1 passed, 1 failed, 0 skipped");
}

/* A skip that does not say why fails wherever it runs. */
static void skip_without_reason_fails(void **state)
{
	const char *last;

	assert_int_not_equal(run_sh("silent", NULL, &last), 0);
	expect_last(last, "1 passed, 1 failed, 0 skipped");
	assert_non_null(strstr(out, "skipped without saying why"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(skip_is_counted_with_its_reason),
	    cmocka_unit_test(unexpected_skip_fails),
	    cmocka_unit_test(listed_skip_is_allowed),
	    cmocka_unit_test(skip_without_reason_fails),
	};

	if (getenv("LMNAS_RUNSH_FAKE"))
		return fake_main();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
