/* SPDX-License-Identifier: Apache-2.0 */
/* config.c - the configuration table: flags, LMNAS_* variables, defaults and
 * their validation. */
#include "cmd.h"
#include "store/store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum opt_kind {
	OPT_STRING,
	OPT_INT,
	OPT_LONG,
	OPT_LISTEN,
	OPT_LEVEL,
	OPT_FORMAT,
	OPT_DURATION /* long seconds: 45, 90s, 30m, 12h, 30d */
};

struct opt {
	const char *flag;
	const char *env;
	const char *def;
	enum opt_kind kind;
	long min, max;
	size_t offset;
	size_t size;
	const char *help;
};

#define F(field)                                                               \
	offsetof(struct config, field), sizeof(((struct config *)0)->field)

static const struct opt opts[] = {
    {"--database-url", "LMNAS_DATABASE_URL", "postgresql:///lmnas", OPT_STRING,
     0, 0, F(database_url),
     "libpq connection URL or conninfo of the PostgreSQL database"},
    {"--listen", "LMNAS_LISTEN", "127.0.0.1:8080", OPT_LISTEN, 0, 0,
     F(listen_host), "HTTP address HOST:PORT (serve)"},
    {"--http-threads", "LMNAS_HTTP_THREADS", "4", OPT_INT, 1, 256,
     F(http_threads), "HTTP worker threads (serve)"},
    {"--http-max-connections", "LMNAS_HTTP_MAX_CONNECTIONS", "1000", OPT_INT, 1,
     1000000, F(http_max_connections),
     "open HTTP connections at once, all clients (serve)"},
    {"--http-max-per-client", "LMNAS_HTTP_MAX_PER_CLIENT", "64", OPT_INT, 0,
     1000000, F(http_max_per_client),
     "open HTTP connections from one client address; 0: no limit (serve)"},
    {"--http-header-timeout", "LMNAS_HTTP_HEADER_TIMEOUT", "10", OPT_INT, 0,
     3600, F(http_header_timeout_s),
     "seconds a connection gets to send a request's headers; 0: no "
     "deadline (serve)"},
    {"--http-idle-timeout", "LMNAS_HTTP_IDLE_TIMEOUT", "60", OPT_INT, 0, 86400,
     F(http_idle_timeout_s),
     "seconds of silence before a connection is closed mid-request; 0: "
     "never (serve)"},
    {"--max-body", "LMNAS_MAX_BODY", "1048576", OPT_LONG, 1024,
     256L * 1024 * 1024, F(max_body_bytes),
     "largest accepted request body in bytes (serve)"},
    {"--db-pool", "LMNAS_DB_POOL", "8", OPT_INT, 1, 128, F(db_pool_size),
     "PostgreSQL connections in the pool"},
    {"--shutdown-timeout", "LMNAS_SHUTDOWN_TIMEOUT", "10", OPT_INT, 0, 3600,
     F(shutdown_timeout_s),
     "seconds to let in-flight requests finish on SIGTERM/SIGINT"},
    {"--log-level", "LMNAS_LOG_LEVEL", "info", OPT_LEVEL, 0, 0, F(log_level),
     "debug, info, warn, error or off"},
    {"--log-format", "LMNAS_LOG_FORMAT", "auto", OPT_FORMAT, 0, 0,
     F(log_format), "auto (text on a TTY, JSON lines otherwise), text, json"},
    {"--web-dir", "LMNAS_WEB_DIR", "./web/static", OPT_STRING, 0, 0, F(web_dir),
     "directory of the dashboard's static files (serve)"},
    {"--lease-seconds", "LMNAS_LEASE_SECONDS", "60", OPT_INT, 2, 3600,
     F(lease_seconds),
     "search job lease; renewed every third of it (search, worker)"},
    {"--workers", "LMNAS_WORKERS", "0", OPT_INT, 0, 256, F(workers),
     "job workers (threads) running inside serve; 0: API only (serve)"},
    {"--concurrency", "LMNAS_CONCURRENCY", "1", OPT_INT, 1, 256, F(concurrency),
     "jobs run at once by `lmnas worker` (worker)"},
    {"--worker-threads", "LMNAS_WORKER_THREADS", "0", OPT_INT, 0, 256,
     F(worker_threads),
     "training threads per job; 0: cores / workers, at least 1 (serve, "
     "worker)"},
    {"--artifact-retention", "LMNAS_ARTIFACT_RETENTION", "0", OPT_DURATION, 0,
     3650L * 86400, F(artifact_retention_s),
     "drop non-front proxy checkpoints this long after a job ends (30d, "
     "12h, 90m, 45s); 0: keep all (serve, worker)"},
    {"--data-root", "LMNAS_DATA_ROOT", "./var/data", OPT_STRING, 0, 0,
     F(data_root),
     "directory every API job's dataset.path and teacher_logits must lie "
     "under (serve)"},
    {"--dataset-max-bytes", "LMNAS_DATASET_MAX_BYTES", "2147483648", OPT_LONG,
     1024, 1L << 40, F(dataset_max_bytes),
     "largest dataset upload in bytes (POST /v1/datasets; 413 past it); "
     "it may expand to 4 times that (serve)"},
    {"--team-max-queued", "LMNAS_TEAM_MAX_QUEUED", "100", OPT_INT, 0, 1000000,
     F(team_max_queued),
     "queued jobs a team may have; more get 429; 0: no limit (serve)"},
    {"--team-max-running", "LMNAS_TEAM_MAX_RUNNING", "2", OPT_INT, 0, 10000,
     F(team_max_running),
     "running jobs of one team at once; the rest wait in the queue; 0: no "
     "limit (serve, worker)"},
    {"--auth-fail-limit", "LMNAS_AUTH_FAIL_LIMIT", "10", OPT_INT, 0, 1000000,
     F(auth_fail_limit),
     "failed authentications per minute from one address before 429; 0: no "
     "limit (serve)"},
    {"--url", "LMNAS_URL", "http://127.0.0.1:8080", OPT_STRING, 0, 0,
     F(remote_url),
     "the server `lmnas remote` talks to (its token: LMNAS_TOKEN) (remote)"},
    {"--webhook-allow", "LMNAS_WEBHOOK_ALLOW", "", OPT_STRING, 0, 0,
     F(webhook_allow),
     "hosts job webhooks may call, comma-separated; empty: webhooks "
     "refused (serve, worker)"},
    {"--webhook-allow-private", "LMNAS_WEBHOOK_ALLOW_PRIVATE", "0", OPT_INT, 0,
     1, F(webhook_allow_private),
     "1: webhook hosts may resolve to loopback/private addresses (serve, "
     "worker)"},
    {"--llm-allow", "LMNAS_LLM_ALLOW", "localhost,127.0.0.1,::1", OPT_STRING, 0,
     0, F(llm_allow),
     "hosts POST /v1/llm/check and API jobs' llm.base_url may name: "
     "comma separated host, "
     "host:port, [v6]:port; nothing else is asked (serve)"},
};

#define NOPTS (sizeof opts / sizeof opts[0])

static enum core_status set_opt(struct config *cfg, const struct opt *o,
				const char *val, const char *src, char *err,
				size_t errlen)
{
	char *base = (char *)cfg + o->offset;
	char *end = NULL;
	long v;

	switch (o->kind) {
	case OPT_STRING:
		if (strlen(val) >= o->size) {
			core_errf(err, errlen, "%s: longer than %zu characters",
				  src, o->size - 1);
			return CORE_ERR_INVALID;
		}
		memcpy(base, val, strlen(val) + 1);
		return CORE_OK;
	case OPT_INT:
	case OPT_LONG:
		errno = 0;
		v = strtol(val, &end, 10);
		if (errno || end == val || *end != '\0') {
			core_errf(err, errlen, "%s: '%s' is not a whole number",
				  src, val);
			return CORE_ERR_INVALID;
		}
		if (v < o->min || v > o->max) {
			core_errf(err, errlen, "%s: %ld is outside %ld..%ld",
				  src, v, o->min, o->max);
			return CORE_ERR_INVALID;
		}
		if (o->kind == OPT_INT)
			*(int *)(void *)base = (int)v;
		else
			*(long *)(void *)base = v;
		return CORE_OK;
	case OPT_LISTEN: {
		const char *colon = strrchr(val, ':');
		size_t hl;
		if (!colon || colon == val) {
			core_errf(err, errlen, "%s: '%s' is not HOST:PORT", src,
				  val);
			return CORE_ERR_INVALID;
		}
		errno = 0;
		v = strtol(colon + 1, &end, 10);
		if (errno || end == colon + 1 || *end || v < 0 || v > 65535) {
			core_errf(err, errlen,
				  "%s: port in '%s' is not 0..65535", src, val);
			return CORE_ERR_INVALID;
		}
		hl = (size_t)(colon - val);
		if (hl >= sizeof cfg->listen_host) {
			core_errf(err, errlen, "%s: host too long", src);
			return CORE_ERR_INVALID;
		}
		memcpy(cfg->listen_host, val, hl);
		cfg->listen_host[hl] = '\0';
		cfg->listen_port = (int)v;
		return CORE_OK;
	}
	case OPT_DURATION: {
		long unit = 1;
		errno = 0;
		v = strtol(val, &end, 10);
		if (!errno && end != val && *end && !end[1]) {
			unit = *end == 's'   ? 1
			       : *end == 'm' ? 60
			       : *end == 'h' ? 3600
			       : *end == 'd' ? 86400
					     : 0;
			end += unit ? 1 : 0;
		}
		if (errno || end == val || *end != '\0' || v < 0) {
			core_errf(err, errlen,
				  "%s: '%s' is not a duration (a whole number "
				  "with s, m, h or d)",
				  src, val);
			return CORE_ERR_INVALID;
		}
		if (v > o->max / unit) {
			core_errf(err, errlen, "%s: '%s' is longer than %ld d",
				  src, val, o->max / 86400);
			return CORE_ERR_INVALID;
		}
		*(long *)(void *)base = v * unit;
		return CORE_OK;
	}
	case OPT_LEVEL:
		if (core_log_level_parse(val, &cfg->log_level)) {
			core_errf(err, errlen,
				  "%s: '%s' is not one of debug, info, warn, "
				  "error, off",
				  src, val);
			return CORE_ERR_INVALID;
		}
		return CORE_OK;
	case OPT_FORMAT:
		if (core_log_format_parse(val, &cfg->log_format)) {
			core_errf(err, errlen,
				  "%s: '%s' is not one of auto, text, json",
				  src, val);
			return CORE_ERR_INVALID;
		}
		return CORE_OK;
	}
	return CORE_ERR_INTERNAL;
}

enum core_status config_load(struct config *cfg, int *argc, char **argv,
			     char *err, size_t errlen)
{
	enum core_status st;
	char src[128];
	int out = 1;

	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < NOPTS; i++) {
		snprintf(src, sizeof src, "default of %s", opts[i].flag);
		st = set_opt(cfg, &opts[i], opts[i].def, src, err, errlen);
		if (st)
			return st;
	}
	for (size_t i = 0; i < NOPTS; i++) {
		const char *v = getenv(opts[i].env);
		if (!v || !*v)
			continue;
		st = set_opt(cfg, &opts[i], v, opts[i].env, err, errlen);
		if (st)
			return st;
	}
	for (int a = 1; a < *argc; a++) {
		const struct opt *o = NULL;
		const char *val = NULL;
		size_t fl;

		for (size_t i = 0; i < NOPTS && !o; i++) {
			fl = strlen(opts[i].flag);
			if (strncmp(argv[a], opts[i].flag, fl) != 0)
				continue;
			if (argv[a][fl] == '=') {
				o = &opts[i];
				val = argv[a] + fl + 1;
			} else if (argv[a][fl] == '\0') {
				o = &opts[i];
				if (a + 1 >= *argc) {
					core_errf(err, errlen,
						  "%s: needs a value", o->flag);
					return CORE_ERR_INVALID;
				}
				val = argv[++a];
			}
		}
		if (!o) {
			argv[out++] = argv[a];
			continue;
		}
		st = set_opt(cfg, o, val, o->flag, err, errlen);
		if (st)
			return st;
	}
	argv[out] = NULL;
	*argc = out;
	return CORE_OK;
}

void config_print_reference(void)
{
	printf("%-22s %-28s %-20s %s\n", "flag", "environment", "default",
	       "meaning");
	for (size_t i = 0; i < NOPTS; i++)
		printf("%-22s %-28s %-20s %s\n", opts[i].flag, opts[i].env,
		       opts[i].def, opts[i].help);
}

void config_redact_url(const char *url, char *out, size_t outlen)
{
	/* one scrubber for URLs and libpq messages alike */
	store_secrets_scrub(url, out, outlen);
}

int config_worker_threads(const struct config *cfg, int workers)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (cfg->worker_threads > 0)
		return cfg->worker_threads;
	if (cores < 1 || workers < 1)
		return 1;
	return cores / workers > 1 ? (int)(cores / workers) : 1;
}
