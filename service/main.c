/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - the `lmnas` binary: parses the configuration and dispatches to a
 * subcommand (service/cmd/). */
#include "cmd/cmd.h"
#include "queue/queue.h"

#include <stdio.h>
#include <string.h>

static int cmd_version(const struct config *cfg, int argc, char **argv);
static int cmd_help(const struct config *cfg, int argc, char **argv);

static const struct cmd commands[] = {
    {"serve", "run the HTTP API and dashboard", cmd_serve},
    {"migrate", "apply database migrations (--status to list them)",
     cmd_migrate},
    {"cost", "MACs, params, flash and peak SRAM of an architecture", cmd_cost},
    {"space", "search spaces: `space sample` a random member, `space show`",
     cmd_space},
    {"train", "train an architecture on CIFAR (optionally distilled)",
     cmd_train},
    {"eval", "evaluate a checkpoint on CIFAR", cmd_eval},
    {"search", "run a search job (JOB.json) in the foreground, or --job ID",
     cmd_search},
    {"worker", "run queued search jobs until stopped", cmd_worker},
    {"jobs", "list search jobs", cmd_jobs},
    {"job", "`job show ID`: a job's candidates, front and models", cmd_job},
    {"model", "`model get ID --out model.zip`: a final model's project",
     cmd_model},
    {"export", "quantize a checkpoint to int8 and generate an MCU project",
     cmd_export},
    {"token",
     "API tokens: `token create --team NAME`, `token list`, "
     "`token revoke ID`",
     cmd_token},
    {"remote",
     "drive a server from scripts: `remote submit JOB.json --wait`, "
     "`remote status|events|download ID`",
     cmd_remote},
    {"dataset",
     "datasets: `dataset import PATH --name N`, `dataset list|show|rm`",
     cmd_dataset},
    {"team", "`team webhook-secret --team NAME`: rotate the webhook secret",
     cmd_team},
    {"version", "print the version", cmd_version},
    {"help", "this text; `help config` lists every setting", cmd_help},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int cmd_version(const struct config *cfg, int argc, char **argv)
{
	printf("lmnas %s\n", LMNAS_VERSION);
	return 0;
}

static int cmd_help(const struct config *cfg, int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "config") == 0) {
		config_print_reference();
		return 0;
	}
	printf("lmnas %s - neural architecture search for microcontrollers\n\n"
	       "usage: lmnas COMMAND [options]\n\ncommands:\n",
	       LMNAS_VERSION);
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].summary);
	printf("\nsettings (flags override LMNAS_* environment variables):\n");
	config_print_reference();
	return 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	char err[CORE_ERR_LEN];
	const char *name;

	if (config_load(&cfg, &argc, argv, err, sizeof err)) {
		fprintf(stderr, "lmnas: %s\n", err);
		return 2;
	}
	core_log_init(cfg.log_level, cfg.log_format);
	queue_team_max_running_set(cfg.team_max_running);
	if (argc < 2) {
		cmd_help(&cfg, 0, NULL);
		return 2;
	}
	name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		name = "help";
	if (strcmp(name, "--version") == 0)
		name = "version";
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return commands[i].run(&cfg, argc - 1, argv + 1);
	fprintf(stderr, "lmnas: unknown command '%s' (try `lmnas help`)\n",
		name);
	return 2;
}
