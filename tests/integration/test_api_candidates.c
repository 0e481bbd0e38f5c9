/* SPDX-License-Identifier: Apache-2.0 */
/* test_api_candidates.c - what a job produced over the API, in process over
 * real HTTP against a real PostgreSQL: GET /v1/jobs/{id}/candidates (sort
 * by each objective with NULLs last, filters, a keyset cursor that stays
 * stable while rows are added), /candidates/{cid} (the cost table of `lmnas
 * cost --json`, epochs, nearest earlier candidate) and /llm-calls (paged,
 * a byte budget per page; the API key never appears). Another team's ids
 * are 404s. POST /v1/llm/check: test_api_llm_check.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/archtest.h"
#include "../support/fake_llm.h"
#include "../support/testsupport.h"
#include "auth/auth.h"
#include "cost/cost.h"
#include "http/http.h"
#include "llm/llm.h"
#include "queue/queue.h"
#include "store/store.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct ts_pg pg;
static struct store_pool *pool;
static struct http_router *router;
static struct http_server *srv;
static struct http_app app;
static char base[64];
static char tok_a[AUTH_TOKEN_MAX], tok_b[AUTH_TOKEN_MAX],
    tok_admin[AUTH_TOKEN_MAX];
static long long job_a, job_b, cand[8];

/* ---- helpers ------------------------------------------------------------ */

static void req(const char *method, const char *path, const char *token,
		const char *body, struct ts_http_reply *r)
{
	char url[1024], auth[AUTH_TOKEN_MAX + 32];
	const char *h[3];
	int n = 0;

	snprintf(url, sizeof url, "%s%s", base, path);
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		h[n++] = auth;
	}
	if (body)
		h[n++] = "Content-Type: application/json";
	h[n] = NULL;
	assert_int_equal(
	    ts_http(method, url, h, body, body ? strlen(body) : 0, 60, r), 0);
}

static json_t *body_json(const struct ts_http_reply *r)
{
	json_error_t je;
	json_t *j = json_loads(r->body, 0, &je);

	if (!j)
		fail_msg("not JSON (%s): %s", je.text, r->body);
	return j;
}

static json_t *get_ok(const char *path, const char *token)
{
	struct ts_http_reply r;
	json_t *j;

	req("GET", path, token, NULL, &r);
	if (r.status != 200)
		fail_msg("GET %s: %ld %s", path, r.status, r.body);
	j = body_json(&r);
	ts_http_reply_free(&r);
	return j;
}

/* Asserts a problem with this status and code whose errors name field
 * (NULL: not checked). */
static void check_problem(const char *method, const char *path,
			  const char *token, const char *body, int status,
			  const char *code, const char *field)
{
	struct ts_http_reply r;
	json_t *j, *e;
	size_t i;
	int named = 0;

	req(method, path, token, body, &r);
	if (r.status != status)
		fail_msg("%s %s: %ld, wanted %d: %s", method, path, r.status,
			 status, r.body);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    code);
	assert_non_null(http_error_find(code));
	assert_int_equal(http_error_find(code)->status, status);
	json_array_foreach(json_object_get(j, "errors"), i, e)
	{
		if (field &&
		    strcmp(json_string_value(json_object_get(e, "field")),
			   field) == 0)
			named = 1;
	}
	if (field && !named)
		fail_msg("no error names %s: %s", field, r.body);
	json_decref(j);
	ts_http_reply_free(&r);
}

/* The ids of a candidate list, into ids (at most max); their count. */
static int list_ids(const json_t *j, long long *ids, int max)
{
	const json_t *e;
	size_t i;
	int n = 0;

	json_array_foreach(json_object_get(j, "candidates"), i, e)
	{
		if (n < max)
			ids[n] = json_integer_value(json_object_get(e, "id"));
		n++;
	}
	return n;
}

static void assert_ids(const char *path, const long long *want, int n)
{
	json_t *j = get_ok(path, tok_a);
	long long got[16];
	int k = list_ids(j, got, 16);

	if (k != n)
		fail_msg("%s: %d candidates, wanted %d", path, k, n);
	for (int i = 0; i < n; i++)
		if (got[i] != want[i])
			fail_msg("%s: [%d] is %lld, wanted %lld", path, i,
				 got[i], want[i]);
	json_decref(j);
}

/* archtest_example with one substitution (from -> to), into out. */
static void arch_variant(const char *from, const char *to, char *out,
			 size_t outlen)
{
	const char *at = strstr(archtest_example, from);

	assert_non_null(at);
	snprintf(out, outlen, "%.*s%s%s", (int)(at - archtest_example),
		 archtest_example, to, at + strlen(from));
}

/* The canonical form and hash of arch text (as the runner stores it). */
static void arch_canon(const char *text, char **canon, char hash[65])
{
	struct arch a;
	struct core_field_errors fe;

	assert_int_equal(arch_parse(text, strlen(text), &a, &fe), CORE_OK);
	assert_int_equal(arch_hash(&a, hash), CORE_OK);
	assert_int_equal(arch_to_text(&a, 0, canon, NULL), CORE_OK);
}

static long long insert_cand(long long job, int round,
			     enum store_candidate_source src,
			     enum store_candidate_status status,
			     const char *arch_text, long long macs,
			     double val_top1, const char *reason)
{
	struct store_candidate c;
	char err[CORE_ERR_LEN], hash[65] = "";
	char *canon = NULL;
	long long id = 0;

	memset(&c, 0, sizeof c);
	c.job_id = job;
	c.round = round;
	c.source = src;
	c.status = status;
	if (arch_text) {
		arch_canon(arch_text, &canon, hash);
		c.arch_json = canon;
		c.arch_hash = hash;
	} else {
		c.arch_json = "null";
		c.arch_hash = "";
	}
	c.rationale = "fewer MACs in stage 2";
	c.rejection_reason = reason;
	c.macs = macs;
	c.params = macs >= 0 ? macs / 10 : -1;
	c.flash_bytes = macs >= 0 ? 1000 - macs : -1;
	c.sram_bytes = macs >= 0 ? 2 * macs : -1;
	c.val_top1 = val_top1;
	c.val_top5 = val_top1;
	c.val_loss = isnan(val_top1) ? NAN : 1.0 - val_top1;
	c.final_val_top1 = c.final_val_top5 = c.final_val_loss = NAN;
	c.test_top1 = NAN;
	assert_int_equal(
	    store_candidate_insert(pool, NULL, &c, &id, err, sizeof err),
	    CORE_OK);
	assert_true(id > 0);
	core_free(canon);
	return id;
}

static long long insert_job(const char *team)
{
	char sql[256], out[32];

	snprintf(sql, sizeof sql,
		 "INSERT INTO jobs (name, spec, team_id) SELECT 'j', '{}', id "
		 "FROM teams WHERE name = '%s' RETURNING id",
		 team);
	assert_int_equal(ts_pg_exec(&pg, NULL, sql, out, sizeof out), 0);
	return strtoll(out, NULL, 10);
}

/* ---- setup -------------------------------------------------------------- */

/* Job a's candidates (macs, proxy val_top1; NULL = NaN / -1):
 *   1 trained   random    example               300 0.30
 *   2 trained   evolution out 48 -> 64          100 0.50  (on the front)
 *   3 trained   llm       stage 1 k 3->5, L 2->3 200 0.50
 *   4 rejected  llm       no arch                -   -
 *   5 proposed  evolution as 2, act -> swish     -   -
 * Round 0 (finished) has front [2]; round 1 (unfinished) [3]. */
static void seed(void)
{
	char a2[4096], a3[4096], a3b[4096], a5[4096], err[CORE_ERR_LEN];
	char front[64];
	struct store_epoch e;

	job_a = insert_job("a");
	job_b = insert_job("b");
	arch_variant("\"out\": 48", "\"out\": 64", a2, sizeof a2);
	arch_variant("\"layers\": 2, \"kernel\": 3",
		     "\"layers\": 3, "
		     "\"kernel\": 5",
		     a3b, sizeof a3b);
	snprintf(a3, sizeof a3, "%s", a3b);
	arch_variant("\"leakyrelu\"", "\"swish\"", a5, sizeof a5);
	/* a5 from a2: out 64 as well */
	{
		const char *at = strstr(a5, "\"out\": 48");
		assert_non_null(at);
		snprintf(a3b, sizeof a3b, "%.*s\"out\": 64%s", (int)(at - a5),
			 a5, at + strlen("\"out\": 48"));
		snprintf(a5, sizeof a5, "%s", a3b);
	}
	cand[1] = insert_cand(job_a, 0, STORE_SOURCE_RANDOM, STORE_CAND_TRAINED,
			      archtest_example, 300, 0.30, NULL);
	cand[2] = insert_cand(job_a, 0, STORE_SOURCE_EVOLUTION,
			      STORE_CAND_TRAINED, a2, 100, 0.50, NULL);
	cand[3] = insert_cand(job_a, 1, STORE_SOURCE_LLM, STORE_CAND_TRAINED,
			      a3, 200, 0.50, NULL);
	cand[4] = insert_cand(job_a, 1, STORE_SOURCE_LLM, STORE_CAND_REJECTED,
			      NULL, -1, NAN, "stage 3: kernel 4 is even");
	cand[5] = insert_cand(job_a, 1, STORE_SOURCE_EVOLUTION,
			      STORE_CAND_PROPOSED, a5, -1, NAN, NULL);
	for (int ep = 1; ep <= 2; ep++) {
		memset(&e, 0, sizeof e);
		e.candidate_id = cand[1];
		e.phase = STORE_PHASE_PROXY;
		e.epoch = ep;
		e.train_loss = 4.0 - ep;
		e.val_top1 = 0.1 * ep;
		e.val_top5 = 0.2 * ep;
		e.val_loss = 3.0 - ep;
		e.lr = 0.05;
		e.seconds = 10.0 + ep;
		assert_int_equal(
		    store_epoch_put(pool, NULL, &e, err, sizeof err), CORE_OK);
	}
	e.phase = STORE_PHASE_FINAL;
	e.epoch = 1;
	assert_int_equal(store_epoch_put(pool, NULL, &e, err, sizeof err),
			 CORE_OK);
	snprintf(front, sizeof front, "[{\"id\": %lld}]", cand[2]);
	assert_int_equal(store_round_put(pool, NULL, job_a, 0, "random", front,
					 0.1, "r0", 1, err, sizeof err),
			 CORE_OK);
	snprintf(front, sizeof front, "[{\"id\": %lld}]", cand[3]);
	assert_int_equal(store_round_put(pool, NULL, job_a, 1, "llm", front,
					 0.2, "r1", 0, err, sizeof err),
			 CORE_OK);
}

static int group_setup(void **state)
{
	char url[256], err[CORE_ERR_LEN];
	struct http_server_config c;
	long long id;

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
	app.pool = pool;
	if (http_router_new(&router, err, sizeof err) ||
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
	(void)state;
	http_server_stop(srv, 1);
	http_router_free(router);
	store_pool_close(pool);
	ts_pg_destroy(&pg);
	return 0;
}

/* ---- the list ----------------------------------------------------------- */

static void candidates_sort_by_each_objective_nulls_last(void **state)
{
	char path[256];

	(void)state;
	seed();
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates", job_a);
	{ /* default: creation order */
		long long w[] = {cand[1], cand[2], cand[3], cand[4], cand[5]};
		assert_ids(path, w, 5);
	}
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?sort=-val_top1",
		 job_a);
	{ /* ties by id in the sort's direction; NULLs last */
		long long w[] = {cand[3], cand[2], cand[1], cand[5], cand[4]};
		assert_ids(path, w, 5);
	}
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?sort=val_top1",
		 job_a);
	{
		long long w[] = {cand[1], cand[2], cand[3], cand[4], cand[5]};
		assert_ids(path, w, 5);
	}
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?sort=macs",
		 job_a);
	{
		long long w[] = {cand[2], cand[3], cand[1], cand[4], cand[5]};
		assert_ids(path, w, 5);
	}
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?sort=flash_bytes",
		 job_a);
	{ /* flash = 1000 - macs */
		long long w[] = {cand[1], cand[3], cand[2], cand[4], cand[5]};
		assert_ids(path, w, 5);
	}
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?sort=-sram_bytes",
		 job_a);
	{
		long long w[] = {cand[1], cand[3], cand[2], cand[5], cand[4]};
		assert_ids(path, w, 5);
	}
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?sort=-params",
		 job_a);
	{
		long long w[] = {cand[1], cand[3], cand[2], cand[5], cand[4]};
		assert_ids(path, w, 5);
	}
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?sort=-created",
		 job_a);
	{
		long long w[] = {cand[5], cand[4], cand[3], cand[2], cand[1]};
		assert_ids(path, w, 5);
	}
}

static void candidates_filter_by_status_source_and_front(void **state)
{
	char path[256];
	json_t *j, *c;

	(void)state;
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?status=trained",
		 job_a);
	{
		long long w[] = {cand[1], cand[2], cand[3]};
		assert_ids(path, w, 3);
	}
	snprintf(path, sizeof path,
		 "/v1/jobs/%lld/candidates?source=evolution&sort=-created",
		 job_a);
	{
		long long w[] = {cand[5], cand[2]};
		assert_ids(path, w, 2);
	}
	/* the front of the last finished round (0), not of round 1 */
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?front=true",
		 job_a);
	{
		long long w[] = {cand[2]};
		assert_ids(path, w, 1);
	}
	snprintf(path, sizeof path,
		 "/v1/jobs/%lld/candidates?front=false&status=trained", job_a);
	{
		long long w[] = {cand[1], cand[3]};
		assert_ids(path, w, 2);
	}
	/* an item's fields */
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?limit=2", job_a);
	j = get_ok(path, tok_a);
	c = json_array_get(json_object_get(j, "candidates"), 1);
	assert_int_equal(json_integer_value(json_object_get(c, "macs")), 100);
	assert_int_equal(json_integer_value(json_object_get(c, "params")), 10);
	assert_int_equal(json_integer_value(json_object_get(c, "flash_bytes")),
			 900);
	assert_int_equal(json_integer_value(json_object_get(c, "sram_bytes")),
			 200);
	assert_string_equal(json_string_value(json_object_get(c, "source")),
			    "evolution");
	assert_true(json_is_true(json_object_get(c, "on_front")));
	assert_true(json_real_value(json_object_get(json_object_get(c, "proxy"),
						    "val_top1")) == 0.5);
	assert_true(json_is_null(
	    json_object_get(json_object_get(c, "final"), "val_top1")));
	assert_int_equal(
	    strlen(json_string_value(json_object_get(c, "arch_hash"))), 64);
	assert_true(json_is_string(json_object_get(j, "next_cursor")));
	json_decref(j);

	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?sort=bogus",
		 job_a);
	check_problem("GET", path, tok_a, NULL, 400, "invalid_parameter",
		      "sort");
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?sort=macs;drop",
		 job_a);
	check_problem("GET", path, tok_a, NULL, 400, "invalid_parameter",
		      "sort");
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?status=done",
		 job_a);
	check_problem("GET", path, tok_a, NULL, 400, "invalid_parameter",
		      "status");
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?source=x", job_a);
	check_problem("GET", path, tok_a, NULL, 400, "invalid_parameter",
		      "source");
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?front=yes",
		 job_a);
	check_problem("GET", path, tok_a, NULL, 400, "invalid_parameter",
		      "front");
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?cursor=1_x",
		 job_a);
	check_problem("GET", path, tok_a, NULL, 400, "invalid_parameter",
		      "cursor");
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?cursor=nan_3",
		 job_a);
	check_problem("GET", path, tok_a, NULL, 400, "invalid_parameter",
		      "cursor");
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates?limit=0", job_a);
	check_problem("GET", path, tok_a, NULL, 400, "invalid_parameter",
		      "limit");
	/* another team's job is a missing one; the admin sees it */
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates", job_a);
	check_problem("GET", path, tok_b, NULL, 404, "job_not_found", NULL);
	json_decref(get_ok(path, tok_admin));
}

/* Pages of 2 under -val_top1 followed by next_cursor: every row once, in
 * order, and a row added between two pages that sorts before the cursor
 * neither repeats nor shifts the rows after it (keyset, not offset). */
static void candidates_cursor_is_stable_while_rows_are_added(void **state)
{
	char path[256], cur[128] = "";
	long long seen[16],
	    want[] = {cand[3], cand[2], cand[1], cand[5], cand[4]};
	int n = 0, pages = 0;

	(void)state;
	do {
		json_t *j, *nc;
		long long ids[4];
		int k;
		if (cur[0])
			snprintf(path, sizeof path,
				 "/v1/jobs/%lld/candidates?sort=-val_top1&"
				 "limit=2&cursor=%s",
				 job_a, cur);
		else
			snprintf(path, sizeof path,
				 "/v1/jobs/%lld/candidates?sort=-val_top1&"
				 "limit=2",
				 job_a);
		j = get_ok(path, tok_a);
		k = list_ids(j, ids, 4);
		for (int i = 0; i < k && n < 16; i++)
			seen[n++] = ids[i];
		nc = json_object_get(j, "next_cursor");
		snprintf(cur, sizeof cur, "%s",
			 json_is_string(nc) ? json_string_value(nc) : "");
		json_decref(j);
		if (pages++ == 0) /* sorts first: before the cursor */
			cand[6] = insert_cand(
			    job_a, 2, STORE_SOURCE_LLM, STORE_CAND_TRAINED,
			    "{\"format\": \"lmnas-arch/1\", "
			    "\"input\": {\"resolution\": 32, "
			    "\"channels\": 3}, \"stages\": "
			    "[{\"block\": \"dwsep\", \"out\": "
			    "8, \"layers\": 1, \"kernel\": 3, "
			    "\"stride\": 1, \"expand\": 1, "
			    "\"se\": 0, \"skip\": \"none\", "
			    "\"act\": \"relu\"}], \"head\": "
			    "{\"dropout\": 0, \"classes\": "
			    "10}}",
			    50, 0.9, NULL);
	} while (cur[0] && pages < 10);
	assert_int_equal(pages, 3);
	assert_int_equal(n, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(seen[i], want[i]);
	/* a fresh listing shows the new row first */
	snprintf(path, sizeof path,
		 "/v1/jobs/%lld/candidates?sort=-val_top1&limit=1", job_a);
	{
		long long w[] = {cand[6]};
		assert_ids(path, w, 1);
	}
	/* under a NULL-valued cursor too: the rows after it */
	snprintf(path, sizeof path,
		 "/v1/jobs/%lld/candidates?sort=val_top1&cursor=null_%lld",
		 job_a, cand[4]);
	{
		long long w[] = {cand[5]};
		assert_ids(path, w, 1);
	}
}

/* ---- one candidate ------------------------------------------------------ */

static void candidate_detail_has_cost_epochs_and_nearest(void **state)
{
	char path[256], err[CORE_ERR_LEN];
	struct arch a;
	struct core_field_errors fe;
	struct cost_report rep;
	json_t *j, *want, *near, *ep;

	(void)state;
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates/%lld", job_a,
		 cand[1]);
	j = get_ok(path, tok_a);
	/* the cost is `lmnas cost --json`'s: totals and the per-op table */
	assert_int_equal(
	    arch_parse(archtest_example, strlen(archtest_example), &a, &fe),
	    CORE_OK);
	assert_int_equal(cost_report_build(&a, &rep, err, sizeof err), CORE_OK);
	want = cost_report_to_json(&rep);
	assert_true(json_equal(json_object_get(j, "cost"), want));
	assert_true(json_array_size(json_object_get(json_object_get(j, "cost"),
						    "ops")) > 5);
	json_decref(want);
	cost_report_free(&rep);
	assert_int_equal(json_array_size(json_object_get(
			     json_object_get(j, "arch"), "stages")),
			 2);
	assert_string_equal(json_string_value(json_object_get(j, "rationale")),
			    "fewer MACs in stage 2");
	ep = json_object_get(json_object_get(j, "epochs"), "proxy");
	assert_int_equal(json_array_size(ep), 2);
	assert_int_equal(
	    json_integer_value(json_object_get(json_array_get(ep, 1), "epoch")),
	    2);
	assert_true(json_number_value(json_object_get(json_array_get(ep, 1),
						      "seconds")) == 12.0);
	assert_int_equal(json_array_size(json_object_get(
			     json_object_get(j, "epochs"), "final")),
			 1);
	/* the first candidate has no predecessor */
	assert_true(json_is_null(json_object_get(j, "nearest_earlier")));
	json_decref(j);

	/* 3 is 2 fields from 1 and 3 from 2: the nearest is 1, not the
	 * previous one */
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates/%lld", job_a,
		 cand[3]);
	j = get_ok(path, tok_a);
	near = json_object_get(j, "nearest_earlier");
	assert_int_equal(json_integer_value(json_object_get(near, "id")),
			 cand[1]);
	assert_int_equal(json_integer_value(json_object_get(near, "distance")),
			 2);
	json_decref(j);
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates/%lld", job_a,
		 cand[5]);
	j = get_ok(path, tok_a);
	near = json_object_get(j, "nearest_earlier");
	assert_int_equal(json_integer_value(json_object_get(near, "id")),
			 cand[2]);
	assert_int_equal(json_integer_value(json_object_get(near, "distance")),
			 1);
	json_decref(j);

	/* a rejected proposal: its reason, no cost */
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates/%lld", job_a,
		 cand[4]);
	j = get_ok(path, tok_a);
	assert_string_equal(
	    json_string_value(json_object_get(j, "rejection_reason")),
	    "stage 3: kernel 4 is even");
	assert_true(json_is_null(json_object_get(j, "cost")));
	assert_true(json_is_string(json_object_get(j, "cost_error")));
	json_decref(j);

	/* another team, another job, no such id: candidate_not_found */
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates/%lld", job_a,
		 cand[1]);
	check_problem("GET", path, tok_b, NULL, 404, "candidate_not_found",
		      NULL);
	json_decref(get_ok(path, tok_admin));
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates/%lld", job_b,
		 cand[1]);
	check_problem("GET", path, tok_admin, NULL, 404, "candidate_not_found",
		      NULL);
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates/99999", job_a);
	check_problem("GET", path, tok_a, NULL, 404, "candidate_not_found",
		      NULL);
	snprintf(path, sizeof path, "/v1/jobs/%lld/candidates/x1", job_a);
	check_problem("GET", path, tok_a, NULL, 404, "candidate_not_found",
		      NULL);
}

static void arch_distance_counts_differing_fields(void **state)
{
	struct arch a, b;
	struct core_field_errors fe;

	(void)state;
	assert_int_equal(
	    arch_parse(archtest_example, strlen(archtest_example), &a, &fe),
	    CORE_OK);
	b = a;
	assert_int_equal(queue_arch_distance(&a, &b), 0);
	b.stages[1].kernel = 3;
	b.stages[0].se = 0.5;
	assert_int_equal(queue_arch_distance(&a, &b), 2);
	assert_int_equal(queue_arch_distance(&b, &a), 2);
	b = a;
	b.nstages = 1; /* a stage only a has: all 9 of its fields */
	assert_int_equal(queue_arch_distance(&a, &b), 9);
	b = a;
	b.stem.present = 1;
	assert_int_equal(queue_arch_distance(&a, &b), 1);
}

/* ---- LLM calls ------------------------------------------------------------
 */

#define SECRET "sk-lmnas-test-SECRET-4711"

static void llm_calls_page_and_never_show_the_key(void **state)
{
	struct fake_llm *f;
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	struct llm_message msgs[] = {{"system", "You design CNNs."},
				     {"user", "Propose one candidate."}};
	struct llm_request lr = {msgs, 2, NULL, NULL, NULL};
	struct fake_llm_request got;
	struct store_llm_call call;
	char err[CORE_ERR_LEN], path[256];
	json_t *j, *e;
	long long next;

	(void)state;
	assert_int_equal(fake_llm_start(&f), 0);
	assert_int_equal(
	    fake_llm_script_chat(f, "{\"candidates\": []}", "stop"), 0);
	llm_settings_default(&s);
	s.base_url = fake_llm_url(f);
	s.model = "m1";
	s.api_key = SECRET;
	assert_int_equal(llm_client_open(&s, &c, err, sizeof err), CORE_OK);
	for (int i = 0; i < 3; i++) {
		/* as the runner stores a call (runner.c store_proposals) */
		assert_int_equal(llm_client_chat(c, &lr, &rec, err, sizeof err),
				 CORE_OK);
		memset(&call, 0, sizeof call);
		call.job_id = job_a;
		call.round = 1;
		call.attempt = i + 1;
		call.model = s.model;
		call.messages_json = rec.messages_json;
		call.reply = rec.reply_body;
		call.http_status = (int)rec.http_status;
		call.prompt_tokens = rec.prompt_tokens;
		call.completion_tokens = rec.completion_tokens;
		call.latency_ms = rec.latency_ms;
		call.outcome = llm_outcome_name(rec.outcome);
		assert_int_equal(
		    store_llm_call_insert(pool, NULL, &call, err, sizeof err),
		    CORE_OK);
		llm_record_free(&rec);
	}
	llm_client_close(c);
	/* the key did travel, in the header */
	assert_int_equal(fake_llm_request_get(f, 0, &got), 0);
	assert_non_null(got.authorization);
	assert_non_null(strstr(got.authorization, SECRET));
	fake_llm_request_free(&got);
	fake_llm_stop(f);

	snprintf(path, sizeof path, "/v1/jobs/%lld/llm-calls?limit=2", job_a);
	j = get_ok(path, tok_a);
	assert_int_equal(json_array_size(json_object_get(j, "llm_calls")), 2);
	e = json_array_get(json_object_get(j, "llm_calls"), 0);
	assert_int_equal(json_integer_value(json_object_get(e, "attempt")), 1);
	assert_string_equal(json_string_value(json_object_get(e, "outcome")),
			    "ok");
	assert_int_equal(json_integer_value(json_object_get(e, "http_status")),
			 200);
	assert_int_equal(
	    json_integer_value(json_object_get(e, "completion_tokens")), 34);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(e, "messages"), 1), "content")),
	    "Propose one candidate.");
	assert_non_null(strstr(json_string_value(json_object_get(e, "reply")),
			       "candidates"));
	next = json_integer_value(json_object_get(j, "next_after"));
	json_decref(j);
	snprintf(path, sizeof path, "/v1/jobs/%lld/llm-calls?after=%lld", job_a,
		 next);
	{
		struct ts_http_reply r;
		req("GET", path, tok_a, NULL, &r);
		assert_int_equal(r.status, 200);
		/* the key is nowhere in what the API shows */
		assert_null(strstr(r.body, SECRET));
		j = body_json(&r);
		ts_http_reply_free(&r);
	}
	assert_int_equal(json_array_size(json_object_get(j, "llm_calls")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(j, "llm_calls"), 0), "attempt")),
	    3);
	json_decref(j);
	snprintf(path, sizeof path, "/v1/jobs/%lld/llm-calls?limit=200", job_a);
	{
		struct ts_http_reply r;
		req("GET", path, tok_admin, NULL, &r);
		assert_int_equal(r.status, 200);
		assert_null(strstr(r.body, SECRET));
		ts_http_reply_free(&r);
	}
	snprintf(path, sizeof path, "/v1/jobs/%lld/llm-calls", job_a);
	check_problem("GET", path, tok_b, NULL, 404, "job_not_found", NULL);

	/* three calls of 2 MiB replies: a page stops at the 4 MiB budget */
	{
		char sql[512], out[32];
		snprintf(sql, sizeof sql,
			 "INSERT INTO llm_calls (job_id, round, attempt, "
			 "messages, reply, outcome) SELECT %lld, 0, g, '[]', "
			 "repeat('x', 2097152), 'ok' FROM generate_series(1, "
			 "3) g",
			 job_b);
		assert_int_equal(ts_pg_exec(&pg, NULL, sql, out, sizeof out),
				 0);
		snprintf(path, sizeof path, "/v1/jobs/%lld/llm-calls?limit=10",
			 job_b);
		j = get_ok(path, tok_admin);
		assert_int_equal(
		    json_array_size(json_object_get(j, "llm_calls")), 2);
		next = json_integer_value(json_object_get(j, "next_after"));
		json_decref(j);
		snprintf(path, sizeof path,
			 "/v1/jobs/%lld/llm-calls?limit=10&after=%lld", job_b,
			 next);
		j = get_ok(path, tok_admin);
		assert_int_equal(
		    json_array_size(json_object_get(j, "llm_calls")), 1);
		assert_int_equal(
		    json_integer_value(json_object_get(
			json_array_get(json_object_get(j, "llm_calls"), 0),
			"attempt")),
		    3);
		json_decref(j);
	}
	/* the check needs a token like every /v1 route (its tests run
	 * open, without a database: test_api_llm_check.c) */
	check_problem("POST", "/v1/llm/check", NULL, "{}", 401,
		      "unauthenticated", NULL);
	snprintf(path, sizeof path, "/v1/jobs/%lld/llm-calls?after=-1", job_a);
	check_problem("GET", path, tok_a, NULL, 400, "invalid_parameter",
		      "after");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(candidates_sort_by_each_objective_nulls_last),
	    cmocka_unit_test(candidates_filter_by_status_source_and_front),
	    cmocka_unit_test(candidates_cursor_is_stable_while_rows_are_added),
	    cmocka_unit_test(candidate_detail_has_cost_epochs_and_nearest),
	    cmocka_unit_test(arch_distance_counts_differing_fields),
	    cmocka_unit_test(llm_calls_page_and_never_show_the_key),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
