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

#include <pthread.h>
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

/* Log lines quote outside text: a message with bytes that are not UTF-8
 * comes out as valid UTF-8 (U+FFFD), and lines logged by several threads
 * at once each stay whole (one write per line), so a test log or a JSON
 * log collector never sees two lines spliced. */
static void *log_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200; i++)
		LOG_WARN("thread line %d caf\xe9 %0300d", i, i);
	return NULL;
}

static void lines_are_whole_and_utf8(void **state)
{
	char path[] = "/tmp/lmnas-logutf8-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO), lines = 0;
	pthread_t t[4];
	char *text = NULL, err[CORE_ERR_LEN];
	size_t len = 0;

	assert_true(fd >= 0);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	core_log_init(CORE_LOG_INFO, CORE_LOG_FORMAT_JSON);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, log_many, NULL),
				 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(fd);
	assert_int_equal(
	    core_file_read(path, 1 << 24, &text, &len, err, sizeof err),
	    CORE_OK);
	unlink(path);
	assert_true(core_utf8_valid(text, len));
	for (char *l = text, *nl; *l; l = nl + 1) {
		nl = strchr(l, '\n');
		assert_non_null(nl);
		*nl = '\0';
		assert_true(strncmp(l, "{\"ts\":", 6) == 0);
		assert_true(nl > l && nl[-1] == '}');
		assert_non_null(strstr(l, "caf\xef\xbf\xbd"));
		lines++;
	}
	assert_int_equal(lines, 800);
	core_free(text);
	core_log_init(CORE_LOG_INFO, CORE_LOG_FORMAT_TEXT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hook_around_each_line),
	    cmocka_unit_test(lines_are_whole_and_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
