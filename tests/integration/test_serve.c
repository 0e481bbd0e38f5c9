/* SPDX-License-Identifier: Apache-2.0 */
/* test_serve.c - `lmnas serve` as a process against a throwaway PostgreSQL:
 * readiness before and after `lmnas migrate`, problem bodies, request ids,
 * files, readiness following the database down and up again, refusal of a
 * newer schema, starting without a database (and without leaking its
 * password, even from an unparsable URL), the HTTP limits set from the
 * environment, and the graceful stop on SIGTERM/SIGINT with a slow in-flight
 * request and with an idle keep-alive connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/testsupport.h"

#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct ts_pg pg;
static int db_counter;

struct fx {
	char db[32];
	char env_url[320]; /* LMNAS_DATABASE_URL=... */
	struct ts_proc srv;
	pid_t stopped[8]; /* postgres backends this test SIGSTOPped */
	int nstopped;
};

static int group_setup(void **state)
{
	return ts_pg_start(&pg);
}

static int group_teardown(void **state)
{
	ts_pg_destroy(&pg);
	return 0;
}

/* Each test gets its own database in the shared cluster. */
static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	char sql[64], url[256], out[256];

	if (!fx)
		return -1;
	snprintf(fx->db, sizeof fx->db, "t%d", ++db_counter);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", fx->db);
	if (ts_pg_exec(&pg, NULL, sql, out, sizeof out)) {
		fprintf(stderr, "setup: %s\n", out);
		free(fx);
		return -1;
	}
	ts_pg_url(&pg, fx->db, url, sizeof url);
	snprintf(fx->env_url, sizeof fx->env_url, "LMNAS_DATABASE_URL=%s", url);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	for (int i = 0; i < fx->nstopped; i++)
		kill(fx->stopped[i], SIGCONT);
	ts_proc_kill(&fx->srv);
	if (!pg.running)
		ts_pg_start(&pg); /* a test that stopped it failed midway */
	free(fx);
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static void serve(struct fx *fx, const char *extra)
{
	const char *env[] = {fx->env_url, extra, NULL};

	if (ts_lmnas_serve(&fx->srv, env) != 0) {
		char *log = ts_proc_log_read(&fx->srv);
		fail_msg("lmnas serve did not come up (exit %d): %s",
			 fx->srv.exit_code, log);
	}
}

static void migrate(struct fx *fx)
{
	static const char *const args[] = {"migrate", NULL};
	const char *env[] = {fx->env_url, NULL};
	struct ts_proc p;

	assert_int_equal(ts_lmnas_run(&p, args, env), 0);
}

static void get(struct fx *fx, const char *method, const char *path,
		const char *const *headers, struct ts_http_reply *r)
{
	char url[256];

	snprintf(url, sizeof url, "%s%s", fx->srv.base, path);
	assert_int_equal(ts_http(method, url, headers, NULL, 0, 15, r), 0);
}

/* The problem in r (status and code checked); the caller decrefs. */
static json_t *problem(const struct ts_http_reply *r, long status,
		       const char *code)
{
	char ct[64];
	json_error_t e;
	json_t *j;

	assert_int_equal(r->status, status);
	assert_non_null(ts_http_header(r, "Content-Type", ct, sizeof ct));
	assert_string_equal(ct, "application/problem+json");
	j = json_loads(r->body, 0, &e);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    code);
	assert_int_equal(json_integer_value(json_object_get(j, "status")),
			 status);
	return j;
}

/* Polls GET /readyz until it answers want (up to timeout_s). */
static long readyz_until(struct fx *fx, long want, double timeout_s)
{
	long got = 0;

	for (int i = 0; i < (int)(timeout_s * 20); i++) {
		struct ts_http_reply r;
		get(fx, "GET", "/readyz", NULL, &r);
		got = r.status;
		ts_http_reply_free(&r);
		if (got == want)
			break;
		usleep(50000);
	}
	return got;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int log_has(struct fx *fx, const char *needle)
{
	char *log = ts_proc_log_read(&fx->srv);
	int has = strstr(log, needle) != NULL;

	free(log);
	return has;
}

/* For lines written after the response has gone out (the access log). */
static int log_wait(struct fx *fx, const char *needle, double timeout_s)
{
	for (int i = 0; i < (int)(timeout_s * 50); i++) {
		if (log_has(fx, needle))
			return 1;
		usleep(20000);
	}
	return log_has(fx, needle);
}

/* ---- tests --------------------------------------------------------------- */

static void readyz_pending_until_migrate(void **state)
{
	struct fx *fx = *state;
	struct ts_http_reply r;
	char ra[16];
	int binary;
	json_t *j;

	serve(fx, NULL);
	get(fx, "GET", "/healthz", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"status\":\"ok\"}");
	ts_http_reply_free(&r);

	get(fx, "GET", "/readyz", NULL, &r);
	j = problem(&r, 503, "migrations_pending");
	assert_int_equal(
	    json_integer_value(json_object_get(j, "schema_version")), 0);
	binary = (int)json_integer_value(json_object_get(j, "binary_version"));
	assert_true(binary >= 1);
	assert_true(json_integer_value(json_object_get(j, "pending")) >= 1);
	assert_non_null(strstr(json_string_value(json_object_get(j, "detail")),
			       "lmnas migrate"));
	assert_non_null(ts_http_header(&r, "Retry-After", ra, sizeof ra));
	json_decref(j);
	ts_http_reply_free(&r);
	assert_true(log_has(fx, "pending"));

	migrate(fx);
	get(fx, "GET", "/readyz", NULL, &r);
	assert_int_equal(r.status, 200);
	{
		char want[64];
		snprintf(want, sizeof want,
			 "{\"status\":\"ready\",\"schema_version\":%d}",
			 binary);
		assert_string_equal(r.body, want);
	}
	ts_http_reply_free(&r);

	assert_int_equal(ts_proc_stop(&fx->srv, SIGTERM, 10), 0);
	assert_true(log_has(fx, "received SIGTERM"));
	assert_true(log_has(fx, "\"msg\":\"stopped\""));
}

static void problems_ids_and_files(void **state)
{
	static const char *const mine[] = {"X-Request-Id: it-serve-1", NULL};
	struct fx *fx = *state;
	struct ts_http_reply r;
	char h[128], want[128];
	json_t *j;

	serve(fx, NULL);
	snprintf(want, sizeof want, "serving on http://127.0.0.1:%d/",
		 fx->srv.port);
	assert_true(log_wait(fx, want, 10));

	get(fx, "GET", "/v1/nothing", NULL, &r);
	j = problem(&r, 404, "not_found");
	assert_string_equal(json_string_value(json_object_get(j, "type")),
			    "urn:lmnas:problem:not_found");
	assert_non_null(json_object_get(j, "title"));
	assert_non_null(json_object_get(j, "detail"));
	json_decref(j);
	ts_http_reply_free(&r);

	get(fx, "POST", "/healthz", NULL, &r);
	json_decref(problem(&r, 405, "method_not_allowed"));
	assert_non_null(ts_http_header(&r, "Allow", h, sizeof h));
	assert_string_equal(h, "GET, HEAD");
	ts_http_reply_free(&r);

	get(fx, "GET", "/healthz", mine, &r);
	assert_non_null(ts_http_header(&r, "X-Request-Id", h, sizeof h));
	assert_string_equal(h, "it-serve-1");
	ts_http_reply_free(&r);
	assert_true(log_wait(fx, "\"id\":\"it-serve-1\"", 5));
	get(fx, "GET", "/healthz", NULL, &r);
	assert_non_null(ts_http_header(&r, "X-Request-Id", h, sizeof h));
	assert_int_equal(strlen(h), 32);
	ts_http_reply_free(&r);

	get(fx, "GET", "/", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "lmnas is running"));
	assert_non_null(strstr(r.body, "/readyz"));
	assert_non_null(ts_http_header(&r, "Content-Type", h, sizeof h));
	assert_string_equal(h, "text/html; charset=utf-8");
	ts_http_reply_free(&r);

	get(fx, "GET", "/openapi.yaml", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "openapi: 3.1.0"));
	ts_http_reply_free(&r);

	assert_int_equal(ts_proc_stop(&fx->srv, SIGINT, 10), 0);
	assert_true(log_has(fx, "received SIGINT"));
}

static void readyz_follows_database(void **state)
{
	struct fx *fx = *state;
	struct ts_http_reply r;
	pid_t pid;
	json_t *j;

	migrate(fx);
	serve(fx, NULL);
	pid = fx->srv.pid;
	assert_int_equal(readyz_until(fx, 200, 1), 200);

	assert_int_equal(ts_pg_stop(&pg), 0);
	get(fx, "GET", "/readyz", NULL, &r);
	j = problem(&r, 503, "database_unavailable");
	assert_true(strlen(json_string_value(json_object_get(j, "detail"))));
	json_decref(j);
	ts_http_reply_free(&r);
	get(fx, "GET", "/healthz", NULL, &r); /* alive regardless */
	assert_int_equal(r.status, 200);
	ts_http_reply_free(&r);
	assert_true(log_has(fx, "readiness: not ready"));

	assert_int_equal(ts_pg_start(&pg), 0);
	assert_int_equal(readyz_until(fx, 200, 10), 200);
	/* the same process: nobody restarted lmnas */
	assert_true(ts_proc_alive(&fx->srv));
	assert_int_equal(fx->srv.pid, pid);
	assert_int_equal(ts_proc_stop(&fx->srv, SIGTERM, 10), 0);
}

static void refuses_newer_schema(void **state)
{
	struct fx *fx = *state;
	struct ts_http_reply r;
	char out[256];
	const char *env[] = {fx->env_url, NULL};
	json_t *j;

	migrate(fx);
	serve(fx, NULL);
	assert_int_equal(
	    ts_pg_exec(&pg, fx->db,
		       "INSERT INTO schema_migrations (version, name) "
		       "VALUES (9999, 'from_the_future')",
		       out, sizeof out),
	    0);
	/* while running: not ready */
	get(fx, "GET", "/readyz", NULL, &r);
	j = problem(&r, 503, "migrations_newer");
	assert_int_equal(json_integer_value(json_object_get(j, "unknown")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(j, "schema_version")), 9999);
	json_decref(j);
	ts_http_reply_free(&r);
	assert_int_equal(ts_proc_stop(&fx->srv, SIGTERM, 10), 0);

	/* at start: refuses, exit 1, says why */
	assert_int_equal(ts_lmnas_serve(&fx->srv, env), -1);
	assert_int_equal(fx->srv.exit_code, 1);
	assert_true(log_has(fx, "newer than this binary"));
	assert_true(log_has(fx, "refusing to start"));
}

static void starts_without_database(void **state)
{
	static const char *const env[] = {
	    "LMNAS_DATABASE_URL=postgresql://lmnas:s3cret@/lmnas?"
	    "host=/tmp/lmnas-no-such-dir",
	    NULL};
	struct fx *fx = *state;
	struct ts_http_reply r;
	char *log;

	assert_int_equal(ts_lmnas_serve(&fx->srv, env), 0);
	get(fx, "GET", "/readyz", NULL, &r);
	json_decref(problem(&r, 503, "database_unavailable"));
	assert_null(strstr(r.body, "s3cret"));
	ts_http_reply_free(&r);
	assert_int_equal(ts_proc_stop(&fx->srv, SIGTERM, 10), 0);
	log = ts_proc_log_read(&fx->srv);
	assert_non_null(strstr(log, "starting anyway"));
	assert_non_null(strstr(log, "postgresql://lmnas:***@/lmnas"));
	assert_null(strstr(log, "s3cret"));
	free(log);
}

/* libpq quotes an unparsable URL whole in its error message: neither the
 * unauthenticated /readyz nor the log may repeat its password. */
static void unparsable_url_never_leaks_password(void **state)
{
	static const char *const env[] = {
	    "LMNAS_DATABASE_URL=postgresql://u:hunter2@[::1", NULL};
	struct fx *fx = *state;
	struct ts_http_reply r;
	json_t *j;
	char *log;

	assert_int_equal(ts_lmnas_serve(&fx->srv, env), 0);
	get(fx, "GET", "/readyz", NULL, &r);
	j = problem(&r, 503, "database_unavailable");
	assert_string_equal(json_string_value(json_object_get(j, "detail")),
			    "database unavailable");
	assert_null(strstr(r.body, "hunter2"));
	json_decref(j);
	ts_http_reply_free(&r);
	assert_int_equal(ts_proc_stop(&fx->srv, SIGTERM, 10), 0);
	log = ts_proc_log_read(&fx->srv);
	/* the reason is logged (scrubbed), at start and by /readyz */
	assert_non_null(strstr(log, "IPv6 host address"));
	assert_non_null(strstr(log, "readiness: not ready"));
	assert_non_null(strstr(log, "postgresql://u:***@[::1"));
	assert_null(strstr(log, "hunter2"));
	free(log);
}

struct client {
	pthread_t t;
	char url[128];
	struct ts_http_reply r;
};

static void *client_main(void *arg)
{
	static const char *const id[] = {"X-Request-Id: slow-readyz", NULL};
	struct client *c = arg;

	ts_http("GET", c->url, id, NULL, 0, 30, &c->r);
	return NULL;
}

/* A slow request, made honestly: the database backend that /readyz talks to
 * is frozen (SIGSTOP), so the request sits in the handler. SIGTERM must stop
 * new connections but wait for it; thawing the backend lets it finish with
 * 200, and then lmnas exits 0. */
static void sigterm_waits_for_slow_request(void **state)
{
	static struct client c; /* outlives a failed assertion */
	struct fx *fx = *state;
	char sql[200], out[64];
	pid_t backend;

	migrate(fx);
	{
		/* debug level logs each request as it starts: see below */
		const char *env[] = {fx->env_url, "LMNAS_DB_POOL=1",
				     "LMNAS_LOG_LEVEL=debug", NULL};
		assert_int_equal(ts_lmnas_serve(&fx->srv, env), 0);
	}
	assert_int_equal(readyz_until(fx, 200, 1), 200); /* opens the conn */
	snprintf(sql, sizeof sql,
		 "SELECT pid FROM pg_stat_activity WHERE "
		 "application_name = 'lmnas' AND datname = '%s'",
		 fx->db);
	assert_int_equal(ts_pg_exec(&pg, NULL, sql, out, sizeof out), 0);
	backend = (pid_t)atoi(out);
	assert_true(backend > 0);
	assert_int_equal(kill(backend, SIGSTOP), 0);
	fx->stopped[fx->nstopped++] = backend;

	snprintf(c.url, sizeof c.url, "%s/readyz", fx->srv.base);
	assert_int_equal(pthread_create(&c.t, NULL, client_main, &c), 0);
	/* wait until lmnas has the request (it then sits in the handler) */
	for (int i = 0; i < 250 && !log_has(fx, "\"id\":\"slow-readyz\""); i++)
		usleep(20000);
	assert_true(log_has(fx, "GET /readyz started"));
	assert_int_equal(kill(fx->srv.pid, SIGTERM), 0);
	for (int i = 0; i < 100 && !log_has(fx, "received SIGTERM"); i++)
		usleep(20000);
	assert_true(log_has(fx, "received SIGTERM"));
	usleep(200000);
	assert_true(ts_proc_alive(&fx->srv)); /* still waiting for it */

	assert_int_equal(kill(backend, SIGCONT), 0);
	fx->nstopped--;
	pthread_join(c.t, NULL);
	assert_int_equal(c.r.status, 200);
	assert_non_null(strstr(c.r.body, "\"ready\""));
	ts_http_reply_free(&c.r);
	assert_int_equal(ts_proc_stop(&fx->srv, 0, 10), 0);
	assert_false(log_has(fx, "cut short"));
}

static void sigterm_ignores_idle_connections(void **state)
{
	struct fx *fx = *state;
	const char *req = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
	char buf[512];
	double t0;
	int fd;

	serve(fx, NULL); /* shutdown timeout: the default 10 s */
	fd = ts_tcp_connect(fx->srv.port);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	assert_true(read(fd, buf, sizeof buf) > 0); /* kept alive, idle */
	t0 = now_s();
	assert_int_equal(ts_proc_stop(&fx->srv, SIGTERM, 5), 0);
	assert_true(now_s() - t0 < 2);
	close(fd);
}

/* Runs psql as OS user `nobody` against the cluster with role; its exit. */
static int psql_as_nobody(const char *role, const char *log)
{
	char conn[256];
	char *argv[] = {"runuser", "-u",   "nobody",   "--", "psql",
			"-X",	   "-tAc", "SELECT 1", conn, NULL};

	snprintf(conn, sizeof conn, "postgresql:///lmnas?host=%s&user=%s",
		 pg.dir, role);
	return ts_run_cmd(argv, log, 30);
}

/* The private cluster (scripts/pg.sh, as `make run` starts it) admits only
 * the OS user that started it: it used to take anyone as the superuser
 * lmnas (trust auth, a world-writable socket). */
static void private_cluster_admits_only_its_user(void **state)
{
	char out[256], path[160], sock[160], line[256], log[600];
	struct stat sb;
	int trust = 0, peer = 0;
	FILE *f;

	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "SELECT rolsuper FROM pg_roles WHERE "
				    "rolname = current_user",
				    out, sizeof out),
			 0);
	assert_string_equal(out, "f");
	assert_int_equal(
	    ts_pg_exec(&pg, NULL, "SHOW listen_addresses", out, sizeof out), 0);
	assert_string_equal(out, ""); /* no TCP */
	assert_int_equal(ts_pg_exec(&pg, NULL, "SHOW unix_socket_permissions",
				    out, sizeof out),
			 0);
	assert_string_equal(out, "0700");
	assert_int_equal(stat(pg.dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(path, sizeof path, "%s/data/pg_hba.conf", pg.dir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#')
			continue;
		trust += strstr(line, "trust") != NULL;
		peer += strstr(line, "peer") != NULL;
	}
	fclose(f);
	assert_int_equal(trust, 0);
	assert_true(peer > 0);

	if (geteuid() != 0 || getpwnam("nobody") == NULL) {
		skip(); /* needs root to act as another OS user */
		return;
	}
	snprintf(log, sizeof log, "%s/test_serve.nobody.log", ts_logs());
	assert_true(psql_as_nobody("lmnas", log) > 0);
	assert_true(psql_as_nobody("postgres", log) > 0);
	/* with the directory and socket opened up, peer authentication
	 * still turns another OS user away */
	snprintf(sock, sizeof sock, "%s/.s.PGSQL.5432", pg.dir);
	assert_int_equal(chmod(pg.dir, 0755), 0);
	assert_int_equal(chmod(sock, 0777), 0);
	assert_true(psql_as_nobody("lmnas", log) > 0);
	assert_true(psql_as_nobody("postgres", log) > 0);
	assert_int_equal(chmod(sock, 0700), 0);
	assert_int_equal(chmod(pg.dir, 0700), 0);
	assert_int_equal(ts_pg_exec(&pg, NULL, "SELECT 1", out, sizeof out), 0);
}

/* Runs `runuser -u nobody -- ARGS...` (NULL-terminated, at most 8); its
 * exit code, output appended to log. */
static int as_nobody(const char *log, const char *const *args)
{
	char *argv[16] = {"runuser", "-u", "nobody", "--"};
	int n = 4;

	for (; *args && n < 14; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	return ts_run_cmd(argv, log, 120);
}

/* `make run` by a user who is not root: the cluster runs as that user, who
 * gets in as lmnas (no superuser), and nobody else (root aside) does. */
static void private_cluster_for_a_plain_user(void **state)
{
	char dir[] = "/tmp/lmpg-XXXXXX", script[600], conn[160], log[600];
	char rm[700];
	struct passwd *pw = getpwnam("nobody");
	struct stat sb;

	if (geteuid() != 0 || !pw) {
		skip(); /* needs root to act as a plain user */
		return;
	}
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chown(dir, pw->pw_uid, pw->pw_gid), 0);
	snprintf(script, sizeof script, "%s/scripts/pg.sh", ts_root());
	snprintf(conn, sizeof conn, "postgresql:///lmnas?host=%s&user=lmnas",
		 dir);
	snprintf(log, sizeof log, "%s/test_serve.plain-user.log", ts_logs());
	{
		const char *start[] = {"bash", script,	 "start",
				       dir,    "--fast", NULL};
		const char *super[] = {
		    "psql",
		    "-X",
		    "-v",
		    "ON_ERROR_STOP=1",
		    "-tAc",
		    "DO $$BEGIN IF (SELECT rolsuper FROM pg_roles WHERE "
		    "rolname = current_user) THEN RAISE EXCEPTION "
		    "'lmnas is a superuser'; END IF; END$$",
		    conn,
		    NULL};
		const char *stop[] = {"bash", script, "stop", dir, NULL};
		int started = as_nobody(log, start) == 0;
		/* connects, and is no superuser (else the DO block raises) */
		int ok = started && as_nobody(log, super) == 0;
		char *psql[] = {"psql", "-X", "-tAc", "SELECT 1", conn, NULL};
		/* root is refused by peer auth: it is not the cluster's user */
		int root_refused = started && ts_run_cmd(psql, log, 30) > 0;

		stat(dir, &sb);
		if (started)
			as_nobody(log, stop);
		snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
		assert_int_equal(system(rm), 0);
		assert_true(started);
		assert_true(ok);
		assert_true(root_refused);
		assert_int_equal(sb.st_mode & 0777, 0700);
	}
}

/* 1 when the peer closed fd within timeout_ms. */
static int peer_closed(int fd, int timeout_ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	char buf[64];

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	return read(fd, buf, sizeof buf) <= 0;
}

/* The HTTP limits are settings: one address gets two connections here, and
 * a connection that sends half a header is closed after two seconds. */
static void http_limits_from_environment(void **state)
{
	static const char half[] = "GET /healthz HTTP/1.1\r\nX-Slow: ";
	struct fx *fx = *state;
	const char *env[] = {fx->env_url, "LMNAS_HTTP_MAX_PER_CLIENT=2",
			     "LMNAS_HTTP_HEADER_TIMEOUT=2", NULL};
	struct ts_http_reply r;
	char url[128];
	long status = 0;
	int fd[3];

	assert_int_equal(ts_lmnas_serve(&fx->srv, env), 0);
	for (int i = 0; i < 3; i++) {
		fd[i] = ts_tcp_connect(fx->srv.port);
		assert_true(fd[i] >= 0);
		assert_int_equal(write(fd[i], half, strlen(half)),
				 (ssize_t)strlen(half));
	}
	/* the third from the same address is refused at once */
	assert_true(peer_closed(fd[2], 5000));
	assert_false(peer_closed(fd[0], 0));
	/* the deadline closes the others (bounded wait, far below the 60 s
	 * idle timeout) */
	assert_true(peer_closed(fd[0], 8000));
	assert_true(peer_closed(fd[1], 8000));
	for (int i = 0; i < 3; i++)
		close(fd[i]);
	/* served again once the server has counted the closes (its worker
	 * threads see them a moment after the client does) */
	snprintf(url, sizeof url, "%s/healthz", fx->srv.base);
	for (int i = 0; i < 50 && status != 200; i++) {
		if (i)
			usleep(100000);
		ts_http("GET", url, NULL, NULL, 0, 5, &r);
		status = r.status;
		ts_http_reply_free(&r);
	}
	assert_int_equal(status, 200);
	assert_int_equal(ts_proc_stop(&fx->srv, SIGTERM, 10), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(readyz_pending_until_migrate, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(problems_ids_and_files, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(readyz_follows_database, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(refuses_newer_schema, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(unparsable_url_never_leaks_password,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		private_cluster_admits_only_its_user, setup, teardown),
	    cmocka_unit_test(private_cluster_for_a_plain_user),
	    cmocka_unit_test_setup_teardown(http_limits_from_environment, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(starts_without_database, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(sigterm_waits_for_slow_request,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(sigterm_ignores_idle_connections,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
