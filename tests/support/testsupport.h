/* SPDX-License-Identifier: Apache-2.0 */
/* testsupport.h - helpers for integration tests: a throwaway PostgreSQL
 * cluster, spawned `lmnas` processes, and a small HTTP client on libcurl.
 *
 * Everything started here is also registered for an emergency cleanup that
 * runs at exit and when a sanitizer kills the test, so a failing test leaves
 * no server or cluster behind; tests still stop what they start in their
 * cmocka teardown.
 *
 * Locations: LMNAS_ROOT (exported by tests/run.sh; default the current
 * directory) holds scripts/pg.sh and web/static; LMNAS_BUILD (default
 * ./build) holds asan/lmnas; LMNAS_TEST_LOGS (default /tmp) receives the logs
 * of spawned processes.
 */
#ifndef LMNAS_TESTSUPPORT_H
#define LMNAS_TESTSUPPORT_H

#include <stddef.h>
#include <sys/types.h>

const char *ts_root(void);
const char *ts_build(void);
const char *ts_logs(void);

/* ---- PostgreSQL ---------------------------------------------------------- */

struct ts_pg {
	char dir[64]; /* /tmp/lmpg-XXXXXX: short, for the unix socket path */
	int running;
};

/* Creates the cluster on first use (a fresh temp dir), starts it with
 * `pg.sh start DIR --fast` and creates database "lmnas". 0 on success. */
int ts_pg_start(struct ts_pg *pg);
/* Fast shutdown (the directory stays: ts_pg_start starts it again). */
int ts_pg_stop(struct ts_pg *pg);
/* Stops the cluster and removes its directory; safe on a zeroed struct and
 * twice. */
void ts_pg_destroy(struct ts_pg *pg);
/* The libpq URL of database dbname ("lmnas" when NULL). */
void ts_pg_url(const struct ts_pg *pg, const char *dbname, char *out,
	       size_t outlen);
/* Runs sql on dbname (NULL: "lmnas"); the first value of the result (if any,
 * else "") goes to out (may be NULL). 0 on success; on failure out holds the
 * error. */
int ts_pg_exec(const struct ts_pg *pg, const char *dbname, const char *sql,
	       char *out, size_t outlen);

/* ---- processes --------------------------------------------------------- */

struct ts_proc {
	pid_t pid;     /* 0 when not running */
	int port;      /* for serve */
	char base[64]; /* "http://127.0.0.1:PORT" */
	char log[512]; /* stdout+stderr of the process */
	int exit_code; /* once reaped: exit status, or 128+signal */
};

/* Runs `lmnas ARGS...` (args NULL-terminated) to completion with the extra
 * environment env ("KEY=VALUE", NULL-terminated; inherited LMNAS_* variables
 * are dropped). Returns its exit code (-1 if it could not run or took more
 * than 60 s); its output is in p->log. */
int ts_lmnas_run(struct ts_proc *p, const char *const *args,
		 const char *const *env);

/* Starts `lmnas ARGS...` with env as ts_lmnas_run does, without waiting
 * (stop it with ts_proc_stop or ts_proc_kill). Returns 0 or -1. */
int ts_lmnas_spawn(struct ts_proc *p, const char *const *args,
		   const char *const *env);

/* Spawns `lmnas serve` on a free loopback port with env (plus LMNAS_LISTEN
 * and LMNAS_WEB_DIR unless env sets them) and waits until /healthz answers
 * 200. Returns 0 when it serves; -1 when it exited first (p->exit_code set)
 * or did not answer within 20 s (then it is killed). */
int ts_lmnas_serve(struct ts_proc *p, const char *const *env);

/* 1 while the process runs (reaps it when it has exited). */
int ts_proc_alive(struct ts_proc *p);
/* Sends sig (0: none) and waits up to timeout_s for the exit; returns the
 * exit code, or -1 on timeout, in which case the process is killed. */
int ts_proc_stop(struct ts_proc *p, int sig, double timeout_s);
/* Kills (SIGKILL) and reaps; safe on a zeroed or stopped struct. */
void ts_proc_kill(struct ts_proc *p);
/* The process's log so far (malloc'd, NUL-terminated; "" if none). */
char *ts_proc_log_read(const struct ts_proc *p);

/* A free loopback TCP port (bound and released: may race, rarely). */
int ts_free_port(void);

/* ---- HTTP client --------------------------------------------------------- */

struct ts_http_reply {
	long status;   /* 0 when the request failed (see error) */
	char *headers; /* raw header block of the final response */
	char *body;    /* NUL-terminated */
	size_t len;
	char error[256];
};

/* Sends method url with the extra headers ("Name: value", NULL-terminated)
 * and the body (NULL for none). Returns 0 when a response came back (any
 * status), -1 otherwise (r->status 0, r->error says why). r is always
 * initialised: free it with ts_http_reply_free. */
int ts_http(const char *method, const char *url, const char *const *headers,
	    const char *body, size_t body_len, double timeout_s,
	    struct ts_http_reply *r);
/* The value of a response header (case-insensitive name) copied into buf,
 * or NULL when absent. */
const char *ts_http_header(const struct ts_http_reply *r, const char *name,
			   char *buf, size_t buflen);
void ts_http_reply_free(struct ts_http_reply *r);

/* A connected TCP socket to 127.0.0.1:port, or -1. */
int ts_tcp_connect(int port);
/* Reads from fd until the peer closes or timeout_s passes; returns what was
 * read (malloc'd, NUL-terminated). */
char *ts_tcp_read_all(int fd, double timeout_s);

/* ---- shared by the support files ---------------------------------------- */

/* Runs argv (argv[0] looked up in PATH) with output appended to log_path
 * (NULL: /dev/null); returns its exit code, -1 on failure or timeout. */
int ts_run_cmd(char *const argv[], const char *log_path, double timeout_s);
/* Emergency cleanup registry: pids are SIGKILLed, cluster dirs stopped and
 * removed, at exit or when the test dies. */
void ts_cleanup_add_pid(pid_t pid);
void ts_cleanup_remove_pid(pid_t pid);
void ts_cleanup_add_pg(const char *dir);
void ts_cleanup_remove_pg(const char *dir);
/* Stops and removes a cluster dir (only under /tmp/lmpg-). */
void ts_pg_dir_destroy(const char *dir);

#endif
