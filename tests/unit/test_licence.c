/* SPDX-License-Identifier: Apache-2.0 */
/* test_licence.c - the project is Apache-2.0: LICENSE is the licence's
 * text, and every source, script, schema and migration of the repository
 * carries an SPDX line within its first three lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/core.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *root(void)
{
	const char *r = getenv("LMNAS_ROOT");
	return r && *r ? r : ".";
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Files the licence line belongs in: code and the text that is built into
 * the binary or shipped (schemas, migrations, prompts are data: no). */
static int is_source(const char *name)
{
	static const char *const suf[] = {".c",	 ".h",	  ".sh", ".py",	 ".sql",
					  ".ld", ".yaml", ".js", ".mjs", NULL};
	for (int i = 0; suf[i]; i++)
		if (has_suffix(name, suf[i]))
			return 1;
	return strcmp(name, "Makefile") == 0 || strcmp(name, "Dockerfile") == 0;
}

/* Folders that hold data, generated output or third-party code. */
static int skipped_dir(const char *rel)
{
	static const char *const skip[] = {
	    "build",	      "var",
	    "node_modules",   ".git",
	    "tests/fixtures", "tests/fuzz/corpus",
	    "bench/results",  NULL};
	for (int i = 0; skip[i]; i++)
		if (strcmp(rel, skip[i]) == 0)
			return 1;
	return rel[0] == '.' && strcmp(rel, ".ci") != 0;
}

static int has_spdx(const char *path)
{
	char line[512];
	int found = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	for (int i = 0; i < 3 && fgets(line, sizeof line, f); i++)
		if (strstr(line, "SPDX-License-Identifier: Apache-2.0"))
			found = 1;
	fclose(f);
	return found;
}

static void walk(const char *rel, int *checked, int *missing)
{
	char path[2048], sub[1024];
	struct dirent *e;
	struct stat sb;
	DIR *d;

	snprintf(path, sizeof path, "%s/%s", root(), rel);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "",
			 e->d_name);
		snprintf(path, sizeof path, "%s/%s", root(), sub);
		if (lstat(path, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			if (!skipped_dir(sub))
				walk(sub, checked, missing);
			continue;
		}
		if (!S_ISREG(sb.st_mode) || !is_source(e->d_name))
			continue;
		(*checked)++;
		if (!has_spdx(path)) {
			printf("# no SPDX line: %s\n", sub);
			(*missing)++;
		}
	}
	closedir(d);
}

static void every_source_has_an_spdx_line(void **state)
{
	int checked = 0, missing = 0;

	walk("", &checked, &missing);
	printf("# %d files checked, %d without an SPDX line\n", checked,
	       missing);
	assert_true(checked > 300);
	assert_int_equal(missing, 0);
}

static void licence_is_apache_2(void **state)
{
	char path[1024], *text = NULL, err[CORE_ERR_LEN];
	size_t len = 0;

	snprintf(path, sizeof path, "%s/LICENSE", root());
	assert_int_equal(
	    core_file_read(path, 1 << 20, &text, &len, err, sizeof err),
	    CORE_OK);
	assert_non_null(strstr(text, "Apache License"));
	assert_non_null(strstr(text, "Version 2.0, January 2004"));
	assert_non_null(strstr(text, "Grant of Patent License"));
	core_free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(licence_is_apache_2),
	    cmocka_unit_test(every_source_has_an_spdx_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
