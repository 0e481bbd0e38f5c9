/* SPDX-License-Identifier: Apache-2.0 */
/* upload.c - request bodies streamed to a file (HTTP_ROUTE_UPLOAD): a fresh
 * file under <data root>/uploads, written chunk by chunk as libmicrohttpd
 * hands them over, so an upload is never whole in memory; a cap checked
 * before each chunk is written (the partial file removed past it); the
 * handler takes the file with http_upload_take, else it is removed when the
 * request ends. */
#include "http.h"
#include "http_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void http_upload_init(struct http_upload *u)
{
	memset(u, 0, sizeof *u);
	u->fd = -1;
}

int http_upload_type_ok(const char *ctype)
{
	static const char *const types[] = {
	    "application/zip", "application/gzip", "application/x-gzip",
	    "application/x-tar"};
	size_t n;

	if (!ctype)
		return 0;
	n = strcspn(ctype, "; \t");
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (n == strlen(types[i]) &&
		    strncasecmp(ctype, types[i], n) == 0)
			return 1;
	return 0;
}

enum core_status http_upload_open(struct http_upload *u, const char *root,
				  unsigned long long max, char *err,
				  size_t errlen)
{
	char dir[PATH_MAX];

	if (!root) {
		core_errf(err, errlen, "the server has no data root");
		return CORE_ERR_UNAVAILABLE;
	}
	snprintf(dir, sizeof dir, "%s/uploads", root);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		core_errf(err, errlen, "cannot create %s: %s", dir,
			  strerror(errno));
		return CORE_ERR_IO;
	}
	if ((size_t)snprintf(u->path, sizeof u->path, "%s/up-XXXXXX", dir) >=
	    sizeof u->path) {
		core_errf(err, errlen, "data root path too long");
		u->path[0] = '\0';
		return CORE_ERR_IO;
	}
	u->fd = mkostemp(u->path, O_CLOEXEC);
	if (u->fd < 0) {
		core_errf(err, errlen, "cannot create an upload file in %s: %s",
			  dir, strerror(errno));
		u->path[0] = '\0';
		return CORE_ERR_IO;
	}
	u->max = max;
	u->seen = 0;
	return CORE_OK;
}

enum core_status http_upload_write(struct http_upload *u, const char *data,
				   size_t n, char *err, size_t errlen)
{
	if (u->fd < 0) {
		core_errf(err, errlen, "upload file not open");
		return CORE_ERR_INTERNAL;
	}
	/* checked before writing: a body past the cap never reaches disk */
	if (n > u->max - u->seen) {
		u->seen += n;
		http_upload_discard(u);
		core_errf(err, errlen, "the upload is larger than %llu bytes",
			  u->max);
		return CORE_ERR_NOMEM;
	}
	for (size_t off = 0; off < n;) {
		ssize_t w = write(u->fd, data + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			core_errf(err, errlen, "writing the upload: %s",
				  strerror(errno));
			http_upload_discard(u);
			return CORE_ERR_IO;
		}
		off += (size_t)w;
	}
	u->seen += n;
	return CORE_OK;
}

enum core_status http_upload_finish(struct http_upload *u, char *err,
				    size_t errlen)
{
	int fd = u->fd;

	u->fd = -1;
	if (fd >= 0 && close(fd) != 0) {
		core_errf(err, errlen, "closing the upload: %s",
			  strerror(errno));
		http_upload_discard(u);
		return CORE_ERR_IO;
	}
	return CORE_OK;
}

void http_upload_discard(struct http_upload *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	if (u->path[0])
		unlink(u->path);
	u->path[0] = '\0';
}

enum core_status http_upload_take(struct http_request *req, const char *dst,
				  char *err, size_t errlen)
{
	struct http_upload *u = req->upload;

	if (!u || !u->path[0] || u->fd >= 0) {
		core_errf(err, errlen, "no finished upload to take");
		return CORE_ERR_INTERNAL;
	}
	if (rename(u->path, dst) != 0) {
		core_errf(err, errlen, "cannot move the upload to %s: %s", dst,
			  strerror(errno));
		return CORE_ERR_IO;
	}
	u->path[0] = '\0'; /* taken: nothing to remove at the end */
	req->upload_path = NULL;
	return CORE_OK;
}
