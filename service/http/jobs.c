/* SPDX-License-Identifier: Apache-2.0 */
/* jobs.c - the /v1/jobs resource: submit a search job (validated like
 * `lmnas search` does, its data confined to the data root, an optional
 * Idempotency-Key), list a team's jobs newest first with a cursor, read one,
 * cancel one, delete an ended one. Every operation is limited to the
 * caller's team (an admin's: every team); another team's job answers 404
 * exactly like a missing one. */
#include "http.h"

#include "hook/hook.h"
#include "queue/queue.h"
#include "runner/runner.h"
#include "search/search.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOBS_LIMIT_DEFAULT 20
#define JOBS_LIMIT_MAX	   100 /* a larger limit is capped */
#define IDEM_KEY_MAX	   255

long long http_job_id_param(const struct http_request *req)
{
	return http_parse_positive(http_request_param(req, "id"));
}

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

	snprintf(detail, sizeof detail, "no job %lld", id);
	http_reply_error(res, HTTP_E_JOB_NOT_FOUND, detail, NULL);
}

void http_job_read_reply(struct http_response *res, long long id,
			 enum core_status st, const char *err, char *json)
{
	char detail[64];
	json_error_t je;

	if (st == CORE_ERR_NOT_FOUND) {
		snprintf(detail, sizeof detail, "no job %lld", id);
		http_reply_error(res, HTTP_E_JOB_NOT_FOUND, detail, NULL);
	} else if (st == CORE_ERR_NOMEM) {
		http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
	} else if (st) {
		LOG_ERROR("job %lld: %s", id, err);
		http_reply_error(res,
				 st == CORE_ERR_UNAVAILABLE
				     ? HTTP_E_DATABASE_UNAVAILABLE
				     : HTTP_E_INTERNAL_ERROR,
				 "database error", NULL);
	} else {
		http_reply_json(res, 200, json_loads(json, 0, &je));
	}
	core_free(json);
}

/* ---- data root ---------------------------------------------------------- */

/* Resolves a spec path (relative to the data root, or absolute) to its real
 * path under root, into out (SEARCH_PATH_MAX). A ".." segment, a path
 * outside the root, or one whose real path (symlinks resolved) leaves it is
 * recorded in fe under field. */
static void path_confine(const char *root, const char *path, const char *field,
			 char *out, struct core_field_errors *fe)
{
	char full[PATH_MAX + SEARCH_PATH_MAX], real[PATH_MAX];
	size_t rl = root ? strlen(root) : 0;
	const char *p = path;

	if (!root) {
		core_field_errorf(fe, field,
				  "the server has no data root (--data-root)");
		return;
	}
	for (; *p; p++) /* "..": refused before touching the file system */
		if ((p == path || p[-1] == '/') && p[0] == '.' && p[1] == '.' &&
		    (p[2] == '/' || p[2] == '\0')) {
			core_field_errorf(fe, field, "must not contain '..'");
			return;
		}
	if (path[0] == '/')
		snprintf(full, sizeof full, "%s", path);
	else
		snprintf(full, sizeof full, "%s/%s", root, path);
	if (strncmp(full, root, rl) != 0 ||
	    (full[rl] != '/' && full[rl] != '\0')) {
		core_field_errorf(fe, field,
				  "must be under the data root (give it "
				  "relative to the root)");
		return;
	}
	if (!realpath(full, real)) {
		core_field_errorf(fe, field,
				  "does not exist under the data "
				  "root");
		return;
	}
	if (strncmp(real, root, rl) != 0 ||
	    (real[rl] != '/' && real[rl] != '\0')) {
		core_field_errorf(fe, field,
				  "resolves outside the data root (a symbolic "
				  "link leaves it)");
		return;
	}
	if (strlen(real) >= SEARCH_PATH_MAX) {
		core_field_errorf(fe, field,
				  "resolves to a path longer than %d "
				  "bytes",
				  SEARCH_PATH_MAX - 1);
		return;
	}
	memcpy(out, real, strlen(real) + 1);
}

/* dataset.id or dataset.name: the caller's team's ready dataset; the
 * spec's path becomes its cache (made by the server, under the root). */
static void dataset_resolve(const struct http_request *req,
			    struct search_spec *s, struct core_field_errors *fe)
{
	const char *field = s->dataset_id > 0 ? "dataset.id" : "dataset.name";
	char err[CORE_ERR_LEN], *cache = NULL;
	long long id = 0;
	int classes = 0;
	enum core_status st;

	st = queue_dataset_resolve(
	    req->app->pool, http_caller_team(&req->caller), s->dataset_id,
	    s->dataset_name, &id, &cache, &classes, err, sizeof err);
	if (st == CORE_ERR_NOT_FOUND || st == CORE_ERR_CONFLICT)
		core_field_errorf(fe, field, "%s", err);
	else if (st) {
		LOG_ERROR("jobs: resolving a dataset: %s", err);
		core_field_errorf(fe, field, "could not be looked up now");
	} else if (strlen(cache) >= SEARCH_PATH_MAX)
		core_field_errorf(fe, field, "its cache path is too long");
	else if (classes < 2 || classes > DATA_CACHE_MAX_CLASSES)
		core_field_errorf(
		    fe, field, "its import report names %d classes", classes);
	else {
		/* an import cache; every architecture's classes follow it */
		s->dataset_kind = DATA_KIND_CACHE;
		s->dataset_classes = classes;
		s->dataset_id = id;
		memcpy(s->dataset_path, cache, strlen(cache) + 1);
	}
	core_free(cache);
}

/* runner_spec_check's message is "field: reason" (or a reason alone). */
static void check_error_add(struct core_field_errors *fe, const char *msg)
{
	const char *colon = strstr(msg, ": ");
	char field[128];
	size_t n = colon ? (size_t)(colon - msg) : 0;

	if (!colon || n >= sizeof field || strchr(msg, ' ') < colon) {
		core_field_errorf(fe, "$", "%s", msg);
		return;
	}
	memcpy(field, msg, n);
	field[n] = '\0';
	core_field_errorf(fe, field, "%s", colon + 2);
}

/* Validates a submitted spec into s (paths rewritten to their real paths
 * under the root). Returns 1 when valid; else fe holds the reasons. */
static int spec_validate(const struct http_request *req, const char *text,
			 struct search_spec *s, struct core_field_errors *fe)
{
	const char *root = req->app->data_root;
	char why[CORE_ERR_LEN];

	if (search_spec_parse(text, strlen(text), s, fe))
		return 0;
	if (s->dataset_id > 0 || s->dataset_name[0])
		dataset_resolve(req, s, fe);
	else
		path_confine(root, s->dataset_path, "dataset.path",
			     s->dataset_path, fe);
	if (s->budget.final.teacher_logits[0])
		path_confine(root, s->budget.final.teacher_logits,
			     "budget.final.teacher_logits",
			     s->budget.final.teacher_logits, fe);
	/* the key is read from the server's environment: a team may name
	 * only variables meant for it, never LMNAS_DATABASE_URL or the like,
	 * whose value would go to a base_url of its choosing */
	if (s->llm.api_key_env[0] &&
	    strncmp(s->llm.api_key_env, "LMNAS_LLM_KEY", 13) != 0)
		core_field_errorf(fe, "llm.api_key_env",
				  "must name a variable starting with "
				  "LMNAS_LLM_KEY");
	/* the worker calls a job's LLM endpoint from the server's network:
	 * the same --llm-allow list as POST /v1/llm/check */
	if (s->proposer == SEARCH_PROPOSER_LLM &&
	    http_llm_url_allowed(req->app, s->llm.base_url, why, sizeof why))
		core_field_errorf(fe, "llm.base_url", "%s", why);
	/* checked again, with the resolved addresses, at each delivery */
	if (s->webhook_url[0]) {
		static const struct hook_policy none = {0};
		const struct hook_policy *pol =
		    req->app->webhook_policy ? req->app->webhook_policy : &none;
		if (hook_url_allowed(pol, s->webhook_url, why, sizeof why))
			core_field_errorf(fe, "webhook.url", "%s", why);
	}
	if (fe->n || fe->dropped)
		return 0;
	if (runner_spec_check(s, why, sizeof why)) {
		check_error_add(fe, why);
		return 0;
	}
	return 1;
}

/* ---- handlers ------------------------------------------------------------ */

/* Frees what json_dumps returned, with jansson's own allocator (the tests
 * route it through core's fault injector). */
static void json_text_free(char *p)
{
	json_free_t f = NULL;

	json_get_alloc_funcs(NULL, &f);
	if (p)
		(f ? f : free)(p);
}

static int idem_key_valid(const char *k)
{
	size_t n = strlen(k);

	if (n < 1 || n > IDEM_KEY_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
			return 0;
	return 1;
}

static void set_location(struct http_response *res, long long id)
{
	char loc[64];

	snprintf(loc, sizeof loc, "/v1/jobs/%lld", id);
	http_reply_header(res, "Location", loc);
}

static void job_create(struct http_request *req, struct http_response *res)
{
	const char *key = http_request_header(req, "Idempotency-Key");
	struct core_field_errors *fe = NULL;
	struct search_spec *spec = NULL;
	char *text = NULL, *canon = NULL, *sorted = NULL, *job = NULL;
	char err[CORE_ERR_LEN], hash[65];
	struct queue_submit sub;
	enum queue_submit_outcome outcome;
	json_t *cj = NULL;
	long long id = 0;
	enum core_status st;

	if (!need_pool(req, res))
		return;
	if (key && !idem_key_valid(key)) {
		http_reply_error(res, HTTP_E_IDEMPOTENCY_KEY_INVALID,
				 "Idempotency-Key: 1 to 255 printable ASCII "
				 "characters without spaces",
				 NULL);
		return;
	}
	fe = core_calloc(1, sizeof *fe);
	spec = core_calloc(1, sizeof *spec);
	text = json_dumps(req->body, JSON_COMPACT | JSON_ENCODE_ANY);
	sorted = json_dumps(req->body,
			    JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	if (!fe || !spec || !text || !sorted) {
		http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
		goto out;
	}
	if (!spec_validate(req, text, spec, fe)) {
		http_reply_error(res, HTTP_E_VALIDATION_FAILED,
				 "the job spec is not valid", fe);
		goto out;
	}
	cj = search_spec_to_json(spec);
	canon = cj ? json_dumps(cj, JSON_COMPACT) : NULL;
	if (!canon) {
		http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
		goto out;
	}
	core_sha256_hex(sorted, strlen(sorted), hash);
	memset(&sub, 0, sizeof sub);
	sub.team_id = req->caller.team_id;
	sub.name = spec->name;
	sub.spec_json = canon;
	sub.idem_key = key;
	sub.request_hash = hash;
	sub.max_queued = req->app->team_max_queued;
	sub.dataset_id = spec->dataset_id;
	st = queue_job_submit(req->app->pool, &sub, &outcome, &id, err,
			      sizeof err);
	if (st) {
		http_reply_db_error(res, "jobs", st, err);
		goto out;
	}
	if (outcome == QUEUE_SUBMIT_KEY_REUSED) {
		http_reply_error(res, HTTP_E_IDEMPOTENCY_KEY_REUSED,
				 "this Idempotency-Key was used with another "
				 "body",
				 NULL);
		goto out;
	}
	if (outcome == QUEUE_SUBMIT_QUEUE_FULL) {
		snprintf(err, sizeof err,
			 "the team has %d queued jobs, the most allowed",
			 req->app->team_max_queued);
		http_reply_error(res, HTTP_E_TEAM_QUEUE_FULL, err, NULL);
		http_reply_header(res, "Retry-After", "60");
		goto out;
	}
	st = queue_job_json(req->app->pool, id, 0, &job, err, sizeof err);
	if (st) {
		http_reply_db_error(res, "jobs", st, err);
		goto out;
	}
	LOG_INFO("job %lld %s by team %lld", id,
		 outcome == QUEUE_SUBMIT_CREATED ? "submitted" : "replayed",
		 req->caller.team_id);
	http_reply_json_text(res, outcome == QUEUE_SUBMIT_CREATED ? 201 : 200,
			     job);
	set_location(res, id);
	if (outcome == QUEUE_SUBMIT_REPLAYED)
		http_reply_header(res, "Idempotent-Replayed", "true");
out:
	json_decref(cj);
	json_text_free(canon);
	json_text_free(text);
	json_text_free(sorted);
	core_free(spec);
	core_free(fe);
}

static void jobs_list(struct http_request *req, struct http_response *res)
{
	const char *status = http_request_query(req, "status");
	const char *limit_s = http_request_query(req, "limit");
	const char *cursor = http_request_query(req, "cursor");
	struct core_field_errors fe;
	enum queue_job_status want = QUEUE_JOB_QUEUED;
	long long limit = JOBS_LIMIT_DEFAULT, before = 0;
	char err[CORE_ERR_LEN], *json = NULL;
	enum core_status st;

	if (!need_pool(req, res))
		return;
	core_field_errors_clear(&fe);
	if (status && queue_job_status_parse(status, &want))
		core_field_errorf(&fe, "status",
				  "not one of queued, running, succeeded, "
				  "failed, cancelled");
	if (limit_s) {
		limit = http_parse_positive(limit_s);
		if (limit <= 0)
			core_field_errorf(&fe, "limit",
					  "not a whole number from 1");
		else if (limit > JOBS_LIMIT_MAX)
			limit = JOBS_LIMIT_MAX;
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
	st = queue_jobs_page_json(
	    req->app->pool, http_caller_team(&req->caller), status != NULL,
	    want, before, (int)limit, &json, err, sizeof err);
	if (st) {
		http_reply_db_error(res, "jobs", st, err);
		return;
	}
	http_reply_json_text(res, 200, json);
}

/* ?include=size adds the job's size in the database. Opt-in: it sums every
 * row of the job, and pg_column_size of a row detoasts its checkpoint (12-16
 * ms for 200 candidates of 100 KB, measured with psql): too slow for every
 * status poll. */
static void job_get(struct http_request *req, struct http_response *res)
{
	long long id = http_job_id_param(req);
	const char *include = http_request_query(req, "include");
	char err[CORE_ERR_LEN], *json = NULL;
	enum core_status st;

	if (!need_pool(req, res))
		return;
	if (include && strcmp(include, "size") != 0) {
		struct core_field_errors fe;

		core_field_errors_clear(&fe);
		core_field_errorf(&fe, "include", "not one of: size");
		http_reply_error(res, HTTP_E_INVALID_PARAMETER,
				 "invalid query parameters", &fe);
		return;
	}
	if (id <= 0) {
		reply_not_found(res, id);
		return;
	}
	st = queue_job_json(req->app->pool, id, http_caller_team(&req->caller),
			    &json, err, sizeof err);
	if (!st && include)
		st = queue_job_size_append(req->app->pool, id, &json, err,
					   sizeof err);
	if (st)
		core_free(json);
	if (st == CORE_ERR_NOT_FOUND)
		reply_not_found(res, id);
	else if (st)
		http_reply_db_error(res, "jobs", st, err);
	else
		http_reply_json_text(res, 200, json);
}

static void job_cancel(struct http_request *req, struct http_response *res)
{
	long long id = http_job_id_param(req),
		  team = http_caller_team(&req->caller);
	char err[CORE_ERR_LEN], *json = NULL;
	enum core_status st;

	if (!need_pool(req, res))
		return;
	if (id <= 0) {
		reply_not_found(res, id);
		return;
	}
	st = queue_job_cancel_team(req->app->pool, id, team, err, sizeof err);
	if (st == CORE_ERR_NOT_FOUND) {
		reply_not_found(res, id);
		return;
	}
	if (st == CORE_ERR_CONFLICT) {
		http_reply_error(res, HTTP_E_JOB_ENDED, err, NULL);
		return;
	}
	if (!st)
		st = queue_job_json(req->app->pool, id, team, &json, err,
				    sizeof err);
	if (st)
		http_reply_db_error(res, "jobs", st, err);
	else
		http_reply_json_text(res, 202, json);
}

static void job_delete(struct http_request *req, struct http_response *res)
{
	long long id = http_job_id_param(req);
	char err[CORE_ERR_LEN];
	enum core_status st;

	if (!need_pool(req, res))
		return;
	if (id <= 0) {
		reply_not_found(res, id);
		return;
	}
	st = queue_job_delete(req->app->pool, id,
			      http_caller_team(&req->caller), err, sizeof err);
	if (st == CORE_ERR_NOT_FOUND)
		reply_not_found(res, id);
	else if (st == CORE_ERR_CONFLICT)
		http_reply_error(res, HTTP_E_JOB_NOT_FINISHED, err, NULL);
	else if (st)
		http_reply_db_error(res, "jobs", st, err);
	else {
		LOG_INFO("job %lld deleted by team %lld", id,
			 req->caller.team_id);
		http_reply_static(res, 204, NULL, "", 0);
	}
}

enum core_status http_jobs_routes_add(struct http_router *r, char *err,
				      size_t errlen)
{
	static const struct {
		unsigned method;
		const char *pattern;
		http_handler_fn fn;
		unsigned flags;
	} routes[] = {
	    {HTTP_POST, "/v1/jobs", job_create,
	     HTTP_ROUTE_BODY | HTTP_ROUTE_TEAM_SCOPED},
	    {HTTP_GET, "/v1/jobs", jobs_list, HTTP_ROUTE_TEAM_SCOPED},
	    {HTTP_GET, "/v1/jobs/{id}", job_get, HTTP_ROUTE_TEAM_SCOPED},
	    {HTTP_DELETE, "/v1/jobs/{id}", job_delete, HTTP_ROUTE_TEAM_SCOPED},
	    {HTTP_POST, "/v1/jobs/{id}/cancel", job_cancel,
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
