/* SPDX-License-Identifier: Apache-2.0 */
/* test_api_events.c - live job events over Server-Sent Events against a
 * real PostgreSQL and a real HTTP server: a follower that disconnects and
 * resumes with Last-Event-ID (or `after`) sees every event once and in
 * order, and the stream ends with the job; 200 open streams on a 4-thread
 * pool leave other requests answered; an event inserted from another
 * connection reaches an open stream through NOTIFY (not a poll: with the
 * trigger disabled it does not arrive); a dropped listener connection is
 * re-established without losing an event; keep-alive comments; a stop
 * with suspended streams; team scoping (404) and a bad Last-Event-ID. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/testsupport.h"
#include "../support/ts_sse.h"
#include "auth/auth.h"
#include "core/core.h"
#include "http/http.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define STREAMS 200

static struct ts_pg pg;
static struct store_pool *pool;
static struct http_router *router;
static struct http_server *srv;
static struct http_app app;
static int port;
static char tok_a[AUTH_TOKEN_MAX], tok_b[AUTH_TOKEN_MAX];
static long long team_a;

/* ---- SQL ------------------------------------------------------------------
 */

static void sql(const char *q, char *out, size_t len)
{
	char buf[512] = "";

	if (!out) {
		out = buf;
		len = sizeof buf;
	}
	if (ts_pg_exec(&pg, NULL, q, out, len))
		fail_msg("sql %s: %s", q, out);
}

/* The first value of query q as a number. */
static long long sql_ll(const char *q)
{
	char out[256];

	sql(q, out, sizeof out);
	return atoll(out);
}

/* A running job of team a (as a worker holds it). */
static long long job_new(void)
{
	char q[256];

	snprintf(q, sizeof q,
		 "INSERT INTO jobs (name, spec, team_id, status) VALUES "
		 "('sse', '{}', %lld, 'running') RETURNING id",
		 team_a);
	return sql_ll(q);
}

/* Inserts an event as a worker would (another connection: psql); returns
 * its id. */
static long long event_add(long long job, const char *kind)
{
	char q[256];

	snprintf(q, sizeof q,
		 "INSERT INTO events (job_id, level, kind, message) VALUES "
		 "(%lld, 'info', '%s', 'm') RETURNING id",
		 job, kind);
	return sql_ll(q);
}

static void job_end(long long job)
{
	char q[256];

	snprintf(q, sizeof q,
		 "UPDATE jobs SET status = 'succeeded', finished_at = now() "
		 "WHERE id = %lld",
		 job);
	sql(q, NULL, 0);
}

/* ---- the stream client ---------------------------------------------------
 */

static void sse_open(struct ts_sse *c, int to_port, long long job,
		     const char *token, long long last_id, const char *query)
{
	char target[256];

	snprintf(target, sizeof target, "/v1/jobs/%lld/events%s", job,
		 query ? query : "");
	assert_int_equal(ts_sse_open(c, to_port, target, token, last_id), 0);
}

/* The response headers: a 200 event stream. */
static void sse_headers(struct ts_sse *c, double timeout_s)
{
	if (ts_sse_headers(c, timeout_s))
		fail_msg("no headers (%zu bytes): %s", c->len, c->buf);
	if (c->status != 200)
		fail_msg("status %ld: %s", c->status, c->buf);
	assert_string_equal(c->ctype, "text/event-stream");
}

static int sse_next(struct ts_sse *c, struct ts_sse_event *ev, double timeout_s,
		    int *comments)
{
	if (!c->headers_done)
		sse_headers(c, timeout_s);
	return ts_sse_next(c, ev, timeout_s, comments);
}

/* 1 when the server closed the stream within timeout_s (no event left). */
static int sse_ends(struct ts_sse *c, double timeout_s)
{
	struct ts_sse_event ev;

	if (sse_next(c, &ev, timeout_s, NULL))
		fail_msg("event %lld (%s) where the end was expected", ev.id,
			 ev.kind);
	return c->closed;
}

static void http_get(const char *path, const char *token, const char *extra,
		     struct ts_http_reply *r)
{
	char url[512], auth[AUTH_TOKEN_MAX + 32];
	const char *h[3] = {auth, extra, NULL};

	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	assert_int_equal(ts_http("GET", url, h, NULL, 0, 20, r), 0);
}

/* ---- setup ----------------------------------------------------------------
 */

static int server_start(struct http_server **out, double keepalive_s)
{
	struct http_server_config c;
	char err[CORE_ERR_LEN];

	http_server_config_defaults(&c);
	c.port = 0;
	c.threads = 4;
	c.max_connections = 1000;
	c.max_per_client = 0; /* every stream comes from 127.0.0.1 */
	c.sse_keepalive_s = keepalive_s;
	c.app = &app;
	if (http_server_start(&c, router, out, err, sizeof err)) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	return 0;
}

static int group_setup(void **state)
{
	char url[256], err[CORE_ERR_LEN], out[64];
	struct rlimit rl;
	long long id;

	(void)state;
	/* 200 streams are 400 descriptors in this one process */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2048 &&
	    rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < 2048 ? rl.rlim_max : 2048;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (ts_pg_start(&pg))
		return -1;
	ts_pg_url(&pg, NULL, url, sizeof url);
	if (store_pool_open(url, 8, &pool, err, sizeof err) ||
	    store_migrate(pool, NULL, err, sizeof err) ||
	    auth_token_create(pool, "a", 0, 0, tok_a, &id, err, sizeof err) ||
	    auth_token_create(pool, "b", 0, 0, tok_b, &id, err, sizeof err)) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	if (ts_pg_exec(&pg, NULL, "SELECT id FROM teams WHERE name = 'a'", out,
		       sizeof out))
		return -1;
	team_a = atoll(out);
	/* these tests write a job's events by hand and follow exactly
	 * those: the state events of migration 0008 (a job's every change of
	 * status) are tested with real jobs in test_search_job */
	if (ts_pg_exec(
		&pg, NULL,
		"ALTER TABLE jobs DISABLE TRIGGER jobs_state_event_insert",
		NULL, 0) ||
	    ts_pg_exec(
		&pg, NULL,
		"ALTER TABLE jobs DISABLE TRIGGER jobs_state_event_update",
		NULL, 0))
		return -1;
	app.pool = pool;
	if (http_router_new(&router, err, sizeof err) ||
	    http_api_routes_add(router, err, sizeof err))
		return -1;
	/* keep-alives far apart: nothing but a NOTIFY wakes a stream here */
	if (server_start(&srv, 300))
		return -1;
	port = http_server_port(srv);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	assert_int_equal(http_server_stop(srv, 5), 0);
	http_router_free(router);
	store_pool_close(pool);
	ts_pg_destroy(&pg);
	return 0;
}

/* ---- tests --------------------------------------------------------------
 */

/* Reads n events into ids[*got...], failing after timeout_s each. */
static void read_events(struct ts_sse *c, long long *ids, int *got, int n)
{
	struct ts_sse_event ev;

	for (int i = 0; i < n; i++) {
		if (!sse_next(c, &ev, 10, NULL))
			fail_msg("event %d of %d did not arrive", i + 1, n);
		assert_string_equal(ev.kind, "step");
		/* the data line is the object of the JSON list */
		assert_non_null(strstr(ev.data, "\"kind\" : \"step\""));
		ids[(*got)++] = ev.id;
	}
}

static void resume_with_last_event_id_sees_every_event_once(void **state)
{
	long long job = job_new(), ids[64], want[64];
	struct ts_sse c;
	struct ts_sse_event ev;
	char q[256], list[1024];
	int got = 0, nwant = 0;

	(void)state;
	for (int i = 0; i < 5; i++)
		event_add(job, "step");
	sse_open(&c, port, job, tok_a, 0, NULL);
	read_events(&c, ids, &got, 5);
	/* live: each one is woken by its NOTIFY */
	for (int i = 0; i < 3; i++) {
		event_add(job, "step");
		read_events(&c, ids, &got, 1);
	}
	ts_sse_close(&c);
	for (int i = 0; i < 4; i++) /* while nobody follows */
		event_add(job, "step");
	sse_open(&c, port, job, tok_a, ids[got - 1], NULL);
	read_events(&c, ids, &got, 4);
	event_add(job, "step");
	read_events(&c, ids, &got, 1);
	job_end(job); /* the stream ends with the job */
	assert_true(sse_ends(&c, 10));
	ts_sse_close(&c);

	/* exactly the job's events, in order, each once */
	snprintf(q, sizeof q,
		 "SELECT string_agg(id::text, ',' ORDER BY id) FROM events "
		 "WHERE job_id = %lld",
		 job);
	sql(q, list, sizeof list);
	for (char *p = list; *p;) {
		want[nwant++] = strtoll(p, &p, 10);
		if (*p == ',')
			p++;
	}
	assert_int_equal(nwant, 13);
	assert_int_equal(got, nwant);
	for (int i = 0; i < got; i++)
		assert_int_equal(ids[i], want[i]);

	/* `after` in the query does the same; an ended job's stream ends
	 * after its events */
	snprintf(q, sizeof q, "?after=%lld", want[10]);
	sse_open(&c, port, job, tok_a, 0, q);
	assert_int_equal(sse_next(&c, &ev, 10, NULL), 1);
	assert_int_equal(ev.id, want[11]);
	assert_int_equal(sse_next(&c, &ev, 10, NULL), 1);
	assert_int_equal(ev.id, want[12]);
	assert_true(sse_ends(&c, 10));
	ts_sse_close(&c);
	/* Last-Event-ID wins over `after` (a reconnecting EventSource sends
	 * both) */
	sse_open(&c, port, job, tok_a, want[11], "?after=1");
	assert_int_equal(sse_next(&c, &ev, 10, NULL), 1);
	assert_int_equal(ev.id, want[12]);
	assert_true(sse_ends(&c, 10));
	ts_sse_close(&c);
}

static void stream_is_team_scoped_and_checks_last_event_id(void **state)
{
	long long job = job_new();
	char path[128];
	struct ts_http_reply r;

	(void)state;
	snprintf(path, sizeof path, "/v1/jobs/%lld/events", job);
	http_get(path, tok_b, "Accept: text/event-stream", &r);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(r.body, "job_not_found"));
	ts_http_reply_free(&r);
	http_get(path, tok_a, "Last-Event-ID: x1", &r);
	/* without the Accept header, the JSON form ignores it */
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"events\""));
	ts_http_reply_free(&r);
	{
		char url[512], auth[AUTH_TOKEN_MAX + 32];
		const char *h[] = {auth, "Accept: text/event-stream",
				   "Last-Event-ID: x1", NULL};

		snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok_a);
		assert_int_equal(ts_http("GET", url, h, NULL, 0, 20, &r), 0);
		assert_int_equal(r.status, 400);
		assert_non_null(strstr(r.body, "Last-Event-ID"));
		ts_http_reply_free(&r);
	}
	job_end(job);
}

static void many_streams_do_not_block_other_requests(void **state)
{
	static struct ts_sse c[STREAMS];
	long long job = job_new(), ev_id;
	char path[128];
	struct ts_http_reply r;
	struct ts_sse_event ev;

	(void)state;
	for (int i = 0; i < STREAMS; i++)
		sse_open(&c[i], port, job, tok_a, 0, NULL);
	for (int i = 0; i < STREAMS; i++)
		sse_headers(&c[i], 20); /* all 200 are open and streaming */
	http_get("/healthz", tok_a, NULL, &r);
	assert_int_equal(r.status, 200);
	ts_http_reply_free(&r);
	snprintf(path, sizeof path, "/v1/jobs/%lld", job);
	http_get(path, tok_a, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"running\""));
	ts_http_reply_free(&r);
	/* and one event reaches every one of them */
	ev_id = event_add(job, "step");
	for (int i = 0; i < STREAMS; i++) {
		if (!sse_next(&c[i], &ev, 20, NULL))
			fail_msg("stream %d got no event", i);
		assert_int_equal(ev.id, ev_id);
	}
	job_end(job);
	for (int i = 0; i < STREAMS; i++) {
		assert_true(sse_ends(&c[i], 20));
		ts_sse_close(&c[i]);
	}
}

static void event_from_another_connection_arrives_by_notify(void **state)
{
	long long job = job_new(), quiet, loud;
	struct ts_sse c;
	struct ts_sse_event ev;

	(void)state;
	sse_open(&c, port, job, tok_a, 0, NULL);
	sse_headers(&c, 10);
	/* without the trigger's NOTIFY, nothing wakes the stream (no poll
	 * while the listener is up; keep-alives are 300 s apart here) */
	sql("ALTER TABLE events DISABLE TRIGGER events_notify", NULL, 0);
	quiet = event_add(job, "step");
	assert_int_equal(sse_next(&c, &ev, 3, NULL), 0);
	sql("ALTER TABLE events ENABLE TRIGGER events_notify", NULL, 0);
	loud = event_add(job, "step");
	/* the woken stream re-reads from its last id: both, in order */
	assert_int_equal(sse_next(&c, &ev, 10, NULL), 1);
	assert_int_equal(ev.id, quiet);
	assert_int_equal(sse_next(&c, &ev, 10, NULL), 1);
	assert_int_equal(ev.id, loud);
	ts_sse_close(&c);
	job_end(job);
}

static void dropped_listener_reconnects_without_losing_events(void **state)
{
	long long job = job_new(), id;
	struct ts_sse c;
	struct ts_sse_event ev;
	const char *listeners = "SELECT count(*) FROM pg_stat_activity WHERE "
				"query = 'LISTEN lmnas_events'";
	char out[64];

	(void)state;
	sse_open(&c, port, job, tok_a, 0, NULL);
	sse_headers(&c, 10);
	sql(listeners, out, sizeof out);
	assert_int_equal(atoi(out), 1);
	sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
	    "WHERE query = 'LISTEN lmnas_events'",
	    out, sizeof out);
	assert_int_equal(atoi(out), 1);
	id = event_add(job, "step"); /* its NOTIFY has no listener */
	assert_int_equal(sse_next(&c, &ev, 15, NULL), 1);
	assert_int_equal(ev.id, id);
	/* listening again: the next event is a NOTIFY away */
	for (int i = 0; i < 100; i++) {
		sql(listeners, out, sizeof out);
		if (atoi(out) == 1)
			break;
		usleep(100000);
	}
	assert_int_equal(atoi(out), 1);
	id = event_add(job, "step");
	assert_int_equal(sse_next(&c, &ev, 10, NULL), 1);
	assert_int_equal(ev.id, id);
	ts_sse_close(&c);
	job_end(job);
}

static void keep_alive_and_stop_with_open_streams(void **state)
{
	struct http_server *s2 = NULL;
	struct ts_sse c[20];
	struct ts_sse_event ev;
	long long job = job_new();
	int comments = 0, p2;

	(void)state;
	assert_int_equal(server_start(&s2, 0.3), 0);
	p2 = http_server_port(s2);
	for (int i = 0; i < 20; i++) {
		sse_open(&c[i], p2, job, tok_a, 0, NULL);
		sse_headers(&c[i], 10);
	}
	/* an idle stream sends comments (no event) */
	for (double t0 = core_now_seconds();
	     comments < 2 && core_now_seconds() - t0 < 10;)
		assert_int_equal(sse_next(&c[0], &ev, 0.5, &comments), 0);
	assert_true(comments >= 2);
	/* suspended streams end with the stop, no request left behind */
	assert_int_equal(http_server_stop(s2, 5), 0);
	for (int i = 0; i < 20; i++) {
		assert_true(sse_ends(&c[i], 5));
		ts_sse_close(&c[i]);
	}
	job_end(job);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(resume_with_last_event_id_sees_every_event_once),
	    cmocka_unit_test(stream_is_team_scoped_and_checks_last_event_id),
	    cmocka_unit_test(many_streams_do_not_block_other_requests),
	    cmocka_unit_test(event_from_another_connection_arrives_by_notify),
	    cmocka_unit_test(dropped_listener_reconnects_without_losing_events),
	    cmocka_unit_test(keep_alive_and_stop_with_open_streams),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
