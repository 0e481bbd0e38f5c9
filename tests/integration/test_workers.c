/* SPDX-License-Identifier: Apache-2.0 */
/* test_workers.c - job workers as processes against a real PostgreSQL:
 * SIGTERM hands a running job back (lease released at once) and a second
 * worker resumes it from the last epoch checkpoint; a cancel set from
 * another connection stops a job running inside `serve --workers` within
 * seconds; the threads cap reaches the job's events; GET /metrics passes
 * `promtool check metrics`; artifact retention and a job's size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/testsupport.h"
#include "../support/ts_cifar.h"
#include "core/core.h"
#include "http/http.h"
#include "queue/queue.h"
#include "runner/runner.h"
#include "store/store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct ts_pg pg;
static char url[256], env_url[300], small[64], big[64];

static const char *space =
    "{\"format\":\"lmnas-space/1\",\"stages\":{\"min\":2,\"max\":2},"
    "\"resolution\":[16],\"block\":[\"dwsep\",\"mbconv\"],"
    "\"out\":[8,16],\"layers\":[1],\"kernel\":[3],\"stride\":[2],"
    "\"expand\":[2],\"se\":[0,0.25],\"skip\":[\"none\",\"residual\"],"
    "\"act\":[\"relu6\",\"swish\"],\"dropout\":[0]}";

static int group_setup(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN];
	int rc;

	(void)state;
	snprintf(small, sizeof small, "/tmp/lmnas-wk-XXXXXX");
	snprintf(big, sizeof big, "/tmp/lmnas-wk-XXXXXX");
	if (!mkdtemp(small) || ts_cifar100_write(small, 240, 40, 10, 3))
		return -1;
	/* epochs of a few seconds: long enough to be interrupted inside */
	if (!mkdtemp(big) || ts_cifar100_write(big, 1200, 40, 10, 5))
		return -1;
	if (ts_pg_start(&pg))
		return -1;
	ts_pg_url(&pg, NULL, url, sizeof url);
	snprintf(env_url, sizeof env_url, "LMNAS_DATABASE_URL=%s", url);
	if (store_pool_open(url, 1, &p, err, sizeof err))
		return -1;
	rc = store_migrate(p, NULL, err, sizeof err) ? -1 : 0;
	store_pool_close(p);
	return rc;
}

static int group_teardown(void **state)
{
	char cmd[256];

	(void)state;
	ts_pg_destroy(&pg);
	snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", small, big);
	return system(cmd) == 0 ? 0 : -1;
}

/* An evolution job: 2 rounds x 2 candidates of proxy_epochs epochs on
 * dir, then the final training of the best for one epoch. */
static void job_spec(char *out, size_t len, const char *dir, int proxy_epochs)
{
	snprintf(out, len,
		 "{\"name\":\"wk\",\"dataset\":{\"kind\":\"cifar100\","
		 "\"path\":\"%s\"},\"space\":%s,\"proposer\":\"evolution\","
		 "\"llm\":{\"candidates_per_round\":2},"
		 "\"budget\":{\"rounds\":2,\"max_candidates\":4,"
		 "\"proxy\":{\"epochs\":%d,\"train_fraction\":1,\"batch\":16,"
		 "\"lr\":0.1},\"final\":{\"top_k\":1,\"epochs\":1,"
		 "\"batch\":16,\"lr\":0.1}},\"export\":{\"target\":\"qemu\","
		 "\"calibration_images\":32,\"calibration\":\"percentile\","
		 "\"percentile\":99.5,\"eval_images\":20},\"threads\":2,"
		 "\"seed\":7}",
		 dir, space, proxy_epochs);
}

static long long submit(const char *spec)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN];
	long long id = 0;

	assert_int_equal(store_pool_open(url, 1, &p, err, sizeof err), CORE_OK);
	assert_int_equal(queue_job_enqueue(p, "wk", spec, &id, err, sizeof err),
			 CORE_OK);
	store_pool_close(p);
	return id;
}

static void sql(const char *q, char *out, size_t len)
{
	assert_int_equal(ts_pg_exec(&pg, NULL, q, out, len), 0);
}

static long long sql_ll(const char *fmt, long long id)
{
	char q[2048], out[256];

	snprintf(q, sizeof q, fmt, id, id);
	sql(q, out, sizeof out);
	return atoll(out);
}

/* Polls until the query (formatted with id) answers non-zero, up to
 * timeout_s; returns the seconds it took, or -1. */
static double wait_for(const char *fmt, long long id, double timeout_s)
{
	double t0 = core_now_seconds();

	while (core_now_seconds() - t0 < timeout_s) {
		if (sql_ll(fmt, id) != 0)
			return core_now_seconds() - t0;
		usleep(50000);
	}
	return -1;
}

/* Nothing left waiting from the tests before. */
static void queue_clear(void)
{
	char out[64];

	sql("UPDATE jobs SET status = 'failed', lease_owner = NULL "
	    "WHERE status IN ('queued', 'running')",
	    out, sizeof out);
}

/* `promtool check metrics` on text: 0 when it passes. */
static int promtool_check(const char *text)
{
	char path[] = "/tmp/lmnas-metrics-XXXXXX", cmd[256];
	int fd = mkstemp(path), rc;
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof cmd, "promtool check metrics < %s >&2", path);
	rc = system(cmd);
	unlink(path);
	return rc;
}

/* The value of the sample whose name and labels are exactly series. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *l = text; l && *l;
	     l = strchr(l, '\n'), l = l ? l + 1 : l)
		if (strncmp(l, series, n) == 0 && l[n] == ' ')
			return atof(l + n + 1);
	return -1;
}

/* A worker process (concurrency 1, lease 3 s: renewed every second) gets
 * SIGTERM while it trains a candidate: the job is back in the queue with
 * no lease owner within seconds, the worker exits 0, and `lmnas worker
 * --once` finishes it from the last epoch checkpoint: every candidate
 * trained once (its epochs stored once each, the interrupted one resumed
 * from its checkpoint). On the way, /metrics of a `serve` on the same
 * database shows the running job and passes promtool. */
static void sigterm_hands_back_and_another_worker_resumes(void **state)
{
	const char *wenv[] = {env_url, "LMNAS_LEASE_SECONDS=3", NULL};
	const char *senv[] = {env_url, NULL};
	const char *wargs[] = {"worker", NULL};
	struct ts_proc w = {0}, w2 = {0}, srv = {0};
	struct ts_http_reply r;
	char spec[4096], murl[128];
	long long id;
	double t;

	(void)state;
	queue_clear();
	job_spec(spec, sizeof spec, big, 2);
	id = submit(spec);
	assert_int_equal(ts_lmnas_serve(&srv, senv), 0);
	assert_int_equal(ts_lmnas_spawn(&w, wargs, wenv), 0);
	/* training, and the heartbeat has stored a training rate */
	t = wait_for("SELECT count(*) FROM candidates c JOIN jobs j ON "
		     "j.id = c.job_id WHERE c.job_id = %lld AND c.status = "
		     "'training' AND (j.progress->>'img_per_s')::float8 > 0",
		     id, 120);
	assert_true(t >= 0);

	snprintf(murl, sizeof murl, "%s/metrics", srv.base);
	assert_int_equal(ts_http("GET", murl, NULL, NULL, 0, 10, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(promtool_check(r.body), 0);
	assert_true(sample(r.body, "lmnas_jobs{status=\"running\"}") == 1);
	assert_true(sample(r.body, "lmnas_worker_leases") == 1);
	assert_true(sample(r.body, "lmnas_training_images_per_second") > 0);
	assert_true(sample(r.body, "lmnas_database_up") == 1);
	/* ts_lmnas_serve polled /healthz until it answered */
	assert_true(sample(r.body,
			   "lmnas_http_requests_total{route=\"/"
			   "healthz\",method=\"GET\",status=\"200\"}") >= 1);
	print_message("# metrics while training: %.1f images/s\n",
		      sample(r.body, "lmnas_training_images_per_second"));
	ts_http_reply_free(&r);

	/* mid-candidate: its first epoch stored, the second under way */
	t = wait_for("SELECT count(*) FROM candidates WHERE job_id = %lld AND "
		     "status = 'training' AND epochs_done = 1",
		     id, 120);
	assert_true(t >= 0);
	assert_int_equal(kill(w.pid, SIGTERM), 0);
	t = wait_for("SELECT count(*) FROM jobs WHERE id = %lld AND status = "
		     "'queued' AND lease_owner IS NULL AND %lld > 0",
		     id, 20);
	print_message("# handed back %.2f s after SIGTERM (lease 3 s)\n", t);
	assert_true(t >= 0 && t < 10);
	assert_int_equal(ts_proc_stop(&w, 0, 20), 0);
	assert_int_equal(sql_ll("SELECT count(*) FROM events WHERE job_id = "
				"%lld AND kind = 'handed_back' AND %lld > 0",
				id),
			 1);

	/* a second worker takes it at once (no lease to wait out) */
	{
		const char *oargs[] = {"worker", "--once", NULL};
		assert_int_equal(ts_lmnas_run(&w2, oargs, senv), 0);
	}
	assert_int_equal(sql_ll("SELECT count(*) FROM jobs WHERE id = %lld "
				"AND status = 'succeeded' AND attempts = 2 "
				"AND %lld > 0",
				id),
			 1);
	/* the interrupted candidate continued from its checkpoint */
	assert_true(sql_ll("SELECT count(*) FROM events WHERE job_id = %lld "
			   "AND kind = 'resume' AND message LIKE '%% continues "
			   "proxy training from epoch %%' AND message NOT LIKE "
			   "'%%from epoch 0' AND %lld > 0",
			   id) >= 1);
	/* every candidate trained once: 2 proxy epochs each, and the
	 * number of epoch rows matches (nothing retrained elsewhere) */
	assert_int_equal(sql_ll("SELECT count(*) FROM candidates WHERE job_id "
				"= %lld AND status <> 'rejected' AND %lld > 0",
				id),
			 4);
	assert_int_equal(
	    sql_ll("SELECT count(*) FROM candidates WHERE job_id "
		   "= %lld AND status <> 'rejected' AND "
		   "(SELECT count(*) FROM candidate_epochs e WHERE "
		   "e.candidate_id = candidates.id AND e.phase = "
		   "'proxy') = 2 AND %lld > 0",
		   id),
	    4);
	assert_int_equal(ts_proc_stop(&srv, SIGTERM, 20), 0);
}

/* `serve --workers 2` runs a job; a cancel set from another connection
 * (psql-like, not through lmnas) stops it within seconds although its
 * lease is 60 s (renewals every 20 s: waiting for one would take longer
 * than the bound); the threads cap is in its events. */
static void cancel_reaches_a_serve_worker_within_seconds(void **state)
{
	const char *env[] = {env_url, "LMNAS_WORKERS=2",
			     "LMNAS_LEASE_SECONDS=60", "LMNAS_WORKER_THREADS=1",
			     NULL};
	struct ts_proc srv = {0};
	char spec[4096], q[256], out[64], *log;
	long long id;
	double t, t0;

	(void)state;
	queue_clear();
	job_spec(spec, sizeof spec, big, 20);
	id = submit(spec);
	assert_int_equal(ts_lmnas_serve(&srv, env), 0);
	t = wait_for("SELECT count(*) FROM candidates WHERE job_id = %lld AND "
		     "status = 'training' AND %lld > 0",
		     id, 60);
	assert_true(t >= 0);
	usleep(500000); /* inside the epoch */
	snprintf(q, sizeof q,
		 "UPDATE jobs SET cancel_requested = true WHERE id = %lld", id);
	t0 = core_now_seconds();
	sql(q, out, sizeof out);
	t = wait_for("SELECT count(*) FROM jobs WHERE id = %lld AND status = "
		     "'cancelled' AND %lld > 0",
		     id, 30);
	if (t >= 0)
		t = core_now_seconds() - t0;
	print_message("# cancelled %.2f s after the request (lease 60 s)\n", t);
	assert_true(t >= 0 && t < 10);
	assert_int_equal(sql_ll("SELECT count(*) FROM events WHERE job_id = "
				"%lld AND kind = 'threads' AND message LIKE "
				"'threads: 2 asked, 1 used%%' AND %lld > 0",
				id),
			 1);
	assert_int_equal(ts_proc_stop(&srv, SIGTERM, 30), 0);
	log = ts_proc_log_read(&srv);
	assert_non_null(strstr(log, "2 job workers (1 training threads each)"));
	/* seen through the trigger's NOTIFY, not a poll */
	assert_non_null(strstr(log, "cancel requested (NOTIFY)"));
	/* workers stopped while idle end well: no error line (an idle stop
	 * used to return the empty queue's status as an error) */
	assert_null(strstr(log, "\"level\":\"error\""));
	free(log);
}

/* Without a connection to spare for the listener (a pool of 2), the
 * heartbeat polls: the cancel still arrives within seconds. */
static void cancel_reaches_a_polling_worker_within_seconds(void **state)
{
	const char *env[] = {env_url, "LMNAS_LEASE_SECONDS=60",
			     "LMNAS_DB_POOL=2", NULL};
	const char *args[] = {"worker", NULL};
	struct ts_proc w = {0};
	char spec[4096], q[256], out[64], *log;
	long long id;
	double t, t0;

	(void)state;
	queue_clear();
	job_spec(spec, sizeof spec, big, 20);
	id = submit(spec);
	assert_int_equal(ts_lmnas_spawn(&w, args, env), 0);
	t = wait_for("SELECT count(*) FROM candidates WHERE job_id = %lld AND "
		     "status = 'training'",
		     id, 60);
	assert_true(t >= 0);
	snprintf(q, sizeof q,
		 "UPDATE jobs SET cancel_requested = true WHERE id = %lld", id);
	t0 = core_now_seconds();
	sql(q, out, sizeof out);
	t = wait_for("SELECT count(*) FROM jobs WHERE id = %lld AND status = "
		     "'cancelled'",
		     id, 30);
	if (t >= 0)
		t = core_now_seconds() - t0;
	print_message("# polled: cancelled %.2f s after the request (lease "
		      "60 s)\n",
		      t);
	assert_true(t >= 0 && t < 10);
	assert_int_equal(ts_proc_stop(&w, SIGTERM, 20), 0);
	log = ts_proc_log_read(&w);
	assert_non_null(strstr(log, "cancel requested (poll)"));
	free(log);
}

/* The retention rule on a finished job: nothing before the retention
 * time; after it, only checkpoints of candidates outside the last round's
 * front without a model go, once; the job's size drops by their bytes and
 * `lmnas job show` reports the size. */
static void retention_keeps_front_and_models(void **state)
{
	struct store_pool *p = NULL;
	struct runner_worker_config wc;
	struct store_job_size before, after;
	struct store_prune_result pr;
	volatile int stop = 0;
	char err[CORE_ERR_LEN], spec[4096], q[512], out[64], *log;
	long long id, kept, had, extra;
	int jobs = 0;

	(void)state;
	queue_clear();
	job_spec(spec, sizeof spec, small, 1);
	id = submit(spec);
	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	memset(&wc, 0, sizeof wc);
	wc.job.worker = "retention-worker";
	wc.job.lease_s = 30;
	wc.job.stop = &stop;
	wc.once = 1;
	assert_int_equal(runner_worker_run(p, &wc, &jobs, err, sizeof err),
			 CORE_OK);
	assert_int_equal(jobs, 1);
	assert_int_equal(sql_ll("SELECT count(*) FROM jobs WHERE id = %lld "
				"AND status = 'succeeded' AND %lld > 0",
				id),
			 1);
	/* a failed candidate's partial checkpoint: never on a front */
	snprintf(q, sizeof q,
		 "INSERT INTO candidates (job_id, round, source, arch, "
		 "arch_hash, status, checkpoint) VALUES (%lld, 1, 'random', "
		 "'{}', 'x', 'failed', decode(repeat('ab', 5000), 'hex')) "
		 "RETURNING id",
		 id);
	sql(q, out, sizeof out);
	extra = atoll(out);

	assert_int_equal(store_job_size(p, id, &before, err, sizeof err),
			 CORE_OK);
	/* checkpoint bytes: every stored blob, counted independently */
	assert_int_equal(
	    before.checkpoint_bytes,
	    sql_ll("SELECT (SELECT coalesce(sum(length(checkpoint)),"
		   " 0) FROM candidates WHERE job_id = %lld) + "
		   "(SELECT sum(checkpoint_size) FROM models WHERE "
		   "job_id = %lld)",
		   id));
	assert_int_equal(before.zip_bytes,
			 sql_ll("SELECT sum(zip_size) + 0 * %lld FROM models "
				"WHERE job_id = %lld",
				id));
	assert_true(before.row_bytes > 0);
	assert_int_equal(before.total_bytes, before.checkpoint_bytes +
						 before.zip_bytes +
						 before.row_bytes);

	/* ended just now: a day's retention keeps everything */
	assert_int_equal(
	    store_artifacts_prune(p, 86400, 100, &pr, err, sizeof err),
	    CORE_OK);
	assert_int_equal(pr.jobs, 0);

	/* a day later */
	snprintf(q, sizeof q,
		 "UPDATE jobs SET finished_at = now() - interval '25 hours' "
		 "WHERE id = %lld",
		 id);
	sql(q, out, sizeof out);
	had = sql_ll("SELECT count(*) FROM candidates WHERE job_id = %lld AND "
		     "checkpoint IS NOT NULL AND %lld > 0",
		     id);
	/* what must stay: in the last finished round's front, or a model */
	kept = sql_ll(
	    "SELECT count(*) FROM candidates c WHERE c.job_id = %lld AND "
	    "c.checkpoint IS NOT NULL AND (EXISTS (SELECT 1 FROM models m "
	    "WHERE m.candidate_id = c.id) OR c.id IN (SELECT "
	    "(f->>'id')::bigint FROM rounds r, jsonb_array_elements(r.front) "
	    "f WHERE r.job_id = %lld AND r.round = 1))",
	    id);
	assert_int_equal(
	    store_artifacts_prune(p, 86400, 100, &pr, err, sizeof err),
	    CORE_OK);
	assert_int_equal(pr.jobs, 1);
	assert_true(pr.checkpoints >= 1);
	assert_int_equal(pr.checkpoints, had - kept);
	assert_int_equal(
	    sql_ll("SELECT count(*) FROM candidates WHERE job_id "
		   "= %lld AND checkpoint IS NOT NULL AND %lld > 0",
		   id),
	    kept);
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM candidates WHERE id = %lld AND "
		 "checkpoint IS NULL",
		 extra);
	sql(q, out, sizeof out);
	assert_string_equal(out, "1");
	/* models keep checkpoint and zip */
	assert_int_equal(
	    sql_ll("SELECT count(*) FROM models WHERE job_id = "
		   "%lld AND checkpoint IS NOT NULL AND zip IS NOT "
		   "NULL AND %lld > 0",
		   id),
	    1);
	assert_int_equal(store_job_size(p, id, &after, err, sizeof err),
			 CORE_OK);
	assert_int_equal(after.checkpoint_bytes,
			 before.checkpoint_bytes - pr.bytes);
	assert_true(pr.bytes >= 5000);
	/* once per job */
	assert_int_equal(
	    store_artifacts_prune(p, 86400, 100, &pr, err, sizeof err),
	    CORE_OK);
	assert_int_equal(pr.jobs, 0);
	store_pool_close(p);

	{
		struct ts_proc c = {0};
		char id_text[32], expect[96];
		const char *args[] = {"job", "show", id_text, NULL};
		const char *env[] = {env_url, NULL};
		snprintf(id_text, sizeof id_text, "%lld", id);
		assert_int_equal(ts_lmnas_run(&c, args, env), 0);
		log = ts_proc_log_read(&c);
		snprintf(expect, sizeof expect,
			 "size in the database: %lld bytes", after.total_bytes);
		assert_non_null(strstr(log, expect));
		free(log);
	}
}

/* The retention setting: a duration, checked at start, and the worker
 * loop runs the pass (a job ended long ago is pruned by `worker --once`
 * on an empty queue). */
static void retention_setting_and_worker_pass(void **state)
{
	struct ts_proc c = {0};
	const char *args[] = {"worker", "--once", NULL};
	char spec[4096], q[512], out[64], *log;
	long long id;

	(void)state;
	queue_clear();
	{
		const char *env[] = {env_url, "LMNAS_ARTIFACT_RETENTION=5x",
				     NULL};
		assert_int_not_equal(ts_lmnas_run(&c, args, env), 0);
		log = ts_proc_log_read(&c);
		assert_non_null(strstr(log, "LMNAS_ARTIFACT_RETENTION: '5x' is "
					    "not a duration"));
		free(log);
	}
	job_spec(spec, sizeof spec, small, 1);
	id = submit(spec);
	snprintf(q, sizeof q,
		 "UPDATE jobs SET status = 'failed', finished_at = now() - "
		 "interval '3 hours' WHERE id = %lld",
		 id);
	sql(q, out, sizeof out);
	snprintf(q, sizeof q,
		 "INSERT INTO candidates (job_id, round, source, arch, "
		 "arch_hash, status, checkpoint) VALUES (%lld, 0, 'random', "
		 "'{}', 'y', 'trained', '\\xabcd') RETURNING id",
		 id);
	sql(q, out, sizeof out);
	{
		const char *env[] = {env_url, "LMNAS_ARTIFACT_RETENTION=2h",
				     NULL};
		assert_int_equal(ts_lmnas_run(&c, args, env), 0);
		log = ts_proc_log_read(&c);
		assert_non_null(strstr(log, "artifact retention: 1 job(s), 1 "
					    "checkpoint(s) dropped, 2 bytes"));
		free(log);
	}
	assert_int_equal(sql_ll("SELECT count(*) FROM candidates WHERE job_id "
				"= %lld AND checkpoint IS NULL AND %lld > 0",
				id),
			 1);
}

/* `lmnas worker --concurrency 2` runs two jobs at once, each under its
 * own lease owner; SIGTERM hands both back; --once takes no concurrency. */
static void worker_concurrency_runs_jobs_side_by_side(void **state)
{
	const char *env[] = {env_url, "LMNAS_LEASE_SECONDS=30", NULL};
	const char *args[] = {"worker", "--concurrency", "2", NULL};
	struct ts_proc w = {0}, c = {0};
	char spec[4096], *log;
	long long a, b;
	double t;

	(void)state;
	queue_clear();
	{
		const char *oargs[] = {"worker", "--once", "--concurrency", "2",
				       NULL};
		assert_int_equal(ts_lmnas_run(&c, oargs, env), 2);
		log = ts_proc_log_read(&c);
		assert_non_null(strstr(log, "--once runs one job"));
		free(log);
	}
	job_spec(spec, sizeof spec, big, 20);
	a = submit(spec);
	b = submit(spec);
	assert_int_equal(ts_lmnas_spawn(&w, args, env), 0);
	t = wait_for("SELECT count(DISTINCT lease_owner) FROM jobs WHERE id IN "
		     "(%lld, %lld + 1) AND status = 'running' HAVING "
		     "count(DISTINCT lease_owner) = 2",
		     a, 60);
	assert_true(t >= 0);
	assert_int_equal(b, a + 1);
	assert_int_equal(kill(w.pid, SIGTERM), 0);
	assert_int_equal(ts_proc_stop(&w, 0, 20), 0);
	assert_int_equal(sql_ll("SELECT count(*) FROM jobs WHERE id IN (%lld, "
				"%lld + 1) AND status = 'queued' AND "
				"lease_owner IS NULL",
				a),
			 2);
}

/* The HTTP series without a server: buckets cumulative, unknown methods
 * folded, the whole text accepted by promtool. */
static void metrics_http_series(void **state)
{
	char *text = NULL, err[CORE_ERR_LEN];
	size_t len = 0;

	(void)state;
	http_metrics_reset();
	http_metrics_observe("/v1/jobs/{id}", "GET", 200, 0.003);
	http_metrics_observe("/v1/jobs/{id}", "GET", 200, 0.2);
	http_metrics_observe("/v1/jobs/{id}", "GET", 200, 30);
	http_metrics_observe(NULL, "BREW", 404, 0.001);
	assert_int_equal(
	    http_metrics_render(NULL, &text, &len, err, sizeof err), CORE_OK);
	assert_int_equal(strlen(text), len);
	assert_true(sample(text, "lmnas_http_requests_total{route=\"/v1/jobs/"
				 "{id}\",method=\"GET\",status=\"200\"}") == 3);
	assert_true(sample(text, "lmnas_http_request_duration_seconds_bucket{"
				 "route=\"/v1/jobs/{id}\",method=\"GET\","
				 "status=\"200\",le=\"0.005\"}") == 1);
	assert_true(sample(text, "lmnas_http_request_duration_seconds_bucket{"
				 "route=\"/v1/jobs/{id}\",method=\"GET\","
				 "status=\"200\",le=\"0.25\"}") == 2);
	assert_true(sample(text, "lmnas_http_request_duration_seconds_bucket{"
				 "route=\"/v1/jobs/{id}\",method=\"GET\","
				 "status=\"200\",le=\"+Inf\"}") == 3);
	assert_true(sample(text, "lmnas_http_requests_total{route=\"unmatched"
				 "\",method=\"other\",status=\"404\"}") == 1);
	assert_true(sample(text, "lmnas_database_up") == 0);
	assert_int_equal(promtool_check(text), 0);
	core_free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(metrics_http_series),
	    cmocka_unit_test(retention_keeps_front_and_models),
	    cmocka_unit_test(retention_setting_and_worker_pass),
	    cmocka_unit_test(sigterm_hands_back_and_another_worker_resumes),
	    cmocka_unit_test(cancel_reaches_a_serve_worker_within_seconds),
	    cmocka_unit_test(cancel_reaches_a_polling_worker_within_seconds),
	    cmocka_unit_test(worker_concurrency_runs_jobs_side_by_side),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
