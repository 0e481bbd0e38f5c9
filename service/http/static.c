/* SPDX-License-Identifier: Apache-2.0 */
/* static.c - the static-file resolver: URL path to a regular file under the
 * web root, refusing traversal, hidden files and symlink escapes; media types
 * by extension. */
#include "http.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const struct {
	const char *ext;
	const char *type;
} media_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"json", "application/json"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"txt", "text/plain; charset=utf-8"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
};

const char *http_content_type_for(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');

	if (dot && dot[1])
		for (size_t i = 0;
		     i < sizeof media_types / sizeof media_types[0]; i++)
			if (strcasecmp(dot + 1, media_types[i].ext) == 0)
				return media_types[i].type;
	return "application/octet-stream";
}

/* Checks the segments of url_path (which starts with '/'). A final empty
 * segment (trailing '/') is allowed: it means the directory's index. */
static enum core_status check_segments(const char *url_path, char *err,
				       size_t errlen)
{
	const char *seg = url_path + 1;

	for (;;) {
		const char *end = strchr(seg, '/');
		size_t len = end ? (size_t)(end - seg) : strlen(seg);

		if (len == 0 && end) {
			core_errf(err, errlen, "empty path segment");
			return CORE_ERR_INVALID;
		}
		if (len > 0 && seg[0] == '.') {
			core_errf(err, errlen,
				  "'.', '..' and hidden names are refused");
			return CORE_ERR_INVALID;
		}
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)seg[i];
			if (c < 0x20 || c == 0x7f || c == '\\') {
				core_errf(err, errlen,
					  "control character or backslash in "
					  "path");
				return CORE_ERR_INVALID;
			}
		}
		if (!end)
			return CORE_OK;
		seg = end + 1;
	}
}

enum core_status http_static_resolve(const char *root, const char *url_path,
				     char *out, size_t outlen,
				     const char **content_type, char *err,
				     size_t errlen)
{
	char root_real[PATH_MAX], real[PATH_MAX],
	    cand[PATH_MAX + HTTP_PATH_MAX];
	size_t len = strlen(url_path), rl;
	const char *index = "";
	struct stat sb;
	enum core_status st;

	*content_type = NULL;
	if (!root || !*root) {
		core_errf(err, errlen, "no web directory");
		return CORE_ERR_NOT_FOUND;
	}
	if (url_path[0] != '/' || len >= HTTP_PATH_MAX) {
		core_errf(err, errlen, "path must start with '/' and be short");
		return CORE_ERR_INVALID;
	}
	st = check_segments(url_path, err, errlen);
	if (st)
		return st;
	if (url_path[len - 1] == '/')
		index = "index.html";
	if (!realpath(root, root_real)) {
		core_errf(err, errlen, "web directory %s: %s", root,
			  strerror(errno));
		return CORE_ERR_NOT_FOUND;
	}
	snprintf(cand, sizeof cand, "%s%s%s", root_real, url_path, index);
	if (!realpath(cand, real)) {
		core_errf(err, errlen, "%s: %s", url_path, strerror(errno));
		return CORE_ERR_NOT_FOUND;
	}
	rl = strlen(root_real);
	if (strcmp(root_real, "/") != 0 &&
	    (strncmp(real, root_real, rl) != 0 || real[rl] != '/')) {
		core_errf(err, errlen, "%s: resolves outside the web directory",
			  url_path);
		return CORE_ERR_INVALID;
	}
	if (stat(real, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		core_errf(err, errlen, "%s: not a regular file", url_path);
		return CORE_ERR_NOT_FOUND;
	}
	if (strlen(real) >= outlen) {
		core_errf(err, errlen, "%s: path too long", url_path);
		return CORE_ERR_INVALID;
	}
	memcpy(out, real, strlen(real) + 1);
	*content_type = http_content_type_for(*index ? index : url_path);
	return CORE_OK;
}
