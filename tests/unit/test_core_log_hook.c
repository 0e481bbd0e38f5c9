/* SPDX-License-Identifier: Apache-2.0 */
/* test_core_log_hook.c - core: the log hook runs right before and right
 * after each log line, so that a terminal's live progress line (lmnas
 * search) can step aside instead of getting a log line glued onto it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct seen {
	char order[16];
	int n;
	long size_before, size_after; /* of the log file at each call */
};

static void hook(int after, void *ctx)
{
	struct seen *s = ctx;

	fflush(stderr);
	if (after)
		s->size_after = ftell(stderr);
	else
		s->size_before = ftell(stderr);
	if (s->n < 15)
		s->order[s->n++] = after ? 'A' : 'B';
}

static void hook_around_each_line(void **state)
{
	struct seen s;
	char path[] = "/tmp/lmnas-loghook-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);

	assert_true(fd >= 0);
	assert_true(saved >= 0);
	memset(&s, 0, sizeof s);
	fflush(stderr);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	core_log_init(CORE_LOG_INFO, CORE_LOG_FORMAT_TEXT);
	core_log_set_hook(hook, &s);
	LOG_WARN("a line while a live line is shown");
	assert_string_equal(s.order, "BA");
	assert_int_equal(s.size_before, 0); /* nothing written yet */
	assert_true(s.size_after > 0);	    /* the whole line written */
	LOG_DEBUG("below the threshold: no line, no hook");
	assert_string_equal(s.order, "BA");
	core_log_set_hook(NULL, NULL);
	LOG_WARN("no hook any more");
	assert_string_equal(s.order, "BA");
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hook_around_each_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
