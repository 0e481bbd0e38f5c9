/* SPDX-License-Identifier: Apache-2.0 */
/* test_dataset_cli.c - `lmnas dataset import|list|show|rm` as a process
 * against a real PostgreSQL: an archive refused entry by entry fails the
 * import naming the entry (the dataset recorded failed, nothing left under
 * the data root), names unique per team, --team owns the dataset, show
 * prints its JSON, rm refused while a queued job uses the dataset and
 * removing it otherwise. This build has no image import (data_import_dir
 * comes with the data module): an import that passes extraction fails
 * with that reason, which the test checks as such. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/testsupport.h"

#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct ts_pg pg;
static char root[PATH_MAX], env_db[400], env_root[PATH_MAX + 32];

static int run(const char *const *args, char **log)
{
	const char *const env[] = {env_db, env_root, NULL};
	struct ts_proc p;
	int code = ts_lmnas_run(&p, args, env);

	*log = ts_proc_log_read(&p);
	return code;
}

static void zip_write(const char *path, const char *name, const char *text)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	archive_write_set_format_zip(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)strlen(text));
	assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
	archive_write_data(a, text, strlen(text));
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static void sql(const char *q, char *out, size_t n)
{
	assert_int_equal(ts_pg_exec(&pg, NULL, q, out, n), 0);
}

static void import_refuses_a_hostile_archive(void **state)
{
	char zip[PATH_MAX + 300], out[256], *log;
	const char *const args[] = {"dataset", "import", zip,
				    "--name",  "evil",	 NULL};
	struct stat sb;

	snprintf(zip, sizeof zip, "%s/evil.zip", root);
	zip_write(zip, "../evil.png", "pwned");
	assert_int_equal(run(args, &log), 1);
	assert_non_null(strstr(log, "entry '../evil.png'"));
	free(log);
	sql("SELECT status || ' ' || (error LIKE '%../evil.png%') FROM "
	    "datasets WHERE name = 'evil'",
	    out, sizeof out);
	assert_string_equal(out, "failed true");
	sql("SELECT id FROM datasets WHERE name = 'evil'", out, sizeof out);
	snprintf(zip, sizeof zip, "%s/datasets/%s", root, out);
	assert_int_not_equal(stat(zip, &sb), 0);
	snprintf(zip, sizeof zip, "%s/datasets/evil.png", root);
	assert_int_not_equal(stat(zip, &sb), 0);
	/* the name is taken (by the failed one) */
	snprintf(zip, sizeof zip, "%s/evil.zip", root);
	assert_int_equal(run(args, &log), 1);
	assert_non_null(strstr(log, "already has a dataset of that name"));
	free(log);
}

/* The archive is extracted, then the image import runs on it: one class
 * folder is refused by the import, and the dataset ends failed. */
static void import_extracts_then_runs_the_image_import(void **state)
{
	char zip[PATH_MAX + 300], out[256], *log;
	const char *const args[] = {"dataset", "import", zip,	 "--name",
				    "good",    "--team", "acme", NULL};

	snprintf(zip, sizeof zip, "%s/good.zip", root);
	zip_write(zip, "cat/a.png", "x");
	assert_int_equal(run(args, &log), 1);
	if (!strstr(log, "only one class folder (cat)"))
		fail_msg("%s", log);
	free(log);
	sql("SELECT d.status || ' ' || t.name || ' ' || d.expanded_bytes FROM "
	    "datasets d JOIN teams t ON t.id = d.team_id WHERE d.name = 'good'",
	    out, sizeof out);
	assert_string_equal(out, "failed acme 1");
}

static void list_show_and_rm(void **state)
{
	char id[32], job[32], q[256], *log;
	const char *const list[] = {"dataset", "list", NULL};
	const char *const show[] = {"dataset", "show", id, NULL};
	const char *const rm[] = {"dataset", "rm", id, NULL};

	sql("INSERT INTO datasets (name, status, format, cache_path) VALUES "
	    "('ready1', 'ready', 'directory', '/nowhere') RETURNING id",
	    id, sizeof id);
	snprintf(q, sizeof q,
		 "INSERT INTO jobs (name, spec, dataset_id) VALUES ('j', '{}', "
		 "%s) RETURNING id",
		 id);
	sql(q, job, sizeof job);
	assert_int_equal(run(list, &log), 0);
	assert_non_null(strstr(log, "ready1"));
	assert_non_null(strstr(log, "evil"));
	free(log);
	assert_int_equal(run(show, &log), 0);
	assert_non_null(strstr(log, "\"name\" : \"ready1\""));
	assert_null(strstr(log, "/nowhere")); /* paths stay the server's */
	free(log);
	assert_int_equal(run(rm, &log), 1);
	assert_non_null(strstr(log, "queued or running"));
	free(log);
	snprintf(q, sizeof q,
		 "UPDATE jobs SET status = 'cancelled' WHERE id = %s", job);
	sql(q, NULL, 0);
	assert_int_equal(run(rm, &log), 0);
	free(log);
	assert_int_equal(run(show, &log), 1);
	assert_non_null(strstr(log, "not found"));
	free(log);
}

/* A dataset left 'importing' by a crashed import: rm refuses it (an import
 * may still run on another server), rm --force removes it. */
static void rm_force_removes_a_stale_import(void **state)
{
	char id[32], *log;
	const char *const rm[] = {"dataset", "rm", id, NULL};
	const char *const force[] = {"dataset", "rm", id, "--force", NULL};

	(void)state;
	sql("INSERT INTO datasets (name, status, format) VALUES "
	    "('stale', 'importing', 'zip') RETURNING id",
	    id, sizeof id);
	assert_int_equal(run(rm, &log), 1);
	assert_non_null(strstr(log, "still importing"));
	free(log);
	assert_int_equal(run(force, &log), 0);
	assert_non_null(strstr(log, "removed"));
	free(log);
	assert_int_equal(run(rm, &log), 1);
	assert_non_null(strstr(log, "not found"));
	free(log);
}

static int group_setup(void **state)
{
	char tmp[] = "/tmp/lmdscli-XXXXXX", url[256];
	const char *const args[] = {"migrate", NULL};
	char *log;

	if (ts_pg_start(&pg) || !mkdtemp(tmp) || !realpath(tmp, root))
		return -1;
	ts_pg_url(&pg, NULL, url, sizeof url);
	snprintf(env_db, sizeof env_db, "LMNAS_DATABASE_URL=%s", url);
	snprintf(env_root, sizeof env_root, "LMNAS_DATA_ROOT=%s", root);
	if (run(args, &log) != 0) {
		fprintf(stderr, "migrate: %s\n", log);
		free(log);
		return -1;
	}
	free(log);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[PATH_MAX + 32];

	ts_pg_destroy(&pg);
	if (strncmp(root, "/tmp/lmdscli-", 13) == 0) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", root);
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(import_refuses_a_hostile_archive),
	    cmocka_unit_test(import_extracts_then_runs_the_image_import),
	    cmocka_unit_test(list_show_and_rm),
	    cmocka_unit_test(rm_force_removes_a_stale_import),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
