/* SPDX-License-Identifier: Apache-2.0 */
/* ts_pg.c - test support for PostgreSQL: a throwaway cluster in a short temp
 * dir driven by scripts/pg.sh, its URLs, and running SQL on it with libpq.
 * The cluster is the one `make run` gets: unix socket only, in a 0700
 * directory (mkdtemp), socket 0700, peer authentication mapping the test's
 * OS user to the role lmnas (no superuser; CREATEDB for the per-case
 * databases). */
#include "testsupport.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_PREFIX "/tmp/lmpg-"

static void pg_log(char *out, size_t outlen)
{
	extern char *program_invocation_short_name;

	snprintf(out, outlen, "%s/%s.pg.log", ts_logs(),
		 program_invocation_short_name);
}

static int pg_sh(const char *cmd, const char *dir, int fast)
{
	char script[1200], log[1200];
	/* --createdb: the tests make a database per case (as lmnas, who owns
	 * it); lmnas stays no superuser, as in `make run` */
	char *argv[] = {"bash",
			script,
			(char *)cmd,
			(char *)dir,
			fast ? "--fast" : NULL,
			fast ? "--createdb" : NULL,
			NULL};

	snprintf(script, sizeof script, "%s/scripts/pg.sh", ts_root());
	pg_log(log, sizeof log);
	return ts_run_cmd(argv, log, 120);
}

int ts_pg_start(struct ts_pg *pg)
{
	if (!pg->dir[0]) {
		snprintf(pg->dir, sizeof pg->dir, PG_PREFIX "XXXXXX");
		if (!mkdtemp(pg->dir)) {
			pg->dir[0] = '\0';
			return -1;
		}
		ts_cleanup_add_pg(pg->dir);
	}
	if (pg_sh("start", pg->dir, 1) != 0)
		return -1;
	pg->running = 1;
	return 0;
}

int ts_pg_stop(struct ts_pg *pg)
{
	if (!pg->dir[0])
		return -1;
	if (pg_sh("stop", pg->dir, 0) != 0)
		return -1;
	pg->running = 0;
	return 0;
}

void ts_pg_dir_destroy(const char *dir)
{
	char *rm[] = {"rm", "-rf", (char *)dir, NULL};

	if (strncmp(dir, PG_PREFIX, strlen(PG_PREFIX)) != 0 ||
	    strstr(dir, ".."))
		return;
	pg_sh("stop", dir, 0);
	ts_run_cmd(rm, NULL, 60);
}

void ts_pg_destroy(struct ts_pg *pg)
{
	if (!pg->dir[0])
		return;
	ts_cleanup_remove_pg(pg->dir);
	ts_pg_dir_destroy(pg->dir);
	pg->dir[0] = '\0';
	pg->running = 0;
}

void ts_pg_url(const struct ts_pg *pg, const char *dbname, char *out,
	       size_t outlen)
{
	snprintf(out, outlen, "postgresql:///%s?host=%s&user=lmnas",
		 dbname ? dbname : "lmnas", pg->dir);
}

int ts_pg_exec(const struct ts_pg *pg, const char *dbname, const char *sql,
	       char *out, size_t outlen)
{
	char url[256];
	const char *keys[] = {"dbname", "application_name", NULL};
	const char *vals[] = {url, "lmnas-test", NULL};
	PGconn *c;
	PGresult *r;
	int rc = -1;

	ts_pg_url(pg, dbname, url, sizeof url);
	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		if (out)
			snprintf(out, outlen, "%s",
				 c ? PQerrorMessage(c) : "out of memory");
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK) {
		rc = 0;
		if (out)
			snprintf(out, outlen, "%s",
				 PQntuples(r) > 0 && PQnfields(r) > 0
				     ? PQgetvalue(r, 0, 0)
				     : "");
	} else if (out) {
		snprintf(out, outlen, "%s", PQresultErrorMessage(r));
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}
