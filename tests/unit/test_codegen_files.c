/* SPDX-License-Identifier: Apache-2.0 */
/* test_codegen_files.c - the kernel and target files embedded in the binary
 * (scripts/embed_files.sh) are byte-identical to the sources, and every
 * file a generated project needs is there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "codegen/codegen.h"
#include "core/core.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *root(void)
{
	const char *r = getenv("LMNAS_ROOT");
	return r && *r ? r : ".";
}

static const struct codegen_file *find(const struct codegen_file *t,
				       const char *path)
{
	for (; t->path; t++)
		if (strcmp(t->path, path) == 0)
			return t;
	return NULL;
}

/* Files in service/codegen/<dir> (not counting dot files). */
static size_t files_in(const char *dir)
{
	char path[1024];
	size_t n = 0;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof path, "%s/service/codegen/%s", root(), dir);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Every entry equals the file on disk; the table holds every file of the
 * NULL-terminated dirs. */
static void check_table(const struct codegen_file *t, size_t count,
			const char *const *dirs)
{
	char path[1024], err[CORE_ERR_LEN];
	size_t n = 0, on_disk = 0;

	for (const struct codegen_file *f = t; f->path; f++, n++) {
		char *data = NULL;
		size_t len = 0;

		snprintf(path, sizeof path, "%s/service/codegen/%s", root(),
			 f->path);
		assert_int_equal(
		    core_file_read(path, 1 << 20, &data, &len, err, sizeof err),
		    CORE_OK);
		assert_int_equal(f->len, len);
		assert_int_equal(strlen(f->text), len);
		assert_memory_equal(f->text, data, len);
		core_free(data);
	}
	assert_int_equal(n, count);
	for (const char *const *d = dirs; *d; d++)
		on_disk += files_in(*d);
	assert_int_equal(on_disk, count);
}

static void kernel_files_match_sources(void **state)
{
	static const char *const needed[] = {"kernels/kernels.h",
					     "kernels/requant.h",
					     "kernels/dsp.h",
					     "kernels/conv2d_s8.c",
					     "kernels/depthwise_conv2d_s8.c",
					     "kernels/pointwise_conv2d_s8.c",
					     "kernels/fully_connected_s8.c",
					     "kernels/mat_mult_s8_s16.c",
					     "kernels/add_s8.c",
					     "kernels/avgpool_s8.c",
					     "kernels/mul_channel_s8.c",
					     "kernels/lut_s8.c"};

	static const char *const dirs[] = {"kernels", NULL};

	check_table(codegen_kernel_files, codegen_kernel_files_count, dirs);
	for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
		assert_non_null(find(codegen_kernel_files, needed[i]));
	/* the kernels include nothing beyond string.h, stdint.h and their
	 * own headers (arm_acle.h on DSP builds) */
	for (const struct codegen_file *f = codegen_kernel_files; f->path;
	     f++) {
		const char *p = f->text;
		while ((p = strstr(p, "#include")) != NULL) {
			char inc[64] = "";
			sscanf(p, "#include %63s", inc);
			if (strcmp(inc, "<stdint.h>") &&
			    strcmp(inc, "<string.h>") &&
			    strcmp(inc, "<arm_acle.h>") && inc[0] != '"')
				fail_msg("%s includes %s", f->path, inc);
			p += 8;
		}
	}
}

static void target_files_match_sources(void **state)
{
	static const char *const dirs[] = {"targets/qemu", "targets/stm32h743",
					   NULL};
	static const char *const stm32[] = {
	    "targets/stm32h743/startup.c", "targets/stm32h743/system.c",
	    "targets/stm32h743/stm32h743.h", "targets/stm32h743/stm32h743.ld"};

	check_table(codegen_target_files, codegen_target_files_count, dirs);
	for (size_t i = 0; i < sizeof stm32 / sizeof stm32[0]; i++)
		assert_non_null(find(codegen_target_files, stm32[i]));
	assert_non_null(find(codegen_target_files, "targets/qemu/startup.c"));
	assert_non_null(
	    find(codegen_target_files, "targets/qemu/mps2_an500.ld"));
	assert_non_null(find(codegen_target_files, "targets/qemu/semihost.c"));
	assert_non_null(find(codegen_target_files, "targets/qemu/semihost.h"));
}

/* The project templates: every file embedded, and the ones the generator
 * looks up by name are there. */
static void template_files_match_sources(void **state)
{
	static const char *const dirs[] = {"templates", NULL};
	static const char *const needed[] = {
	    "templates/model.h",      "templates/model.c",
	    "templates/main.c",	      "templates/board.h",
	    "templates/console.c",    "templates/console.h",
	    "templates/board_qemu.c", "templates/board_stm32h743.c",
	    "templates/Makefile",     "templates/README.md"};

	check_table(codegen_template_files, codegen_template_files_count, dirs);
	for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
		assert_non_null(find(codegen_template_files, needed[i]));
}

/* The licence every project carries is the repository's LICENSE. */
static void licence_matches_repository(void **state)
{
	char path[1024], err[CORE_ERR_LEN];
	char *data = NULL;
	size_t len = 0;

	assert_int_equal(codegen_licence_files_count, 1);
	assert_string_equal(codegen_licence_files[0].path, "LICENSE");
	snprintf(path, sizeof path, "%s/LICENSE", root());
	assert_int_equal(
	    core_file_read(path, 1 << 20, &data, &len, err, sizeof err),
	    CORE_OK);
	assert_int_equal(codegen_licence_files[0].len, len);
	assert_memory_equal(codegen_licence_files[0].text, data, len);
	assert_non_null(strstr(data, "Apache License"));
	core_free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(kernel_files_match_sources),
	    cmocka_unit_test(target_files_match_sources),
	    cmocka_unit_test(template_files_match_sources),
	    cmocka_unit_test(licence_matches_repository),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
