/* SPDX-License-Identifier: Apache-2.0 */
/* test_core.c - core: buffers with caps, arena, file reading, sha256, rng,
 * fault injection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void buf_grows_and_respects_cap(void **state)
{
	struct core_buf b;

	core_buf_init(&b, 10);
	assert_int_equal(core_buf_append(&b, "hello", 5), CORE_OK);
	assert_int_equal(core_buf_printf(&b, "%d", 1234), CORE_OK);
	assert_string_equal(b.data, "hello1234");
	assert_int_equal(core_buf_append(&b, "xy", 2), CORE_ERR_NOMEM);
	assert_null(b.data); /* freed itself on failure */
	assert_int_equal(b.len, 0);
	core_buf_free(&b);
}

static void buf_allocation_failure_frees(void **state)
{
	struct core_buf b;

	core_buf_init(&b, 1 << 20);
	core_alloc_fail_after(0);
	assert_int_equal(core_buf_append(&b, "x", 1), CORE_ERR_NOMEM);
	core_alloc_fail_after(-1);
	assert_null(b.data);
	assert_int_equal(core_buf_append(&b, "x", 1), CORE_OK);
	core_buf_free(&b);
}

static void arena_aligns_and_refuses_overflow(void **state)
{
	struct core_arena a;
	void *p, *q;

	assert_int_equal(core_arena_init(&a, 256), CORE_OK);
	p = core_arena_alloc(&a, 10);
	q = core_arena_alloc(&a, 10);
	assert_non_null(p);
	assert_non_null(q);
	assert_int_equal((uintptr_t)q % 64, 0);
	assert_null(core_arena_alloc(&a, 1000));
	assert_null(core_arena_alloc(&a, SIZE_MAX));
	core_arena_reset(&a);
	assert_ptr_equal(core_arena_alloc(&a, 1), p);
	core_arena_free(&a);
}

static void file_read_limits(void **state)
{
	char path[] = "/tmp/lmnas-test-XXXXXX";
	char err[CORE_ERR_LEN];
	char *data = NULL;
	size_t len = 0;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abcdef", 6), 6);
	close(fd);
	assert_int_equal(
	    core_file_read(path, 100, &data, &len, err, sizeof err), CORE_OK);
	assert_int_equal(len, 6);
	assert_string_equal(data, "abcdef");
	core_free(data);
	assert_int_equal(core_file_read(path, 5, &data, &len, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_null(data);
	assert_non_null(strstr(err, "limit"));
	unlink(path);
	assert_int_equal(core_file_read(path, 5, &data, &len, err, sizeof err),
			 CORE_ERR_NOT_FOUND);
}

/* A FIFO given as an input file used to block in open() until a writer came
 * (forever). The read runs in a child so that a regression fails the test
 * (the child is killed by alarm()) instead of hanging the suite. */
static void file_read_refuses_fifo_and_directory(void **state)
{
	char dir[] = "/tmp/lmnas-test-XXXXXX", fifo[64], err[CORE_ERR_LEN];
	char *data = NULL;
	size_t len = 0;
	int pfd[2], status = 0, fd = -1;
	pid_t pid;
	ssize_t n;

	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof fifo, "%s/pipe", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		enum core_status st;
		close(pfd[0]);
		alarm(5);
		st = core_file_read(fifo, 100, &data, &len, err, sizeof err);
		n = write(pfd[1], &st, sizeof st);
		n += write(pfd[1], err, strlen(err) + 1);
		_exit(n > 0 ? 0 : 1);
	}
	close(pfd[1]);
	{
		enum core_status st = CORE_OK;
		char msg[CORE_ERR_LEN] = "";
		n = read(pfd[0], &st, sizeof st);
		assert_int_equal(n, (ssize_t)sizeof st);
		n = read(pfd[0], msg, sizeof msg - 1);
		assert_true(n > 0);
		msg[n] = '\0';
		assert_int_equal(st, CORE_ERR_INVALID);
		assert_non_null(strstr(msg, "not a regular file"));
		assert_non_null(strstr(msg, "named pipe"));
	}
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* the same from this process: open_regular on the FIFO, a directory */
	assert_int_equal(core_file_open_regular(fifo, &fd, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(fd, -1);
	assert_int_equal(core_file_read(dir, 100, &data, &len, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_null(data);
	assert_non_null(strstr(err, "not a regular file (a directory)"));
	assert_int_equal(
	    core_file_read("/dev/null", 100, &data, &len, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(err, "a device"));
	/* a regular file opened this way reads in blocking mode */
	unlink(fifo);
	fd = open(fifo, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "xyz", 3), 3);
	close(fd);
	assert_int_equal(core_file_open_regular(fifo, &fd, err, sizeof err),
			 CORE_OK);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	unlink(fifo);
	rmdir(dir);
}

static void sha256_known_vector(void **state)
{
	char hex[65];

	core_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a3"
				 "96177a9cb410ff61f20015ad");
}

static void rng_is_reproducible_and_unbiased_range(void **state)
{
	struct core_rng a, b;
	int counts[3] = {0};

	core_rng_seed(&a, 42);
	core_rng_seed(&b, 42);
	for (int i = 0; i < 100; i++)
		assert_true(core_rng_next(&a) == core_rng_next(&b));
	for (int i = 0; i < 30000; i++)
		counts[core_rng_below(&a, 3)]++;
	for (int i = 0; i < 3; i++)
		assert_true(counts[i] > 9500 && counts[i] < 10500);
	for (int i = 0; i < 1000; i++) {
		double u = core_rng_uniform(&a);
		assert_true(u >= 0.0 && u < 1.0);
	}
}

static void log_parsers(void **state)
{
	enum core_log_level l;
	enum core_log_format f;

	assert_int_equal(core_log_level_parse("WARN", &l), CORE_OK);
	assert_int_equal(l, CORE_LOG_WARN);
	assert_int_equal(core_log_level_parse("loud", &l), CORE_ERR_INVALID);
	assert_int_equal(core_log_format_parse("json", &f), CORE_OK);
	assert_int_equal(f, CORE_LOG_FORMAT_JSON);
	assert_int_equal(core_log_format_parse("xml", &f), CORE_ERR_INVALID);
	core_log_set_context("req-1");
	assert_string_equal(core_log_context(), "req-1");
	core_log_set_context(NULL);
	assert_string_equal(core_log_context(), "");
}

static void utf8_sanitize_replaces_and_cuts(void **state)
{
	/* Latin-1 "caf\xe9", a lone continuation byte, an overlong '/', a
	 * surrogate, a code point above U+10FFFF, a NUL in the middle */
	static const struct {
		const char *in;
		size_t n;
		const char *want;
	} cases[] = {
	    {"ok \xc3\xa9", 5, "ok \xc3\xa9"},
	    {"caf\xe9", 4, "caf\xef\xbf\xbd"},
	    {"a\x80"
	     "b",
	     3,
	     "a\xef\xbf\xbd"
	     "b"},
	    {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\xf4\x90\x80\x80", 4,
	     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	    {"a\0"
	     "b",
	     3,
	     "a\xef\xbf\xbd"
	     "b"},
	    {"\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd"}, /* cut euro sign */
	};
	size_t i, len;
	char *o;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		o = core_utf8_sanitize(cases[i].in, cases[i].n, 1000, &len);
		assert_non_null(o);
		assert_string_equal(o, cases[i].want);
		assert_int_equal(len, strlen(cases[i].want));
		assert_true(core_utf8_valid(o, len));
		core_free(o);
	}
	assert_false(core_utf8_valid("caf\xe9", 4));
	assert_true(core_utf8_valid("\xf0\x9f\x98\x80", 4));
	/* "\xe2\x82\xac" (euro) is 3 bytes: a cut at 4 of "a" + 2 euros
	 * keeps "a" + 1 euro, never half a character */
	assert_int_equal(core_utf8_cut_len("a\xe2\x82\xac\xe2\x82\xac", 7, 4),
			 4);
	assert_int_equal(core_utf8_cut_len("a\xe2\x82\xac\xe2\x82\xac", 7, 6),
			 4);
	assert_int_equal(core_utf8_cut_len("abc", 3, 10), 3);
	o = core_utf8_sanitize("a\xe2\x82\xac\xe2\x82\xac", 7, 6, &len);
	assert_string_equal(o, "a\xe2\x82\xac");
	core_free(o);
}

static void utf8_copy_into_small_buffer(void **state)
{
	char buf[5];

	core_utf8_copy(buf, sizeof buf, "\xc3\xa9\xc3\xa9\xc3\xa9");
	assert_string_equal(buf, "\xc3\xa9\xc3\xa9");
	core_utf8_copy(buf, sizeof buf, "x\xff");
	assert_string_equal(buf, "x\xef\xbf\xbd");
	core_utf8_copy(buf, sizeof buf, NULL);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(buf_grows_and_respects_cap),
	    cmocka_unit_test(buf_allocation_failure_frees),
	    cmocka_unit_test(arena_aligns_and_refuses_overflow),
	    cmocka_unit_test(file_read_limits),
	    cmocka_unit_test(file_read_refuses_fifo_and_directory),
	    cmocka_unit_test(sha256_known_vector),
	    cmocka_unit_test(rng_is_reproducible_and_unbiased_range),
	    cmocka_unit_test(log_parsers),
	    cmocka_unit_test(utf8_sanitize_replaces_and_cuts),
	    cmocka_unit_test(utf8_copy_into_small_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
