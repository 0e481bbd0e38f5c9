/* SPDX-License-Identifier: Apache-2.0 */
/* datasets.c - the /v1/datasets resource: upload an archive (streamed to
 * the data root by the server, upload.c), list a team's datasets, read one,
 * delete one no queued or running job uses. Every operation is limited to
 * the caller's team; another team's dataset answers 404 like a missing one.
 *
 * The import runs in a background thread of `lmnas serve` (one per upload,
 * counted in app->imports so that the stop waits for them), not as a queued
 * task: it needs the uploaded file, which lives on the server's disk, and a
 * worker on another machine would not see it. Its steps:
 *   <root>/datasets/<id>/upload       the archive (moved there at once)
 *   <root>/datasets/<id>/files/       unpack_archive_extract (checked)
 *   <root>/datasets/<id>/cache/       app->dataset_import (data_import_dir)
 * then the upload and files/ are removed and the row ends ready (report,
 * cache path) or failed (error; the directory removed). Progress goes to the
 * row's progress column (GET /v1/datasets/{id}). An import cut by a crash
 * stays 'importing': cleaned by hand (documented in README). */
#include "http.h"

#include "data/data.h"
#include "queue/queue.h"
#include "unpack/unpack.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DATASETS_LIMIT_DEFAULT 20
#define DATASETS_LIMIT_MAX     100
/* an archive may expand to this many times the upload cap, in at most this
 * many entries (a zip bomb stops there: unpack.h) */
#define DATASETS_EXPAND_FACTOR 4
#define DATASETS_MAX_ENTRIES   1000000

struct http_imports {
	pthread_mutex_t lock;
	pthread_cond_t idle;
	int running;
};

enum core_status http_imports_new(struct http_imports **out, char *err,
				  size_t errlen)
{
	struct http_imports *im = core_calloc(1, sizeof *im);

	*out = NULL;
	if (!im) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	pthread_mutex_init(&im->lock, NULL);
	pthread_cond_init(&im->idle, NULL);
	*out = im;
	return CORE_OK;
}

void http_imports_drain(struct http_imports *im)
{
	if (!im)
		return;
	pthread_mutex_lock(&im->lock);
	while (im->running > 0)
		pthread_cond_wait(&im->idle, &im->lock);
	pthread_mutex_unlock(&im->lock);
}

void http_imports_free(struct http_imports *im)
{
	if (!im)
		return;
	http_imports_drain(im);
	pthread_mutex_destroy(&im->lock);
	pthread_cond_destroy(&im->idle);
	core_free(im);
}

/* One background import; owns itself (freed by the thread). */
struct import_task {
	struct http_app *app;
	long long id;
	int resolution;
	double last; /* progress last written */
	char dir[PATH_MAX];
};

static void import_progress(double frac, const char *what, void *ctx)
{
	struct import_task *t = ctx;
	char err[CORE_ERR_LEN];

	(void)what;
	if (frac < t->last + 0.01 && frac < 1) /* a write per percent */
		return;
	t->last = frac;
	if (queue_dataset_progress(t->app->pool, t->id, frac, err, sizeof err))
		LOG_WARN("dataset %lld: progress: %s", t->id, err);
}

/* The import's defaults (data_import_opts_default) at the asked stored
 * resolution (0: the default). */
static struct data_import_opts import_opts(int resolution)
{
	struct data_import_opts o;

	data_import_opts_default(&o);
	if (resolution > 0)
		o.resolution = resolution;
	return o;
}

static void import_run(struct import_task *t)
{
	struct http_app *app = t->app;
	long long cap = app->upload_max_bytes > 0 ? app->upload_max_bytes
						  : HTTP_UPLOAD_MAX_DEFAULT;
	struct unpack_limits lim = {.max_entries = DATASETS_MAX_ENTRIES,
				    .max_bytes =
					(uint64_t)cap * DATASETS_EXPAND_FACTOR};
	struct data_import_opts o = import_opts(t->resolution);
	char upload[PATH_MAX + 16], files[PATH_MAX + 16], cache[PATH_MAX + 16];
	char err[CORE_ERR_LEN] = "", e2[CORE_ERR_LEN];
	struct unpack_stats us = {0};
	json_t *report = NULL;
	char *text = NULL;
	enum core_status st;

	snprintf(upload, sizeof upload, "%s/upload", t->dir);
	snprintf(files, sizeof files, "%s/files", t->dir);
	snprintf(cache, sizeof cache, "%s/cache", t->dir);
	st = unpack_archive_extract(upload, files, &lim, &us, err, sizeof err);
	remove(upload);
	if (!st && !app->dataset_import) {
		core_errf(err, sizeof err, "no image import in this build");
		st = CORE_ERR_UNAVAILABLE;
	}
	if (!st)
		st = app->dataset_import(files, cache, &o, import_progress, t,
					 &report, err, sizeof err);
	unpack_tree_remove(files, e2, sizeof e2);
	if (report)
		text = json_dumps(report, JSON_COMPACT);
	st = queue_dataset_finish(app->pool, t->id, st ? NULL : cache, text,
				  (long long)us.bytes, st ? err : NULL, e2,
				  sizeof e2)
		 ? CORE_ERR_DB
		 : st;
	if (st == CORE_ERR_DB)
		LOG_ERROR("dataset %lld: recording the import's end: %s", t->id,
			  e2);
	else if (st)
		LOG_INFO("dataset %lld: import failed: %s", t->id, err);
	else
		LOG_INFO("dataset %lld: imported (%llu files, %llu bytes)",
			 t->id, (unsigned long long)us.files,
			 (unsigned long long)us.bytes);
	if (st)
		unpack_tree_remove(t->dir, e2, sizeof e2);
	free(text);
	json_decref(report);
}

static void *import_thread(void *arg)
{
	struct import_task *t = arg;
	struct http_imports *im = t->app->imports;

	import_run(t);
	core_free(t);
	pthread_mutex_lock(&im->lock);
	if (--im->running == 0)
		pthread_cond_broadcast(&im->idle);
	pthread_mutex_unlock(&im->lock);
	return NULL;
}

/* Starts t's import (takes t). */
static enum core_status import_start(struct import_task *t, char *err,
				     size_t errlen)
{
	struct http_imports *im = t->app->imports;
	pthread_attr_t attr;
	pthread_t th;
	int rc;

	pthread_mutex_lock(&im->lock);
	im->running++;
	pthread_mutex_unlock(&im->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &attr, import_thread, t);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		return CORE_OK;
	pthread_mutex_lock(&im->lock);
	if (--im->running == 0)
		pthread_cond_broadcast(&im->idle);
	pthread_mutex_unlock(&im->lock);
	core_errf(err, errlen, "cannot start the import thread: %s",
		  strerror(rc));
	return CORE_ERR_NOMEM;
}

/* ---- handlers ------------------------------------------------------------ */

static int need_pool(const struct http_request *req, struct http_response *res)
{
	if (req->app && req->app->pool)
		return 1;
	http_reply_error(res, HTTP_E_DATABASE_UNAVAILABLE,
			 "no database is configured", NULL);
	return 0;
}

static void reply_not_found(struct http_response *res, long long id)
{
	char detail[64];

	snprintf(detail, sizeof detail, "no dataset %lld", id);
	http_reply_error(res, HTTP_E_DATASET_NOT_FOUND, detail, NULL);
}

static void dataset_create(struct http_request *req, struct http_response *res)
{
	const char *name = http_request_query(req, "name");
	const char *res_s = http_request_query(req, "resolution");
	const char *ct = http_request_header(req, "Content-Type");
	struct queue_dataset_new d = {0};
	struct core_field_errors fe;
	struct import_task *t = NULL;
	char err[CORE_ERR_LEN], dst[PATH_MAX + 16], loc[64], *json = NULL;
	long long id = 0;
	enum core_status st;

	if (!need_pool(req, res))
		return;
	core_field_errors_clear(&fe);
	if (!name)
		core_field_errorf(&fe, "name", "required (?name=)");
	if (res_s) {
		d.resolution = (int)http_parse_positive(res_s);
		if (d.resolution < 8 || d.resolution > 1024)
			core_field_errorf(&fe, "resolution",
					  "a whole number of pixels from 8 to "
					  "1024");
	}
	if (!req->app->imports || !req->app->data_root)
		core_field_errorf(&fe, "$",
				  "the server takes no uploads "
				  "(no data root)");
	if (fe.n) {
		http_reply_error(res, HTTP_E_VALIDATION_FAILED,
				 "the upload's parameters are not valid", &fe);
		return;
	}
	d.team_id = req->caller.team_id;
	d.name = name;
	d.format =
	    ct && strstr(ct, "zip") && !strstr(ct, "gzip") ? "zip" : "tar";
	d.upload_bytes = (long long)req->upload_bytes;
	st = queue_dataset_create(req->app->pool, &d, &id, err, sizeof err);
	if (st == CORE_ERR_INVALID) {
		const char *colon = strchr(err, ':');
		core_field_errorf(&fe, "name", "%s", colon ? colon + 2 : err);
		http_reply_error(res, HTTP_E_VALIDATION_FAILED,
				 "the upload's parameters are not valid", &fe);
		return;
	}
	if (st == CORE_ERR_CONFLICT) {
		http_reply_error(res, HTTP_E_DATASET_NAME_TAKEN, err, NULL);
		return;
	}
	if (st) {
		http_reply_db_error(res, "datasets", st, err);
		return;
	}
	t = core_calloc(1, sizeof *t);
	if (!t) {
		core_errf(err, sizeof err, "out of memory");
		st = CORE_ERR_NOMEM;
		goto fail;
	}
	t->app = req->app;
	t->id = id;
	t->resolution = d.resolution;
	snprintf(dst, sizeof dst, "%s/datasets", req->app->data_root);
	if (mkdir(dst, 0700) != 0 && errno != EEXIST) {
		core_errf(err, sizeof err, "mkdir %s: %s", dst,
			  strerror(errno));
		st = CORE_ERR_IO;
		goto fail;
	}
	snprintf(t->dir, sizeof t->dir, "%s/datasets/%lld", req->app->data_root,
		 id);
	if (mkdir(t->dir, 0700) != 0) {
		core_errf(err, sizeof err, "mkdir %s: %s", t->dir,
			  strerror(errno));
		st = CORE_ERR_IO;
		goto fail;
	}
	snprintf(dst, sizeof dst, "%s/upload", t->dir);
	st = http_upload_take(req, dst, err, sizeof err);
	/* read before the import starts: the answer shows the dataset as it
	 * was created (importing), whatever the thread does next */
	if (!st)
		st = queue_dataset_json(req->app->pool, id, req->caller.team_id,
					&json, err, sizeof err);
	if (!st)
		st = import_start(t, err, sizeof err);
	if (st) {
		core_free(json);
		goto fail;
	}
	t = NULL; /* the thread's now */
	LOG_INFO("dataset %lld (%s): %llu bytes uploaded by team %lld, "
		 "importing",
		 id, name, (unsigned long long)req->upload_bytes,
		 req->caller.team_id);
	snprintf(loc, sizeof loc, "/v1/datasets/%lld", id);
	http_reply_json_text(res, 202, json);
	http_reply_header(res, "Location", loc);
	return;
fail:
	LOG_ERROR("dataset %lld: %s", id, err);
	{
		char e2[CORE_ERR_LEN];
		queue_dataset_finish(req->app->pool, id, NULL, NULL, 0,
				     "the server could not start the import",
				     e2, sizeof e2);
		if (t && t->dir[0])
			unpack_tree_remove(t->dir, e2, sizeof e2);
	}
	core_free(t);
	http_reply_error(res,
			 st == CORE_ERR_NOMEM ? HTTP_E_OUT_OF_MEMORY
					      : HTTP_E_INTERNAL_ERROR,
			 "cannot start the import", NULL);
}

static void datasets_list(struct http_request *req, struct http_response *res)
{
	const char *limit_s = http_request_query(req, "limit");
	const char *cursor = http_request_query(req, "cursor");
	struct core_field_errors fe;
	long long limit = DATASETS_LIMIT_DEFAULT, before = 0;
	char err[CORE_ERR_LEN], *json = NULL;
	enum core_status st;

	if (!need_pool(req, res))
		return;
	core_field_errors_clear(&fe);
	if (limit_s) {
		limit = http_parse_positive(limit_s);
		if (limit <= 0)
			core_field_errorf(&fe, "limit",
					  "not a whole number from 1");
		else if (limit > DATASETS_LIMIT_MAX)
			limit = DATASETS_LIMIT_MAX;
	}
	if (cursor) {
		before = http_parse_positive(cursor);
		if (before <= 0)
			core_field_errorf(&fe, "cursor",
					  "not a next_cursor this API gave");
	}
	if (fe.n) {
		http_reply_error(res, HTTP_E_INVALID_PARAMETER,
				 "invalid query parameters", &fe);
		return;
	}
	st = queue_datasets_page_json(req->app->pool,
				      http_caller_team(&req->caller), before,
				      (int)limit, &json, err, sizeof err);
	if (st)
		http_reply_db_error(res, "datasets", st, err);
	else
		http_reply_json_text(res, 200, json);
}

static void dataset_get(struct http_request *req, struct http_response *res)
{
	long long id = http_parse_positive(http_request_param(req, "id"));
	char err[CORE_ERR_LEN], *json = NULL;
	enum core_status st;

	if (!need_pool(req, res))
		return;
	if (id <= 0) {
		reply_not_found(res, id);
		return;
	}
	st = queue_dataset_json(req->app->pool, id,
				http_caller_team(&req->caller), &json, err,
				sizeof err);
	if (st == CORE_ERR_NOT_FOUND)
		reply_not_found(res, id);
	else if (st)
		http_reply_db_error(res, "datasets", st, err);
	else
		http_reply_json_text(res, 200, json);
}

static void dataset_delete(struct http_request *req, struct http_response *res)
{
	long long id = http_parse_positive(http_request_param(req, "id"));
	char err[CORE_ERR_LEN], e2[CORE_ERR_LEN], dir[PATH_MAX + 32];
	enum core_status st;

	if (!need_pool(req, res))
		return;
	if (id <= 0) {
		reply_not_found(res, id);
		return;
	}
	st = queue_dataset_delete(req->app->pool, id,
				  http_caller_team(&req->caller), NULL, err,
				  sizeof err);
	if (st == CORE_ERR_NOT_FOUND) {
		reply_not_found(res, id);
		return;
	}
	if (st == CORE_ERR_CONFLICT) {
		http_reply_error(res, HTTP_E_DATASET_IN_USE, err, NULL);
		return;
	}
	if (st) {
		http_reply_db_error(res, "datasets", st, err);
		return;
	}
	/* the directory follows from the id, never from stored text */
	if (req->app->data_root) {
		snprintf(dir, sizeof dir, "%s/datasets/%lld",
			 req->app->data_root, id);
		if (unpack_tree_remove(dir, e2, sizeof e2))
			LOG_WARN("dataset %lld: %s", id, e2);
	}
	LOG_INFO("dataset %lld deleted by team %lld", id, req->caller.team_id);
	http_reply_static(res, 204, NULL, "", 0);
}

enum core_status http_datasets_routes_add(struct http_router *r, char *err,
					  size_t errlen)
{
	static const struct {
		unsigned method;
		const char *pattern;
		http_handler_fn fn;
		unsigned flags;
	} routes[] = {
	    {HTTP_POST, "/v1/datasets", dataset_create,
	     HTTP_ROUTE_UPLOAD | HTTP_ROUTE_TEAM_SCOPED},
	    {HTTP_GET, "/v1/datasets", datasets_list, HTTP_ROUTE_TEAM_SCOPED},
	    {HTTP_GET, "/v1/datasets/{id}", dataset_get,
	     HTTP_ROUTE_TEAM_SCOPED},
	    {HTTP_DELETE, "/v1/datasets/{id}", dataset_delete,
	     HTTP_ROUTE_TEAM_SCOPED},
	};
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		enum core_status st =
		    http_router_add(r, routes[i].method, routes[i].pattern,
				    routes[i].fn, routes[i].flags, err, errlen);
		if (st)
			return st;
	}
	return CORE_OK;
}
