/* store.h - the PostgreSQL layer: a thread-safe libpq connection pool that
 * survives server restarts, named prepared statements, a transaction runner
 * that retries serialization failures and deadlocks, and the migration runner.
 *
 * Layer: store (above search/explain, below queue/http). Includes only core.
 *
 * All SQL goes through store_exec() with parameters: nothing from outside is
 * ever spliced into SQL text.
 */
#ifndef LMNAS_STORE_H
#define LMNAS_STORE_H

#include "core/core.h"

#include <libpq-fe.h>

/* ---- pool -------------------------------------------------------------- */

struct store_pool; /* opaque */
struct store_conn; /* opaque: one checked-out connection */

/* Creates a pool of at most `size` connections to `url` (a libpq URL or
 * conninfo). Connections are opened lazily, so this succeeds while the
 * database is down. The pool copies url. *out is owned by the caller
 * (store_pool_close). */
enum core_status store_pool_open(const char *url, int size,
				 struct store_pool **out, char *err,
				 size_t errlen);
/* Closes every connection. No connection may be checked out. */
void store_pool_close(struct store_pool *p);

/* Checks out a healthy connection, waiting up to timeout_s for a free slot.
 * A broken connection is never handed out: it is replaced. Returns
 * CORE_ERR_UNAVAILABLE when the database cannot be reached. */
enum core_status store_conn_acquire(struct store_pool *p, double timeout_s,
				    struct store_conn **out, char *err,
				    size_t errlen);
/* Returns c to the pool; a connection found broken is closed instead. */
void store_conn_release(struct store_pool *p, struct store_conn *c);
/* The underlying libpq connection (for COPY, large results, notifications). */
PGconn *store_conn_pg(struct store_conn *c);

/* ---- statements -------------------------------------------------------- */

/* A named prepared statement. Define each one once, as a static const, next
 * to the code that uses it; it is prepared on a connection on first use. */
struct store_stmt {
	const char *name; /* unique across the program */
	const char *sql;  /* $1..$n placeholders */
	int nparams;
};

/* Executes s with text parameters (NULL entries are SQL NULL); lengths and
 * formats may be NULL for all-text parameters, or give binary (format 1)
 * parameters such as bytea. On success *res (if res is not NULL) receives the
 * result, owned by the caller (PQclear); otherwise it is cleared. Errors carry
 * the SQLSTATE in err ("[40001] could not serialize ...") and return
 * CORE_ERR_DB, or CORE_ERR_UNAVAILABLE when the connection broke. */
enum core_status store_exec(struct store_conn *c, const struct store_stmt *s,
			    const char *const *params, const int *lengths,
			    const int *formats, PGresult **res, char *err,
			    size_t errlen);

/* Runs a plain SQL string without parameters (DDL, BEGIN/COMMIT). Never pass
 * text that came from outside. */
enum core_status store_exec_sql(struct store_conn *c, const char *sql,
				char *err, size_t errlen);

/* SQLSTATE of the last failed statement on c ("" if none). */
const char *store_conn_sqlstate(struct store_conn *c);

/* ---- transactions ------------------------------------------------------ */

enum store_isolation {
	STORE_READ_COMMITTED = 0,
	STORE_REPEATABLE_READ,
	STORE_SERIALIZABLE
};

/* The body of a transaction. Return CORE_OK to commit; anything else rolls
 * back and is returned by store_tx_run. It may run more than once. */
typedef enum core_status (*store_tx_fn)(struct store_conn *c, void *arg,
					char *err, size_t errlen);

/* Runs fn inside BEGIN ... COMMIT on a pooled connection. Serialization
 * failures (40001) and deadlocks (40P01) are retried up to STORE_TX_RETRIES
 * times with a short randomized backoff; a connection that broke before the
 * transaction did anything is replaced and the transaction retried once. */
#define STORE_TX_RETRIES 5
enum core_status store_tx_run(struct store_pool *p, enum store_isolation iso,
			      store_tx_fn fn, void *arg, char *err,
			      size_t errlen);

/* ---- migrations -------------------------------------------------------- */

struct store_migration {
	int version;	  /* NNNN of migrations/NNNN_name.sql */
	const char *name; /* the name part */
	const char *sql;
};

/* The migrations built into this binary (generated from the migrations folder),
 * in version order, terminated by an entry with name NULL. */
extern const struct store_migration store_migrations[];
extern const size_t store_migrations_count;

struct store_schema_state {
	int db_version;	    /* highest version applied in the database (0) */
	int binary_version; /* highest version this binary carries */
	int pending;	    /* known migrations not yet applied */
	int unknown;	    /* applied versions this binary does not know */
};

/* Reads schema_migrations (absent table = nothing applied). */
enum core_status store_schema_check(struct store_pool *p,
				    struct store_schema_state *state, char *err,
				    size_t errlen);

/* Applies every pending migration, each in its own transaction together with
 * its schema_migrations row, under an advisory lock so that concurrent
 * `lmnas migrate` runs apply each migration once. Refuses (CORE_ERR_CONFLICT)
 * when the database carries versions newer than this binary knows.
 * *applied (may be NULL) receives how many were applied now. */
enum core_status store_migrate(struct store_pool *p, int *applied, char *err,
			       size_t errlen);

#endif
