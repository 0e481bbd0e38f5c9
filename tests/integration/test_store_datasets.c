/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_datasets.c - the datasets table (migration 0009) through the
 * queue functions against a real PostgreSQL: names unique per team, reads
 * scoped to a team (another team's id is not found), import end, resolution
 * for job specs (ready only), and a delete refused while a queued or
 * running job uses the dataset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/testsupport.h"
#include "queue/queue.h"
#include "store/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ts_pg pg;
static char url[256];
static struct store_pool *pool;
static long long team_a, team_b;

static long long sql_id(const char *sql)
{
	char out[64];
	assert_int_equal(ts_pg_exec(&pg, NULL, sql, out, sizeof out), 0);
	return atoll(out);
}

static int group_setup(void **state)
{
	char err[CORE_ERR_LEN];
	int applied;

	if (ts_pg_start(&pg))
		return -1;
	ts_pg_url(&pg, NULL, url, sizeof url);
	if (store_pool_open(url, 4, &pool, err, sizeof err) ||
	    store_migrate(pool, &applied, err, sizeof err))
		return -1;
	team_a = sql_id("INSERT INTO teams (name) VALUES ('a') RETURNING id");
	team_b = sql_id("INSERT INTO teams (name) VALUES ('b') RETURNING id");
	return 0;
}

static int group_teardown(void **state)
{
	store_pool_close(pool);
	ts_pg_destroy(&pg);
	return 0;
}

static long long create(long long team, const char *name, enum core_status want)
{
	struct queue_dataset_new d = {.team_id = team,
				      .name = name,
				      .format = "zip",
				      .resolution = 64,
				      .upload_bytes = 1234};
	char err[CORE_ERR_LEN] = "";
	long long id = -1;
	enum core_status st =
	    queue_dataset_create(pool, &d, &id, err, sizeof err);
	if (st != want)
		fail_msg("create %s: %d (want %d): %s", name, st, want, err);
	return id;
}

static void names_unique_per_team_and_checked(void **state)
{
	struct queue_dataset_new d = {
	    .team_id = team_a, .name = "x", .format = "rar"};
	char err[CORE_ERR_LEN];
	long long id;

	assert_true(create(team_a, "cats", CORE_OK) > 0);
	create(team_a, "cats", CORE_ERR_CONFLICT);
	assert_true(create(team_b, "cats", CORE_OK) > 0);
	assert_true(create(0, "cats", CORE_OK) > 0); /* CLI, no team */
	create(0, "cats", CORE_ERR_CONFLICT);
	create(team_a, "../etc", CORE_ERR_INVALID);
	create(team_a, "", CORE_ERR_INVALID);
	assert_int_equal(queue_dataset_create(pool, &d, &id, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "format"));
}

static void reads_are_team_scoped(void **state)
{
	long long id = create(team_a, "scoped", CORE_OK);
	char err[CORE_ERR_LEN], *js = NULL;
	json_t *j, *list;

	assert_int_equal(
	    queue_dataset_json(pool, id, team_b, &js, err, sizeof err),
	    CORE_ERR_NOT_FOUND);
	assert_int_equal(
	    queue_dataset_json(pool, id, team_a, &js, err, sizeof err),
	    CORE_OK);
	j = json_loads(js, 0, NULL);
	core_free(js);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "status")),
			    "importing");
	assert_string_equal(json_string_value(json_object_get(j, "team")), "a");
	assert_int_equal(json_integer_value(json_object_get(j, "resolution")),
			 64);
	assert_null(json_object_get(j, "cache_path")); /* never shown */
	json_decref(j);
	/* team b's list never holds team a's datasets; pages of one */
	assert_int_equal(queue_datasets_page_json(pool, team_b, 0, 100, &js,
						  err, sizeof err),
			 CORE_OK);
	j = json_loads(js, 0, NULL);
	core_free(js);
	list = json_object_get(j, "datasets");
	for (size_t i = 0; i < json_array_size(list); i++)
		assert_string_equal(json_string_value(json_object_get(
					json_array_get(list, i), "team")),
				    "b");
	json_decref(j);
	assert_int_equal(
	    queue_datasets_page_json(pool, team_a, 0, 1, &js, err, sizeof err),
	    CORE_OK);
	j = json_loads(js, 0, NULL);
	core_free(js);
	assert_int_equal(json_array_size(json_object_get(j, "datasets")), 1);
	assert_true(json_is_string(json_object_get(j, "next_cursor")));
	json_decref(j);
}

static void finish_and_resolve(void **state)
{
	long long id = create(team_a, "birds", CORE_OK), got = 0;
	long long bad = create(team_a, "broken", CORE_OK);
	char err[CORE_ERR_LEN], *path = NULL, *js = NULL;
	json_t *j;

	/* importing: not usable yet */
	assert_int_equal(queue_dataset_resolve(pool, team_a, id, NULL, &got,
					       &path, NULL, err, sizeof err),
			 CORE_ERR_CONFLICT);
	assert_non_null(strstr(err, "importing"));
	assert_int_equal(queue_dataset_progress(pool, id, 0.5, err, sizeof err),
			 CORE_OK);
	assert_int_equal(queue_dataset_finish(pool, id, "/data/ds/birds",
					      "{\"classes\": 2}", 999, NULL,
					      err, sizeof err),
			 CORE_OK);
	/* once finished, never again */
	assert_int_equal(queue_dataset_finish(pool, id, NULL, NULL, 0, "late",
					      err, sizeof err),
			 CORE_ERR_CONFLICT);
	assert_int_equal(queue_dataset_finish(pool, bad, NULL, NULL, 0,
					      "3 of 4 images are corrupt", err,
					      sizeof err),
			 CORE_OK);
	assert_int_equal(queue_dataset_resolve(pool, team_a, 0, "birds", &got,
					       &path, NULL, err, sizeof err),
			 CORE_OK);
	assert_int_equal(got, id);
	assert_string_equal(path, "/data/ds/birds");
	core_free(path);
	assert_int_equal(queue_dataset_resolve(pool, team_b, id, NULL, &got,
					       NULL, NULL, err, sizeof err),
			 CORE_ERR_NOT_FOUND);
	assert_int_equal(queue_dataset_resolve(pool, team_a, bad, NULL, &got,
					       NULL, NULL, err, sizeof err),
			 CORE_ERR_CONFLICT);
	assert_non_null(strstr(err, "failed"));
	assert_int_equal(
	    queue_dataset_json(pool, bad, team_a, &js, err, sizeof err),
	    CORE_OK);
	j = json_loads(js, 0, NULL);
	core_free(js);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
			    "3 of 4 images are corrupt");
	assert_string_equal(json_string_value(json_object_get(j, "status")),
			    "failed");
	json_decref(j);
}

static void delete_refused_while_a_job_uses_it(void **state)
{
	long long id = create(team_a, "parts", CORE_OK), job = 0;
	struct queue_submit s = {.team_id = team_a,
				 .name = "uses-parts",
				 .spec_json = "{}",
				 .dataset_id = id};
	enum queue_submit_outcome oc;
	char err[CORE_ERR_LEN], sql[160], *path = NULL;

	/* importing: refused (the import owns it) */
	assert_int_equal(
	    queue_dataset_delete(pool, id, team_a, &path, err, sizeof err),
	    CORE_ERR_CONFLICT);
	assert_int_equal(queue_dataset_finish(pool, id, "/data/ds/parts", NULL,
					      0, NULL, err, sizeof err),
			 CORE_OK);
	assert_int_equal(queue_job_submit(pool, &s, &oc, &job, err, sizeof err),
			 CORE_OK);
	assert_int_equal(oc, QUEUE_SUBMIT_CREATED);
	assert_int_equal(
	    queue_dataset_delete(pool, id, team_b, &path, err, sizeof err),
	    CORE_ERR_NOT_FOUND);
	assert_int_equal(
	    queue_dataset_delete(pool, id, team_a, &path, err, sizeof err),
	    CORE_ERR_CONFLICT);
	assert_non_null(strstr(err, "queued or running"));
	snprintf(sql, sizeof sql,
		 "UPDATE jobs SET status = 'running' WHERE id = %lld", job);
	assert_int_equal(ts_pg_exec(&pg, NULL, sql, NULL, 0), 0);
	assert_int_equal(
	    queue_dataset_delete(pool, id, team_a, &path, err, sizeof err),
	    CORE_ERR_CONFLICT);
	snprintf(sql, sizeof sql,
		 "UPDATE jobs SET status = 'succeeded' WHERE id = %lld", job);
	assert_int_equal(ts_pg_exec(&pg, NULL, sql, NULL, 0), 0);
	assert_int_equal(
	    queue_dataset_delete(pool, id, team_a, &path, err, sizeof err),
	    CORE_OK);
	assert_string_equal(path, "/data/ds/parts");
	core_free(path);
	snprintf(sql, sizeof sql,
		 "SELECT coalesce(dataset_id, 0) FROM jobs WHERE id = %lld",
		 job);
	assert_int_equal(sql_id(sql), 0); /* the finished job stays */
	assert_int_equal(
	    queue_dataset_delete(pool, id, team_a, NULL, err, sizeof err),
	    CORE_ERR_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names_unique_per_team_and_checked),
	    cmocka_unit_test(reads_are_team_scoped),
	    cmocka_unit_test(finish_and_resolve),
	    cmocka_unit_test(delete_refused_while_a_job_uses_it),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
