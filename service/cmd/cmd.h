/* SPDX-License-Identifier: Apache-2.0 */
/* cmd.h - the `lmnas` subcommands and the shared configuration they read.
 *
 * Layer: top (beside main.c). Each subcommand lives in its own cmd_*.c file and
 * may include any module header.
 *
 * Configuration precedence: command-line flags > LMNAS_* environment >
 * defaults. `lmnas help config` prints the whole table (the README reproduces
 * it).
 */
#ifndef LMNAS_CMD_H
#define LMNAS_CMD_H

#include "core/core.h"
#include "hook/hook.h"
#include "http/http.h"

#include <stdio.h>

struct config {
	char database_url[1024];
	char listen_host[256];
	int listen_port;
	int http_threads;
	int http_max_connections;
	int http_max_per_client;
	int http_header_timeout_s;
	int http_idle_timeout_s;
	long max_body_bytes;
	int db_pool_size;
	int shutdown_timeout_s;
	enum core_log_level log_level;
	enum core_log_format log_format;
	char web_dir[1024];
	int lease_seconds;  /* search job lease; renewed every third */
	int workers;	    /* job workers inside `serve` (0: none) */
	int concurrency;    /* job workers of `lmnas worker` */
	int worker_threads; /* training threads per job; 0: cores / workers */
	long artifact_retention_s; /* 0: keep every artifact */
	char data_root[1024];	   /* API jobs' data must lie under it */
	long dataset_max_bytes;	   /* POST /v1/datasets upload cap */
	int team_max_queued;	   /* 0: no limit */
	int team_max_running;	   /* 0: no limit */
	int auth_fail_limit; /* failed authentications per minute per address */
	char remote_url[1024]; /* `lmnas remote`: the server */
	/* webhooks: hosts a job's webhook.url may name (comma-separated;
	 * empty: webhooks refused), and whether they may resolve to
	 * loopback/private addresses */
	char webhook_allow[1024];
	int webhook_allow_private;
	char llm_allow[1024]; /* hosts POST /v1/llm/check may ask */
};

/* Fills cfg from defaults, then the environment, then the global flags found
 * in argv. Recognised flags are removed from argv (argc updated); the rest
 * (the subcommand's own flags and operands) stay in order. On failure err
 * names the flag or variable and the reason. */
enum core_status config_load(struct config *cfg, int *argc, char **argv,
			     char *err, size_t errlen);

/* Prints the option table (flag, variable, default, meaning). */
void config_print_reference(void);

/* Training threads per job for `workers` job workers in this process:
 * --worker-threads when set (it may exceed the cores: configured), else
 * the cores divided among the workers, at least 1. */
int config_worker_threads(const struct config *cfg, int workers);

/* Copies url into out with any password replaced by "***" (for logs). */
void config_redact_url(const char *url, char *out, size_t outlen);

/* A subcommand: argv[0] is the subcommand name; returns the exit code. */
struct cmd {
	const char *name;
	const char *summary;
	int (*run)(const struct config *cfg, int argc, char **argv);
};

/* A subcommand's own flag (--name VALUE, --name=VALUE, or a --flag). */
enum cmd_arg_kind {
	CMD_ARG_STRING,
	CMD_ARG_INT,
	CMD_ARG_U64,
	CMD_ARG_DOUBLE,
	CMD_ARG_FLAG
};
struct cmd_arg {
	const char *name;
	enum cmd_arg_kind kind;
	void *dst;	 /* const char **, int *, uint64_t *, double *, int * */
	double min, max; /* ranges for numbers; a flag stores 1 */
	const char *help;
};

/* Parses argv[1..] (argv[0] is the subcommand) against a table ended by a
 * NULL name. Returns 0, or -1 with err naming the option and the reason. */
int cmd_args_parse(const struct cmd_arg *args, int argc, char **argv, char *err,
		   size_t errlen);
void cmd_args_usage(FILE *f, const char *usage, const struct cmd_arg *args);
/* 1 when argv[1..] asks for help (--help or -h before any "--"): the
 * subcommand prints its usage to stdout and exits 0. */
int cmd_args_help(int argc, char **argv);

int cmd_serve(const struct config *cfg, int argc, char **argv);
int cmd_migrate(const struct config *cfg, int argc, char **argv);
int cmd_space(const struct config *cfg, int argc, char **argv);
int cmd_cost(const struct config *cfg, int argc, char **argv);
int cmd_train(const struct config *cfg, int argc, char **argv);
int cmd_eval(const struct config *cfg, int argc, char **argv);
int cmd_search(const struct config *cfg, int argc, char **argv);
int cmd_worker(const struct config *cfg, int argc, char **argv);
int cmd_jobs(const struct config *cfg, int argc, char **argv);
int cmd_job(const struct config *cfg, int argc, char **argv);
int cmd_model(const struct config *cfg, int argc, char **argv);
int cmd_export(const struct config *cfg, int argc, char **argv);
int cmd_token(const struct config *cfg, int argc, char **argv);
/* The webhook deliverer of a serve or worker process (cmd_team.c). */
struct cmd_webhooks {
	struct hook_policy policy;
	struct hook_deliverer_config cfg;
	struct hook_deliverer *deliverer;
	char owner[192];
};
/* Parses --webhook-allow into w->policy; prints the error (naming the
 * flag) and returns -1 when it is invalid. */
int cmd_webhooks_policy(const struct config *cfg, struct cmd_webhooks *w,
			const char *who);
/* Starts the deliverer when the policy allows any host (a process
 * without an allowlist would only fail the deliveries it took). */
int cmd_webhooks_start(struct cmd_webhooks *w, struct store_pool *pool,
		       const char *who);
void cmd_webhooks_stop(struct cmd_webhooks *w);

int cmd_remote(const struct config *cfg, int argc, char **argv);
int cmd_team(const struct config *cfg, int argc, char **argv);
/* `lmnas dataset import|list|show|rm` (cmd_dataset.c). */
int cmd_dataset(const struct config *cfg, int argc, char **argv);
/* The image import of datasets, for the CLI and serve (cmd_dataset.c). */
extern const http_dataset_import_fn cmd_dataset_import;

#endif
