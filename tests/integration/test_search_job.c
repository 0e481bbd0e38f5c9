/* SPDX-License-Identifier: Apache-2.0 */
/* test_search_job.c - search jobs end to end on a tiny synthetic data set
 * against a real PostgreSQL: 2 rounds x 2 candidates x 1 epoch, then the
 * final training of the best; with the evolutionary proposer, with the
 * scripted fake LLM (its calls and rationales stored), with the LLM
 * unreachable (the fallback recorded), and killed mid-job then resumed
 * (nothing lost, nothing trained twice). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/fake_llm.h"
#include "../support/testsupport.h"
#include "../support/ts_cifar.h"
#include "cmd/cmd.h"
#include "runner/runner.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct ts_pg pg;
static char url[256], data[64];
/* job_spec knobs: the LLM's timeout, the final phase's epochs, the data
 * set directory (NULL: data), extra members of "constraints" */
static int spec_llm_timeout = 2, spec_final_epochs = 1;
static double spec_final_lr = 0.1;
static const char *spec_data, *spec_constraints = "", *spec_teacher = "";

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

	snprintf(data, sizeof data, "/tmp/lmnas-sj-XXXXXX");
	if (!mkdtemp(data) || ts_cifar100_write(data, 240, 40, 10, 3))
		return -1;
	if (ts_pg_start(&pg))
		return -1;
	ts_pg_url(&pg, NULL, url, sizeof url);
	if (store_pool_open(url, 1, &p, err, sizeof err))
		return -1;
	rc = store_migrate(p, NULL, err, sizeof err) ? -1 : 0;
	store_pool_close(p);
	return rc;
}

static int group_teardown(void **state)
{
	char cmd[128];

	ts_pg_destroy(&pg);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", data);
	return system(cmd) == 0 ? 0 : -1;
}

/* The job spec with the given proposer and LLM base URL (or none). */
static void job_spec(char *out, size_t len, const char *proposer,
		     const char *base_url)
{
	char llm[256] = "";

	if (base_url)
		snprintf(llm, sizeof llm,
			 ",\"llm\":{\"base_url\":\"%s\",\"model\":\"fake\","
			 "\"candidates_per_round\":2,\"timeout_s\":%d,"
			 "\"repair_attempts\":1}",
			 base_url, spec_llm_timeout);
	else
		snprintf(llm, sizeof llm,
			 ",\"llm\":{\"candidates_per_round\":2}");
	snprintf(out, len,
		 "{\"name\":\"e2e\",\"dataset\":{\"kind\":\"cifar100\","
		 "\"path\":\"%s\"},\"space\":%s,\"proposer\":\"%s\"%s,"
		 "\"constraints\":{%s},"
		 "\"budget\":{\"rounds\":2,\"max_candidates\":4,"
		 "\"proxy\":{\"epochs\":1,\"train_fraction\":1,\"batch\":16,"
		 "\"lr\":0.1},\"final\":{\"top_k\":1,\"epochs\":%d,"
		 "\"batch\":16,\"lr\":%g%s}},\"export\":{\"target\":\"qemu\","
		 "\"calibration_images\":32,\"calibration\":\"percentile\","
		 "\"percentile\":99.5,\"eval_images\":20},\"threads\":2,"
		 "\"seed\":7}",
		 spec_data ? spec_data : data, space, proposer, llm,
		 spec_constraints, spec_final_epochs, spec_final_lr,
		 spec_teacher);
}

static long long submit(struct store_pool *p, const char *spec)
{
	long long id = 0;
	char err[CORE_ERR_LEN];

	assert_int_equal(
	    queue_job_enqueue(p, "e2e", spec, &id, err, sizeof err), CORE_OK);
	return id;
}

/* What the progress callback saw of the ETA. */
static struct {
	int calls, unknown_after_epoch, known, done, done_eta_zero;
	int epochs_seen;
} eta_seen;

/* Set by a test: once the first epoch is done, the data set's training
 * file disappears; a job that loaded it once does not notice. */
static int hide_train_file;

static void data_file(char *path, size_t len, const char *name)
{
	snprintf(path, len, "%s/%s", data, name);
}

static void record_progress(const struct runner_progress *pr, void *ctx)
{
	(void)ctx;
	if (hide_train_file == 1 && pr->epoch > 0) {
		char from[128], to[128];

		data_file(from, sizeof from, "train.bin");
		data_file(to, sizeof to, "train.bin.hidden");
		assert_int_equal(rename(from, to), 0);
		hide_train_file = 2;
	}
	eta_seen.calls++;
	if (strcmp(pr->phase, "done") == 0) {
		eta_seen.done++;
		eta_seen.done_eta_zero += pr->eta_s == 0;
		return;
	}
	if (pr->eta_s >= 0)
		eta_seen.known++;
	else if (eta_seen.epochs_seen)
		eta_seen.unknown_after_epoch++;
	if (pr->epoch > 0)
		eta_seen.epochs_seen = 1;
}

static enum core_status run_job(struct store_pool *p, long long id, int lease_s)
{
	struct queue_claim claim;
	struct runner_config rc = {
	    "test-worker", lease_s, NULL, record_progress, NULL, 0, 0};
	char err[CORE_ERR_LEN];
	enum core_status st;

	assert_int_equal(queue_job_claim_id(p, id, "test-worker", lease_s,
					    &claim, err, sizeof err),
			 CORE_OK);
	st = runner_job_run(p, &claim, &rc, err, sizeof err);
	if (st)
		printf("# runner: %s\n", err);
	queue_claim_free(&claim);
	return st;
}

static void sql(const char *q, char *out, size_t len)
{
	assert_int_equal(ts_pg_exec(&pg, NULL, q, out, len), 0);
}

/* Checks what every successful job must have; returns nothing. */
static void check_succeeded(long long id, int expect_trained)
{
	char q[512], out[256];

	snprintf(q, sizeof q, "SELECT status FROM jobs WHERE id = %lld", id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "succeeded");
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM candidates WHERE job_id = %lld AND "
		 "status IN ('trained', 'final_done')",
		 id);
	sql(q, out, sizeof out);
	assert_int_equal(atoi(out), expect_trained);
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM rounds WHERE job_id = %lld AND "
		 "finished_at IS NOT NULL AND hypervolume IS NOT NULL AND "
		 "jsonb_array_length(front) > 0",
		 id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "2");
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM models WHERE job_id = %lld AND "
		 "checkpoint_size > 0",
		 id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "1");
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM candidates WHERE job_id = %lld AND "
		 "status = 'final_done' AND test_top1 IS NOT NULL",
		 id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "1");
	/* every trained candidate has exactly one proxy epoch */
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM candidate_epochs e JOIN candidates c ON "
		 "c.id = e.candidate_id WHERE c.job_id = %lld AND e.phase = "
		 "'proxy'",
		 id);
	sql(q, out, sizeof out);
	assert_int_equal(atoi(out), expect_trained);
}

/* What a follower of the job's events sees (the API's list and stream):
 * its states in order, each candidate proposed and trained, each epoch
 * with its metrics, speed and the job's ETA. */
static void check_live_events(long long id, int trained)
{
	char q[512], out[256];

	snprintf(q, sizeof q,
		 "SELECT string_agg(data->>'status', ',' ORDER BY id) FROM "
		 "events WHERE job_id = %lld AND kind = 'state'",
		 id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "queued,running,succeeded");
	/* the last state is the job's last word (a stream ends with it) */
	snprintf(q, sizeof q,
		 "SELECT kind || ' ' || (data->>'previous') FROM events WHERE "
		 "job_id = %lld ORDER BY id DESC LIMIT 1",
		 id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "state running");
	/* one epoch event per stored epoch, the same numbers */
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM events v JOIN candidate_epochs e ON "
		 "e.candidate_id = (v.data->>'candidate')::bigint AND e.phase "
		 "= v.data->>'phase' AND e.epoch = (v.data->>'epoch')::int AND "
		 "e.val_top1 = (v.data->>'val_top1')::float8 WHERE v.job_id = "
		 "%lld AND v.kind = 'epoch' AND (v.data->>'images_per_s')::"
		 "float8 > 0 AND v.data ? 'eta_s'",
		 id);
	sql(q, out, sizeof out);
	{
		char q2[256], all[64];
		snprintf(q2, sizeof q2,
			 "SELECT count(*) FROM candidate_epochs e JOIN "
			 "candidates c ON c.id = e.candidate_id WHERE c.job_id "
			 "= %lld",
			 id);
		sql(q2, all, sizeof all);
		assert_string_equal(out, all);
		assert_true(atoi(all) >= trained);
	}
	/* every stored proposal announced, every trained one reported */
	snprintf(q, sizeof q,
		 "SELECT (SELECT count(*) FROM events WHERE job_id = %lld AND "
		 "kind = 'candidate' AND data->>'status' IN ('proposed', "
		 "'rejected')) - (SELECT count(*) FROM candidates WHERE job_id "
		 "= %lld)",
		 id, id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "0");
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM events WHERE job_id = %lld AND kind = "
		 "'candidate' AND data->>'status' = 'trained'",
		 id);
	sql(q, out, sizeof out);
	assert_int_equal(atoi(out), trained);
	/* the round's event carries its front as stored */
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM events v JOIN rounds r ON r.job_id = "
		 "v.job_id AND r.round = (v.data->>'round')::int - 1 AND "
		 "r.front = v.data->'front' WHERE v.job_id = %lld AND v.kind "
		 "= 'round'",
		 id);
	sql(q, out, sizeof out);
	assert_true(atoi(out) >= 1);
}

static void evolution_job_succeeds(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], spec[4096], q[256], out[64];
	long long id;

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	job_spec(spec, sizeof spec, "evolution", NULL);
	id = submit(p, spec);
	memset(&eta_seen, 0, sizeof eta_seen);
	hide_train_file = 1;
	assert_int_equal(run_job(p, id, 60), CORE_OK);
	{
		char from[128], to[128];

		/* the job loaded its data set once: every candidate trained
		 * although the file went away after the first epoch */
		assert_int_equal(hide_train_file, 2);
		hide_train_file = 0;
		data_file(from, sizeof from, "train.bin.hidden");
		data_file(to, sizeof to, "train.bin");
		assert_int_equal(rename(from, to), 0);
	}
	check_succeeded(id, 4);
	/* the ETA: known once an epoch was measured, never lost again, 0 at
	 * the end, and stored with the job's progress */
	assert_true(eta_seen.known > 0);
	assert_int_equal(eta_seen.unknown_after_epoch, 0);
	assert_true(eta_seen.done >= 1);
	assert_int_equal(eta_seen.done_eta_zero, eta_seen.done);
	snprintf(q, sizeof q,
		 "SELECT progress->>'eta_s' FROM jobs WHERE id = %lld", id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "0");
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM models WHERE job_id = %lld AND zip_size "
		 "> 1000 AND report ? 'macs'",
		 id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "1");
	/* exported in memory by deploy with the spec's export section: its
	 * target, calibration and evaluation, not fixed ones */
	snprintf(q, sizeof q,
		 "SELECT concat_ws(' ', report->>'target', "
		 "report->'quantization'->>'calibration_images', "
		 "report->'accuracy'->>'images') FROM models WHERE job_id = "
		 "%lld",
		 id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "qemu 32 20");
	check_live_events(id, 4);
	store_pool_close(p);
}

/* Also what a job sees with the default llm.base_url (a local Ollama) when
 * no LLM server runs there: the search goes on with evolution and says so. */
static void unreachable_llm_falls_back(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], spec[4096], q[256], out[64], base[64];
	long long id;

	snprintf(base, sizeof base, "http://127.0.0.1:%d/v1", ts_free_port());
	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	job_spec(spec, sizeof spec, "llm", base);
	id = submit(p, spec);
	assert_int_equal(run_job(p, id, 60), CORE_OK);
	check_succeeded(id, 4);
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM events WHERE job_id = %lld AND kind = "
		 "'llm_fallback'",
		 id);
	sql(q, out, sizeof out);
	assert_true(atoi(out) >= 1);
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM llm_calls WHERE job_id = %lld AND "
		 "outcome = 'unreachable'",
		 id);
	sql(q, out, sizeof out);
	assert_true(atoi(out) >= 1);
	store_pool_close(p);
}

static const char *good_reply =
    "Here you go:\n```json\n{\"candidates\":["
    "{\"rationale\":\"a cheap dwsep baseline\",\"arch\":{\"format\":"
    "\"lmnas-arch/1\",\"input\":{\"resolution\":16,\"channels\":3},"
    "\"stem\":null,\"stages\":[{\"block\":\"dwsep\",\"out\":8,\"layers\":1,"
    "\"kernel\":3,\"stride\":2,\"expand\":1,\"se\":0,\"skip\":\"none\","
    "\"act\":\"relu6\"},{\"block\":\"dwsep\",\"out\":16,\"layers\":1,"
    "\"kernel\":3,\"stride\":2,\"expand\":1,\"se\":0,\"skip\":\"none\","
    "\"act\":\"relu6\"}],\"head\":{\"dropout\":0,\"classes\":100}}},"
    "{\"rationale\":\"SE and swish for accuracy\",\"arch\":{\"format\":"
    "\"lmnas-arch/1\",\"input\":{\"resolution\":16,\"channels\":3},"
    "\"stem\":null,\"stages\":[{\"block\":\"mbconv\",\"out\":16,"
    "\"layers\":1,\"kernel\":3,\"stride\":2,\"expand\":2,\"se\":0.25,"
    "\"skip\":\"none\",\"act\":\"swish\"},{\"block\":\"mbconv\","
    "\"out\":16,\"layers\":1,\"kernel\":3,\"stride\":2,\"expand\":2,"
    "\"se\":0,\"skip\":\"none\",\"act\":\"swish\"}],"
    "\"head\":{\"dropout\":0,\"classes\":100}}}]}\n```";

static void fake_llm_job_stores_calls_and_rationales(void **state)
{
	struct store_pool *p = NULL;
	struct fake_llm *f = NULL;
	char err[CORE_ERR_LEN], spec[4096], q[256], out[64];
	long long id;

	assert_int_equal(fake_llm_start(&f), 0);
	/* round 1: two good candidates; round 2: the same ones again
	 * (duplicates: rejected, repaired once, then evolution tops up) */
	assert_int_equal(fake_llm_script_chat(f, good_reply, "stop"), 0);
	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	job_spec(spec, sizeof spec, "llm", fake_llm_url(f));
	id = submit(p, spec);
	assert_int_equal(run_job(p, id, 60), CORE_OK);
	check_succeeded(id, 4);
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM candidates WHERE job_id = %lld AND "
		 "source = 'llm' AND status <> 'rejected' AND rationale LIKE "
		 "'SE and swish%%'",
		 id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "1");
	snprintf(
	    q, sizeof q,
	    "SELECT count(*) FROM candidates WHERE job_id = %lld AND "
	    "status = 'rejected' AND rejection_reason LIKE '%%duplicate%%'",
	    id);
	sql(q, out, sizeof out);
	assert_true(atoi(out) >= 2);
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM llm_calls WHERE job_id = %lld AND "
		 "outcome = 'ok' AND messages::text LIKE '%%lmnas-arch/1%%'",
		 id);
	sql(q, out, sizeof out);
	assert_true(atoi(out) >= 2);
	assert_true(fake_llm_request_count(f) >= 2);
	store_pool_close(p);
	fake_llm_stop(f);
}

/* `lmnas search --job ID` killed (SIGKILL) once a candidate was trained,
 * then resumed: nothing lost, nothing trained twice. (A separate process,
 * not a fork of the test: a forked child of a process that already ran
 * OpenMP can hang in its runtime.) */
static void killed_job_resumes_without_repeating_work(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], spec[4096], q[512], out[64], id_text[32];
	char env_url[300];
	const char *env[] = {env_url, "LMNAS_LEASE_SECONDS=2", NULL};
	const char *args[] = {"search", "--job", id_text, NULL};
	struct ts_proc child;
	long long id;

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	job_spec(spec, sizeof spec, "evolution", NULL);
	id = submit(p, spec);
	store_pool_close(p);
	p = NULL;
	snprintf(env_url, sizeof env_url, "LMNAS_DATABASE_URL=%s", url);
	snprintf(id_text, sizeof id_text, "%lld", id);
	assert_int_equal(ts_lmnas_spawn(&child, args, env), 0);
	/* kill it once the first candidate has been trained */
	for (int i = 0; i < 1200; i++) {
		snprintf(q, sizeof q,
			 "SELECT count(*) FROM candidates WHERE job_id = %lld "
			 "AND status = 'trained'",
			 id);
		sql(q, out, sizeof out);
		if (atoi(out) >= 1 || !ts_proc_alive(&child))
			break;
		usleep(50000);
	}
	assert_true(ts_proc_alive(&child));
	ts_proc_kill(&child);
	snprintf(q, sizeof q, "SELECT status FROM jobs WHERE id = %lld", id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "running");
	sleep(3); /* the 2 s lease expires */
	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	assert_int_equal(run_job(p, id, 60), CORE_OK);
	check_succeeded(id, 4);
	/* no candidate proposed twice, the job was attempted twice */
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM candidates WHERE job_id = %lld AND "
		 "status <> 'rejected'",
		 id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "4");
	snprintf(q, sizeof q, "SELECT attempts FROM jobs WHERE id = %lld", id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "2");
	store_pool_close(p);
}

static void invalid_spec_fails_the_job(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], q[256], out[512];
	long long id;

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	id = submit(p, "{\"name\":\"bad\",\"budget\":{\"rounds\":-1}}");
	assert_int_equal(run_job(p, id, 60), CORE_OK);
	snprintf(q, sizeof q,
		 "SELECT status || ': ' || error FROM jobs WHERE "
		 "id = %lld",
		 id);
	sql(q, out, sizeof out);
	printf("# %s\n", out);
	assert_non_null(strstr(out, "failed"));
	assert_non_null(strstr(out, "budget.rounds"));
	store_pool_close(p);
}

/* The CLI end to end: `lmnas search JOB.json` runs the job in the
 * foreground, stores the final model with its STM32 project, and prints
 * the table and the command that fetches the zip; `lmnas jobs` lists the
 * job and `lmnas model get` writes the zip. */
static void cli_search_stores_zip_and_model_get_fetches_it(void **state)
{
	char spec[4096], path[128], zip[128], env_url[300], id_text[32];
	const char *env[] = {env_url, NULL};
	struct ts_proc p;
	char *log, *at;
	long long model = 0;
	FILE *f;
	unsigned char magic[2] = {0, 0};

	snprintf(env_url, sizeof env_url, "LMNAS_DATABASE_URL=%s", url);
	job_spec(spec, sizeof spec, "random", NULL);
	snprintf(path, sizeof path, "%s/job.json", data);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(spec, f) >= 0);
	assert_int_equal(fclose(f), 0);
	{
		const char *args[] = {"search", path, NULL};
		int code = ts_lmnas_run(&p, args, env);
		log = ts_proc_log_read(&p);
		print_message("%s", log);
		assert_int_equal(code, 0);
	}
	assert_non_null(strstr(log, "succeeded"));
	assert_non_null(strstr(log, "STM32 project zip"));
	at = strstr(log, "lmnas model get ");
	assert_non_null(at);
	model = strtoll(at + strlen("lmnas model get "), NULL, 10);
	assert_true(model > 0);
	free(log);
	{
		const char *args[] = {"jobs", NULL};
		assert_int_equal(ts_lmnas_run(&p, args, env), 0);
		log = ts_proc_log_read(&p);
		assert_non_null(strstr(log, "e2e"));
		assert_non_null(strstr(log, "succeeded"));
		free(log);
	}
	snprintf(id_text, sizeof id_text, "%lld", model);
	snprintf(zip, sizeof zip, "%s/model.zip", data);
	{
		const char *args[] = {"model", "get", id_text,
				      "--out", zip,   NULL};
		assert_int_equal(ts_lmnas_run(&p, args, env), 0);
	}
	f = fopen(zip, "rb");
	assert_non_null(f);
	assert_int_equal(fread(magic, 1, 2, f), 2);
	fclose(f);
	assert_memory_equal(magic, "PK", 2);
	/* a model that does not exist: an error, no file */
	{
		const char *args[] = {"model", "get", "999999",
				      "--out", zip,   NULL};
		assert_int_equal(unlink(zip), 0);
		assert_int_not_equal(ts_lmnas_run(&p, args, env), 0);
		assert_int_not_equal(access(zip, F_OK), 0);
	}
}

/* ---- a runner in a thread, watched from the test ---- */

struct bg {
	long long id;
	int lease_s;
	const char *worker;
	volatile int stop;
	volatile int stop_at_final_epoch; /* set stop once a final epoch is
					     stored */
	volatile int done;
	enum core_status st;
	char err[CORE_ERR_LEN];
	pthread_t th;
};

static void bg_progress(const struct runner_progress *pr, void *ctx)
{
	struct bg *b = ctx;

	if (b->stop_at_final_epoch && strcmp(pr->phase, "final") == 0 &&
	    pr->epoch >= b->stop_at_final_epoch)
		b->stop = 1;
}

static void *bg_main(void *x)
{
	struct bg *b = x;
	struct store_pool *p = NULL;
	struct queue_claim claim;
	struct runner_config rc = {b->worker, b->lease_s, &b->stop, bg_progress,
				   b,	      0,	  0};

	b->st = store_pool_open(url, 2, &p, b->err, sizeof b->err);
	if (!b->st)
		b->st = queue_job_claim_id(p, b->id, b->worker, b->lease_s,
					   &claim, b->err, sizeof b->err);
	if (!b->st) {
		b->st = runner_job_run(p, &claim, &rc, b->err, sizeof b->err);
		queue_claim_free(&claim);
	}
	store_pool_close(p);
	b->done = 1;
	return NULL;
}

static void bg_start(struct bg *b, long long id, int lease_s)
{
	b->id = id;
	b->lease_s = lease_s;
	if (!b->worker)
		b->worker = "bg-worker";
	assert_int_equal(pthread_create(&b->th, NULL, bg_main, b), 0);
}

static void bg_join(struct bg *b)
{
	pthread_join(b->th, NULL);
	if (b->st)
		printf("# runner: %s\n", b->err);
}

static long long sql_ll(const char *fmt, long long id)
{
	char q[1024], out[256];

	snprintf(q, sizeof q, fmt, id);
	sql(q, out, sizeof out);
	return atoll(out);
}

/* An LLM that answers after longer than the lease: the heartbeat keeps the
 * lease through the call, nobody else can take the job, round 1 runs
 * once. */
static void slow_llm_keeps_the_lease(void **state)
{
	struct store_pool *p = NULL;
	struct fake_llm *f = NULL;
	char err[CORE_ERR_LEN], spec[4096], *body;
	struct bg b = {0};
	long long id;
	int tries = 0;

	assert_int_equal(fake_llm_start(&f), 0);
	body = fake_llm_chat_body(good_reply, "stop", 100, 50);
	assert_non_null(body);
	{
		/* the first call takes 3.5 s against a 2 s lease */
		struct fake_llm_reply r[2] = {{200, body, 3500, NULL},
					      {200, body, 0, NULL}};
		assert_int_equal(fake_llm_script(f, r, 2), 0);
	}
	free(body);
	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	spec_llm_timeout = 10;
	job_spec(spec, sizeof spec, "llm", fake_llm_url(f));
	spec_llm_timeout = 2;
	id = submit(p, spec);
	bg_start(&b, id, 2);
	for (int i = 0; i < 1000 && sql_ll("SELECT count(*) FROM jobs WHERE "
					   "id = %lld AND status = 'running'",
					   id) == 0;
	     i++)
		usleep(10000);
	/* a second worker keeps trying to take the job while it runs */
	while (!b.done) {
		struct queue_claim q;
		enum core_status st =
		    queue_job_claim_id(p, id, "thief", 60, &q, err, sizeof err);
		if (st == CORE_OK)
			queue_claim_free(&q);
		assert_int_equal(st, CORE_ERR_CONFLICT);
		tries++;
		usleep(200000);
	}
	bg_join(&b);
	assert_int_equal(b.st, CORE_OK);
	assert_true(tries >= 10); /* it tried through the whole 3.5 s call */
	check_succeeded(id, 4);
	assert_int_equal(
	    sql_ll("SELECT attempts FROM jobs WHERE id = %lld", id), 1);
	/* round 1: one call, its two candidates, stored once */
	assert_int_equal(sql_ll("SELECT count(*) FROM llm_calls WHERE job_id = "
				"%lld AND round = 0",
				id),
			 1);
	assert_int_equal(sql_ll("SELECT count(*) FROM candidates WHERE job_id "
				"= %lld AND round = 0",
				id),
			 2);
	store_pool_close(p);
	fake_llm_stop(f);
}

/* Another worker takes the lease over (lease_owner set in the database):
 * the first one stops and writes nothing after that moment. */
static void lost_lease_stops_without_writing(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], spec[4096], q[1024], out[256], at[64];
	struct bg b = {0};
	long long id;

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	job_spec(spec, sizeof spec, "evolution", NULL);
	id = submit(p, spec);
	/* a long lease: only the guarded writes can notice the takeover soon */
	bg_start(&b, id, 30);
	for (int i = 0; i < 2000 && !b.done; i++) {
		if (sql_ll("SELECT count(*) FROM candidates WHERE job_id = "
			   "%lld AND status = 'training'",
			   id) > 0)
			break;
		usleep(10000);
	}
	assert_false(b.done);
	snprintf(q, sizeof q,
		 "UPDATE jobs SET lease_owner = 'thief' WHERE id = %lld", id);
	sql(q, out, sizeof out);
	sql("SELECT clock_timestamp()::text", at, sizeof at);
	bg_join(&b);
	assert_int_equal(b.st, CORE_ERR_CONFLICT);
	assert_non_null(strstr(b.err, "lease lost"));
	/* nothing of the job was written after the takeover */
	snprintf(q, sizeof q,
		 "SELECT (SELECT count(*) FROM events WHERE job_id = %lld AND "
		 "ts > '%s') + (SELECT count(*) FROM candidates WHERE job_id = "
		 "%lld AND greatest(created_at, updated_at) > '%s') + (SELECT "
		 "count(*) FROM rounds WHERE job_id = %lld AND "
		 "greatest(created_at, finished_at) > '%s') + (SELECT count(*) "
		 "FROM llm_calls WHERE job_id = %lld AND created_at > '%s') + "
		 "(SELECT count(*) FROM models WHERE job_id = %lld AND "
		 "created_at > '%s')",
		 id, at, id, at, id, at, id, at, id, at);
	sql(q, out, sizeof out);
	assert_string_equal(out, "0");
	snprintf(
	    q, sizeof q,
	    "SELECT status || ' ' || lease_owner FROM jobs WHERE id = %lld",
	    id);
	sql(q, out, sizeof out);
	assert_string_equal(out, "running thief");
	/* leave it finished for the tests after */
	snprintf(q, sizeof q,
		 "UPDATE jobs SET status = 'failed' WHERE id = %lld", id);
	sql(q, out, sizeof out);
	store_pool_close(p);
}

/* The rounds of a job, as stored, and its candidates' proxy metrics. */
static void rounds_snapshot(long long id, char *out, size_t len)
{
	char q[512];

	snprintf(q, sizeof q,
		 "SELECT string_agg(round || ':' || front::text || ':' || "
		 "hypervolume || ':' || summary || ':' || finished_at, '|' "
		 "ORDER BY round) || '#' || (SELECT string_agg(id || ':' || "
		 "coalesce(val_top1::text, '-'), ',' ORDER BY id) FROM "
		 "candidates WHERE job_id = %lld) FROM rounds WHERE job_id = "
		 "%lld",
		 id, id);
	sql(q, out, len);
}

/* Runs a job (2 final epochs) until its first final epoch is stored and
 * stops it there, as a kill would; returns its id. */
static long long job_stopped_in_final(struct store_pool *p)
{
	char spec[4096];
	struct bg b = {0};
	long long id;

	spec_final_epochs = 2;
	job_spec(spec, sizeof spec, "evolution", NULL);
	spec_final_epochs = 1;
	id = submit(p, spec);
	b.stop_at_final_epoch = 1;
	bg_start(&b, id, 60);
	bg_join(&b);
	assert_int_equal(b.st, CORE_ERR_CANCELLED);
	assert_int_equal(sql_ll("SELECT count(*) FROM candidate_epochs e JOIN "
				"candidates c ON c.id = e.candidate_id WHERE "
				"c.job_id = %lld AND e.phase = 'final'",
				id),
			 1);
	return id;
}

/* Lets a stopped job be claimed at once. */
static void expire_lease(long long id)
{
	char q[256], out[64];

	snprintf(q, sizeof q,
		 "UPDATE jobs SET lease_expires_at = now() - interval '1 s' "
		 "WHERE id = %lld",
		 id);
	sql(q, out, sizeof out);
}

/* Stopped in the final phase (after a final epoch was stored), then
 * resumed: the finished rounds' fronts and hypervolumes and the proxy
 * metrics are byte for byte what they were; the final metrics are stored
 * apart. */
static void final_phase_resume_keeps_rounds(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], before[4096], after[4096];
	long long id;

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	id = job_stopped_in_final(p);
	rounds_snapshot(id, before, sizeof before);
	expire_lease(id);
	assert_int_equal(run_job(p, id, 60), CORE_OK);
	rounds_snapshot(id, after, sizeof after);
	assert_string_equal(before, after);
	check_succeeded(id, 4);
	assert_int_equal(sql_ll("SELECT count(*) FROM candidates WHERE job_id "
				"= %lld AND status = 'final_done' AND "
				"final_val_top1 IS NOT NULL AND val_top1 IS "
				"NOT NULL",
				id),
			 1);
	store_pool_close(p);
}

/* A model row stored without its candidate's status (the crash window
 * between the two statements before they became one transaction): the
 * resume does not store a second model. */
static void resume_never_stores_a_second_model(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], q[512], out[64];
	long long id;

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	id = job_stopped_in_final(p);
	snprintf(q, sizeof q,
		 "INSERT INTO models (job_id, candidate_id, checkpoint_size) "
		 "SELECT job_id, id, 1 FROM candidates WHERE job_id = %lld AND "
		 "status = 'final_training'",
		 id);
	sql(q, out, sizeof out);
	expire_lease(id);
	assert_int_equal(run_job(p, id, 60), CORE_OK);
	assert_int_equal(sql_ll("SELECT count(*) FROM models WHERE job_id = "
				"%lld",
				id),
			 1);
	check_succeeded(id, 4);
	store_pool_close(p);
}

/* The job's status and error, "status: error". */
static void job_outcome(long long id, char *out, size_t len)
{
	char q[256];

	snprintf(q, sizeof q,
		 "SELECT status || ': ' || coalesce(error, '') FROM jobs "
		 "WHERE id = %lld",
		 id);
	sql(q, out, len);
	printf("# job %lld %s\n", id, out);
}

/* Jobs that cannot train anything end failed with the reason: a missing
 * data set, a teacher of the wrong shape, constraints nothing in the
 * space meets, and a data set whose every candidate fails to train. */
static void job_that_trains_nothing_fails(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], spec[4096], out[1024], dir[128], path[256],
	    teacher[300];
	long long id;
	FILE *f;

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	/* no data set */
	spec_data = "/nonexistent/cifar";
	job_spec(spec, sizeof spec, "evolution", NULL);
	spec_data = NULL;
	id = submit(p, spec);
	assert_int_equal(run_job(p, id, 60), CORE_OK);
	job_outcome(id, out, sizeof out);
	assert_non_null(strstr(out, "failed: dataset.path"));
	/* constraints no member meets */
	spec_constraints = "\"max_macs\":10";
	job_spec(spec, sizeof spec, "evolution", NULL);
	spec_constraints = "";
	id = submit(p, spec);
	assert_int_equal(run_job(p, id, 60), CORE_OK);
	job_outcome(id, out, sizeof out);
	assert_non_null(strstr(out, "failed: constraints"));
	assert_non_null(strstr(out, "max_macs"));
	/* a teacher for another data set (10 rows, not 240) */
	snprintf(path, sizeof path, "%s/teacher.npy", data);
	{
		int32_t labels[10] = {0};
		assert_int_equal(ts_npy_logits_write(path, 10, 10, labels), 0);
	}
	snprintf(teacher, sizeof teacher, ",\"teacher_logits\":\"%s\"", path);
	spec_teacher = teacher;
	job_spec(spec, sizeof spec, "evolution", NULL);
	spec_teacher = "";
	id = submit(p, spec);
	assert_int_equal(run_job(p, id, 60), CORE_OK);
	job_outcome(id, out, sizeof out);
	assert_non_null(strstr(out, "failed: budget.final.teacher_logits"));
	assert_non_null(strstr(out, "(10, 10)"));
	/* files of whole records whose labels are out of range: every
	 * candidate fails to load them */
	snprintf(dir, sizeof dir, "%s/badlabels", data);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(ts_cifar100_write(dir, 32, 8, 10, 3), 0);
	snprintf(path, sizeof path, "%s/train.bin", dir);
	f = fopen(path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, 1, SEEK_SET), 0);
	assert_int_equal(fputc(250, f), 250); /* fine label of record 0 */
	assert_int_equal(fclose(f), 0);
	spec_data = dir;
	job_spec(spec, sizeof spec, "evolution", NULL);
	spec_data = NULL;
	id = submit(p, spec);
	assert_int_equal(run_job(p, id, 60), CORE_OK);
	job_outcome(id, out, sizeof out);
	assert_non_null(strstr(out, "failed: no candidate was trained"));
	assert_int_equal(sql_ll("SELECT count(*) FROM models WHERE job_id = "
				"%lld",
				id),
			 0);
	store_pool_close(p);
}

/* A job whose proxy training worked but whose every final training
 * failed (here: diverged at a learning rate of 10) produced no model: it
 * ends failed, not succeeded. */
static void final_training_that_fails_fails_the_job(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], spec[4096], out[1024];
	long long id;

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	spec_final_lr = 10;
	spec_final_epochs = 2;
	job_spec(spec, sizeof spec, "evolution", NULL);
	spec_final_lr = 0.1;
	spec_final_epochs = 1;
	id = submit(p, spec);
	assert_int_equal(run_job(p, id, 120), CORE_OK);
	job_outcome(id, out, sizeof out);
	assert_non_null(strstr(out, "failed: no model was produced"));
	assert_true(sql_ll("SELECT count(*) FROM candidates WHERE job_id = "
			   "%lld AND status = 'trained'",
			   id) > 0);
	assert_int_equal(sql_ll("SELECT count(*) FROM models WHERE job_id = "
				"%lld",
				id),
			 0);
	store_pool_close(p);
}

/* LLM replies that are not UTF-8 (a 503 page in Latin-1, a 200 body with
 * a Latin-1 byte) are stored with U+FFFD; the job goes on and succeeds. */
static void latin1_llm_replies_are_stored(void **state)
{
	static const char latin1_page[] =
	    "<html><body>Service indisponible \xe0 cette heure, r\xe9"
	    "essayez</body></html>";
	struct store_pool *p = NULL;
	struct fake_llm *f = NULL;
	char err[CORE_ERR_LEN], spec[4096], body[4096];
	long long id;

	/* good_reply with one rationale byte made Latin-1 */
	snprintf(body, sizeof body,
		 "{\"choices\":[{\"index\":0,\"message\":{\"role\":"
		 "\"assistant\",\"content\":\"{\\\"candidates\\\":[{"
		 "\\\"rationale\\\":\\\"l\xe9ger\\\",\\\"arch\\\":null}]}\"},"
		 "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":"
		 "10,\"completion_tokens\":5}}");
	assert_int_equal(fake_llm_start(&f), 0);
	{
		/* the first call gets the bad 200 body, its repair the 503
		 * page (repeated through every retry) */
		struct fake_llm_reply r[2] = {
		    {200, body, 0, NULL},
		    {503, latin1_page, 0,
		     "Content-Type: text/html; charset=iso-8859-1"}};
		assert_int_equal(fake_llm_script(f, r, 2), 0);
	}
	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	job_spec(spec, sizeof spec, "llm", fake_llm_url(f));
	id = submit(p, spec);
	assert_int_equal(run_job(p, id, 60), CORE_OK);
	check_succeeded(id, 4);
	assert_true(fake_llm_request_count(f) >= 2);
	/* the Latin-1 bytes arrive as U+FFFD in what was stored */
	assert_true(sql_ll("SELECT count(*) FROM llm_calls WHERE job_id = %lld "
			   "AND (reply || coalesce(error, '')) LIKE '%%' || "
			   "U&'\\FFFD' || '%%'",
			   id) >= 1);
	assert_true(sql_ll("SELECT count(*) FROM llm_calls WHERE job_id = %lld "
			   "AND reply LIKE '%%Service indisponible ' || "
			   "U&'\\FFFD' || ' cette heure, r' || U&'\\FFFD' || "
			   "'essayez%%'",
			   id) >= 1);
	assert_true(sql_ll("SELECT count(*) FROM llm_calls WHERE job_id = %lld "
			   "AND reply LIKE '%%l' || U&'\\FFFD' || 'ger%%'",
			   id) >= 1);
	store_pool_close(p);
	fake_llm_stop(f);
}

/* A record PostgreSQL refuses for its content (here a CHECK the test adds)
 * fails the job with the reason; it does not stay running to fail the
 * same way on every resume. */
static void refused_record_fails_the_job(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], spec[4096], out[1024];
	long long id;

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	job_spec(spec, sizeof spec, "evolution", NULL);
	id = submit(p, spec);
	sql("ALTER TABLE candidates ADD CONSTRAINT test_tiny CHECK (macs < 10) "
	    "NOT VALID",
	    out, sizeof out);
	assert_int_equal(run_job(p, id, 60), CORE_OK);
	sql("ALTER TABLE candidates DROP CONSTRAINT test_tiny", out,
	    sizeof out);
	job_outcome(id, out, sizeof out);
	assert_non_null(strstr(out, "failed: "));
	assert_non_null(strstr(out, "test_tiny"));
	store_pool_close(p);
}

/* A user cancels a job that `lmnas search` runs: the heartbeat brings the
 * request, the run stops, the job ends cancelled and search exits 3. */
static void cancelled_search_exits_3(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], spec[4096], id_text[32], env_url[300], *log;
	const char *env[] = {env_url, "LMNAS_LEASE_SECONDS=2", NULL};
	const char *args[] = {"search", "--job", id_text, NULL};
	struct ts_proc child;
	long long id;
	int code;

	assert_int_equal(store_pool_open(url, 1, &p, err, sizeof err), CORE_OK);
	job_spec(spec, sizeof spec, "evolution", NULL);
	id = submit(p, spec);
	snprintf(env_url, sizeof env_url, "LMNAS_DATABASE_URL=%s", url);
	snprintf(id_text, sizeof id_text, "%lld", id);
	assert_int_equal(ts_lmnas_spawn(&child, args, env), 0);
	for (int i = 0; i < 1200 && ts_proc_alive(&child); i++) {
		if (sql_ll("SELECT count(*) FROM candidates WHERE job_id = "
			   "%lld",
			   id) > 0)
			break;
		usleep(20000);
	}
	assert_int_equal(queue_job_cancel(p, id, err, sizeof err), CORE_OK);
	code = ts_proc_stop(&child, 0, 30);
	log = ts_proc_log_read(&child);
	print_message("# %s", log);
	assert_int_equal(code, 3);
	assert_non_null(strstr(log, "cancelled"));
	free(log);
	assert_int_equal(sql_ll("SELECT count(*) FROM jobs WHERE id = %lld AND "
				"status = 'cancelled'",
				id),
			 1);
	store_pool_close(p);
}

/* `lmnas ARGS` with the test database; its exit code, its output in
 * *log (free). */
static int lmnas(const char *const *args, const char *extra_env, char **log)
{
	char env_url[300];
	const char *env[] = {env_url, extra_env, NULL};
	struct ts_proc p;
	int code;

	snprintf(env_url, sizeof env_url, "LMNAS_DATABASE_URL=%s", url);
	code = ts_lmnas_run(&p, args, env);
	*log = ts_proc_log_read(&p);
	print_message("# lmnas %s -> %d: %s", args[0], code, *log);
	return code;
}

/* The CLI's defects: worker --once on an empty queue, ids that are not
 * numbers, a job that does not exist, the lease setting's validation, a
 * job refused at submit, a failed job's exit code, and the worker loop
 * running one job. */
static void cli_worker_search_and_job_show(void **state)
{
	char spec[4096], path[128], out[256], *log = NULL;
	long long before;

	/* nothing left waiting from the tests before */
	sql("UPDATE jobs SET status = 'failed' WHERE status IN ('queued', "
	    "'running')",
	    out, sizeof out);
	{
		const char *args[] = {"worker", "--once", NULL};
		assert_int_equal(lmnas(args, NULL, &log), 0);
		assert_non_null(strstr(log, "no job is waiting"));
		free(log);
	}
	{
		const char *args[] = {"search", "--job", "abc", NULL};
		assert_int_equal(lmnas(args, NULL, &log), 2);
		assert_non_null(strstr(log, "--job: 'abc' is not an id"));
		free(log);
	}
	{
		const char *args[] = {"search", NULL};
		assert_int_equal(lmnas(args, NULL, &log), 2);
		assert_non_null(strstr(log, "give a JOB.json or --job ID"));
		free(log);
	}
	{
		const char *args[] = {"job", "show", "999999", NULL};
		assert_int_equal(lmnas(args, NULL, &log), 1);
		assert_non_null(strstr(log, "job 999999 not found"));
		free(log);
	}
	{
		const char *args[] = {"job", "show", "12x", NULL};
		assert_int_equal(lmnas(args, NULL, &log), 2);
		assert_non_null(strstr(log, "'12x' is not an id"));
		free(log);
	}
	{
		const char *args[] = {"jobs", NULL};
		assert_int_not_equal(lmnas(args, "LMNAS_LEASE_SECONDS=1", &log),
				     0);
		assert_non_null(strstr(log, "LMNAS_LEASE_SECONDS"));
		free(log);
	}
	/* a job that cannot train is refused at submit: exit 2, no job */
	spec_data = "/nonexistent/cifar";
	job_spec(spec, sizeof spec, "evolution", NULL);
	spec_data = NULL;
	snprintf(path, sizeof path, "%s/bad-job.json", data);
	{
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		assert_true(fputs(spec, f) >= 0);
		assert_int_equal(fclose(f), 0);
	}
	before = sql_ll("SELECT count(*) + %lld FROM jobs", 0);
	{
		const char *args[] = {"search", path, NULL};
		assert_int_equal(lmnas(args, NULL, &log), 2);
		assert_non_null(strstr(log, "dataset.path"));
		free(log);
	}
	assert_int_equal(sql_ll("SELECT count(*) + %lld FROM jobs", 0), before);
	/* the same job queued anyway (as through the API): running it
	 * fails it, and `search --job` says so with exit code 1 */
	{
		struct store_pool *p = NULL;
		char err[CORE_ERR_LEN], id_text[32];
		const char *args[] = {"search", "--job", id_text, NULL};
		long long id;
		assert_int_equal(store_pool_open(url, 1, &p, err, sizeof err),
				 CORE_OK);
		id = submit(p, spec);
		snprintf(id_text, sizeof id_text, "%lld", id);
		assert_int_equal(lmnas(args, NULL, &log), 1);
		assert_non_null(strstr(log, "failed: dataset.path"));
		free(log);
		/* and the worker loop runs one queued job, then exits */
		id = submit(p, spec);
		{
			const char *wargs[] = {"worker", "--once", NULL};
			assert_int_equal(lmnas(wargs, NULL, &log), 0);
			free(log);
		}
		assert_int_equal(
		    sql_ll("SELECT count(*) FROM jobs WHERE id = %lld AND "
			   "status = 'failed' AND attempts = 1",
			   id),
		    1);
		store_pool_close(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(evolution_job_succeeds),
	    cmocka_unit_test(unreachable_llm_falls_back),
	    cmocka_unit_test(fake_llm_job_stores_calls_and_rationales),
	    cmocka_unit_test(killed_job_resumes_without_repeating_work),
	    cmocka_unit_test(invalid_spec_fails_the_job),
	    cmocka_unit_test(slow_llm_keeps_the_lease),
	    cmocka_unit_test(lost_lease_stops_without_writing),
	    cmocka_unit_test(final_phase_resume_keeps_rounds),
	    cmocka_unit_test(resume_never_stores_a_second_model),
	    cmocka_unit_test(job_that_trains_nothing_fails),
	    cmocka_unit_test(final_training_that_fails_fails_the_job),
	    cmocka_unit_test(latin1_llm_replies_are_stored),
	    cmocka_unit_test(refused_record_fails_the_job),
	    cmocka_unit_test(cli_worker_search_and_job_show),
	    cmocka_unit_test(cancelled_search_exits_3),
	    cmocka_unit_test(cli_search_stores_zip_and_model_get_fetches_it),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
