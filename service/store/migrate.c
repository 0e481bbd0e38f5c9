/* SPDX-License-Identifier: Apache-2.0 */
/* migrate.c - the migration runner: schema_migrations bookkeeping, applying
 * the migrations built into the binary, and the schema check used by
 * `lmnas serve` and /readyz. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>

/* An arbitrary constant that names the lmnas migration lock. */
#define MIGRATION_LOCK_KEY "7274016501"

static const struct store_stmt stmt_table_exists = {
    "migrate_table_exists",
    "SELECT to_regclass('schema_migrations') IS NOT NULL", 0};
static const struct store_stmt stmt_versions = {
    "migrate_versions", "SELECT version FROM schema_migrations ORDER BY 1", 0};
static const struct store_stmt stmt_record = {
    "migrate_record",
    "INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)", 2};

static int binary_knows(int version)
{
	for (size_t i = 0; i < store_migrations_count; i++)
		if (store_migrations[i].version == version)
			return 1;
	return 0;
}

static int binary_max(void)
{
	return store_migrations_count
		   ? store_migrations[store_migrations_count - 1].version
		   : 0;
}

/* Reads the applied versions into state (and, if applied != NULL, marks which
 * of the binary's migrations are applied). */
static enum core_status read_state(struct store_conn *c,
				   struct store_schema_state *state,
				   unsigned char *applied, char *err,
				   size_t errlen)
{
	PGresult *r = NULL;
	enum core_status st;
	int exists;

	state->db_version = 0;
	state->binary_version = binary_max();
	state->pending = (int)store_migrations_count;
	state->unknown = 0;
	st = store_exec(c, &stmt_table_exists, NULL, NULL, NULL, &r, err,
			errlen);
	if (st)
		return st;
	exists = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!exists)
		return CORE_OK;
	st = store_exec(c, &stmt_versions, NULL, NULL, NULL, &r, err, errlen);
	if (st)
		return st;
	for (int i = 0; i < PQntuples(r); i++) {
		int v = atoi(PQgetvalue(r, i, 0));
		if (v > state->db_version)
			state->db_version = v;
		if (!binary_knows(v)) {
			state->unknown++;
			continue;
		}
		state->pending--;
		for (size_t k = 0; applied && k < store_migrations_count; k++)
			if (store_migrations[k].version == v)
				applied[k] = 1;
	}
	PQclear(r);
	return CORE_OK;
}

enum core_status store_schema_check(struct store_pool *p,
				    struct store_schema_state *state, char *err,
				    size_t errlen)
{
	struct store_conn *c = NULL;
	enum core_status st = store_conn_acquire(p, 5.0, &c, err, errlen);

	if (st)
		return st;
	st = read_state(c, state, NULL, err, errlen);
	store_conn_release(p, c);
	return st;
}

static enum core_status apply_one(struct store_conn *c,
				  const struct store_migration *m, char *err,
				  size_t errlen)
{
	char ver[16], inner[CORE_ERR_LEN];
	const char *params[2] = {ver, m->name};
	enum core_status st;

	snprintf(ver, sizeof ver, "%d", m->version);
	st = store_exec_sql(c, "BEGIN", err, errlen);
	if (st)
		return st;
	st = store_exec_sql(c, m->sql, inner, sizeof inner);
	if (st) {
		core_errf(err, errlen, "migration %04d_%s failed: %s",
			  m->version, m->name, inner);
		goto rollback;
	}
	st = store_exec(c, &stmt_record, params, NULL, NULL, NULL, err, errlen);
	if (st)
		goto rollback;
	return store_exec_sql(c, "COMMIT", err, errlen);
rollback:
	store_exec_sql(c, "ROLLBACK", inner, sizeof inner);
	return st;
}

enum core_status store_migrate(struct store_pool *p, int *applied_now,
			       char *err, size_t errlen)
{
	struct store_conn *c = NULL;
	struct store_schema_state state;
	unsigned char *applied = NULL;
	char ignored[CORE_ERR_LEN];
	enum core_status st;
	int locked = 0, n = 0;

	if (applied_now)
		*applied_now = 0;
	st = store_conn_acquire(p, 10.0, &c, err, errlen);
	if (st)
		return st;
	applied = core_calloc(store_migrations_count + 1, 1);
	if (!applied) {
		core_errf(err, errlen, "out of memory");
		st = CORE_ERR_NOMEM;
		goto out;
	}
	st = store_exec_sql(
	    c, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", err, errlen);
	if (st)
		goto out;
	locked = 1;
	st = store_exec_sql(c,
			    "SET client_min_messages = warning;"
			    "CREATE TABLE IF NOT EXISTS schema_migrations ("
			    " version integer PRIMARY KEY,"
			    " name text NOT NULL,"
			    " applied_at timestamptz NOT NULL DEFAULT now())",
			    err, errlen);
	if (st)
		goto out;
	st = read_state(c, &state, applied, err, errlen);
	if (st)
		goto out;
	if (state.unknown) {
		core_errf(
		    err, errlen,
		    "the database carries %d migration(s) newer than this "
		    "binary knows (database at %d, binary at %d): run a "
		    "newer lmnas",
		    state.unknown, state.db_version, state.binary_version);
		st = CORE_ERR_CONFLICT;
		goto out;
	}
	for (size_t i = 0; i < store_migrations_count; i++) {
		if (applied[i])
			continue;
		st = apply_one(c, &store_migrations[i], err, errlen);
		if (st)
			goto out;
		LOG_INFO("applied migration %04d_%s",
			 store_migrations[i].version, store_migrations[i].name);
		n++;
	}
out:
	if (locked)
		store_exec_sql(
		    c, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")",
		    ignored, sizeof ignored);
	store_conn_release(p, c);
	core_free(applied);
	if (applied_now)
		*applied_now = n;
	return st;
}
