/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_serve.c - `lmnas serve`: checks the database schema, serves the HTTP API
 * and the dashboard, and with --workers N runs N job workers in the same
 * process, until SIGINT/SIGTERM; then it stops gracefully (the workers hand
 * their jobs back first). */
#include "auth/auth.h"
#include "cmd.h"
#include "http/http.h"
#include "runner/runner.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Returns 0 to go on, 1 when the database is too new for this binary. */
static int schema_gate(struct store_pool *pool, const char *url_redacted)
{
	struct store_schema_state st;
	char err[CORE_ERR_LEN];

	if (store_schema_check(pool, &st, err, sizeof err)) {
		LOG_WARN("database %s cannot be checked now (%s): starting "
			 "anyway; /readyz answers 503 until it can",
			 url_redacted, err);
		return 0;
	}
	if (st.unknown) {
		fprintf(stderr,
			"lmnas serve: the database carries %d migration(s) "
			"newer than this binary (database at version %d, "
			"binary at %d): refusing to start; run a newer lmnas\n",
			st.unknown, st.db_version, st.binary_version);
		return 1;
	}
	if (st.pending)
		LOG_WARN("%d migration(s) pending (database at version %d, "
			 "binary at %d): run `lmnas migrate`; /readyz answers "
			 "503 until then",
			 st.pending, st.db_version, st.binary_version);
	else
		LOG_INFO("database schema at version %d", st.db_version);
	return 0;
}

/* 1 for an address only this machine can reach: 127.0.0.0/8, ::1 or
 * localhost. */
static int host_is_loopback(const char *host)
{
	char h[256];
	size_t n = strlen(host);
	struct in_addr a4;
	struct in6_addr a6;

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' &&
	    n - 2 < sizeof h) {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
	} else {
		snprintf(h, sizeof h, "%s", host);
	}
	if (strcmp(h, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/* Decides how /v1 authenticates. Returns 0 to go on, 1 to refuse to start:
 * no token can authenticate and the address is reachable from elsewhere. */
static int auth_gate(const struct config *cfg, struct store_pool *pool,
		     struct http_app *app)
{
	char err[CORE_ERR_LEN];
	long long n = 0;

	if (auth_tokens_active(pool, &n, err, sizeof err)) {
		/* tokens stay required: a database that comes back later
		 * checks them */
		LOG_WARN("API tokens cannot be counted now (%s): /v1 requires "
			 "a token",
			 err);
		return 0;
	}
	if (n > 0)
		return 0;
	if (!host_is_loopback(cfg->listen_host)) {
		fprintf(stderr,
			"lmnas serve: no API token exists and --listen %s is "
			"not a loopback address: refusing to serve the API "
			"open; create one with `lmnas token create --team "
			"NAME`\n",
			cfg->listen_host);
		return 1;
	}
	if (auth_team_ensure(pool, "default", &app->open_team_id, err,
			     sizeof err)) {
		fprintf(stderr, "lmnas serve: %s\n", err);
		return 1;
	}
	app->auth_open = 1;
	LOG_WARN("no API token exists: the API is OPEN on %s (every request "
		 "acts as an admin of team 'default'); create a token with "
		 "`lmnas token create --team NAME` and restart to require "
		 "tokens",
		 cfg->listen_host);
	return 0;
}

/* The real path of the data root into out (created when missing); "" when
 * it cannot be had (every API job's paths are then refused). */
static void data_root_resolve(const char *dir, char *out)
{
	char tmp[PATH_MAX];
	size_t n = strlen(dir);

	out[0] = '\0';
	if (n == 0 || n >= sizeof tmp)
		return;
	memcpy(tmp, dir, n + 1);
	for (char *p = tmp + 1; *p; p++) /* mkdir -p */
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	mkdir(tmp, 0755);
	if (!realpath(dir, out)) {
		LOG_WARN("data root %s: %s: API jobs cannot name any data", dir,
			 strerror(errno));
		out[0] = '\0';
	}
}

int cmd_serve(const struct config *cfg, int argc, char **argv)
{
	char data_root[PATH_MAX];
	char err[CORE_ERR_LEN], url[sizeof cfg->database_url + 16];
	struct store_pool *pool = NULL;
	struct http_router *router = NULL;
	struct http_server *srv = NULL;
	struct http_server_config hc;
	struct http_app app = {0};
	struct runner_workers *workers = NULL;
	static struct cmd_webhooks hooks;
	static volatile int workers_stop;
	struct stat sb;
	sigset_t sigs;
	int sig = 0, rc = 1, left;
	const char *v6;

	if (argc > 1) {
		fprintf(stderr, "usage: lmnas serve (settings: `lmnas help "
				"config`)\n");
		return 2;
	}
	if (http_llm_allow_validate(cfg->llm_allow, err, sizeof err)) {
		fprintf(stderr,
			"lmnas serve: --llm-allow (LMNAS_LLM_ALLOW): %s\n",
			err);
		return 2;
	}
	config_redact_url(cfg->database_url, url, sizeof url);
	if (store_pool_open(cfg->database_url, cfg->db_pool_size, &pool, err,
			    sizeof err)) {
		fprintf(stderr, "lmnas serve: %s\n", err);
		return 1;
	}
	if (schema_gate(pool, url))
		goto out;
	memset(&app, 0, sizeof app);
	if (auth_gate(cfg, pool, &app))
		goto out;
	app.limiter = http_auth_limiter_new(cfg->auth_fail_limit);
	if (!app.limiter) {
		fprintf(stderr, "lmnas serve: out of memory\n");
		goto out;
	}
	data_root_resolve(cfg->data_root, data_root);
	app.data_root = data_root[0] ? data_root : NULL;
	app.team_max_queued = cfg->team_max_queued;
	if (cmd_webhooks_policy(cfg, &hooks, "serve"))
		goto out;
	app.webhook_policy = &hooks.policy;
	app.llm_allow = cfg->llm_allow;
	app.upload_max_bytes = cfg->dataset_max_bytes;
	/* the image import of POST /v1/datasets: data_import_dir once the
	 * data module has it (issue 13); NULL: uploads fail their import */
	app.dataset_import = cmd_dataset_import;
	if (http_imports_new(&app.imports, err, sizeof err)) {
		fprintf(stderr, "lmnas serve: %s\n", err);
		goto out;
	}

	/* Blocked before the daemon starts so that its threads inherit the
	 * mask and the signals wait for sigwait() below. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (http_router_new(&router, err, sizeof err) ||
	    http_api_routes_add(router, err, sizeof err)) {
		fprintf(stderr, "lmnas serve: %s\n", err);
		goto out;
	}
	if (stat(cfg->web_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		LOG_WARN("web directory %s does not exist: no dashboard",
			 cfg->web_dir);
	app.pool = pool;
	http_server_config_defaults(&hc);
	hc.host = cfg->listen_host;
	hc.port = cfg->listen_port;
	hc.threads = cfg->http_threads;
	hc.max_connections = cfg->http_max_connections;
	hc.max_per_client = cfg->http_max_per_client;
	hc.header_timeout_s = cfg->http_header_timeout_s;
	hc.connection_timeout_s = cfg->http_idle_timeout_s;
	hc.max_body_bytes = cfg->max_body_bytes;
	hc.web_dir = cfg->web_dir;
	hc.app = &app;
	if (http_server_start(&hc, router, &srv, err, sizeof err)) {
		fprintf(stderr, "lmnas serve: %s\n", err);
		goto out;
	}
	if (cfg->workers > 0) {
		struct runner_workers_config wc;
		char name[192], host[128] = "host";

		gethostname(host, sizeof host - 1);
		snprintf(name, sizeof name, "%.120s:%d", host, (int)getpid());
		memset(&wc, 0, sizeof wc);
		wc.url = cfg->database_url;
		wc.name = name;
		wc.count = cfg->workers;
		wc.lease_s = cfg->lease_seconds;
		wc.max_threads = config_worker_threads(cfg, cfg->workers);
		wc.retention_s = (double)cfg->artifact_retention_s;
		wc.stop = &workers_stop;
		if (runner_workers_start(&wc, &workers, err, sizeof err)) {
			fprintf(stderr, "lmnas serve: %s\n", err);
			goto out;
		}
		LOG_INFO("%d job workers (%d training threads each)",
			 cfg->workers, wc.max_threads);
	}
	if (cmd_webhooks_start(&hooks, pool, "serve"))
		goto out;
	v6 = cfg->listen_host[0] != '[' && strchr(cfg->listen_host, ':') ? "["
									 : NULL;
	LOG_INFO("lmnas %s serving on http://%s%s%s:%d/ (database %s, %d "
		 "HTTP threads, %d database connections)",
		 LMNAS_VERSION, v6 ? "[" : "", cfg->listen_host, v6 ? "]" : "",
		 http_server_port(srv), url, cfg->http_threads,
		 cfg->db_pool_size);

	while (sigwait(&sigs, &sig) != 0)
		;
	LOG_INFO("received %s: stopping (in-flight requests get up to %d s)",
		 sig == SIGINT ? "SIGINT" : "SIGTERM", cfg->shutdown_timeout_s);
	if (workers) {
		/* first: their jobs go back to the queue at the next safe
		 * point while the API still answers */
		workers_stop = 1;
		LOG_INFO("workers stopped after %d job(s); running jobs "
			 "handed back",
			 runner_workers_join(workers));
		workers = NULL;
	}
	left = http_server_stop(srv, cfg->shutdown_timeout_s);
	srv = NULL;
	if (left)
		LOG_WARN("stopped; %d request(s) were cut short", left);
	else
		LOG_INFO("stopped");
	rc = 0;
out:
	workers_stop = 1;
	runner_workers_join(workers);
	cmd_webhooks_stop(&hooks);
	http_server_stop(srv, 0);
	/* imports write to the database: they end before the pool closes */
	http_imports_free(app.imports);
	http_router_free(router);
	http_auth_limiter_free(app.limiter);
	store_pool_close(pool);
	return rc;
}
