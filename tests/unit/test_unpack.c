/* SPDX-License-Identifier: Apache-2.0 */
/* test_unpack.c - unpack: archives built here with libarchive's write API
 * (zip, tar.gz, ustar): a good one extracts; path traversal, absolute
 * paths, symlinks, hard links, devices, too many entries, a zip bomb and a
 * non-UTF-8 name are refused with the entry named and nothing left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unpack/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum fmt { FMT_ZIP, FMT_TGZ, FMT_USTAR };

struct ent {
	const char *name;
	mode_t type;	    /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR */
	const char *text;   /* file content, or NULL */
	size_t zeros;	    /* else this many zero bytes */
	const char *target; /* symlink target */
	const char *hardlink;
};

static char tmp[256];

static int setup(void **state)
{
	snprintf(tmp, sizeof tmp, "/tmp/test_unpack.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	return 0;
}

static int teardown(void **state)
{
	char err[CORE_ERR_LEN];
	assert_int_equal(unpack_tree_remove(tmp, err, sizeof err), CORE_OK);
	return 0;
}

/* Writes the entries as an archive of format f at tmp/name. */
static void build(const char *name, enum fmt f, const struct ent *es, size_t n,
		  char *path, size_t pathlen)
{
	struct archive *a = archive_write_new();
	static char zeros[1 << 16];

	snprintf(path, pathlen, "%s/%s", tmp, name);
	if (f == FMT_ZIP)
		assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
	else if (f == FMT_TGZ) {
		assert_int_equal(archive_write_set_format_pax_restricted(a),
				 ARCHIVE_OK);
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	} else
		assert_int_equal(archive_write_set_format_ustar(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t size = es[i].text ? strlen(es[i].text) : es[i].zeros;

		archive_entry_set_pathname(e, es[i].name);
		archive_entry_set_filetype(e, es[i].type);
		archive_entry_set_perm(e, es[i].type == AE_IFDIR ? 0755 : 0644);
		if (es[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, es[i].target);
		if (es[i].hardlink)
			archive_entry_set_hardlink(e, es[i].hardlink);
		if (es[i].type == AE_IFCHR)
			archive_entry_set_rdev(e, 0x0103);
		archive_entry_set_size(e,
				       es[i].type == AE_IFREG && !es[i].hardlink
					   ? (la_int64_t)size
					   : 0);
		assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
		if (es[i].type == AE_IFREG && !es[i].hardlink) {
			if (es[i].text)
				assert_int_equal(
				    archive_write_data(a, es[i].text, size),
				    (la_ssize_t)size);
			for (size_t left = es[i].text ? 0 : size; left;) {
				size_t k =
				    left < sizeof zeros ? left : sizeof zeros;
				assert_int_equal(
				    archive_write_data(a, zeros, k),
				    (la_ssize_t)k);
				left -= k;
			}
		}
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static const struct unpack_limits lim = {.max_entries = 100,
					 .max_bytes = 1 << 20};

/* Extracts tmp/name into tmp/out; expects rc and (when given) a substring
 * of the error. On failure tmp/out must be gone. */
static void extract_expect(const char *archive, enum core_status want,
			   const char *errpart, const struct unpack_limits *l,
			   struct unpack_stats *st)
{
	char out[300], err[CORE_ERR_LEN] = "";
	struct stat sb;

	snprintf(out, sizeof out, "%s/out", tmp);
	assert_int_equal(unpack_tree_remove(out, err, sizeof err), CORE_OK);
	enum core_status rc = unpack_archive_extract(archive, out, l ? l : &lim,
						     st, err, sizeof err);
	if (rc != want || (errpart && !strstr(err, errpart)))
		fail_msg("%s: rc %d (want %d), err '%s' (want '%s')", archive,
			 rc, want, err, errpart ? errpart : "");
	if (rc)
		assert_int_not_equal(lstat(out, &sb), 0); /* removed */
}

static void read_back(const char *rel, const char *want)
{
	char path[400], got[64] = "";
	FILE *f;

	snprintf(path, sizeof path, "%s/out/%s", tmp, rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(got, 1, sizeof got - 1, f);
	fclose(f);
	got[n] = '\0';
	assert_string_equal(got, want);
}

static void good_zip_and_tgz_extract(void **state)
{
	const struct ent es[] = {
	    {.name = "train/", .type = AE_IFDIR},
	    {.name = "train/cat/a.png", .type = AE_IFREG, .text = "meow"},
	    {.name = "train/dog/b.png", .type = AE_IFREG, .text = "woof"},
	    {.name = "./val/cat/c.png", .type = AE_IFREG, .text = "purr"},
	    {.name = "caf\xc3\xa9/d.png", .type = AE_IFREG, .text = "utf8"},
	};
	const enum fmt fmts[] = {FMT_ZIP, FMT_TGZ, FMT_USTAR};
	char path[300];

	for (size_t i = 0; i < 3; i++) {
		struct unpack_stats st;
		build(i == 0   ? "good.zip"
		      : i == 1 ? "good.tgz"
			       : "good.tar",
		      fmts[i], es, 5, path, sizeof path);
		extract_expect(path, CORE_OK, NULL, NULL, &st);
		assert_int_equal(st.entries, 5);
		assert_int_equal(st.files, 4);
		assert_int_equal(st.bytes, 16);
		read_back("train/cat/a.png", "meow");
		read_back("train/dog/b.png", "woof");
		read_back("val/cat/c.png", "purr");
		read_back("caf\xc3\xa9/d.png", "utf8");
	}
}

static void traversal_and_absolute_refused(void **state)
{
	const char *bad[] = {"../evil.png", "a/../../evil.png", "/etc/evil",
			     "a\\..\\evil.png", "a/.."};
	char path[300], outside[300];
	struct stat sb;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const struct ent es[] = {
		    {.name = "ok.png", .type = AE_IFREG, .text = "x"},
		    {.name = bad[i], .type = AE_IFREG, .text = "pwned"},
		};
		build(i % 2 ? "t.tgz" : "t.zip", i % 2 ? FMT_TGZ : FMT_ZIP, es,
		      2, path, sizeof path);
		extract_expect(path, CORE_ERR_INVALID, bad[i], NULL, NULL);
	}
	snprintf(outside, sizeof outside, "%s/evil.png", tmp);
	assert_int_not_equal(lstat(outside, &sb), 0);
}

static void links_and_devices_refused(void **state)
{
	const struct ent sym[] = {
	    {.name = "link", .type = AE_IFLNK, .target = "/etc"},
	    {.name = "link/passwd", .type = AE_IFREG, .text = "x"},
	};
	const struct ent hard[] = {
	    {.name = "a.png", .type = AE_IFREG, .text = "x"},
	    {.name = "b.png", .type = AE_IFREG, .hardlink = "/etc/passwd"},
	};
	const struct ent dev[] = {
	    {.name = "tty", .type = AE_IFCHR},
	};
	char path[300];

	build("sym.zip", FMT_ZIP, sym, 2, path, sizeof path);
	extract_expect(path, CORE_ERR_INVALID, "entry 'link': symbolic link",
		       NULL, NULL);
	build("sym.tgz", FMT_TGZ, sym, 2, path, sizeof path);
	extract_expect(path, CORE_ERR_INVALID, "entry 'link': symbolic link",
		       NULL, NULL);
	build("hard.tgz", FMT_TGZ, hard, 2, path, sizeof path);
	extract_expect(path, CORE_ERR_INVALID, "entry 'b.png': hard link", NULL,
		       NULL);
	build("dev.tar", FMT_USTAR, dev, 1, path, sizeof path);
	extract_expect(path, CORE_ERR_INVALID, "entry 'tty': character device",
		       NULL, NULL);
}

static void zip_bomb_stops_at_the_cap(void **state)
{
	/* 64 MiB of zeros compress to about 64 KiB: with a 1 MiB cap the
	 * extraction stops before the chunk that would pass the cap is
	 * written, so at most the cap and at least the cap minus a chunk */
	const struct ent es[] = {
	    {.name = "bomb.png", .type = AE_IFREG, .zeros = 64u << 20},
	};
	const struct ent many_small[] = {
	    {.name = "a", .type = AE_IFREG, .zeros = 600u << 10},
	    {.name = "b", .type = AE_IFREG, .zeros = 600u << 10},
	};
	struct unpack_stats st;
	char path[300];
	struct stat sb;

	build("bomb.zip", FMT_ZIP, es, 1, path, sizeof path);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size < (1 << 20)); /* it is a bomb */
	extract_expect(path, CORE_ERR_NOMEM, "expands past 1048576", NULL, &st);
	assert_true(st.bytes <= lim.max_bytes);
	assert_true(st.bytes + (1 << 16) > lim.max_bytes);
	/* the running total, not each entry alone */
	build("two.tgz", FMT_TGZ, many_small, 2, path, sizeof path);
	extract_expect(path, CORE_ERR_NOMEM, "entry 'b'", NULL, &st);
	assert_int_equal(st.files, 1);
	assert_true(st.bytes <= lim.max_bytes);
	assert_true(st.bytes + (1 << 16) > lim.max_bytes);
}

static void zip_bomb_with_a_lying_size_stops_streaming(void **state)
{
	/* a streamed zip entry (no size in its local header: libarchive's
	 * writer leaves it unset when the entry size is unknown) can only be
	 * caught by the running count */
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	static char zeros[1 << 16];
	char path[300];
	struct unpack_stats st;

	snprintf(path, sizeof path, "%s/stream.zip", tmp);
	archive_write_set_format_zip(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	archive_entry_set_pathname(e, "bomb.png");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_unset_size(e);
	assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
	for (int i = 0; i < 256; i++) /* 16 MiB */
		assert_int_equal(archive_write_data(a, zeros, sizeof zeros),
				 (la_ssize_t)sizeof zeros);
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	extract_expect(path, CORE_ERR_NOMEM, "expands past", NULL, &st);
	assert_true(st.bytes <= lim.max_bytes);
	assert_true(st.bytes + (1 << 16) > lim.max_bytes); /* streamed to it */
}

static void too_many_entries_refused(void **state)
{
	struct ent es[12];
	char names[12][24], path[300];
	const struct unpack_limits ten = {.max_entries = 10,
					  .max_bytes = 1 << 20};
	struct unpack_stats st;

	for (int i = 0; i < 12; i++) {
		snprintf(names[i], sizeof names[i], "f%02d.png", i);
		es[i] = (struct ent){
		    .name = names[i], .type = AE_IFREG, .text = "x"};
	}
	build("many.zip", FMT_ZIP, es, 10, path, sizeof path);
	extract_expect(path, CORE_OK, NULL, &ten, &st);
	assert_int_equal(st.files, 10);
	build("many.zip2", FMT_ZIP, es, 11, path, sizeof path);
	extract_expect(path, CORE_ERR_NOMEM, "more than 10 entries", &ten, &st);
	assert_int_equal(st.entries, 10);
}

static void bad_names_and_duplicates_refused(void **state)
{
	const struct ent latin1[] = {
	    {.name = "caf\xe9.png", .type = AE_IFREG, .text = "x"},
	};
	const struct ent dup[] = {
	    {.name = "a.png", .type = AE_IFREG, .text = "first"},
	    {.name = "a.png", .type = AE_IFREG, .text = "second"},
	};
	const struct ent file_then_dir[] = {
	    {.name = "a", .type = AE_IFREG, .text = "x"},
	    {.name = "a/b.png", .type = AE_IFREG, .text = "y"},
	};
	char path[300], err[CORE_ERR_LEN];

	build("latin1.tar", FMT_USTAR, latin1, 1, path, sizeof path);
	extract_expect(path, CORE_ERR_INVALID, "not valid UTF-8", NULL, NULL);
	build("dup.tar", FMT_USTAR, dup, 2, path, sizeof path);
	extract_expect(path, CORE_ERR_INVALID, "entry 'a.png': duplicate", NULL,
		       NULL);
	build("fd.tar", FMT_USTAR, file_then_dir, 2, path, sizeof path);
	extract_expect(path, CORE_ERR_INVALID, "entry 'a/b.png'", NULL, NULL);
	snprintf(path, sizeof path, "%s/notanarchive", tmp);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("hello, not an archive\n", f);
	fclose(f);
	extract_expect(path, CORE_ERR_INVALID, "not a zip, tar", NULL, NULL);
	assert_int_equal(unpack_name_check("a/./b", err, sizeof err), CORE_OK);
	assert_int_equal(unpack_name_check("./", err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(unpack_name_check("a\nb", err, sizeof err),
			 CORE_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(good_zip_and_tgz_extract, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(traversal_and_absolute_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(links_and_devices_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(zip_bomb_stops_at_the_cap, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		zip_bomb_with_a_lying_size_stops_streaming, setup, teardown),
	    cmocka_unit_test_setup_teardown(too_many_entries_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(bad_names_and_duplicates_refused,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
