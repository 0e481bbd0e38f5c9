/* SPDX-License-Identifier: Apache-2.0 */
/* test_api_downloads.c - the tool and download routes of the /v1 API in
 * process over real HTTP against a real PostgreSQL: a stored model's STM32
 * zip and checkpoint (byte-exact, ETag = sha256 of the body, If-None-Match,
 * every Range form, 416, HEAD, another team's model, a model without a zip),
 * POST /v1/cost (the document `lmnas cost --json` prints for the same file,
 * invalid architectures and spaces named by field, malformed, deep and
 * oversized bodies: 4xx problems, never 5xx) and a job's size in the
 * database in GET /v1/jobs/{id}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/testsupport.h"
#include "auth/auth.h"
#include "core/core.h"
#include "http/http.h"
#include "queue/queue.h"
#include "space/space.h"
#include "store/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZIP_LEN	 300007 /* odd sizes: off-by-ones show */
#define CKPT_LEN 70001

static struct ts_pg pg;
static struct store_pool *pool;
static struct http_router *router;
static struct http_server *srv;
static struct http_app app;
static char base[64];
static char tok_a[AUTH_TOKEN_MAX], tok_b[AUTH_TOKEN_MAX],
    tok_admin[AUTH_TOKEN_MAX];
static unsigned char *zip_bytes, *ckpt_bytes;
static long long job_a, model_a, model_nozip;

/* ---- helpers ----------------------------------------------------------- */

/* Sends method path with token (NULL: none), a JSON body (NULL: none) of
 * len bytes, and up to two extra headers (may be NULL). */
static void req(const char *method, const char *path, const char *token,
		const char *body, size_t len, const char *h1, const char *h2,
		struct ts_http_reply *r)
{
	char url[512], auth[AUTH_TOKEN_MAX + 32];
	const char *h[5];
	int n = 0;

	snprintf(url, sizeof url, "%s%s", base, path);
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		h[n++] = auth;
	}
	if (body)
		h[n++] = "Content-Type: application/json";
	if (h1)
		h[n++] = h1;
	if (h2)
		h[n++] = h2;
	h[n] = NULL;
	assert_int_equal(ts_http(method, url, h, body, len, 30, r), 0);
}

static void get(const char *path, const char *token, const char *h1,
		const char *h2, struct ts_http_reply *r)
{
	req("GET", path, token, NULL, 0, h1, h2, r);
}

static void post_json(const char *path, const char *token, const char *body,
		      struct ts_http_reply *r)
{
	req("POST", path, token, body, strlen(body), NULL, NULL, r);
}

static json_t *body_json(const struct ts_http_reply *r)
{
	json_error_t je;
	json_t *j = json_loads(r->body, 0, &je);

	if (!j)
		fail_msg("not JSON (%s): %s", je.text, r->body);
	return j;
}

/* Asserts a problem body with code (registered, with this status). */
static void check_problem(const struct ts_http_reply *r, int status,
			  const char *code)
{
	char ct[128];
	json_t *j;
	const struct http_error_info *info;

	if (r->status != status)
		fail_msg("status %ld, wanted %d: %s", r->status, status,
			 r->body);
	assert_non_null(ts_http_header(r, "Content-Type", ct, sizeof ct));
	assert_string_equal(ct, "application/problem+json");
	j = body_json(r);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    code);
	info = http_error_find(code);
	assert_non_null(info);
	assert_int_equal(info->status, status);
	json_decref(j);
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

static void header_is(const struct ts_http_reply *r, const char *name,
		      const char *want)
{
	char v[256];

	if (!ts_http_header(r, name, v, sizeof v))
		fail_msg("no %s header", name);
	if (strcmp(v, want) != 0)
		fail_msg("%s: '%s', wanted '%s'", name, v, want);
}

/* A SELECT's first value as text (ts_pg_exec). */
static void sql_value(const char *sql, char *out, size_t outlen)
{
	if (ts_pg_exec(&pg, NULL, sql, out, outlen))
		fail_msg("%s: %s", sql, out);
}

/* ---- setup ------------------------------------------------------------- */

static int group_setup(void **state)
{
	char url[256], err[CORE_ERR_LEN], sql[512], out[64];
	struct http_server_config c;
	struct store_model m = {0};
	long long id, cand;
	uint64_t x = 88172645463325252ull;

	(void)state;
	if (ts_pg_start(&pg))
		return -1;
	ts_pg_url(&pg, NULL, url, sizeof url);
	if (store_pool_open(url, 4, &pool, err, sizeof err) ||
	    store_migrate(pool, NULL, err, sizeof err) ||
	    auth_token_create(pool, "a", 0, 0, tok_a, &id, err, sizeof err) ||
	    auth_token_create(pool, "b", 0, 0, tok_b, &id, err, sizeof err) ||
	    auth_token_create(pool, "ops", 1, 0, tok_admin, &id, err,
			      sizeof err)) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	/* team a's job with two models: one with both artifacts (bytes of
	 * every value, from xorshift), one with a checkpoint only */
	zip_bytes = malloc(ZIP_LEN);
	ckpt_bytes = malloc(CKPT_LEN);
	if (!zip_bytes || !ckpt_bytes)
		return -1;
	for (size_t i = 0; i < ZIP_LEN; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		zip_bytes[i] = (unsigned char)x;
	}
	for (size_t i = 0; i < CKPT_LEN; i++)
		ckpt_bytes[i] = (unsigned char)(i * 7 + 3);
	snprintf(sql, sizeof sql,
		 "INSERT INTO jobs (name, spec, team_id, status) SELECT 'dl', "
		 "'{}', id, 'succeeded' FROM teams WHERE name = 'a' "
		 "RETURNING id");
	if (ts_pg_exec(&pg, NULL, sql, out, sizeof out))
		return -1;
	job_a = atoll(out);
	for (int k = 0; k < 2; k++) {
		snprintf(sql, sizeof sql,
			 "INSERT INTO candidates (job_id, round, source, arch, "
			 "arch_hash, status) VALUES (%lld, 1, 'random', '{}', "
			 "'h%d', 'final_done') RETURNING id",
			 job_a, k);
		if (ts_pg_exec(&pg, NULL, sql, out, sizeof out))
			return -1;
		cand = atoll(out);
		m.job_id = job_a;
		m.candidate_id = cand;
		m.ckpt = ckpt_bytes;
		m.ckpt_len = CKPT_LEN;
		m.zip = k == 0 ? zip_bytes : NULL;
		m.zip_len = k == 0 ? ZIP_LEN : 0;
		if (store_model_insert(pool, NULL, &m,
				       k == 0 ? &model_a : &model_nozip, err,
				       sizeof err)) {
			fprintf(stderr, "setup: %s\n", err);
			return -1;
		}
	}
	if (http_router_new(&router, err, sizeof err) ||
	    http_api_routes_add(router, err, sizeof err))
		return -1;
	app.pool = pool;
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
	(void)state;
	http_server_stop(srv, 1);
	http_router_free(router);
	store_pool_close(pool);
	ts_pg_destroy(&pg);
	free(zip_bytes);
	free(ckpt_bytes);
	return 0;
}

/* ---- downloads --------------------------------------------------------- */

static void zip_download_is_the_stored_bytes(void **state)
{
	char path[96], sql[256], stored[80], etag[80], hex[65], want[128];
	struct ts_http_reply r;

	(void)state;
	snprintf(path, sizeof path, "/v1/models/%lld/stm32.zip", model_a);
	get(path, tok_a, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, ZIP_LEN);
	assert_memory_equal(r.body, zip_bytes, ZIP_LEN);
	header_is(&r, "Content-Type", "application/zip");
	snprintf(want, sizeof want, "%d", ZIP_LEN);
	header_is(&r, "Content-Length", want);
	header_is(&r, "Accept-Ranges", "bytes");
	snprintf(want, sizeof want,
		 "attachment; filename=\"lmnas-job%lld-model%lld.zip\"", job_a,
		 model_a);
	header_is(&r, "Content-Disposition", want);
	/* the ETag is the row's digest, and the body's */
	snprintf(sql, sizeof sql,
		 "SELECT zip_sha256 FROM models WHERE id = %lld", model_a);
	sql_value(sql, stored, sizeof stored);
	core_sha256_hex(r.body, r.len, hex);
	assert_string_equal(stored, hex);
	snprintf(etag, sizeof etag, "\"%s\"", hex);
	header_is(&r, "ETag", etag);
	/* and the row's bytes themselves */
	snprintf(sql, sizeof sql,
		 "SELECT encode(sha256(zip), 'hex') FROM models WHERE id = "
		 "%lld",
		 model_a);
	sql_value(sql, stored, sizeof stored);
	assert_string_equal(stored, hex);
	ts_http_reply_free(&r);

	/* the checkpoint */
	snprintf(path, sizeof path, "/v1/models/%lld/checkpoint", model_a);
	get(path, tok_a, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, CKPT_LEN);
	assert_memory_equal(r.body, ckpt_bytes, CKPT_LEN);
	header_is(&r, "Content-Type", "application/octet-stream");
	core_sha256_hex(ckpt_bytes, CKPT_LEN, hex);
	snprintf(etag, sizeof etag, "\"%s\"", hex);
	header_is(&r, "ETag", etag);
	snprintf(want, sizeof want,
		 "attachment; filename=\"lmnas-job%lld-model%lld-checkpoint."
		 "lmnas\"",
		 job_a, model_a);
	header_is(&r, "Content-Disposition", want);
	ts_http_reply_free(&r);

	/* HEAD: the same headers, no body */
	snprintf(path, sizeof path, "/v1/models/%lld/stm32.zip", model_a);
	req("HEAD", path, tok_a, NULL, 0, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);
	snprintf(want, sizeof want, "%d", ZIP_LEN);
	header_is(&r, "Content-Length", want);
	ts_http_reply_free(&r);
}

static void if_none_match_gets_304(void **state)
{
	char path[96], hex[65], inm[160];
	struct ts_http_reply r;

	(void)state;
	core_sha256_hex(zip_bytes, ZIP_LEN, hex);
	snprintf(path, sizeof path, "/v1/models/%lld/stm32.zip", model_a);
	snprintf(inm, sizeof inm, "If-None-Match: \"%s\"", hex);
	get(path, tok_a, inm, NULL, &r);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.len, 0);
	ts_http_reply_free(&r);
	/* in a list, weak */
	snprintf(inm, sizeof inm, "If-None-Match: \"x\", W/\"%s\"", hex);
	get(path, tok_a, inm, NULL, &r);
	assert_int_equal(r.status, 304);
	ts_http_reply_free(&r);
	get(path, tok_a, "If-None-Match: *", NULL, &r);
	assert_int_equal(r.status, 304);
	ts_http_reply_free(&r);
	/* another digest: the bytes */
	get(path, tok_a, "If-None-Match: \"0123\"", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, ZIP_LEN);
	ts_http_reply_free(&r);
}

/* A Range header and the slice (first, len) it must give. */
static void check_range(const char *path, const char *range, long long first,
			long long len, long long total)
{
	char h[96], want[96];
	struct ts_http_reply r;

	snprintf(h, sizeof h, "Range: %s", range);
	get(path, tok_a, h, NULL, &r);
	if (r.status != 206)
		fail_msg("%s: %ld", range, r.status);
	assert_int_equal(r.len, len);
	assert_memory_equal(r.body, zip_bytes + first, (size_t)len);
	snprintf(want, sizeof want, "bytes %lld-%lld/%lld", first,
		 first + len - 1, total);
	header_is(&r, "Content-Range", want);
	snprintf(want, sizeof want, "%lld", len);
	header_is(&r, "Content-Length", want);
	ts_http_reply_free(&r);
}

static void ranges_give_206_416_or_the_whole(void **state)
{
	static const char *const ignored[] = {
	    "bytes=0-1,5-6", "bytes=5-2", "bytes=x-3",	   "items=0-3",
	    "bytes=",	     "bytes=-",	  "bytes=1-2 junk"};
	char path[96], hex[65], h[160];
	struct ts_http_reply r;

	(void)state;
	snprintf(path, sizeof path, "/v1/models/%lld/stm32.zip", model_a);
	check_range(path, "bytes=0-0", 0, 1, ZIP_LEN);
	check_range(path, "bytes=1000-1999", 1000, 1000, ZIP_LEN);
	/* the last byte position is clamped to the end */
	check_range(path, "bytes=299000-99999999", 299000, ZIP_LEN - 299000,
		    ZIP_LEN);
	check_range(path, "bytes=300000-", 300000, ZIP_LEN - 300000, ZIP_LEN);
	check_range(path, "bytes=-10", ZIP_LEN - 10, 10, ZIP_LEN);
	check_range(path, "bytes=-999999999", 0, ZIP_LEN, ZIP_LEN);
	check_range(path, "BYTES=5-5", 5, 1, ZIP_LEN);

	/* unsatisfiable: past the end, or an empty suffix */
	get(path, tok_a, "Range: bytes=300007-", NULL, &r);
	check_problem(&r, 416, "range_not_satisfiable");
	header_is(&r, "Content-Range", "bytes */300007");
	ts_http_reply_free(&r);
	get(path, tok_a, "Range: bytes=99999999999999999999999-", NULL, &r);
	check_problem(&r, 416, "range_not_satisfiable");
	ts_http_reply_free(&r);
	get(path, tok_a, "Range: bytes=-0", NULL, &r);
	check_problem(&r, 416, "range_not_satisfiable");
	ts_http_reply_free(&r);

	/* malformed or several ranges: ignored, the whole artifact */
	for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
		snprintf(h, sizeof h, "Range: %s", ignored[i]);
		get(path, tok_a, h, NULL, &r);
		if (r.status != 200 || r.len != ZIP_LEN)
			fail_msg("%s: %ld, %zu bytes", ignored[i], r.status,
				 r.len);
		ts_http_reply_free(&r);
	}

	/* If-Range: the range only for the representation named */
	core_sha256_hex(zip_bytes, ZIP_LEN, hex);
	snprintf(h, sizeof h, "If-Range: \"%s\"", hex);
	get(path, tok_a, "Range: bytes=0-9", h, &r);
	assert_int_equal(r.status, 206);
	assert_int_equal(r.len, 10);
	ts_http_reply_free(&r);
	get(path, tok_a, "Range: bytes=0-9", "If-Range: \"old\"", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, ZIP_LEN);
	ts_http_reply_free(&r);
}

static void downloads_are_team_scoped(void **state)
{
	char path[96];
	struct ts_http_reply r;

	(void)state;
	snprintf(path, sizeof path, "/v1/models/%lld/stm32.zip", model_a);
	get(path, tok_b, NULL, NULL, &r);
	check_problem(&r, 404, "model_not_found");
	ts_http_reply_free(&r);
	get(path, tok_b, "Range: bytes=0-3", NULL, &r);
	check_problem(&r, 404, "model_not_found");
	ts_http_reply_free(&r);
	snprintf(path, sizeof path, "/v1/models/%lld/checkpoint", model_a);
	get(path, tok_b, NULL, NULL, &r);
	check_problem(&r, 404, "model_not_found");
	ts_http_reply_free(&r);
	get(path, NULL, NULL, NULL, &r);
	check_problem(&r, 401, "unauthenticated");
	ts_http_reply_free(&r);
	/* the admin sees every team's */
	get(path, tok_admin, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, CKPT_LEN);
	ts_http_reply_free(&r);
	/* a model without a zip, and no model */
	snprintf(path, sizeof path, "/v1/models/%lld/stm32.zip", model_nozip);
	get(path, tok_a, NULL, NULL, &r);
	check_problem(&r, 404, "artifact_not_found");
	ts_http_reply_free(&r);
	get("/v1/models/99999999/stm32.zip", tok_a, NULL, NULL, &r);
	check_problem(&r, 404, "model_not_found");
	ts_http_reply_free(&r);
	get("/v1/models/x/checkpoint", tok_a, NULL, NULL, &r);
	check_problem(&r, 404, "model_not_found");
	ts_http_reply_free(&r);
}

/* ---- POST /v1/cost ----------------------------------------------------- */

/* What `lmnas cost ARGS --json` prints, parsed. */
static json_t *lmnas_cost_json(const char *const *args)
{
	struct ts_proc p = {0};
	json_error_t je;
	char *log;
	json_t *j;
	int code = ts_lmnas_run(&p, args, NULL);

	log = ts_proc_log_read(&p);
	assert_non_null(log);
	if (code != 0 && code != 1)
		fail_msg("lmnas cost: exit %d: %s", code, log);
	j = json_loads(log, 0, &je);
	if (!j)
		fail_msg("lmnas cost output is not JSON (%s): %s", je.text,
			 log);
	free(log);
	return j;
}

static char *file_text(const char *path)
{
	char *text = NULL, err[CORE_ERR_LEN];
	size_t len = 0;

	if (core_file_read(path, 1 << 20, &text, &len, err, sizeof err))
		fail_msg("%s", err);
	return text;
}

static void cost_is_what_lmnas_cost_json_prints(void **state)
{
	static const char arch_path[] = "tools/parity_arch.json";
	const char *args[] = {"cost", arch_path, "--json", NULL};
	const char *sargs[] = {"cost", arch_path, "--space",
			       NULL,   "--json",  NULL};
	char space_path[] = "/tmp/lmspace-XXXXXX";
	struct ts_http_reply r;
	struct space s;
	json_t *want, *got, *arch, *space, *wrap;
	char *text = file_text(arch_path), *body;
	int fd;

	(void)state;
	want = lmnas_cost_json(args);
	post_json("/v1/cost", tok_a, text, &r);
	assert_int_equal(r.status, 200);
	got = body_json(&r);
	if (!json_equal(got, want))
		fail_msg("POST /v1/cost: %s", r.body);
	assert_true(json_is_null(json_object_get(got, "space")));
	json_decref(got);
	json_decref(want);
	ts_http_reply_free(&r);

	/* {"arch", "space"} as `lmnas cost --space FILE` (less the path) */
	space_default(&s);
	space = space_to_json(&s);
	fd = mkstemp(space_path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(json_dump_file(space, space_path, 0), 0);
	sargs[3] = space_path;
	want = lmnas_cost_json(sargs);
	unlink(space_path);
	json_object_del(json_object_get(want, "space"), "path");
	arch = json_loads(text, 0, NULL);
	wrap = json_pack("{sOsO}", "arch", arch, "space", space);
	body = json_dumps(wrap, JSON_COMPACT);
	post_json("/v1/cost", tok_a, body, &r);
	assert_int_equal(r.status, 200);
	got = body_json(&r);
	if (!json_equal(got, want))
		fail_msg("POST /v1/cost with a space: %s", r.body);
	assert_true(json_is_boolean(
	    json_object_get(json_object_get(got, "space"), "member")));
	json_decref(got);
	json_decref(want);
	ts_http_reply_free(&r);
	free(body);

	/* a space the architecture is not in: 200, member false, why */
	json_object_set_new(space, "kernel", json_pack("[i]", 7));
	body = json_dumps(wrap, JSON_COMPACT);
	post_json("/v1/cost", tok_a, body, &r);
	assert_int_equal(r.status, 200);
	got = body_json(&r);
	assert_true(json_is_false(
	    json_object_get(json_object_get(got, "space"), "member")));
	assert_true(json_array_size(json_object_get(
			json_object_get(got, "space"), "errors")) > 0);
	json_decref(got);
	ts_http_reply_free(&r);
	free(body);
	json_decref(wrap);
	json_decref(arch);
	json_decref(space);
	core_free(text);
}

static void cost_refuses_bad_input_with_4xx(void **state)
{
	char *big, *deep;
	const size_t depth = 10000, bigsz = 10u << 20;
	struct ts_http_reply r;

	(void)state;
	/* an invalid architecture: every field named */
	post_json("/v1/cost", tok_a,
		  "{\"format\": \"lmnas-arch/1\", \"input\": {\"resolution\": "
		  "32, \"channels\": 3}, \"stages\": [{\"block\": \"mbconv\", "
		  "\"out\": 16, \"layers\": 1, \"kernel\": 4, \"stride\": 1, "
		  "\"expand\": 3}], \"head\": {\"classes\": 10}, \"bogus\": 1}",
		  &r);
	check_problem(&r, 422, "validation_failed");
	assert_true(names_field(&r, "stages[0].kernel"));
	assert_true(names_field(&r, "bogus"));
	ts_http_reply_free(&r);
	/* the same in the wrapper: under arch. */
	post_json("/v1/cost", tok_a,
		  "{\"arch\": {\"format\": \"lmnas-arch/1\", \"input\": "
		  "{\"resolution\": 32, \"channels\": 3}, \"stages\": "
		  "[{\"block\": \"mbconv\", \"out\": 16, \"layers\": 1, "
		  "\"kernel\": 4, \"stride\": 1, \"expand\": 3}], \"head\": "
		  "{\"classes\": 10}}, \"extra\": 2}",
		  &r);
	check_problem(&r, 422, "validation_failed");
	assert_true(names_field(&r, "extra"));
	ts_http_reply_free(&r);
	post_json("/v1/cost", tok_a,
		  "{\"arch\": {\"format\": \"lmnas-arch/1\", \"input\": "
		  "{\"resolution\": 32, \"channels\": 3}, \"stages\": "
		  "[{\"block\": \"mbconv\", \"out\": 16, \"layers\": 1, "
		  "\"kernel\": 4, \"stride\": 1, \"expand\": 3}], \"head\": "
		  "{\"classes\": 10}}}",
		  &r);
	check_problem(&r, 422, "validation_failed");
	assert_true(names_field(&r, "arch.stages[0].kernel"));
	ts_http_reply_free(&r);
	/* an invalid space (a valid arch): under space. */
	post_json("/v1/cost", tok_a,
		  "{\"arch\": {\"format\": \"lmnas-arch/1\", \"input\": "
		  "{\"resolution\": 32, \"channels\": 3}, \"stages\": "
		  "[{\"block\": \"mbconv\", \"out\": 16, \"layers\": 1, "
		  "\"kernel\": 3, \"stride\": 1, \"expand\": 3}], \"head\": "
		  "{\"classes\": 10}}, \"space\": {\"format\": "
		  "\"lmnas-space/1\", \"kernel\": [4]}}",
		  &r);
	check_problem(&r, 422, "validation_failed");
	assert_true(names_field(&r, "space.kernel[0]"));
	ts_http_reply_free(&r);
	post_json("/v1/cost", tok_a,
		  "{\"arch\": {\"format\": \"lmnas-arch/1\"}, \"space\": 5}",
		  &r);
	check_problem(&r, 422, "validation_failed");
	ts_http_reply_free(&r);
	/* not an object, wrong types */
	post_json("/v1/cost", tok_a, "[1, 2]", &r);
	check_problem(&r, 422, "validation_failed");
	assert_true(names_field(&r, "$"));
	ts_http_reply_free(&r);
	post_json("/v1/cost", tok_a, "{\"arch\": \"x\"}", &r);
	check_problem(&r, 422, "validation_failed");
	ts_http_reply_free(&r);
	/* malformed JSON */
	post_json("/v1/cost", tok_a, "{\"format\": ", &r);
	check_problem(&r, 400, "invalid_json");
	ts_http_reply_free(&r);
	/* 10,000 levels of nesting */
	deep = calloc(1, 2 * depth + 1);
	assert_non_null(deep);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	post_json("/v1/cost", tok_a, deep, &r);
	check_problem(&r, 400, "invalid_json");
	ts_http_reply_free(&r);
	free(deep);
	/* 10 MB */
	big = calloc(1, bigsz + 1);
	assert_non_null(big);
	memset(big, ' ', bigsz);
	big[0] = '{';
	big[bigsz - 1] = '}';
	post_json("/v1/cost", tok_a, big, &r);
	check_problem(&r, 413, "body_too_large");
	ts_http_reply_free(&r);
	free(big);
	/* a token is needed */
	post_json("/v1/cost", NULL, "{}", &r);
	check_problem(&r, 401, "unauthenticated");
	ts_http_reply_free(&r);
}

/* ---- a job's size ------------------------------------------------------ */

/* The size object of a job document: what store_job_size says, and the
 * blobs this test stored. */
static void check_size(const json_t *size, const struct store_job_size *z)
{
	assert_non_null(size);
	assert_int_equal(json_integer_value(json_object_get(size, "zip_bytes")),
			 ZIP_LEN);
	assert_int_equal(
	    json_integer_value(json_object_get(size, "checkpoint_bytes")),
	    2 * CKPT_LEN);
	assert_int_equal(
	    json_integer_value(json_object_get(size, "checkpoints")), 2);
	assert_int_equal(json_integer_value(json_object_get(size, "row_bytes")),
			 z->row_bytes);
	assert_true(z->row_bytes > 0);
	assert_int_equal(json_integer_value(json_object_get(size, "bytes")),
			 ZIP_LEN + 2 * CKPT_LEN + z->row_bytes);
}

static void job_get_and_job_show_report_the_size(void **state)
{
	char path[64], url[256], env_url[300], id[32], err[CORE_ERR_LEN];
	const char *env[] = {env_url, NULL};
	const char *args[] = {"job", "show", id, "--json", NULL};
	struct store_job_size z;
	struct ts_http_reply r;
	struct ts_proc p = {0};
	json_t *j;
	char *log;

	(void)state;
	assert_int_equal(store_job_size(pool, job_a, &z, err, sizeof err),
			 CORE_OK);
	snprintf(path, sizeof path, "/v1/jobs/%lld?include=size", job_a);
	get(path, tok_a, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), job_a);
	check_size(json_object_get(j, "size"), &z);
	json_decref(j);
	ts_http_reply_free(&r);
	get(path, tok_b, NULL, NULL, &r);
	check_problem(&r, 404, "job_not_found");
	ts_http_reply_free(&r);
	/* without include=size: no size (a status poll stays cheap) */
	snprintf(path, sizeof path, "/v1/jobs/%lld", job_a);
	get(path, tok_a, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_null(json_object_get(j, "size"));
	json_decref(j);
	ts_http_reply_free(&r);
	snprintf(path, sizeof path, "/v1/jobs/%lld?include=sizes", job_a);
	get(path, tok_a, NULL, NULL, &r);
	check_problem(&r, 400, "invalid_parameter");
	ts_http_reply_free(&r);

	/* lmnas job show ID --json: the same object at the top */
	ts_pg_url(&pg, NULL, url, sizeof url);
	snprintf(env_url, sizeof env_url, "LMNAS_DATABASE_URL=%s", url);
	snprintf(id, sizeof id, "%lld", job_a);
	assert_int_equal(ts_lmnas_run(&p, args, env), 0);
	log = ts_proc_log_read(&p);
	j = json_loads(log, 0, NULL);
	if (!j)
		fail_msg("job show --json: %s", log);
	check_size(json_object_get(j, "size"), &z);
	assert_non_null(json_object_get(j, "job"));
	json_decref(j);
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(zip_download_is_the_stored_bytes),
	    cmocka_unit_test(if_none_match_gets_304),
	    cmocka_unit_test(ranges_give_206_416_or_the_whole),
	    cmocka_unit_test(downloads_are_team_scoped),
	    cmocka_unit_test(cost_is_what_lmnas_cost_json_prints),
	    cmocka_unit_test(cost_refuses_bad_input_with_4xx),
	    cmocka_unit_test(job_get_and_job_show_report_the_size),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
