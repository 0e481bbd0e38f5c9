/* cmd.h - the `lmnas` subcommands and the shared configuration they read.
 *
 * Layer: top (beside main.c). Each subcommand lives in its own cmd_*.c file and
 * may include any module header.
 *
 * Configuration precedence: command-line flags > LMNAS_* environment > defaults.
 * `lmnas help config` prints the whole table (the README reproduces it).
 */
#ifndef LMNAS_CMD_H
#define LMNAS_CMD_H

#include "core/core.h"

struct config {
	char database_url[1024];
	char listen_host[256];
	int listen_port;
	int http_threads;
	long max_body_bytes;
	int db_pool_size;
	int shutdown_timeout_s;
	enum core_log_level log_level;
	enum core_log_format log_format;
	char data_dir[1024];
	char web_dir[1024];
};

/* Fills cfg from defaults, then the environment, then the global flags found
 * in argv. Recognised flags are removed from argv (argc updated); the rest
 * (the subcommand's own flags and operands) stay in order. On failure err
 * names the flag or variable and the reason. */
enum core_status config_load(struct config *cfg, int *argc, char **argv,
			     char *err, size_t errlen);

/* Prints the option table (flag, variable, default, meaning). */
void config_print_reference(void);

/* Copies url into out with any password replaced by "***" (for logs). */
void config_redact_url(const char *url, char *out, size_t outlen);

/* A subcommand: argv[0] is the subcommand name; returns the exit code. */
struct cmd {
	const char *name;
	const char *summary;
	int (*run)(const struct config *cfg, int argc, char **argv);
};

int cmd_serve(const struct config *cfg, int argc, char **argv);
int cmd_migrate(const struct config *cfg, int argc, char **argv);
int cmd_space(const struct config *cfg, int argc, char **argv);

#endif
