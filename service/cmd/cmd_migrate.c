/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_migrate.c - `lmnas migrate [--status]`: applies or lists migrations. */
#include "cmd.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

int cmd_migrate(const struct config *cfg, int argc, char **argv)
{
	char err[CORE_ERR_LEN];
	struct store_pool *pool = NULL;
	struct store_schema_state state;
	int status_only = argc > 1 && strcmp(argv[1], "--status") == 0;
	int applied = 0, rc = 1;

	if (argc > 2 || (argc == 2 && !status_only)) {
		fprintf(stderr, "usage: lmnas migrate [--status]\n");
		return 2;
	}
	if (store_pool_open(cfg->database_url, 1, &pool, err, sizeof err)) {
		fprintf(stderr, "lmnas migrate: %s\n", err);
		return 1;
	}
	if (status_only) {
		if (store_schema_check(pool, &state, err, sizeof err))
			goto fail;
		for (size_t i = 0; i < store_migrations_count; i++)
			printf("%04d %-32s %s\n", store_migrations[i].version,
			       store_migrations[i].name,
			       store_migrations[i].version <= state.db_version
				   ? "applied"
				   : "pending");
		if (state.unknown)
			printf("database carries %d migration(s) newer than "
			       "this binary (version %d > %d)\n",
			       state.unknown, state.db_version,
			       state.binary_version);
		rc = 0;
		goto out;
	}
	if (store_migrate(pool, &applied, err, sizeof err))
		goto fail;
	if (store_schema_check(pool, &state, err, sizeof err))
		goto fail;
	LOG_INFO("migrations: %d applied now, schema at version %d", applied,
		 state.db_version);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "lmnas migrate: %s\n", err);
out:
	store_pool_close(pool);
	return rc;
}
