/* SPDX-License-Identifier: Apache-2.0 */
/* dataset_samples.c - GET /v1/datasets/{id}/samples?class=NAME&n=N: up to n
 * (default 8, at most 64) images of a ready dataset's import cache as PNG
 * (base64 in JSON), for the dashboard to show what was imported. Records
 * are taken in cache order, train then val then test, so the answer is
 * the same on every call. Team scoped like datasets.c: another team's
 * dataset is a 404 dataset_not_found; an unknown class is a 422 naming
 * `class`; a dataset still importing (or failed) is a 409
 * dataset_not_ready. The cache directory follows from the id and the data
 * root, never from stored text. */
#include "data/data.h"
#include "http.h"
#include "queue/queue.h"
#include <limits.h>
#include <openssl/evp.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES_DEFAULT 8
#define SAMPLES_MAX	64

struct png_mem {
	uint8_t *p;
	size_t n, cap;
	int oom;
};

static void png_mem_write(png_structp png, png_bytep d, size_t n)
{
	struct png_mem *m = png_get_io_ptr(png);

	if (m->oom)
		return;
	if (m->n + n > m->cap) {
		size_t cap = (m->n + n) * 2;
		uint8_t *p = realloc(m->p, cap);
		if (!p) {
			m->oom = 1;
			return;
		}
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->n, d, n);
	m->n += n;
}

static void png_mem_flush(png_structp png)
{
	(void)png;
}

/* The RGB image px (h x w x 3) as a base64 PNG (NUL-terminated, caller
 * frees); NULL when out of memory or libpng fails. */
static char *samples_png_base64(const uint8_t *px, int h, int w)
{
	struct png_mem m = {0};
	png_structp png =
	    png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	char *b64 = NULL;

	if (!png || !info)
		goto out;
	/* libpng reports errors by longjmp; nothing here needs unwinding
	 * besides m.p and the structs, freed below */
	if (setjmp(png_jmpbuf(png)))
		goto out;
	png_set_write_fn(png, &m, png_mem_write, png_mem_flush);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
		     PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < h; y++)
		png_write_row(png, (png_const_bytep)(px + (size_t)y * w * 3));
	png_write_end(png, NULL);
	if (m.oom || m.n > INT_MAX / 2)
		goto out;
	b64 = malloc(4 * ((m.n + 2) / 3) + 1);
	if (b64)
		EVP_EncodeBlock((unsigned char *)b64, m.p, (int)m.n);
out:
	png_destroy_write_struct(&png, &info);
	free(m.p);
	return b64;
}

/* n from the query: SAMPLES_DEFAULT when absent, -1 when not 1..max. */
static int samples_n(const char *s)
{
	int v = 0;

	if (!s)
		return SAMPLES_DEFAULT;
	if (!*s || strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= SAMPLES_MAX ? v : -1;
}

/* Appends up to n - (size of out) records of class cls (-1: any) of split
 * sp of the cache in dir to out. *cls_out receives the class index of
 * name (-1 when the cache has none; name NULL: -1 too). */
static enum core_status samples_split(const char *dir, enum data_split sp,
				      const char *name, int *cls, size_t n,
				      json_t *out, char *err, size_t errlen)
{
	struct data_set ds;
	enum core_status st = data_cache_load(dir, sp, &ds, err, errlen);
	size_t rb;

	if (st)
		return st;
	if (name && *cls < 0 && ds.label_names) {
		for (int c = 0; c < ds.classes; c++)
			if (strcmp(ds.label_names +
				       (size_t)c * DATA_LABEL_NAME_MAX,
				   name) == 0)
				*cls = c;
		if (*cls < 0) {
			data_set_free(&ds);
			return CORE_ERR_NOT_FOUND;
		}
	}
	rb = data_set_record_bytes(&ds);
	for (int i = 0; i < ds.n && json_array_size(out) < n; i++) {
		int label = ds.labels[i];
		char *b64;
		json_t *one;

		if (*cls >= 0 && label != *cls)
			continue;
		b64 = samples_png_base64(ds.pixels + (size_t)i * rb, ds.height,
					 ds.width);
		one =
		    b64 ? json_pack(
			      "{s:i,s:s,s:s,s:i,s:i,s:s}", "index", i, "class",
			      ds.label_names
				  ? ds.label_names +
					(size_t)label * DATA_LABEL_NAME_MAX
				  : "",
			      "split", data_split_name(sp), "width", ds.width,
			      "height", ds.height, "png_base64", b64)
			: NULL;
		free(b64);
		if (!one || json_array_append_new(out, one)) {
			data_set_free(&ds);
			core_errf(err, errlen, "out of memory for samples");
			return CORE_ERR_NOMEM;
		}
	}
	data_set_free(&ds);
	return CORE_OK;
}

static void samples_get(struct http_request *req, struct http_response *res)
{
	static const enum data_split order[3] = {
	    DATA_SPLIT_TRAIN, DATA_SPLIT_VAL, DATA_SPLIT_TEST};
	long long id = http_param_id(req, "id");
	const char *cls_name = http_request_query(req, "class");
	int n = samples_n(http_request_query(req, "n")), cls = -1;
	char err[CORE_ERR_LEN], detail[160], dir[PATH_MAX + 64];
	char *text = NULL;
	struct core_field_errors fe;
	json_t *ds = NULL, *out = NULL;
	const char *status;
	enum core_status st;

	if (!req->app || !req->app->pool || !req->app->data_root) {
		http_reply_error(res, HTTP_E_DATABASE_UNAVAILABLE,
				 "no database or data root is configured",
				 NULL);
		return;
	}
	snprintf(detail, sizeof detail, "no dataset %lld", id);
	if (id <= 0) {
		http_reply_error(res, HTTP_E_DATASET_NOT_FOUND, detail, NULL);
		return;
	}
	core_field_errors_clear(&fe);
	if (n < 0)
		core_field_errorf(&fe, "n", "must be an integer 1..%d",
				  SAMPLES_MAX);
	if (cls_name &&
	    (!*cls_name || strlen(cls_name) >= DATA_LABEL_NAME_MAX ||
	     !core_utf8_valid(cls_name, strlen(cls_name))))
		core_field_errorf(&fe, "class",
				  "must be a class name of 1..%d bytes",
				  DATA_LABEL_NAME_MAX - 1);
	if (fe.n) {
		http_reply_error(res, HTTP_E_VALIDATION_FAILED, NULL, &fe);
		return;
	}
	st = queue_dataset_json(req->app->pool, id,
				http_caller_team(&req->caller), &text, err,
				sizeof err);
	if (st == CORE_ERR_NOT_FOUND) {
		http_reply_error(res, HTTP_E_DATASET_NOT_FOUND, detail, NULL);
		return;
	}
	if (st)
		goto fail;
	ds = json_loads(text, 0, NULL);
	core_free(text);
	status = json_string_value(json_object_get(ds, "status"));
	if (!status || strcmp(status, "ready") != 0) {
		snprintf(detail, sizeof detail, "dataset %lld is %s, not ready",
			 id, status ? status : "unknown");
		json_decref(ds);
		http_reply_error(res, HTTP_E_DATASET_NOT_READY, detail, NULL);
		return;
	}
	json_decref(ds);
	snprintf(dir, sizeof dir, "%s/datasets/%lld/cache", req->app->data_root,
		 id);
	out = json_array();
	if (!out) {
		st = CORE_ERR_NOMEM;
		goto fail;
	}
	for (int i = 0; i < 3 && json_array_size(out) < (size_t)n; i++) {
		st = samples_split(dir, order[i], cls_name, &cls, (size_t)n,
				   out, err, sizeof err);
		if (st == CORE_ERR_NOT_FOUND) {
			json_decref(out);
			core_field_errorf(&fe, "class",
					  "the dataset has no such class");
			http_reply_error(res, HTTP_E_VALIDATION_FAILED, NULL,
					 &fe);
			return;
		}
		if (st)
			goto fail;
	}
	http_reply_json(res, 200,
			json_pack("{s:I,s:o}", "dataset_id", (json_int_t)id,
				  "samples", out));
	return;
fail:
	json_decref(out);
	LOG_ERROR("dataset %lld samples: %s", id, err);
	if (st == CORE_ERR_NOMEM)
		http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
	else if (st == CORE_ERR_UNAVAILABLE)
		http_reply_error(res, HTTP_E_DATABASE_UNAVAILABLE,
				 "database unavailable", NULL);
	else
		http_reply_error(res, HTTP_E_INTERNAL_ERROR,
				 "cannot read the dataset's cache", NULL);
}

enum core_status http_dataset_samples_routes_add(struct http_router *r,
						 char *err, size_t errlen)
{
	return http_router_add(r, HTTP_GET, "/v1/datasets/{id}/samples",
			       samples_get, HTTP_ROUTE_TEAM_SCOPED, err,
			       errlen);
}
