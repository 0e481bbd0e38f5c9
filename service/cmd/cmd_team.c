/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_team.c - `lmnas team webhook-secret --team NAME`: rotates and prints
 * the secret that signs a team's webhook deliveries; and the deliverer
 * thread that serve and worker processes run. */
#include "cmd.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: lmnas team webhook-secret --team NAME\n"
    "  sets a new random secret for the team's webhook signatures and prints "
    "it\n  (only now); deliveries sent from then on are signed with it\n";

int cmd_webhooks_policy(const struct config *cfg, struct cmd_webhooks *w,
			const char *who)
{
	char err[CORE_ERR_LEN];

	memset(w, 0, sizeof *w);
	if (hook_policy_parse(cfg->webhook_allow, cfg->webhook_allow_private,
			      &w->policy, err, sizeof err)) {
		fprintf(stderr, "lmnas %s: %s\n", who, err);
		return -1;
	}
	return 0;
}

int cmd_webhooks_start(struct cmd_webhooks *w, struct store_pool *pool,
		       const char *who)
{
	char err[CORE_ERR_LEN], host[128] = "host";

	if (w->policy.nhosts == 0)
		return 0;
	gethostname(host, sizeof host - 1);
	snprintf(w->owner, sizeof w->owner, "%.120s:%d", host, (int)getpid());
	w->cfg.policy = &w->policy;
	w->cfg.owner = w->owner;
	if (hook_deliverer_start(pool, &w->cfg, &w->deliverer, err,
				 sizeof err)) {
		fprintf(stderr, "lmnas %s: %s\n", who, err);
		return -1;
	}
	LOG_INFO("sending webhook deliveries (%d allowed host(s)%s)",
		 w->policy.nhosts,
		 w->policy.allow_private ? ", private addresses allowed" : "");
	return 0;
}

void cmd_webhooks_stop(struct cmd_webhooks *w)
{
	hook_deliverer_stop(w->deliverer);
	w->deliverer = NULL;
}

int cmd_team(const struct config *cfg, int argc, char **argv)
{
	const char *team = NULL;
	const struct cmd_arg args[] = {
	    {"--team", CMD_ARG_STRING, &team, 0, 0, "the team"},
	    {NULL, 0, NULL, 0, 0, NULL}};
	struct store_pool *pool = NULL;
	char err[CORE_ERR_LEN], secret[65];
	enum core_status st;

	if (cmd_args_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "webhook-secret") != 0) {
		fputs(usage, stderr);
		return 2;
	}
	err[0] = '\0';
	if (cmd_args_parse(args, argc - 1, argv + 1, err, sizeof err) ||
	    !team) {
		fprintf(stderr, "lmnas team webhook-secret: %s\n%s",
			err[0] ? err : "--team is required", usage);
		return 2;
	}
	if (store_pool_open(cfg->database_url, 1, &pool, err, sizeof err)) {
		fprintf(stderr, "lmnas team: %s\n", err);
		return 1;
	}
	st = hook_team_secret_rotate(pool, team, secret, err, sizeof err);
	store_pool_close(pool);
	if (st) {
		fprintf(stderr, "lmnas team webhook-secret: %s\n", err);
		return 1;
	}
	fprintf(stderr,
		"new webhook secret of team %s; it is shown only now:\n", team);
	printf("%s\n", secret);
	explicit_bzero(secret, sizeof secret);
	return 0;
}
