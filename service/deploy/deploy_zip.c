/* SPDX-License-Identifier: Apache-2.0 */
/* deploy_zip.c - a generated project as a zip archive built in memory:
 * libzip writes into a buffer source, which is read back once the archive
 * is closed. No file is written anywhere. */
#include "deploy/deploy.h"

#include <string.h>
#include <zip.h>

/* Largest archive accepted (a project is a few hundred KB to a few MB). */
#define DEPLOY_ZIP_MAX ((zip_uint64_t)1 << 30)

static enum core_status zip_fail(zip_error_t *ze, const char *what, char *err,
				 size_t errlen)
{
	core_errf(err, errlen, "zip: %s: %s", what, zip_error_strerror(ze));
	return CORE_ERR_INTERNAL;
}

/* Reads the whole of source src (closed) into a new buffer. */
static enum core_status read_back(zip_source_t *src, void **out, size_t *len,
				  char *err, size_t errlen)
{
	zip_stat_t st;
	char *buf;
	zip_int64_t got;

	zip_stat_init(&st);
	if (zip_source_stat(src, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
		return zip_fail(zip_source_error(src), "size of the archive",
				err, errlen);
	if (st.size > DEPLOY_ZIP_MAX) {
		core_errf(err, errlen,
			  "zip: the archive is %llu B, more than the %llu B "
			  "allowed",
			  (unsigned long long)st.size,
			  (unsigned long long)DEPLOY_ZIP_MAX);
		return CORE_ERR_INVALID;
	}
	buf = core_malloc(st.size ? (size_t)st.size : 1);
	if (!buf) {
		core_errf(err, errlen, "out of memory for a %llu B archive",
			  (unsigned long long)st.size);
		return CORE_ERR_NOMEM;
	}
	if (zip_source_open(src) != 0) {
		core_free(buf);
		return zip_fail(zip_source_error(src), "reading the archive",
				err, errlen);
	}
	got = zip_source_read(src, buf, st.size);
	zip_source_close(src);
	if (got < 0 || (zip_uint64_t)got != st.size) {
		core_free(buf);
		core_errf(err, errlen, "zip: read %lld of %llu B back",
			  (long long)got, (unsigned long long)st.size);
		return CORE_ERR_INTERNAL;
	}
	*out = buf;
	*len = (size_t)st.size;
	return CORE_OK;
}

enum core_status deploy_zip(const struct codegen_project *p, void **zip,
			    size_t *len, char *err, size_t errlen)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *z;
	char name[192];
	enum core_status st = CORE_OK;

	*zip = NULL;
	*len = 0;
	zip_error_init(&ze);
	src = zip_source_buffer_create(NULL, 0, 0, &ze);
	if (!src) {
		st = zip_fail(&ze, "buffer", err, errlen);
		zip_error_fini(&ze);
		return st;
	}
	/* the archive's close frees its source: keep it to read it back */
	zip_source_keep(src);
	z = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
	if (!z) {
		st = zip_fail(&ze, "open", err, errlen);
		goto out;
	}
	for (int i = 0; i < p->nfiles; i++) {
		/* libzip reads the data at zip_close, while p still lives */
		zip_source_t *s =
		    zip_source_buffer(z, p->files[i].data, p->files[i].len, 0);

		snprintf(name, sizeof name, "%s/%s", p->name, p->files[i].path);
		if (!s || zip_file_add(z, name, s, ZIP_FL_ENC_UTF_8) < 0) {
			st = zip_fail(zip_get_error(z), name, err, errlen);
			zip_source_free(s);
			zip_discard(z);
			goto out;
		}
	}
	if (zip_close(z) != 0) {
		st = zip_fail(zip_get_error(z), "close", err, errlen);
		zip_discard(z);
		goto out;
	}
	st = read_back(src, zip, len, err, errlen);
out:
	zip_source_free(src);
	zip_error_fini(&ze);
	return st;
}
