/* SPDX-License-Identifier: Apache-2.0 */
/* test_api_datasets.c - /v1/datasets in process over real HTTP against a
 * real PostgreSQL: an archive upload streamed to the data root and imported
 * in the background (ready, with the import's report), archives refused
 * entry by entry (path traversal, a symlink: the dataset fails naming the
 * entry, nothing left on disk), the size cap (413 from Content-Length and
 * mid-stream on a chunked body, the partial file removed), no byte stored
 * without a token or with another media type, team scoping (another team's
 * id is a 404), and DELETE refused while a queued job uses the dataset.
 *
 * The image import is a stand-in kept here (stand_in_import): it counts
 * the files of each class folder and writes an index, the contract of
 * data_import_dir without decoding, which the data module owns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/testsupport.h"
#include "auth/auth.h"
#include "data/data.h"
#include "http/http.h"
#include "queue/queue.h"
#include "store/store.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UPLOAD_MAX (256 * 1024)

static struct ts_pg pg;
static struct store_pool *pool;
static struct http_router *router;
static struct http_server *srv;
static struct http_app app;
static char base[64], root[PATH_MAX];
static char tok_a[AUTH_TOKEN_MAX], tok_b[AUTH_TOKEN_MAX];

/* ---- the stand-in import ------------------------------------------------ */

/* Counts the regular files under each folder of src (a class); "train",
 * "val" and "test" are looked into. Fails without any file. */
static int count_classes(const char *dir, json_t *counts)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char sub[PATH_MAX + 300];
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
		if (lstat(sub, &sb) || !S_ISDIR(sb.st_mode))
			continue;
		if (!strcmp(e->d_name, "train") || !strcmp(e->d_name, "val") ||
		    !strcmp(e->d_name, "test")) {
			files += count_classes(sub, counts);
			continue;
		}
		DIR *c = opendir(sub);
		struct dirent *f;
		int n = 0;
		while (c && (f = readdir(c)))
			n += f->d_name[0] != '.';
		if (c)
			closedir(c);
		json_object_set_new(
		    counts, e->d_name,
		    json_integer(
			json_integer_value(json_object_get(counts, e->d_name)) +
			n));
		files += n;
	}
	closedir(d);
	return files;
}

static enum core_status
stand_in_import(const char *src_dir, const char *cache_dir,
		const struct data_import_opts *o,
		void (*progress)(double frac, const char *what, void *ctx),
		void *ctx, json_t **report, char *err, size_t errlen)
{
	json_t *counts = json_object();
	char index[PATH_MAX + 16];
	int files = count_classes(src_dir, counts);
	FILE *f;

	*report = NULL;
	if (files <= 0) {
		json_decref(counts);
		core_errf(err, errlen, "no image in the dataset");
		return CORE_ERR_INVALID;
	}
	progress(0.5, "stand-in", ctx);
	if (mkdir(cache_dir, 0700)) {
		json_decref(counts);
		core_errf(err, errlen, "mkdir cache");
		return CORE_ERR_IO;
	}
	snprintf(index, sizeof index, "%s/index", cache_dir);
	f = fopen(index, "w");
	if (f) {
		fprintf(f, "%d images at %d px\n", files, o->resolution);
		fclose(f);
	}
	{
		/* the class names, as the real import reports them */
		json_t *names = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(counts, k, v)
		{
			(void)v;
			json_array_append_new(names, json_string(k));
		}
		*report = json_pack("{s:o, s:o, s:i, s:i}", "classes", names,
				    "counts", counts, "images", files,
				    "resolution", o->resolution);
	}
	return CORE_OK;
}

/* ---- archives ------------------------------------------------------------ */

struct ent {
	const char *name;
	mode_t type;
	const char *text;
	const char *target;
};

/* The archive of es (zip or tar.gz) read back into *out (free). */
static size_t archive_build(int zip, const struct ent *es, size_t n, char **out)
{
	char path[PATH_MAX + 32];
	struct archive *a = archive_write_new();
	FILE *f;
	long len;

	snprintf(path, sizeof path, "%s/build.tmp", root);
	if (zip)
		archive_write_set_format_zip(a);
	else {
		archive_write_set_format_pax_restricted(a);
		archive_write_add_filter_gzip(a);
	}
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t size = es[i].text ? strlen(es[i].text) : 0;
		archive_entry_set_pathname(e, es[i].name);
		archive_entry_set_filetype(e, es[i].type);
		archive_entry_set_perm(e, 0644);
		if (es[i].target)
			archive_entry_set_symlink(e, es[i].target);
		archive_entry_set_size(e, (la_int64_t)size);
		assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
		if (size)
			archive_write_data(a, es[i].text, size);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	*out = malloc((size_t)len);
	assert_int_equal(fread(*out, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	unlink(path);
	return (size_t)len;
}

/* ---- helpers ------------------------------------------------------------- */

static void upload(const char *path, const char *token, const char *ctype,
		   const char *body, size_t len, int chunked,
		   struct ts_http_reply *r)
{
	char url[512], auth[AUTH_TOKEN_MAX + 32], ct[128];
	const char *h[4];
	int n = 0;

	snprintf(url, sizeof url, "%s%s", base, path);
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		h[n++] = auth;
	}
	snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
	h[n++] = ct;
	if (chunked)
		h[n++] = "Transfer-Encoding: chunked";
	h[n] = NULL;
	assert_int_equal(ts_http("POST", url, h, body, len, 20, r), 0);
}

static void req(const char *method, const char *path, const char *token,
		struct ts_http_reply *r)
{
	char url[512], auth[AUTH_TOKEN_MAX + 32];
	const char *h[2] = {auth, NULL};

	snprintf(url, sizeof url, "%s%s", base, path);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	assert_int_equal(ts_http(method, url, h, NULL, 0, 20, r), 0);
}

static json_t *body_json(const struct ts_http_reply *r)
{
	json_error_t je;
	json_t *j = json_loads(r->body, 0, &je);

	if (!j)
		fail_msg("not JSON (%s): %s", je.text, r->body);
	return j;
}

static void check_code(struct ts_http_reply *r, long status, const char *code)
{
	json_t *j;

	if (r->status != status)
		fail_msg("status %ld, wanted %ld: %s", r->status, status,
			 r->body);
	j = body_json(r);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    code);
	json_decref(j);
	ts_http_reply_free(r);
}

/* Files left in <root>/uploads (partial or unclaimed uploads). */
static int uploads_left(void)
{
	char dir[PATH_MAX + 16];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(dir, sizeof dir, "%s/uploads", root);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Uploads body as team a's name; returns the dataset once its import has
 * ended (the caller json_decrefs). */
static json_t *upload_and_wait(const char *name, const char *ctype,
			       const char *body, size_t len)
{
	char path[128], loc[128], want[128];
	struct ts_http_reply r;
	long long id;
	json_t *j;

	snprintf(path, sizeof path, "/v1/datasets?name=%s&resolution=64", name);
	upload(path, tok_a, ctype, body, len, 0, &r);
	if (r.status != 202)
		fail_msg("upload %s: %ld %s", name, r.status, r.body);
	j = body_json(&r);
	id = json_integer_value(json_object_get(j, "id"));
	assert_true(id > 0);
	assert_int_equal(json_integer_value(json_object_get(j, "upload_bytes")),
			 (json_int_t)len);
	snprintf(want, sizeof want, "/v1/datasets/%lld", id);
	assert_non_null(ts_http_header(&r, "Location", loc, sizeof loc));
	assert_string_equal(loc, want);
	json_decref(j);
	ts_http_reply_free(&r);
	/* the import runs in a thread of the server: wait for it to end */
	http_imports_drain(app.imports);
	req("GET", want, tok_a, &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	ts_http_reply_free(&r);
	return j;
}

static void dataset_dir(long long id, const char *sub, char *out, size_t n)
{
	snprintf(out, n, "%s/datasets/%lld%s%s", root, id, sub ? "/" : "",
		 sub ? sub : "");
}

/* ---- tests --------------------------------------------------------------- */

static void good_zip_is_imported_and_team_scoped(void **state)
{
	const struct ent es[] = {
	    {"train/red/a.png", AE_IFREG, "r1", NULL},
	    {"train/red/b.png", AE_IFREG, "r2", NULL},
	    {"train/blue/c.png", AE_IFREG, "b1", NULL},
	};
	char *zip, path[PATH_MAX + 64];
	size_t len = archive_build(1, es, 3, &zip);
	json_t *j = upload_and_wait("colours", "application/zip", zip, len);
	long long id = json_integer_value(json_object_get(j, "id"));
	json_t *rep = json_object_get(j, "report");
	struct ts_http_reply r;
	struct stat sb;

	free(zip);
	assert_string_equal(json_string_value(json_object_get(j, "status")),
			    "ready");
	assert_int_equal(json_integer_value(json_object_get(rep, "images")), 3);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(rep, "counts"), "red")),
			 2);
	assert_int_equal(json_integer_value(json_object_get(rep, "resolution")),
			 64);
	assert_int_equal(
	    json_integer_value(json_object_get(j, "expanded_bytes")), 6);
	json_decref(j);
	/* the cache stays; the upload and the extracted files are gone */
	dataset_dir(id, "cache/index", path, sizeof path);
	assert_int_equal(stat(path, &sb), 0);
	dataset_dir(id, "upload", path, sizeof path);
	assert_int_not_equal(stat(path, &sb), 0);
	dataset_dir(id, "files", path, sizeof path);
	assert_int_not_equal(stat(path, &sb), 0);
	assert_int_equal(uploads_left(), 0);
	/* team b: a 404 like a missing one, and not in its list */
	snprintf(path, sizeof path, "/v1/datasets/%lld", id);
	req("GET", path, tok_b, &r);
	check_code(&r, 404, "dataset_not_found");
	req("DELETE", path, tok_b, &r);
	check_code(&r, 404, "dataset_not_found");
	/* the import's events: received, half way (the stand-in's one
	 * progress call), ready; team b sees none */
	snprintf(path, sizeof path, "/v1/datasets/%lld/events", id);
	req("GET", path, tok_a, &r);
	assert_int_equal(r.status, 200);
	{
		json_error_t je;
		json_t *page = json_loads(r.body, 0, &je), *ev;
		const char *want[][2] = {{"state", "importing"},
					 {"progress", NULL},
					 {"state", "ready"}};
		size_t i;

		assert_non_null(page);
		assert_int_equal(
		    json_array_size(json_object_get(page, "events")), 3);
		json_array_foreach(json_object_get(page, "events"), i, ev)
		{
			json_t *d = json_object_get(ev, "data");
			assert_string_equal(
			    json_string_value(json_object_get(ev, "kind")),
			    want[i][0]);
			if (want[i][1])
				assert_string_equal(
				    json_string_value(
					json_object_get(d, "status")),
				    want[i][1]);
			else
				assert_true(json_real_value(json_object_get(
						d, "progress")) >= 0.5);
		}
		json_decref(page);
	}
	ts_http_reply_free(&r);
	req("GET", path, tok_b, &r);
	check_code(&r, 404, "dataset_not_found");
	snprintf(path, sizeof path, "/v1/datasets/%lld/events?after=x", id);
	req("GET", path, tok_a, &r);
	check_code(&r, 400, "invalid_parameter");
	req("GET", "/v1/datasets", tok_b, &r);
	assert_int_equal(r.status, 200);
	assert_null(strstr(r.body, "colours"));
	ts_http_reply_free(&r);
	req("GET", "/v1/datasets", tok_a, &r);
	assert_non_null(strstr(r.body, "colours"));
	ts_http_reply_free(&r);
	/* the name is the team's */
	len = archive_build(1, es, 3, &zip);
	upload("/v1/datasets?name=colours", tok_a, "application/zip", zip, len,
	       0, &r);
	check_code(&r, 409, "dataset_name_taken");
	free(zip);
	assert_int_equal(uploads_left(), 0);
}

static void hostile_archives_fail_naming_the_entry(void **state)
{
	const struct ent trav[] = {
	    {"red/a.png", AE_IFREG, "x", NULL},
	    {"../evil.png", AE_IFREG, "pwned", NULL},
	};
	const struct ent sym[] = {
	    {"red/link.png", AE_IFLNK, NULL, "/etc/passwd"},
	};
	char *arc, path[PATH_MAX + 64];
	size_t len = archive_build(1, trav, 2, &arc);
	json_t *j = upload_and_wait("trav", "application/zip", arc, len);
	long long id = json_integer_value(json_object_get(j, "id"));
	struct stat sb;

	free(arc);
	assert_string_equal(json_string_value(json_object_get(j, "status")),
			    "failed");
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")),
			       "entry '../evil.png'"));
	json_decref(j);
	dataset_dir(id, NULL, path, sizeof path);
	assert_int_not_equal(stat(path, &sb), 0); /* nothing left */
	snprintf(path, sizeof path, "%s/datasets/evil.png", root);
	assert_int_not_equal(stat(path, &sb), 0);

	len = archive_build(0, sym, 1, &arc);
	j = upload_and_wait("sym", "application/gzip", arc, len);
	free(arc);
	assert_string_equal(json_string_value(json_object_get(j, "status")),
			    "failed");
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")),
			       "entry 'red/link.png': symbolic link"));
	json_decref(j);
	assert_int_equal(uploads_left(), 0);
}

static void size_cap_token_and_media_type_come_first(void **state)
{
	size_t big = UPLOAD_MAX + 100000;
	char *body = calloc(1, big);
	struct ts_http_reply r;
	char out[64];

	assert_non_null(body);
	/* Content-Length past the cap: refused from the headers */
	upload("/v1/datasets?name=big", tok_a, "application/zip", body, big, 0,
	       &r);
	check_code(&r, 413, "body_too_large");
	/* chunked (no length): refused once the stream passes the cap; the
	 * partial file is removed */
	upload("/v1/datasets?name=big", tok_a, "application/zip", body, big, 1,
	       &r);
	check_code(&r, 413, "body_too_large");
	assert_int_equal(uploads_left(), 0);
	/* far past the cap (more than 1 MiB): the connection is dropped
	 * rather than the whole body read */
	free(body);
	big = UPLOAD_MAX + (4u << 20);
	body = calloc(1, big);
	assert_non_null(body);
	{
		char url[256], auth[AUTH_TOKEN_MAX + 32];
		const char *h[] = {auth, "Content-Type: application/zip",
				   "Transfer-Encoding: chunked", NULL};
		snprintf(url, sizeof url, "%s/v1/datasets?name=big", base);
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok_a);
		/* -1: the connection was closed while curl sent */
		ts_http("POST", url, h, body, big, 20, &r);
		assert_true(r.status == 0 || r.status == 413);
		ts_http_reply_free(&r);
	}
	assert_int_equal(uploads_left(), 0);
	/* no token, or another media type: nothing stored */
	upload("/v1/datasets?name=anon", NULL, "application/zip", body, 1000, 0,
	       &r);
	check_code(&r, 401, "unauthenticated");
	upload("/v1/datasets?name=txt", tok_a, "text/plain", body, 1000, 0, &r);
	check_code(&r, 415, "unsupported_media_type");
	upload("/v1/datasets?name=res&resolution=5000", tok_a,
	       "application/x-tar", body, 1000, 0, &r);
	check_code(&r, 422, "validation_failed");
	upload("/v1/datasets?name=../x", tok_a, "application/x-tar", body, 1000,
	       0, &r);
	check_code(&r, 422, "validation_failed");
	assert_int_equal(uploads_left(), 0);
	free(body);
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "SELECT count(*) FROM datasets WHERE name "
				    "IN ('big', 'anon', 'txt', 'res')",
				    out, sizeof out),
			 0);
	assert_string_equal(out, "0");
}

static void delete_refused_while_a_job_uses_it(void **state)
{
	const struct ent es[] = {{"a/x.png", AE_IFREG, "x", NULL}};
	char *zip, path[PATH_MAX + 64], sql[256];
	size_t len = archive_build(1, es, 1, &zip);
	json_t *j = upload_and_wait("inuse", "application/zip", zip, len);
	long long id = json_integer_value(json_object_get(j, "id")), job;
	struct ts_http_reply r;
	struct stat sb;

	free(zip);
	json_decref(j);
	snprintf(sql, sizeof sql,
		 "INSERT INTO jobs (name, spec, team_id, dataset_id) SELECT "
		 "'j', '{}', team_id, id FROM datasets WHERE id = %lld "
		 "RETURNING id",
		 id);
	assert_int_equal(ts_pg_exec(&pg, NULL, sql, path, sizeof path), 0);
	job = atoll(path);
	snprintf(path, sizeof path, "/v1/datasets/%lld", id);
	req("DELETE", path, tok_a, &r);
	check_code(&r, 409, "dataset_in_use");
	snprintf(sql, sizeof sql,
		 "UPDATE jobs SET status = 'succeeded' WHERE id = %lld", job);
	assert_int_equal(ts_pg_exec(&pg, NULL, sql, NULL, 0), 0);
	req("DELETE", path, tok_a, &r);
	assert_int_equal(r.status, 204);
	ts_http_reply_free(&r);
	dataset_dir(id, NULL, path, sizeof path);
	assert_int_not_equal(stat(path, &sb), 0); /* its files went too */
}

/* POSTs a job spec as token; returns the reply (caller frees). */
static void submit(const char *token, const char *spec, struct ts_http_reply *r)
{
	char url[512], auth[AUTH_TOKEN_MAX + 32];
	const char *h[3] = {auth, "Content-Type: application/json", NULL};

	snprintf(url, sizeof url, "%s/v1/jobs", base);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	assert_int_equal(ts_http("POST", url, h, spec, strlen(spec), 20, r), 0);
}

/* 1 when the problem's errors name field. */
static int names_field(const struct ts_http_reply *r, const char *field)
{
	json_t *j = body_json(r), *e;
	size_t i;
	int found = 0;

	json_array_foreach(json_object_get(j, "errors"), i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "field")),
			   field) == 0)
			found = 1;
	}
	json_decref(j);
	return found;
}

static void job_spec_names_a_ready_dataset_of_its_team(void **state)
{
	const struct ent es[] = {{"cat/x.png", AE_IFREG, "x", NULL},
				 {"dog/y.png", AE_IFREG, "y", NULL}};
	const struct ent bad[] = {{"/abs.png", AE_IFREG, "x", NULL}};
	char *zip, spec[256], sql[2 * PATH_MAX], out[PATH_MAX + 64],
	    cache[PATH_MAX + 64];
	size_t len = archive_build(1, es, 2, &zip);
	json_t *j = upload_and_wait("forjobs", "application/zip", zip, len);
	long long id = json_integer_value(json_object_get(j, "id")), failed;
	struct ts_http_reply r;

	free(zip);
	json_decref(j);
	len = archive_build(1, bad, 1, &zip);
	j = upload_and_wait("broken", "application/zip", zip, len);
	failed = json_integer_value(json_object_get(j, "id"));
	free(zip);
	json_decref(j);

	/* by id: the stored spec names the dataset and its cache */
	snprintf(spec, sizeof spec,
		 "{\"name\": \"t\", \"dataset\": {\"id\": %lld}}", id);
	submit(tok_a, spec, &r);
	if (r.status != 201)
		fail_msg("submit: %ld %s", r.status, r.body);
	j = body_json(&r);
	snprintf(sql, sizeof sql,
		 "SELECT (spec->'dataset'->>'id') || ' ' || "
		 "(spec->'dataset'->>'path') || ' ' || dataset_id || ' ' || "
		 "(spec->'dataset'->>'kind') || ' ' || "
		 "(spec->'dataset'->>'classes') FROM jobs "
		 "WHERE id = %lld",
		 (long long)json_integer_value(json_object_get(j, "id")));
	json_decref(j);
	ts_http_reply_free(&r);
	assert_int_equal(ts_pg_exec(&pg, NULL, sql, out, sizeof out), 0);
	dataset_dir(id, "cache", cache, sizeof cache);
	/* an import cache whose 2 classes every architecture follows */
	snprintf(sql, sizeof sql, "%lld %s %lld cache 2", id, cache, id);
	assert_string_equal(out, sql);
	/* by name, and a client's path is replaced by the cache's */
	submit(tok_a,
	       "{\"name\": \"t\", \"dataset\": {\"name\": \"forjobs\", "
	       "\"path\": \"/etc\"}}",
	       &r);
	assert_int_equal(r.status, 201);
	assert_null(strstr(r.body, "/etc"));
	ts_http_reply_free(&r);
	/* another team's, a failed one, a missing name: 422 naming the field */
	submit(tok_b, spec, &r);
	assert_int_equal(r.status, 422);
	assert_true(names_field(&r, "dataset.id"));
	ts_http_reply_free(&r);
	snprintf(spec, sizeof spec,
		 "{\"name\": \"t\", \"dataset\": {\"id\": %lld}}", failed);
	submit(tok_a, spec, &r);
	assert_int_equal(r.status, 422);
	assert_true(names_field(&r, "dataset.id"));
	assert_non_null(strstr(r.body, "failed, not ready"));
	ts_http_reply_free(&r);
	submit(tok_a, "{\"name\": \"t\", \"dataset\": {\"name\": \"nope\"}}",
	       &r);
	assert_int_equal(r.status, 422);
	assert_true(names_field(&r, "dataset.name"));
	ts_http_reply_free(&r);
	/* its queued jobs keep it */
	snprintf(spec, sizeof spec, "/v1/datasets/%lld", id);
	req("DELETE", spec, tok_a, &r);
	check_code(&r, 409, "dataset_in_use");
}

static int group_setup(void **state)
{
	char url[256], err[CORE_ERR_LEN], tmp[] = "/tmp/lmds-XXXXXX";
	struct http_server_config c;
	long long id;

	if (ts_pg_start(&pg))
		return -1;
	ts_pg_url(&pg, NULL, url, sizeof url);
	if (store_pool_open(url, 4, &pool, err, sizeof err) ||
	    store_migrate(pool, NULL, err, sizeof err) ||
	    auth_token_create(pool, "a", 0, 0, tok_a, &id, err, sizeof err) ||
	    auth_token_create(pool, "b", 0, 0, tok_b, &id, err, sizeof err)) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	if (!mkdtemp(tmp) || !realpath(tmp, root))
		return -1;
	app.pool = pool;
	app.data_root = root;
	app.limiter = http_auth_limiter_new(1000);
	app.upload_max_bytes = UPLOAD_MAX;
	app.dataset_import = stand_in_import;
	if (http_imports_new(&app.imports, err, sizeof err) ||
	    http_router_new(&router, err, sizeof err) ||
	    http_api_routes_add(router, err, sizeof err))
		return -1;
	http_server_config_defaults(&c);
	c.port = 0;
	c.threads = 2;
	c.app = &app;
	if (http_server_start(&c, router, &srv, err, sizeof err))
		return -1;
	snprintf(base, sizeof base, "http://127.0.0.1:%d",
		 http_server_port(srv));
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[PATH_MAX + 32];

	http_server_stop(srv, 1);
	http_imports_free(app.imports);
	http_router_free(router);
	http_auth_limiter_free(app.limiter);
	store_pool_close(pool);
	ts_pg_destroy(&pg);
	if (strncmp(root, "/tmp/lmds-", 10) == 0) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", root);
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(good_zip_is_imported_and_team_scoped),
	    cmocka_unit_test(hostile_archives_fail_naming_the_entry),
	    cmocka_unit_test(size_cap_token_and_media_type_come_first),
	    cmocka_unit_test(delete_refused_while_a_job_uses_it),
	    cmocka_unit_test(job_spec_names_a_ready_dataset_of_its_team),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
