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

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct ts_pg pg;
static char url[256], data[64];

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
			 "\"candidates_per_round\":2,\"timeout_s\":2,"
			 "\"repair_attempts\":1}",
			 base_url);
	else
		snprintf(llm, sizeof llm,
			 ",\"llm\":{\"candidates_per_round\":2}");
	snprintf(out, len,
		 "{\"name\":\"e2e\",\"dataset\":{\"kind\":\"cifar100\","
		 "\"path\":\"%s\"},\"space\":%s,\"proposer\":\"%s\"%s,"
		 "\"budget\":{\"rounds\":2,\"max_candidates\":4,"
		 "\"proxy\":{\"epochs\":1,\"train_fraction\":1,\"batch\":16,"
		 "\"lr\":0.1},\"final\":{\"top_k\":1,\"epochs\":1,\"batch\":16,"
		 "\"lr\":0.1}},\"export\":{\"target\":\"qemu\","
		 "\"calibration_images\":32,\"calibration\":\"percentile\","
		 "\"percentile\":99.5,\"eval_images\":20},\"threads\":2,"
		 "\"seed\":7}",
		 data, space, proposer, llm);
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
	struct runner_config rc = {"test-worker", lease_s, NULL,
				   record_progress, NULL};
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

static void killed_job_resumes_without_repeating_work(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], spec[4096], q[512], out[64];
	long long id;
	pid_t child;
	int status;

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	job_spec(spec, sizeof spec, "evolution", NULL);
	/* a longer first phase so that the kill lands mid-job */
	id = submit(p, spec);
	store_pool_close(p);
	p = NULL;
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct store_pool *cp = NULL;
		if (store_pool_open(url, 1, &cp, err, sizeof err))
			_exit(3);
		run_job(cp, id, 2);
		_exit(0);
	}
	/* kill it once the first candidate has been trained */
	for (int i = 0; i < 600; i++) {
		snprintf(q, sizeof q,
			 "SELECT count(*) FROM candidates WHERE job_id = %lld "
			 "AND status = 'trained'",
			 id);
		sql(q, out, sizeof out);
		if (atoi(out) >= 1)
			break;
		usleep(50000);
	}
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(evolution_job_succeeds),
	    cmocka_unit_test(unreachable_llm_falls_back),
	    cmocka_unit_test(fake_llm_job_stores_calls_and_rationales),
	    cmocka_unit_test(killed_job_resumes_without_repeating_work),
	    cmocka_unit_test(invalid_spec_fails_the_job),
	    cmocka_unit_test(cli_search_stores_zip_and_model_get_fetches_it),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
