/* SPDX-License-Identifier: Apache-2.0 */
/* test_runner_eta.c - the job's time-to-finish arithmetic: the work of an
 * epoch (MACs, resolution override, fractions) and the estimate from a
 * measured rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "runner/runner.h"

#include <string.h>

static void epoch_work(void **state)
{
	(void)state;
	/* full split, nothing held out: three passes per image */
	assert_float_equal(runner_epoch_work(1000, 32, 0, 1.0, 0.0), 3000.0,
			   1e-9);
	/* 10% held out and scored once; 20% of the rest trained */
	assert_float_equal(runner_epoch_work(1000, 32, 0, 0.2, 0.1),
			   1000.0 * (3 * 0.2 * 0.9 + 0.1), 1e-9);
	/* 160 px architecture trained at 32 px: 25 times fewer MACs */
	assert_float_equal(runner_epoch_work(2500, 160, 32, 1.0, 0.0),
			   3.0 * 100, 1e-9);
	/* same resolution, or no override: unchanged */
	assert_float_equal(runner_epoch_work(10, 64, 64, 1.0, 0.0), 30.0,
			   1e-12);
	/* unknown MACs (-1 stored as NULL) count as nothing */
	assert_float_equal(runner_epoch_work(-1, 32, 0, 1.0, 0.1), 0.0, 0);
}

static void estimate(void **state)
{
	struct runner_eta_in in = {0};

	(void)state;
	/* nothing measured: unknown */
	in.proxy_left = 3;
	in.proxy_epochs = 2;
	in.proxy_epoch_work = 100;
	assert_true(runner_eta_estimate(&in) < 0);
	in.work = 50;
	assert_true(runner_eta_estimate(&in) < 0); /* no seconds */
	/* 2 s per 100 units of work */
	in.seconds = 1.0;
	in.work = 50;
	assert_float_equal(runner_eta_estimate(&in), 3 * 2 * 2.0, 1e-9);
	/* plus the current candidate's own remaining time and the final
	 * phase: 2 models x 5 epochs x 1000 units */
	in.current_left_s = 7;
	in.final_left = 2;
	in.final_epochs = 5;
	in.final_epoch_work = 1000;
	assert_float_equal(runner_eta_estimate(&in), 7 + 12 + 200, 1e-9);
	/* an unknown current ETA (negative) adds nothing */
	in.current_left_s = -1;
	assert_float_equal(runner_eta_estimate(&in), 12 + 200, 1e-9);
	/* nothing left */
	memset(&in, 0, sizeof in);
	in.seconds = 3;
	in.work = 1;
	assert_float_equal(runner_eta_estimate(&in), 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(epoch_work),
	    cmocka_unit_test(estimate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
