/* SPDX-License-Identifier: Apache-2.0 */
/* test_data_cifar.c - data: CIFAR-10/100 binary readers (HWC conversion, file
 * order, every validation error, name files, allocation failure) on tiny
 * files made here, plus the real CIFAR-100 files when ../shared has them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "data/data.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PLANE (DATA_IMAGE_SIZE * DATA_IMAGE_SIZE)

/* pixel byte of record r (global index), channel c, position p */
static uint8_t pix(int r, int c, int p)
{
	return (uint8_t)(r * 7 + c * 91 + p * 3 + (p >> 5));
}

static char tmpdir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	strcpy(tmpdir, "/tmp/lmnas-cifar-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void path_in(char *out, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", tmpdir, name);
}

/* Writes n records with label bytes from labels(i) (lb bytes each, given by
 * the callback) and pixels pix(first + i, ...). */
static void write_records(const char *name, int n, int first, int lb,
			  void (*label)(int i, uint8_t *out))
{
	char path[PATH_MAX];
	FILE *f;
	uint8_t rec[2 + 3 * PLANE];

	path_in(path, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	for (int i = 0; i < n; i++) {
		label(first + i, rec);
		for (int c = 0; c < 3; c++)
			for (int p = 0; p < PLANE; p++)
				rec[lb + c * PLANE + p] = pix(first + i, c, p);
		assert_int_equal(fwrite(rec, (size_t)lb + 3 * PLANE, 1, f), 1);
	}
	fclose(f);
}

static void write_text(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	path_in(path, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void label100(int i, uint8_t *out)
{
	out[0] = (uint8_t)(i % 20);
	out[1] = (uint8_t)((i * 13) % 100);
}

static void label10(int i, uint8_t *out)
{
	out[0] = (uint8_t)((i * 3) % 10);
}

static int bad_at; /* record whose label is made bad */
static void label100_bad_fine(int i, uint8_t *out)
{
	label100(i, out);
	if (i == bad_at)
		out[1] = 117;
}

static void label100_bad_coarse(int i, uint8_t *out)
{
	label100(i, out);
	if (i == bad_at)
		out[0] = 20;
}

static void label10_bad(int i, uint8_t *out)
{
	label10(i, out);
	if (i == bad_at)
		out[0] = 10;
}

static void write_names(const char *name, int n, const char *prefix,
			const char *trailer)
{
	char buf[8192];
	size_t len = 0;

	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%d\n",
					prefix, i);
	snprintf(buf + len, sizeof buf - len, "%s", trailer);
	write_text(name, buf);
}

static void check_pixels(const struct data_set *ds, int r, int global)
{
	const uint8_t *img = ds->pixels + (size_t)r * DATA_IMAGE_BYTES;

	for (int y = 0; y < 32; y++)
		for (int x = 0; x < 32; x++)
			for (int c = 0; c < 3; c++)
				if (img[(y * 32 + x) * 3 + c] !=
				    pix(global, c, y * 32 + x))
					fail_msg("record %d pixel (%d,%d,%d): "
						 "%d != %d",
						 r, y, x, c,
						 img[(y * 32 + x) * 3 + c],
						 pix(global, c, y * 32 + x));
}

static void cifar100_reads_hwc_labels_and_names(void **state)
{
	struct data_set ds;
	char err[CORE_ERR_LEN];

	/* 300 records: more than one 256-record read chunk */
	write_records("train.bin", 300, 0, 2, label100);
	write_records("test.bin", 5, 1000, 2, label100);
	write_names("fine_label_names.txt", 100, "fine", "");
	write_names("coarse_label_names.txt", 20, "coarse", "\n\n");
	assert_int_equal(data_cifar_load(tmpdir, DATA_KIND_CIFAR100,
					 DATA_SPLIT_TRAIN, &ds, err,
					 sizeof err),
			 CORE_OK);
	assert_int_equal(ds.n, 300);
	assert_int_equal(ds.classes, 100);
	assert_int_equal(ds.kind, DATA_KIND_CIFAR100);
	assert_int_equal(ds.split, DATA_SPLIT_TRAIN);
	for (int r = 0; r < 300; r++) {
		uint8_t lab[2];
		label100(r, lab);
		assert_int_equal(ds.coarse[r], lab[0]);
		assert_int_equal(ds.labels[r], lab[1]);
		check_pixels(&ds, r, r);
	}
	assert_string_equal(data_set_label_name(&ds, 0), "fine0");
	assert_string_equal(data_set_label_name(&ds, 99), "fine99");
	assert_null(data_set_label_name(&ds, 100));
	assert_string_equal(ds.coarse_names + 19 * DATA_LABEL_NAME_MAX,
			    "coarse19");
	data_set_free(&ds);
	assert_null(ds.pixels);

	assert_int_equal(data_cifar_load(tmpdir, DATA_KIND_CIFAR100,
					 DATA_SPLIT_TEST, &ds, err, sizeof err),
			 CORE_OK);
	assert_int_equal(ds.n, 5);
	for (int r = 0; r < 5; r++)
		check_pixels(&ds, r, 1000 + r);
	data_set_free(&ds);
}

static void cifar10_concatenates_batches_in_order(void **state)
{
	struct data_set ds;
	char err[CORE_ERR_LEN], name[PATH_MAX];
	int first = 0;

	for (int i = 1; i <= 5; i++) {
		snprintf(name, sizeof name, "data_batch_%d.bin", i);
		write_records(name, i + 2, first, 1, label10);
		first += i + 2;
	}
	write_records("test_batch.bin", 2, 500, 1, label10);
	/* names are optional: absent first */
	assert_int_equal(data_cifar_load(tmpdir, DATA_KIND_CIFAR10,
					 DATA_SPLIT_TRAIN, &ds, err,
					 sizeof err),
			 CORE_OK);
	assert_int_equal(ds.n, 3 + 4 + 5 + 6 + 7);
	assert_int_equal(ds.classes, 10);
	assert_null(ds.coarse);
	assert_null(ds.label_names);
	for (int r = 0; r < ds.n; r++) {
		uint8_t lab[1];
		label10(r, lab);
		assert_int_equal(ds.labels[r], lab[0]);
		check_pixels(&ds, r, r);
	}
	data_set_free(&ds);

	/* the real batches.meta.txt ends with blank lines */
	write_text("batches.meta.txt", "airplane\nautomobile\nbird\ncat\ndeer"
				       "\ndog\nfrog\nhorse\nship\ntruck\n\n\n");
	assert_int_equal(data_cifar_load(tmpdir, DATA_KIND_CIFAR10,
					 DATA_SPLIT_TEST, &ds, err, sizeof err),
			 CORE_OK);
	assert_int_equal(ds.n, 2);
	check_pixels(&ds, 1, 501);
	assert_string_equal(data_set_label_name(&ds, 9), "truck");
	data_set_free(&ds);

	/* a missing batch file is NOT_FOUND and names the file */
	snprintf(name, sizeof name, "%s/data_batch_4.bin", tmpdir);
	assert_int_equal(unlink(name), 0);
	assert_int_equal(data_cifar_load(tmpdir, DATA_KIND_CIFAR10,
					 DATA_SPLIT_TRAIN, &ds, err,
					 sizeof err),
			 CORE_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "data_batch_4.bin"));
	assert_null(ds.pixels);
}

static void expect_invalid(enum data_kind kind, enum data_split split,
			   const char *needle)
{
	struct data_set ds;
	char err[CORE_ERR_LEN];

	assert_int_equal(
	    data_cifar_load(tmpdir, kind, split, &ds, err, sizeof err),
	    CORE_ERR_INVALID);
	if (!strstr(err, needle))
		fail_msg("error '%s' lacks '%s'", err, needle);
	assert_null(ds.pixels);
	assert_null(ds.labels);
	assert_int_equal(ds.n, 0);
}

static void bad_labels_name_file_and_record(void **state)
{
	char name[32];

	bad_at = 1234;
	write_records("train.bin", 1300, 0, 2, label100_bad_fine);
	expect_invalid(DATA_KIND_CIFAR100, DATA_SPLIT_TRAIN,
		       "/train.bin: record 1234: fine label 117 is outside "
		       "0..99");
	bad_at = 3;
	write_records("test.bin", 6, 0, 2, label100_bad_coarse);
	expect_invalid(DATA_KIND_CIFAR100, DATA_SPLIT_TEST,
		       "/test.bin: record 3: coarse label 20 is outside "
		       "0..19");
	/* CIFAR-10: the record index counts within its own file */
	for (int i = 1; i <= 5; i++) {
		snprintf(name, sizeof name, "data_batch_%d.bin", i);
		bad_at = i == 3 ? 2 * 4 + 2 : -1;
		write_records(name, 4, (i - 1) * 4, 1, label10_bad);
	}
	expect_invalid(DATA_KIND_CIFAR10, DATA_SPLIT_TRAIN,
		       "/data_batch_3.bin: record 2: label 10 is outside 0..9");
}

static void bad_sizes(void **state)
{
	char path[PATH_MAX];
	int fd;

	/* truncated: one byte short of 3 records */
	write_records("train.bin", 3, 0, 2, label100);
	path_in(path, "train.bin");
	assert_int_equal(truncate(path, 3 * 3074 - 1), 0);
	expect_invalid(DATA_KIND_CIFAR100, DATA_SPLIT_TRAIN,
		       "is not a whole number of 3074-byte records");
	/* empty */
	write_text("train.bin", "");
	expect_invalid(DATA_KIND_CIFAR100, DATA_SPLIT_TRAIN, "empty file");
	/* wrong data set: 5 CIFAR-10 records (3073 bytes) as CIFAR-100 */
	write_records("train.bin", 5, 0, 1, label10);
	expect_invalid(DATA_KIND_CIFAR100, DATA_SPLIT_TRAIN,
		       "15365 bytes is not a whole number");
	/* larger than the bound: a sparse file, refused before reading */
	path_in(path, "test.bin");
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)DATA_CIFAR_MAX_FILE_BYTES + 3074),
			 0);
	close(fd);
	expect_invalid(DATA_KIND_CIFAR100, DATA_SPLIT_TEST,
		       "more than the limit of 268435456");
	/* a directory where a file belongs */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	{
		struct data_set ds;
		char err[CORE_ERR_LEN];
		assert_int_equal(data_cifar_load(tmpdir, DATA_KIND_CIFAR100,
						 DATA_SPLIT_TEST, &ds, err,
						 sizeof err),
				 CORE_ERR_INVALID);
		assert_non_null(strstr(err, "not a regular file"));
	}
	assert_int_equal(rmdir(path), 0);
	/* a named pipe fails at once (it blocked in open() before); the
	 * alarm turns a hang into a failure */
	assert_int_equal(mkfifo(path, 0600), 0);
	{
		struct data_set ds;
		char err[CORE_ERR_LEN];
		alarm(5);
		assert_int_equal(data_cifar_load(tmpdir, DATA_KIND_CIFAR100,
						 DATA_SPLIT_TEST, &ds, err,
						 sizeof err),
				 CORE_ERR_INVALID);
		alarm(0);
		assert_non_null(strstr(err, "not a regular file"));
	}
	assert_int_equal(unlink(path), 0);
}

static void bad_name_files(void **state)
{
	char *names = NULL;
	char err[CORE_ERR_LEN], path[PATH_MAX];
	char longname[200];

	write_records("train.bin", 2, 0, 2, label100);
	write_names("fine_label_names.txt", 99, "n", "");
	expect_invalid(DATA_KIND_CIFAR100, DATA_SPLIT_TRAIN,
		       "fine_label_names.txt: 99 names, expected 100");
	write_names("fine_label_names.txt", 101, "n", "");
	expect_invalid(DATA_KIND_CIFAR100, DATA_SPLIT_TRAIN,
		       "fine_label_names.txt: line 101");
	write_names("fine_label_names.txt", 100, "n", "");
	write_text("coarse_label_names.txt", "a\n\nb\n");
	expect_invalid(DATA_KIND_CIFAR100, DATA_SPLIT_TRAIN,
		       "coarse_label_names.txt: line 3");

	memset(longname, 'x', sizeof longname - 2);
	longname[sizeof longname - 2] = '\n';
	longname[sizeof longname - 1] = '\0';
	write_text("names.txt", longname);
	path_in(path, "names.txt");
	assert_int_equal(
	    data_label_names_load(path, 1, &names, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(err, "longer than 63"));
	assert_null(names);
	/* CRLF line ends are accepted */
	write_text("names.txt", "cat\r\ndog\r\n");
	assert_int_equal(
	    data_label_names_load(path, 2, &names, err, sizeof err), CORE_OK);
	assert_string_equal(names + DATA_LABEL_NAME_MAX, "dog");
	core_free(names);
	path_in(path, "absent.txt");
	assert_int_equal(
	    data_label_names_load(path, 2, &names, err, sizeof err),
	    CORE_ERR_NOT_FOUND);
}

static void allocation_failures_leave_nothing(void **state)
{
	struct data_set ds;
	char err[CORE_ERR_LEN];
	enum core_status st = CORE_ERR_NOMEM;
	int n;

	write_records("train.bin", 4, 0, 2, label100);
	write_names("fine_label_names.txt", 100, "f", "");
	write_names("coarse_label_names.txt", 20, "c", "");
	for (n = 0; n < 50 && st != CORE_OK; n++) {
		core_alloc_fail_after(n);
		st = data_cifar_load(tmpdir, DATA_KIND_CIFAR100,
				     DATA_SPLIT_TRAIN, &ds, err, sizeof err);
		core_alloc_fail_after(-1);
		if (st != CORE_OK) {
			assert_int_equal(st, CORE_ERR_NOMEM);
			assert_null(ds.pixels);
		}
	}
	assert_int_equal(st, CORE_OK);
	assert_true(n > 5); /* pixels, labels, coarse, chunk, 2 x names */
	assert_string_equal(ds.coarse_names, "c0");
	data_set_free(&ds);
}

static void kinds_splits_and_alloc(void **state)
{
	enum data_kind k;
	enum data_split s;
	struct data_set ds;
	char err[CORE_ERR_LEN];

	assert_int_equal(data_kind_parse("cifar10", &k), CORE_OK);
	assert_int_equal(k, DATA_KIND_CIFAR10);
	assert_int_equal(data_kind_parse("cifar100", &k), CORE_OK);
	assert_int_equal(k, DATA_KIND_CIFAR100);
	assert_int_equal(data_kind_parse("mnist", &k), CORE_ERR_INVALID);
	assert_int_equal(data_split_parse("test", &s), CORE_OK);
	assert_int_equal(s, DATA_SPLIT_TEST);
	assert_int_equal(data_split_parse("val", &s), CORE_OK); /* caches */
	assert_int_equal(s, DATA_SPLIT_VAL);
	assert_int_equal(data_split_parse("dev", &s), CORE_ERR_INVALID);
	assert_string_equal(data_kind_name(DATA_KIND_CIFAR100), "cifar100");
	assert_string_equal(data_split_name(DATA_SPLIT_TRAIN), "train");
	assert_int_equal(data_kind_classes(DATA_KIND_CIFAR10), 10);
	assert_int_equal(data_set_alloc(&ds, DATA_KIND_CIFAR10,
					DATA_SPLIT_TRAIN, 0, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(data_set_alloc(&ds, (enum data_kind)7,
					DATA_SPLIT_TRAIN, 3, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(data_set_alloc(&ds, DATA_KIND_CIFAR100,
					DATA_SPLIT_TRAIN, 3, err, sizeof err),
			 CORE_OK);
	assert_non_null(ds.coarse);
	assert_int_equal(ds.pixels[3 * DATA_IMAGE_BYTES - 1], 0);
	data_set_free(&ds);
	data_set_free(NULL);
}

/* ---- the real data set ----------------------------------------------- */

static int real_dir(char *out, size_t n)
{
	const char *env = getenv("LMNAS_CIFAR100_DIR");
	const char *root = getenv("LMNAS_ROOT");
	char probe[PATH_MAX + 16];

	if (env)
		snprintf(out, n, "%s", env);
	else
		snprintf(out, n, "%s/../shared/data/cifar-100-binary",
			 root ? root : ".");
	snprintf(probe, sizeof probe, "%s/train.bin", out);
	return access(probe, R_OK) == 0;
}

static void real_cifar100_counts_and_mean(void **state)
{
	char dir[PATH_MAX], err[CORE_ERR_LEN];
	struct data_set ds;
	double sum[3] = {0};
	const double want[3] = {0.50708, 0.48655, 0.44092};
	int hist[100] = {0};

	if (!real_dir(dir, sizeof dir)) {
		print_message("skip: no CIFAR-100 at %s (set "
			      "LMNAS_CIFAR100_DIR)\n",
			      dir);
		skip();
	}
	assert_int_equal(data_cifar_load(dir, DATA_KIND_CIFAR100,
					 DATA_SPLIT_TRAIN, &ds, err,
					 sizeof err),
			 CORE_OK);
	assert_int_equal(ds.n, 50000);
	for (size_t i = 0; i < (size_t)ds.n * 1024; i++)
		for (int c = 0; c < 3; c++)
			sum[c] += ds.pixels[i * 3 + c];
	for (int c = 0; c < 3; c++) {
		double mean = sum[c] / (50000.0 * 1024 * 255);
		print_message("train channel %d mean %.5f (published %.5f)\n",
			      c, mean, want[c]);
		assert_true(mean > want[c] - 1e-4 && mean < want[c] + 1e-4);
	}
	for (int i = 0; i < ds.n; i++)
		hist[ds.labels[i]]++;
	for (int c = 0; c < 100; c++)
		assert_int_equal(hist[c], 500);
	assert_string_equal(data_set_label_name(&ds, 0), "apple");
	assert_non_null(ds.coarse_names);
	data_set_free(&ds);

	assert_int_equal(data_cifar_load(dir, DATA_KIND_CIFAR100,
					 DATA_SPLIT_TEST, &ds, err, sizeof err),
			 CORE_OK);
	assert_int_equal(ds.n, 10000);
	/* shared/README.md: test.bin is grouped by fine label */
	for (int i = 1; i < ds.n; i++)
		assert_true(ds.labels[i] >= ds.labels[i - 1]);
	data_set_free(&ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(cifar100_reads_hwc_labels_and_names,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		cifar10_concatenates_batches_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_labels_name_file_and_record,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_sizes, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_name_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(allocation_failures_leave_nothing,
					    setup, teardown),
	    cmocka_unit_test(kinds_splits_and_alloc),
	    cmocka_unit_test(real_cifar100_counts_and_mean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
