/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_token.c - `lmnas token create|list|revoke`: the API's bearer tokens.
 * A token's text is printed once, at creation; the database keeps only its
 * SHA-256. */
#include "auth/auth.h"
#include "cmd.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: lmnas token create --team NAME [--admin] [--expires 90d]\n"
    "       lmnas token list\n"
    "       lmnas token revoke ID\n";

static int token_create(struct store_pool *pool, int argc, char **argv)
{
	const char *team = NULL, *expires = NULL;
	int admin = 0;
	long long expires_s = 0, id = 0;
	char err[CORE_ERR_LEN], token[AUTH_TOKEN_MAX];
	const struct cmd_arg args[] = {
	    {"--team", CMD_ARG_STRING, &team, 0, 0,
	     "team (created when new): 1-64 of A-Z a-z 0-9 . _ -"},
	    {"--admin", CMD_ARG_FLAG, &admin, 0, 0, "sees every team's jobs"},
	    {"--expires", CMD_ARG_STRING, &expires, 0, 0,
	     "lifetime: 90d, 12h, 30m or seconds (default: never)"},
	    {NULL, 0, NULL, 0, 0, NULL}};

	if (cmd_args_parse(args, argc, argv, err, sizeof err)) {
		fprintf(stderr, "lmnas token create: %s\n%s", err, usage);
		return 2;
	}
	if (!team) {
		fprintf(stderr, "lmnas token create: --team is required\n%s",
			usage);
		return 2;
	}
	if (expires && auth_duration_parse(expires, &expires_s)) {
		fprintf(stderr,
			"lmnas token create: --expires: '%s' is not a "
			"duration such as 90d, 12h, 30m or 3600\n",
			expires);
		return 2;
	}
	if (auth_token_create(pool, team, admin, expires_s, token, &id, err,
			      sizeof err)) {
		fprintf(stderr, "lmnas token create: %s\n", err);
		return 1;
	}
	/* the text goes to stdout alone (scripts capture it); the rest to
	 * stderr */
	fprintf(stderr,
		"token %lld for team %s%s created; it is shown only now:\n", id,
		team, admin ? " (admin)" : "");
	printf("%s\n", token);
	return 0;
}

static int token_list(struct store_pool *pool)
{
	char err[CORE_ERR_LEN], *json = NULL;

	if (auth_tokens_json(pool, &json, err, sizeof err)) {
		fprintf(stderr, "lmnas token list: %s\n", err);
		return 1;
	}
	printf("%s\n", json);
	core_free(json);
	return 0;
}

static int token_revoke(struct store_pool *pool, const char *ids)
{
	char err[CORE_ERR_LEN], *end = NULL;
	long long id;
	enum core_status st;

	errno = 0;
	id = strtoll(ids, &end, 10);
	if (errno || end == ids || *end || id <= 0) {
		fprintf(stderr, "lmnas token revoke: '%s' is not a token id\n",
			ids);
		return 2;
	}
	st = auth_token_revoke(pool, id, err, sizeof err);
	if (st) {
		fprintf(stderr, "lmnas token revoke: %s\n", err);
		return st == CORE_ERR_CONFLICT ? 0 : 1; /* revoked is revoked */
	}
	fprintf(stderr, "token %lld revoked\n", id);
	return 0;
}

int cmd_token(const struct config *cfg, int argc, char **argv)
{
	struct store_pool *pool = NULL;
	char err[CORE_ERR_LEN];
	int rc;

	if (cmd_args_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 2 ||
	    (strcmp(argv[1], "create") != 0 && strcmp(argv[1], "list") != 0 &&
	     strcmp(argv[1], "revoke") != 0) ||
	    (strcmp(argv[1], "list") == 0 && argc != 2) ||
	    (strcmp(argv[1], "revoke") == 0 && argc != 3)) {
		fputs(usage, stderr);
		return 2;
	}
	if (store_pool_open(cfg->database_url, 1, &pool, err, sizeof err)) {
		fprintf(stderr, "lmnas token: %s\n", err);
		return 1;
	}
	if (strcmp(argv[1], "create") == 0)
		rc = token_create(pool, argc - 1, argv + 1);
	else if (strcmp(argv[1], "list") == 0)
		rc = token_list(pool);
	else
		rc = token_revoke(pool, argv[2]);
	store_pool_close(pool);
	return rc;
}
