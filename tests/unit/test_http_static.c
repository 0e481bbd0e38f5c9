/* SPDX-License-Identifier: Apache-2.0 */
/* test_http_static.c - the static-file resolver: index files, media types,
 * and refusal of traversal, hidden names, odd characters and symlink
 * escapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];  /* /tmp/lmnas-static-XXXXXX */
static char root[128]; /* base/web */

static void write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", base, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	char p[256], q[256];

	snprintf(base, sizeof base, "/tmp/lmnas-static-XXXXXX");
	if (!mkdtemp(base))
		return -1;
	snprintf(root, sizeof root, "%s/web", base);
	snprintf(p, sizeof p, "%s/web/sub", base);
	if (mkdir(root, 0755) || mkdir(p, 0755))
		return -1;
	snprintf(p, sizeof p, "%s/outside", base);
	if (mkdir(p, 0755))
		return -1;
	write_file("web/index.html", "<h1>hi</h1>");
	write_file("web/app.js", "1;");
	write_file("web/style.css", "a{}");
	write_file("web/logo.svg", "<svg/>");
	write_file("web/img.PNG", "png");
	write_file("web/data.json", "{}");
	write_file("web/blob.bin", "x");
	write_file("web/.env", "SECRET=1");
	write_file("web/sub/index.html", "sub");
	write_file("outside/secret.txt", "secret");
	/* a symlink out of the root, one to a directory outside, one inside */
	snprintf(p, sizeof p, "%s/outside/secret.txt", base);
	snprintf(q, sizeof q, "%s/escape.txt", root);
	if (symlink(p, q))
		return -1;
	snprintf(p, sizeof p, "%s/outside", base);
	snprintf(q, sizeof q, "%s/linkdir", root);
	if (symlink(p, q))
		return -1;
	snprintf(q, sizeof q, "%s/alias.html", root);
	if (symlink("index.html", q))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static enum core_status resolve(const char *url, char *out, const char **ct)
{
	char err[CORE_ERR_LEN];

	return http_static_resolve(root, url, out, PATH_MAX, ct, err,
				   sizeof err);
}

static void resolves_files_and_types(void **state)
{
	static const struct {
		const char *url, *file, *type;
	} cases[] = {
	    {"/", "index.html", "text/html; charset=utf-8"},
	    {"/index.html", "index.html", "text/html; charset=utf-8"},
	    {"/app.js", "app.js", "text/javascript; charset=utf-8"},
	    {"/style.css", "style.css", "text/css; charset=utf-8"},
	    {"/logo.svg", "logo.svg", "image/svg+xml"},
	    {"/img.PNG", "img.PNG", "image/png"},
	    {"/data.json", "data.json", "application/json"},
	    {"/blob.bin", "blob.bin", "application/octet-stream"},
	    {"/sub/", "sub/index.html", "text/html; charset=utf-8"},
	    {"/alias.html", "index.html", "text/html; charset=utf-8"},
	};
	char out[PATH_MAX], want[PATH_MAX + 64], real_root[PATH_MAX];
	const char *ct;

	assert_non_null(realpath(root, real_root));
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(resolve(cases[i].url, out, &ct), CORE_OK);
		snprintf(want, sizeof want, "%s/%s", real_root, cases[i].file);
		assert_string_equal(out, want);
		assert_string_equal(ct, cases[i].type);
	}
}

static void refuses_escapes(void **state)
{
	static const char *const invalid[] = {
	    "/../outside/secret.txt",
	    "/sub/../index.html",
	    "/..",
	    "/.",
	    "/./index.html",
	    "/.env",
	    "//index.html",
	    "/sub//index.html",
	    "/a\\b",
	    "/index.html\x01",
	    "/escape.txt",
	    "/linkdir/secret.txt",
	    "index.html",
	    "",
	};
	char out[PATH_MAX];
	const char *ct;

	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		ct = "x";
		assert_int_equal(resolve(invalid[i], out, &ct),
				 CORE_ERR_INVALID);
		assert_null(ct);
	}
}

static void missing_is_not_found(void **state)
{
	char out[PATH_MAX], err[CORE_ERR_LEN];
	const char *ct;

	assert_int_equal(resolve("/nope.html", out, &ct), CORE_ERR_NOT_FOUND);
	assert_int_equal(resolve("/sub", out, &ct), CORE_ERR_NOT_FOUND);
	assert_int_equal(resolve("/app.js/", out, &ct), CORE_ERR_NOT_FOUND);
	assert_int_equal(resolve("/nodir/", out, &ct), CORE_ERR_NOT_FOUND);
	assert_int_equal(http_static_resolve(NULL, "/", out, sizeof out, &ct,
					     err, sizeof err),
			 CORE_ERR_NOT_FOUND);
	assert_int_equal(http_static_resolve("/nonexistent-lmnas-web", "/", out,
					     sizeof out, &ct, err, sizeof err),
			 CORE_ERR_NOT_FOUND);
	/* a too small output buffer is refused, not truncated */
	assert_int_equal(
	    http_static_resolve(root, "/app.js", out, 8, &ct, err, sizeof err),
	    CORE_ERR_INVALID);
}

static void media_types(void **state)
{
	assert_string_equal(http_content_type_for("a/b.yaml"),
			    "application/yaml");
	assert_string_equal(http_content_type_for("x.woff2"), "font/woff2");
	assert_string_equal(http_content_type_for("noext"),
			    "application/octet-stream");
	assert_string_equal(http_content_type_for("dir.d/noext"),
			    "application/octet-stream");
	assert_string_equal(http_content_type_for("trailing."),
			    "application/octet-stream");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(resolves_files_and_types),
	    cmocka_unit_test(refuses_escapes),
	    cmocka_unit_test(missing_is_not_found),
	    cmocka_unit_test(media_types),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
