/* SPDX-License-Identifier: Apache-2.0 */
/* test_npy.c - data: the teacher-logits .npy reader on files numpy wrote
 * (tools/gen_data_fixtures.py) and files made here: v1/v2/v3, '<f4' and
 * '<f2', float16 conversion, and every class of error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "data/data.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

static int setup(void **state)
{
	strcpy(tmpdir, "/tmp/lmnas-npy-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static float value(int i, int j)
{
	return (float)(i * 10 + j) * 0.25f - 7.5f; /* exact in float16 */
}

static void fixture_path(char *out, const char *name)
{
	const char *root = getenv("LMNAS_ROOT");

	snprintf(out, PATH_MAX, "%s/tests/fixtures/data/%s", root ? root : ".",
		 name);
}

static void tmp_path(char *out, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", tmpdir, name);
}

/* Writes an .npy file the way numpy does (header padded with spaces and a
 * newline to a multiple of 64 bytes); hlen_field >= 0 overrides the length
 * written in the preamble. */
static void write_npy(const char *name, int major, const char *dict,
		      long hlen_field, const void *data, size_t n)
{
	char path[PATH_MAX], head[1024];
	size_t pre = major == 1 ? 10 : 12, len = strlen(dict);
	size_t hlen = ((pre + len + 1 + 63) / 64) * 64 - pre;
	uint32_t field =
	    hlen_field >= 0 ? (uint32_t)hlen_field : (uint32_t)hlen;
	FILE *f;

	assert_true(hlen < sizeof head);
	memcpy(head, dict, len);
	memset(head + len, ' ', hlen - len - 1);
	head[hlen - 1] = '\n';
	tmp_path(path, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	fwrite("\x93NUMPY", 1, 6, f);
	fputc(major, f);
	fputc(0, f);
	for (size_t b = 0; b < pre - 8; b++)
		fputc((int)(field >> (8 * b)) & 0xff, f);
	fwrite(head, 1, hlen, f);
	if (n)
		fwrite(data, 1, n, f);
	fclose(f);
}

static void check_values(const struct data_logits *l, int n, int classes)
{
	assert_int_equal(l->n, n);
	assert_int_equal(l->classes, classes);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < classes; j++)
			if (l->v[i * classes + j] != value(i, j))
				fail_msg("[%d][%d] = %g, want %g", i, j,
					 (double)l->v[i * classes + j],
					 (double)value(i, j));
}

static void reads_numpy_files(void **state)
{
	static const char *const good[] = {
	    "logits_f4_v1.npy", "logits_f2_v1.npy", "logits_f4_v2.npy",
	    "logits_f2_v3.npy"};
	static const struct {
		const char *file, *needle;
	} bad[] = {
	    {"bad_fortran.npy", "fortran_order True is not supported"},
	    {"bad_f8.npy", "descr '<f8' is not '<f4' or '<f2'"},
	    {"bad_be.npy", "descr '>f4'"},
	    {"bad_3d.npy", "shape has 3 dimensions, expected 2"},
	};
	char path[PATH_MAX], err[CORE_ERR_LEN];
	struct data_logits l;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		fixture_path(path, good[i]);
		if (data_npy_read_logits(path, 6, 10, &l, err, sizeof err))
			fail_msg("%s: %s", good[i], err);
		check_values(&l, 6, 10);
		data_logits_free(&l);
		assert_null(l.v);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		fixture_path(path, bad[i].file);
		assert_int_equal(
		    data_npy_read_logits(path, 6, 10, &l, err, sizeof err),
		    CORE_ERR_INVALID);
		if (!strstr(err, bad[i].needle) || !strstr(err, bad[i].file))
			fail_msg("%s: '%s' lacks '%s'", bad[i].file, err,
				 bad[i].needle);
		assert_null(l.v);
	}
}

static uint16_t to_half_exact(float f)
{
	/* for the multiples of 0.25 in [-8, 8) used here */
	uint16_t sign = f < 0 ? 0x8000 : 0;
	float a = fabsf(f);
	int e;

	if (a == 0)
		return sign;
	frexpf(a, &e); /* a = m 2^e, m in [0.5, 1) */
	return (uint16_t)(sign | (uint16_t)(e - 1 + 15) << 10 |
			  (uint16_t)((ldexpf(a, 1 - e) - 1.0f) * 1024.0f));
}

static void reads_own_f4_f2_and_checks_the_data_set(void **state)
{
	char path[PATH_MAX], err[CORE_ERR_LEN];
	float f4[700 * 10];
	uint16_t *f2 = malloc(700 * 100 * sizeof *f2);
	struct data_logits l;
	struct data_set ds;

	assert_non_null(f2);
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 10; j++) {
			f4[i * 10 + j] = value(i, j);
			f2[i * 10 + j] = to_half_exact(value(i, j));
		}
	/* key order, quotes and spacing are free */
	write_npy("a.npy", 1,
		  "{\"shape\":(6,10),'fortran_order' : False,'descr':'<f4'}",
		  -1, f4, 60 * 4);
	write_npy("b.npy", 2,
		  "{'descr': '<f2', 'fortran_order': False, 'shape': (6L, "
		  "10L), }",
		  -1, f2, 60 * 2);
	assert_int_equal(data_set_alloc(&ds, DATA_KIND_CIFAR10,
					DATA_SPLIT_TRAIN, 6, err, sizeof err),
			 CORE_OK);
	tmp_path(path, "a.npy");
	assert_int_equal(data_logits_load(path, &ds, &l, err, sizeof err),
			 CORE_OK);
	check_values(&l, 6, 10);
	data_logits_free(&l);
	tmp_path(path, "b.npy");
	assert_int_equal(data_logits_load(path, &ds, &l, err, sizeof err),
			 CORE_OK);
	check_values(&l, 6, 10);
	data_logits_free(&l);
	/* logits line up with training records only */
	ds.split = DATA_SPLIT_TEST;
	assert_int_equal(data_logits_load(path, &ds, &l, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "not the test split"));
	data_set_free(&ds);
	assert_int_equal(data_set_alloc(&ds, DATA_KIND_CIFAR100,
					DATA_SPLIT_TRAIN, 6, err, sizeof err),
			 CORE_OK);
	assert_int_equal(data_logits_load(path, &ds, &l, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "shape (6, 10), expected (6, 100)"));
	data_set_free(&ds);

	/* more float16 values than one conversion chunk (65536) */
	for (int i = 0; i < 700 * 100; i++)
		f2[i] = to_half_exact(value(i / 100 % 6, i % 10));
	write_npy("big.npy", 1,
		  "{'descr': '<f2', 'fortran_order': False, 'shape': (700, "
		  "100), }",
		  -1, f2, 700 * 100 * 2);
	tmp_path(path, "big.npy");
	assert_int_equal(
	    data_npy_read_logits(path, 700, 100, &l, err, sizeof err), CORE_OK);
	for (int i = 0; i < 700 * 100; i++)
		assert_true(l.v[i] == value(i / 100 % 6, i % 10));
	data_logits_free(&l);
	free(f2);
}

static float half_reference(uint16_t h)
{
	int sign = h >> 15, ex = (h >> 10) & 31, man = h & 1023;
	double v;

	if (ex == 31)
		v = man ? NAN : INFINITY;
	else if (ex == 0)
		v = ldexp(man, -24);
	else
		v = ldexp(1024 + man, ex - 25);
	return (float)(sign ? -v : v);
}

static void half_conversion_is_exact(void **state)
{
	for (uint32_t h = 0; h < 65536; h++) {
		float got = data_half_to_float((uint16_t)h);
		float want = half_reference((uint16_t)h);

		if (isnan(want)) {
			assert_true(isnan(got));
			continue;
		}
		if (got != want || signbit(got) != signbit(want))
			fail_msg("half 0x%04x: %a != %a", h, (double)got,
				 (double)want);
	}
	assert_true(data_half_to_float(0x3c00) == 1.0f);
	assert_true(data_half_to_float(0xc000) == -2.0f);
	assert_true(data_half_to_float(0x7bff) == 65504.0f);
	assert_true(data_half_to_float(0x0001) == 0x1p-24f);
	assert_true(data_half_to_float(0x03ff) == 0x1.ff8p-15f);
	assert_true(data_half_to_float(0x0400) == 0x1p-14f);
	assert_true(signbit(data_half_to_float(0x8000)));
	assert_true(isinf(data_half_to_float(0xfc00)));
	assert_true(data_half_to_float(0x3555) == 0x1.554p-2f);
}

struct bad_case {
	const char *what;
	int major;
	const char *dict;
	long hlen_field; /* -1: the right one */
	long data_bytes; /* -1: 240 (6 x 10 float32) */
	const char *needle;
};

#define DICT_OK "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 10), }"

static const struct bad_case bad_cases[] = {
    {"huge header length", 2, DICT_OK, 0x7fffffffL, -1,
     "header length 2147483647 exceeds the limit of 65536"},
    {"header longer than the file", 1, DICT_OK, 5000, -1,
     "truncated header: 5000 bytes announced"},
    {"no descr", 1, "{'fortran_order': False, 'shape': (6, 10), }", -1, -1,
     "has no 'descr' key"},
    {"no fortran_order", 1, "{'descr': '<f4', 'shape': (6, 10), }", -1, -1,
     "has no 'fortran_order' key"},
    {"no shape", 1, "{'descr': '<f4', 'fortran_order': False, }", -1, -1,
     "has no 'shape' key"},
    {"unknown key", 1,
     "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 10), 'x': 1}", -1,
     -1, "unknown key 'x'"},
    {"repeated key", 1,
     "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': "
     "(6, 10)}",
     -1, -1, "repeated key 'descr'"},
    {"u1", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (6, 10)}", -1,
     -1, "descr '|u1' is not"},
    {"fortran 0", 1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (6, 10)}",
     -1, -1, "fortran_order is not True or False"},
    {"1-D", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (60,), }", -1,
     -1, "shape has 1 dimensions"},
    {"scalar", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", -1,
     -1, "shape has 0 dimensions"},
    {"9-D", 1,
     "{'descr': '<f4', 'fortran_order': False, 'shape': "
     "(1,1,1,1,1,1,1,1,1)}",
     -1, -1, "more than 8 shape dimensions"},
    {"huge dim", 1,
     "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 10)}", -1,
     -1, "larger than 2147483647"},
    {"negative dim", 1,
     "{'descr': '<f4', 'fortran_order': False, 'shape': (-6, 10)}", -1, -1,
     "expected a non-negative integer"},
    {"hostile shape", 1,
     "{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647, "
     "2147483647)}",
     -1, -1, "shape (2147483647, 2147483647), expected (6, 10)"},
    {"wrong N", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 10)}",
     -1, 280, "shape (7, 10), expected (6, 10)"},
    {"wrong classes", 1,
     "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 9)}", -1, 216,
     "shape (6, 9), expected (6, 10)"},
    {"truncated data", 1, DICT_OK, -1, 239,
     "truncated: shape needs 240 bytes of data, the file has 239"},
    {"trailing data", 1, DICT_OK, -1, 241, "1 unexpected bytes"},
    {"text after dict", 1, DICT_OK " x", -1, -1, "text after the dict"},
    {"not a dict", 1, "[1, 2]", -1, -1, "expected '{'"},
    {"mismatched quotes", 1, "{'descr: '<f4'}", -1, -1, "expected ':'"},
    {"unterminated", 1, "{'descr", -1, -1, "unterminated string"},
    {"bad separator", 1,
     "{'descr': '<f4'; 'fortran_order': False, 'shape': (6, 10)}", -1, -1,
     "expected ',' or '}'"},
    {"bad shape separator", 1,
     "{'descr': '<f4', 'fortran_order': False, 'shape': (6; 10)}", -1, -1,
     "expected ',' or ')' in shape"},
    {"escape", 1,
     "{'de\\scr': '<f4', 'fortran_order': False, 'shape': (6, 10)}", -1, -1,
     "escape"},
};

static void every_error_class(void **state)
{
	char path[PATH_MAX], err[CORE_ERR_LEN];
	float data[80];
	struct data_logits l;

	for (int i = 0; i < 80; i++)
		data[i] = (float)i;
	tmp_path(path, "bad.npy");
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *c = &bad_cases[i];
		long n = c->data_bytes >= 0 ? c->data_bytes : 240;

		write_npy("bad.npy", c->major, c->dict, c->hlen_field, data,
			  (size_t)n);
		assert_int_equal(
		    data_npy_read_logits(path, 6, 10, &l, err, sizeof err),
		    CORE_ERR_INVALID);
		if (!strstr(err, c->needle) || !strstr(err, "bad.npy"))
			fail_msg("%s: '%s' lacks '%s'", c->what, err,
				 c->needle);
		assert_null(l.v);
		assert_int_equal(l.n, 0);
	}
}

static void preamble_files_and_values(void **state)
{
	char path[PATH_MAX], err[CORE_ERR_LEN];
	float data[60];
	uint16_t half[60];
	struct data_logits l;
	int fd;

	for (int i = 0; i < 60; i++) {
		data[i] = 1.0f;
		half[i] = 0x3c00;
	}
	tmp_path(path, "p.npy");
	/* bad magic, unsupported version, short preambles */
	write_npy("p.npy", 1, DICT_OK, -1, data, 240);
	fd = open(path, O_WRONLY);
	assert_int_equal(pwrite(fd, "\x93NUMPZ", 6, 0), 6);
	close(fd);
	assert_int_equal(data_npy_read_logits(path, 6, 10, &l, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "bad magic"));
	write_npy("p.npy", 4, DICT_OK, -1, data, 240);
	assert_int_equal(data_npy_read_logits(path, 6, 10, &l, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "unsupported .npy version 4.0"));
	assert_int_equal(truncate(path, 8), 0);
	assert_int_equal(data_npy_read_logits(path, 6, 10, &l, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "truncated .npy preamble"));
	write_npy("p.npy", 2, DICT_OK, -1, data, 240);
	assert_int_equal(truncate(path, 11), 0);
	assert_int_equal(data_npy_read_logits(path, 6, 10, &l, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "truncated .npy preamble"));
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(data_npy_read_logits(path, 6, 10, &l, err, sizeof err),
			 CORE_ERR_INVALID);

	/* non-finite values, named by record and class */
	data[2 * 10 + 3] = NAN;
	write_npy("p.npy", 1, DICT_OK, -1, data, 240);
	assert_int_equal(data_npy_read_logits(path, 6, 10, &l, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "record 2, class 3: value is not finite"));
	half[59] = 0xfc00; /* -inf */
	write_npy(
	    "p.npy", 3,
	    "{'descr': '<f2', 'fortran_order': False, 'shape': (6, 10), }", -1,
	    half, 120);
	assert_int_equal(data_npy_read_logits(path, 6, 10, &l, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "record 5, class 9"));

	/* absent, a directory, too large (sparse), empty expectation */
	tmp_path(path, "absent.npy");
	assert_int_equal(data_npy_read_logits(path, 6, 10, &l, err, sizeof err),
			 CORE_ERR_NOT_FOUND);
	assert_int_equal(
	    data_npy_read_logits(tmpdir, 6, 10, &l, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(err, "not a regular file"));
	/* a named pipe fails at once (it blocked in open() before); the
	 * alarm turns a hang into a failure */
	tmp_path(path, "fifo.npy");
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(5);
	assert_int_equal(data_npy_read_logits(path, 6, 10, &l, err, sizeof err),
			 CORE_ERR_INVALID);
	alarm(0);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(unlink(path), 0);
	tmp_path(path, "huge.npy");
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)DATA_NPY_MAX_BYTES + 1), 0);
	close(fd);
	assert_int_equal(data_npy_read_logits(path, 6, 10, &l, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "more than the limit"));
	assert_int_equal(data_npy_read_logits(path, 0, 10, &l, err, sizeof err),
			 CORE_ERR_INVALID);
}

static void header_parser_direct(void **state)
{
	static const uint8_t v1[] =
	    "\x93NUMPY\x01\x00\x37\x00"
	    "{'descr':'<f2','fortran_order':False,'shape':(3,4)}   \n";
	struct data_npy_header h;
	char err[CORE_ERR_LEN];

	assert_int_equal(sizeof v1 - 1, 10 + 0x37);
	assert_int_equal(
	    data_npy_header_parse(v1, sizeof v1 - 1, &h, err, sizeof err),
	    CORE_OK);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.dtype, DATA_NPY_F2);
	assert_int_equal(h.ndim, 2);
	assert_int_equal(h.shape[0], 3);
	assert_int_equal(h.shape[1], 4);
	assert_int_equal(h.data_offset, 10 + 0x37);
	/* every truncation of a valid header fails cleanly */
	for (size_t n = 0; n < sizeof v1 - 1; n++)
		assert_int_equal(
		    data_npy_header_parse(v1, n, &h, err, sizeof err),
		    CORE_ERR_INVALID);
}

static void read_survives_allocation_failure(void **state)
{
	char path[PATH_MAX], err[CORE_ERR_LEN];
	uint16_t half[60];
	struct data_logits l;
	enum core_status st = CORE_ERR_NOMEM;
	int n;

	for (int i = 0; i < 60; i++)
		half[i] = to_half_exact(value(i / 10, i % 10));
	write_npy(
	    "m.npy", 1,
	    "{'descr': '<f2', 'fortran_order': False, 'shape': (6, 10), }", -1,
	    half, sizeof half);
	tmp_path(path, "m.npy");
	for (n = 0; n < 10 && st != CORE_OK; n++) {
		core_alloc_fail_after(n);
		st = data_npy_read_logits(path, 6, 10, &l, err, sizeof err);
		core_alloc_fail_after(-1);
		if (st) {
			assert_int_equal(st, CORE_ERR_NOMEM);
			assert_null(l.v);
		}
	}
	assert_int_equal(st, CORE_OK);
	assert_int_equal(n, 4); /* header buffer, values, f16 chunk: 3 fail */
	check_values(&l, 6, 10);
	data_logits_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reads_numpy_files),
	    cmocka_unit_test_setup_teardown(
		reads_own_f4_f2_and_checks_the_data_set, setup, teardown),
	    cmocka_unit_test(half_conversion_is_exact),
	    cmocka_unit_test_setup_teardown(every_error_class, setup, teardown),
	    cmocka_unit_test_setup_teardown(preamble_files_and_values, setup,
					    teardown),
	    cmocka_unit_test(header_parser_direct),
	    cmocka_unit_test_setup_teardown(read_survives_allocation_failure,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
