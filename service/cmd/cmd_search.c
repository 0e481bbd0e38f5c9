/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_search.c - the search commands: `lmnas search JOB.json` (enqueue and
 * run in the foreground with a live progress line), `lmnas search --job ID`
 * (continue a job), `lmnas worker` (run queued jobs until stopped),
 * `lmnas jobs`, `lmnas job show ID`, `lmnas model get ID --out F`. */
#include "cmd.h"
#include "data/data.h"
#include "queue/queue.h"
#include "runner/runner.h"
#include "search/search.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

struct display {
	int tty;
	double last;
};

/* "1h02m", "4m05s", "12s" or "?" (unknown). */
static void format_eta(double s, char *out, size_t len)
{
	long t = (long)(s + 0.5);

	if (s < 0)
		snprintf(out, len, "?");
	else if (t >= 3600)
		snprintf(out, len, "%ldh%02ldm", t / 3600, t % 3600 / 60);
	else if (t >= 60)
		snprintf(out, len, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(out, len, "%lds", t);
}

/* The live line on a terminal. A log line (stderr, the same terminal)
 * written while it is shown would be glued onto it: the log hook clears it
 * before the log line and draws it again after. */
static struct {
	pthread_mutex_t lock;
	char text[512];
	int shown;
	atomic_int hooked; /* set without the lock: the log lock comes first */
} live = {PTHREAD_MUTEX_INITIALIZER, "", 0, 0};

static void live_log_hook(int after, void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&live.lock);
	if (live.shown) {
		fputs(after ? live.text : "\r\033[K", stdout);
		fflush(stdout);
	}
	pthread_mutex_unlock(&live.lock);
}

/* Ends the live line (the caller has printed its newline) and prints the
 * closing line about the LLM, from what the job stored. */
static void live_end_llm_summary(struct store_pool *pool, long long id)
{
	char err[CORE_ERR_LEN], line[1024], *job_text = NULL,
					    *calls_text = NULL;
	json_t *job = NULL, *calls = NULL;

	core_log_set_hook(NULL, NULL);
	atomic_store(&live.hooked, 0);
	pthread_mutex_lock(&live.lock);
	live.shown = 0;
	pthread_mutex_unlock(&live.lock);
	if (store_job_json(pool, id, &job_text, err, sizeof err) ||
	    store_llm_call_counts(pool, id, &calls_text, err, sizeof err))
		goto out;
	job = json_loads(job_text, 0, NULL);
	calls = json_loads(calls_text, 0, NULL);
	if (job && calls &&
	    search_llm_summary(job, calls, line, sizeof line) == CORE_OK &&
	    line[0])
		printf("%s\n", line);
out:
	json_decref(job);
	json_decref(calls);
	core_free(job_text);
	core_free(calls_text);
}

static void show_progress(const struct runner_progress *p, void *ctx)
{
	struct display *d = ctx;
	double now = core_now_seconds();
	char eta[32];

	if (now - d->last < (d->tty ? 0.5 : 10.0))
		return;
	d->last = now;
	format_eta(p->eta_s, eta, sizeof eta);
	if (d->tty) {
		if (!atomic_exchange(&live.hooked, 1) && isatty(STDERR_FILENO))
			core_log_set_hook(live_log_hook, NULL);
		pthread_mutex_lock(&live.lock);
		snprintf(live.text, sizeof live.text,
			 "\r\033[Kjob %lld  %s  round %d/%d  candidate %d/%d "
			 "(#%lld)  epoch %d/%d  loss %.3f  evaluated %d  front "
			 "%d  HV %.4f  ETA %s",
			 p->job_id, p->phase, p->round + 1, p->rounds,
			 p->candidate, p->candidates, p->candidate_id, p->epoch,
			 p->epochs, p->loss, p->evaluated, p->front_size,
			 p->hypervolume, eta);
		fputs(live.text, stdout);
		live.shown = 1;
		pthread_mutex_unlock(&live.lock);
	} else {
		printf("{\"event\":\"progress\",\"job\":%lld,\"phase\":\"%s\","
		       "\"round\":%d,\"rounds\":%d,\"candidate_id\":%lld,"
		       "\"epoch\":%d,\"epochs\":%d,\"evaluated\":%d,"
		       "\"front\":%d,\"hypervolume\":%.6f,\"eta_s\":%.0f}\n",
		       p->job_id, p->phase, p->round + 1, p->rounds,
		       p->candidate_id, p->epoch, p->epochs, p->evaluated,
		       p->front_size, p->hypervolume, p->eta_s);
	}
	fflush(stdout);
}

static int open_pool(const struct config *cfg, struct store_pool **pool)
{
	char err[CORE_ERR_LEN];
	struct store_schema_state s;

	/* the job's statements, the lease heartbeat, and one spare */
	err[0] = '\0';
	if (store_pool_open(cfg->database_url, 3, pool, err, sizeof err) ||
	    store_schema_check(*pool, &s, err, sizeof err)) {
		fprintf(stderr, "lmnas: database: %s\n", err);
		store_pool_close(*pool);
		*pool = NULL;
		return -1;
	}
	if (s.pending || s.unknown) {
		fprintf(stderr,
			"lmnas: the database schema is at version %d, "
			"this binary at %d: run `lmnas migrate`%s\n",
			s.db_version, s.binary_version,
			s.unknown ? " with a newer lmnas" : "");
		store_pool_close(*pool);
		*pool = NULL;
		return -1;
	}
	return 0;
}

/* A job or model id operand: a whole number > 0, else a message naming
 * what (flag or operand) was wrong. Returns 0 or -1. */
static int parse_id(const char *cmd, const char *what, const char *text,
		    long long *out)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || end == text || *end != '\0' || v <= 0) {
		fprintf(stderr,
			"lmnas %s: %s: '%s' is not an id (a whole "
			"number > 0)\n",
			cmd, what, text);
		return -1;
	}
	*out = v;
	return 0;
}

static void worker_id(char *out, size_t len)
{
	char host[128] = "host";

	gethostname(host, sizeof host - 1);
	snprintf(out, len, "%s:%ld", host, (long)getpid());
}

/* A fraction as a percentage, "-" when null. */
static void pct(const json_t *v, char *out, size_t len)
{
	if (json_is_number(v))
		snprintf(out, len, "%.2f", 100 * json_number_value(v));
	else
		snprintf(out, len, "-");
}

/* Prints job id as a table; -1 (after saying why) when it cannot. */
static int print_job_table(struct store_pool *pool, long long id)
{
	char err[CORE_ERR_LEN] = "", *text = NULL;
	struct store_job_size size;
	json_t *doc, *c, *m;
	json_error_t jerr;
	size_t i;

	if (store_job_json(pool, id, &text, err, sizeof err)) {
		fprintf(stderr, "lmnas: %s\n", err);
		return -1;
	}
	doc = json_loads(text, 0, &jerr);
	core_free(text);
	if (!doc) {
		fprintf(stderr, "lmnas: job %lld: unreadable JSON\n", id);
		return -1;
	}
	printf("job %lld %s: %s\n", id,
	       json_string_value(
		   json_object_get(json_object_get(doc, "job"), "name")),
	       json_string_value(
		   json_object_get(json_object_get(doc, "job"), "status")));
	/* val%: proxy training; final% and test%: the final training */
	printf("%6s %5s %-9s %-14s %8s %8s %8s %12s %10s %10s\n", "id", "round",
	       "source", "status", "val%", "final%", "test%", "MACs", "SRAM B",
	       "flash B");
	json_array_foreach(json_object_get(doc, "candidates"), i, c)
	{
		const char *status =
		    json_string_value(json_object_get(c, "status"));
		if (strcmp(status, "rejected") == 0)
			continue;
		char val[16], fin[16], test[16];
		pct(json_object_get(c, "val_top1"), val, sizeof val);
		pct(json_object_get(c, "final_val_top1"), fin, sizeof fin);
		pct(json_object_get(c, "test_top1"), test, sizeof test);
		printf(
		    "%6lld %5lld %-9s %-14s %8s %8s %8s %12lld %10lld %10lld\n",
		    (long long)json_integer_value(json_object_get(c, "id")),
		    (long long)json_integer_value(json_object_get(c, "round")) +
			1,
		    json_string_value(json_object_get(c, "source")), status,
		    val, fin, test,
		    (long long)json_integer_value(json_object_get(c, "macs")),
		    (long long)json_integer_value(
			json_object_get(c, "sram_bytes")),
		    (long long)json_integer_value(
			json_object_get(c, "flash_bytes")));
	}
	json_array_foreach(json_object_get(doc, "models"), i, m)
	{
		long long mid = json_integer_value(json_object_get(m, "id"));
		printf("model %lld (candidate %lld): %s\n", mid,
		       (long long)json_integer_value(
			   json_object_get(m, "candidate_id")),
		       json_is_null(json_object_get(m, "zip_size"))
			   ? "no STM32 project"
			   : "STM32 project zip");
		if (!json_is_null(json_object_get(m, "zip_size")))
			printf("  lmnas model get %lld --out model-%lld.zip\n",
			       mid, mid);
	}
	if (json_is_string(
		json_object_get(json_object_get(doc, "job"), "error")))
		printf("error: %s\n",
		       json_string_value(json_object_get(
			   json_object_get(doc, "job"), "error")));
	json_decref(doc);
	if (store_job_size(pool, id, &size, err, sizeof err) == CORE_OK)
		printf("size in the database: %lld bytes (checkpoints %lld "
		       "bytes in %lld, zips %lld bytes, rows %lld bytes)\n",
		       size.total_bytes, size.checkpoint_bytes,
		       size.checkpoints, size.zip_bytes, size.row_bytes);
	return 0;
}

/* Exit codes of `lmnas search` (README "Search jobs"). */
enum {
	SEARCH_EXIT_OK = 0,	/* the job succeeded */
	SEARCH_EXIT_FAILED = 1, /* the job failed, or lmnas could not run it */
	SEARCH_EXIT_USAGE = 2,	/* bad arguments or job file */
	SEARCH_EXIT_CANCELLED = 3, /* the job was cancelled */
	SEARCH_EXIT_STOPPED = 130  /* SIGINT/SIGTERM: it resumes later */
};

static void runner_config_fill(struct runner_config *rc,
			       const struct config *cfg, const char *worker,
			       struct display *d)
{
	memset(rc, 0, sizeof *rc);
	rc->worker = worker;
	rc->lease_s = cfg->lease_seconds;
	rc->stop = &stop_requested;
	rc->progress = show_progress;
	rc->ctx = d;
}

/* Runs a claimed job in the foreground; the exit code says how it ended. */
static int run_claim(const struct config *cfg, struct store_pool *pool,
		     struct queue_claim *claim, const char *worker)
{
	struct display d = {isatty(STDOUT_FILENO), 0};
	struct runner_config rc;
	char err[CORE_ERR_LEN] = "", error[1024] = "";
	enum queue_job_status status = QUEUE_JOB_FAILED;
	enum core_status st;

	runner_config_fill(&rc, cfg, worker, &d);
	st = runner_job_run(pool, claim, &rc, err, sizeof err);
	if (d.tty)
		printf("\n");
	live_end_llm_summary(pool, claim->id);
	if (st) {
		fprintf(stderr, "lmnas: %s\n", err);
		return st == CORE_ERR_CANCELLED ? SEARCH_EXIT_STOPPED
						: SEARCH_EXIT_FAILED;
	}
	print_job_table(pool, claim->id);
	if (queue_job_get(pool, claim->id, &status, error, sizeof error, err,
			  sizeof err)) {
		fprintf(stderr, "lmnas: %s\n", err);
		return SEARCH_EXIT_FAILED;
	}
	if (status == QUEUE_JOB_SUCCEEDED)
		return SEARCH_EXIT_OK;
	fprintf(stderr, "lmnas: job %lld %s%s%s\n", claim->id,
		queue_job_status_name(status), error[0] ? ": " : "", error);
	return status == QUEUE_JOB_CANCELLED ? SEARCH_EXIT_CANCELLED
					     : SEARCH_EXIT_FAILED;
}

int cmd_search(const struct config *cfg, int argc, char **argv)
{
	const char *resume = NULL, *proposer = NULL;
	char err[CORE_ERR_LEN] = "", worker[192], why[CORE_ERR_LEN] = "";
	char *text = NULL, *canon = NULL;
	size_t len = 0;
	struct search_spec spec;
	struct core_field_errors fe;
	struct store_pool *pool = NULL;
	struct queue_claim claim;
	long long id = 0;
	int rc = 1;
	const char *job_file = NULL;
	const struct cmd_arg args[] = {
	    {"--job", CMD_ARG_STRING, &resume, 0, 0,
	     "continue job ID instead of submitting a new one"},
	    {"--proposer", CMD_ARG_STRING, &proposer, 0, 0,
	     "override the spec's proposer: llm, evolution or random"},
	    {NULL, 0, NULL, 0, 0, NULL},
	};

	/* the job file is the one operand */
	if (argc >= 2 && argv[1][0] != '-') {
		job_file = argv[1];
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	if (cmd_args_parse(args, argc, argv, err, sizeof err) ||
	    (!job_file == !resume)) {
		fprintf(stderr, "lmnas search: %s\n",
			*err ? err : "give a JOB.json or --job ID");
		cmd_args_usage(stderr, "lmnas search JOB.json | --job ID",
			       args);
		return 2;
	}
	memset(&claim, 0, sizeof claim);
	if (job_file) {
		json_t *j;
		core_field_errors_clear(&fe);
		if (core_file_read(job_file, 1 << 20, &text, &len, err,
				   sizeof err)) {
			fprintf(stderr, "lmnas search: %s\n", err);
			return 2;
		}
		if (search_spec_parse(text, len, &spec, &fe)) {
			for (int i = 0; i < fe.n; i++)
				fprintf(stderr, "lmnas search: %s: %s: %s\n",
					job_file, fe.e[i].field,
					fe.e[i].reason);
			goto out;
		}
		if (proposer &&
		    search_proposer_kind_parse(proposer, &spec.proposer)) {
			fprintf(stderr,
				"lmnas search: --proposer: '%s' is not "
				"llm, evolution or random\n",
				proposer);
			goto out;
		}
		/* what would make the job train nothing is refused now */
		if (runner_spec_check(&spec, why, sizeof why)) {
			fprintf(stderr, "lmnas search: %s: %s\n", job_file,
				why);
			rc = SEARCH_EXIT_USAGE;
			goto out;
		}
		j = search_spec_to_json(&spec);
		canon = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (!canon) {
			fprintf(stderr, "lmnas search: out of memory\n");
			goto out;
		}
	}
	if (resume && parse_id("search", "--job", resume, &id)) {
		rc = SEARCH_EXIT_USAGE;
		goto out;
	}
	if (open_pool(cfg, &pool))
		goto out;
	worker_id(worker, sizeof worker);
	if (job_file) {
		if (queue_job_enqueue(pool, spec.name, canon, &id, err,
				      sizeof err)) {
			fprintf(stderr, "lmnas search: %s\n", err);
			goto out;
		}
		printf("job %lld submitted (%s)\n", id, spec.name);
	}
	if (queue_job_claim_id(pool, id, worker, cfg->lease_seconds, &claim,
			       err, sizeof err)) {
		fprintf(stderr, "lmnas search: %s\n", err);
		goto out;
	}
	install_signals();
	rc = run_claim(cfg, pool, &claim, worker);
	if (rc == SEARCH_EXIT_STOPPED)
		fprintf(stderr,
			"lmnas search: stopped; continue with `lmnas "
			"search --job %lld` once its lease expires (%d s)\n",
			id, cfg->lease_seconds);
out:
	queue_claim_free(&claim);
	store_pool_close(pool);
	core_free(text);
	free(canon);
	return rc;
}

static void worker_job_done(long long id, enum core_status st, const char *err,
			    void *ctx)
{
	struct display *d = ctx;

	if (d->tty)
		printf("\n");
	if (st)
		LOG_WARN("job %lld: %s", id, err);
}

/* --concurrency N (N > 1): N worker threads, each with its own pool,
 * until SIGTERM/SIGINT; every running job is handed back before exit. */
static int run_workers(const struct config *cfg)
{
	struct runner_workers_config c;
	struct runner_workers *w = NULL;
	char err[CORE_ERR_LEN] = "", name[192];
	sigset_t none;
	int jobs;
	static struct cmd_webhooks hooks;
	struct store_pool *hook_pool = NULL;

	if (cmd_webhooks_policy(cfg, &hooks, "worker"))
		return 1;
	worker_id(name, sizeof name);
	install_signals();
	/* blocked in the worker threads (they inherit the mask), so the
	 * signal wakes the sigsuspend below, which unblocks it while it
	 * waits */
	sigemptyset(&none);
	sigaddset(&none, SIGINT);
	sigaddset(&none, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &none, NULL);
	memset(&c, 0, sizeof c);
	c.url = cfg->database_url;
	c.name = name;
	c.count = cfg->concurrency;
	c.lease_s = cfg->lease_seconds;
	c.max_threads = config_worker_threads(cfg, cfg->concurrency);
	c.retention_s = (double)cfg->artifact_retention_s;
	c.stop = &stop_requested;
	if (runner_workers_start(&c, &w, err, sizeof err)) {
		fprintf(stderr, "lmnas worker: %s\n", err);
		return 1;
	}
	LOG_INFO("%d workers (%d training threads each) waiting for jobs",
		 cfg->concurrency, c.max_threads);
	/* the webhook deliverer gets a connection of its own */
	if (hooks.policy.nhosts > 0 &&
	    (store_pool_open(cfg->database_url, 1, &hook_pool, err,
			     sizeof err) ||
	     cmd_webhooks_start(&hooks, hook_pool, "worker")))
		LOG_ERROR("webhook deliveries are not sent by this worker: %s",
			  err[0] ? err : "see above");
	sigemptyset(&none);
	while (!stop_requested)
		sigsuspend(&none);
	LOG_INFO("stopping: running jobs are handed back");
	cmd_webhooks_stop(&hooks);
	store_pool_close(hook_pool);
	jobs = runner_workers_join(w);
	LOG_INFO("stopped after %d job(s)", jobs);
	return 0;
}

int cmd_worker(const struct config *cfg, int argc, char **argv)
{
	struct store_pool *pool = NULL;
	struct display d = {isatty(STDOUT_FILENO), 0};
	struct runner_worker_config wc;
	char err[CORE_ERR_LEN] = "", worker[192];
	int once = 0, jobs = 0;
	enum core_status st;
	static struct cmd_webhooks hooks;
	const struct cmd_arg args[] = {
	    {"--once", CMD_ARG_FLAG, &once, 0, 0,
	     "run at most one job, then exit (at once when none is waiting)"},
	    {NULL, 0, NULL, 0, 0, NULL},
	};

	if (cmd_args_parse(args, argc, argv, err, sizeof err)) {
		fprintf(stderr, "lmnas worker: %s\n", err);
		return 2;
	}
	if (once && cfg->concurrency > 1) {
		fprintf(stderr, "lmnas worker: --once runs one job: it takes "
				"no --concurrency above 1\n");
		return 2;
	}
	if (cfg->concurrency > 1)
		return run_workers(cfg);
	if (open_pool(cfg, &pool))
		return 1;
	worker_id(worker, sizeof worker);
	install_signals();
	memset(&wc, 0, sizeof wc);
	runner_config_fill(&wc.job, cfg, worker, &d);
	wc.job.max_threads = config_worker_threads(cfg, 1);
	/* a third connection for the cancel listener when the pool has it */
	wc.job.listen_cancel = cfg->db_pool_size >= 3;
	wc.once = once;
	wc.idle_s = 2.0;
	wc.job_done = worker_job_done;
	wc.retention_s = (double)cfg->artifact_retention_s;
	if (cmd_webhooks_policy(cfg, &hooks, "worker") ||
	    cmd_webhooks_start(&hooks, pool, "worker")) {
		store_pool_close(pool);
		return 1;
	}
	LOG_INFO("worker %s waiting for jobs", worker);
	st = runner_worker_run(pool, &wc, &jobs, err, sizeof err);
	cmd_webhooks_stop(&hooks);
	if (st == CORE_ERR_NOT_FOUND)
		printf("lmnas worker: no job is waiting\n");
	store_pool_close(pool);
	return st == CORE_OK || st == CORE_ERR_NOT_FOUND ? 0 : 1;
}

int cmd_jobs(const struct config *cfg, int argc, char **argv)
{
	struct store_pool *pool = NULL;
	char err[CORE_ERR_LEN] = "", *text = NULL;
	json_t *arr, *j;
	json_error_t jerr;
	size_t i;

	if (open_pool(cfg, &pool))
		return 1;
	if (store_jobs_json(pool, 50, &text, err, sizeof err)) {
		fprintf(stderr, "lmnas jobs: %s\n", err);
		store_pool_close(pool);
		return 1;
	}
	arr = json_loads(text, 0, &jerr);
	printf("%6s %-24s %-10s %10s %6s\n", "id", "name", "status",
	       "candidates", "models");
	json_array_foreach(arr, i, j)
	{
		printf("%6lld %-24.24s %-10s %10lld %6lld\n",
		       (long long)json_integer_value(json_object_get(j, "id")),
		       json_string_value(json_object_get(j, "name")),
		       json_string_value(json_object_get(j, "status")),
		       (long long)json_integer_value(
			   json_object_get(j, "candidates")),
		       (long long)json_integer_value(
			   json_object_get(j, "models")));
	}
	json_decref(arr);
	core_free(text);
	store_pool_close(pool);
	return 0;
}

int cmd_job(const struct config *cfg, int argc, char **argv)
{
	struct store_pool *pool = NULL;
	char err[CORE_ERR_LEN] = "", *text = NULL;
	long long id = 0;
	int json = argc > 3 && strcmp(argv[3], "--json") == 0, rc = 0;

	if (argc < 3 || argc > 4 || strcmp(argv[1], "show") != 0 ||
	    (argc == 4 && !json)) {
		fprintf(stderr, "usage: lmnas job show ID [--json]\n");
		return 2;
	}
	if (parse_id("job", "ID", argv[2], &id))
		return 2;
	if (open_pool(cfg, &pool))
		return 1;
	if (json) {
		if (store_job_json(pool, id, &text, err, sizeof err) ||
		    queue_job_size_append(pool, id, &text, err, sizeof err)) {
			fprintf(stderr, "lmnas job: %s\n", err);
			core_free(text);
			store_pool_close(pool);
			return 1;
		}
		printf("%s\n", text);
		core_free(text);
	} else if (print_job_table(pool, id)) {
		rc = 1;
	}
	store_pool_close(pool);
	return rc;
}

int cmd_model(const struct config *cfg, int argc, char **argv)
{
	struct store_pool *pool = NULL;
	char err[CORE_ERR_LEN] = "";
	const char *out = NULL;
	void *zip = NULL;
	size_t len = 0;
	long long id = 0;
	int rc = 1;

	if (argc == 5 && strcmp(argv[1], "get") == 0 &&
	    strcmp(argv[3], "--out") == 0)
		out = argv[4];
	if (!out) {
		fprintf(stderr, "usage: lmnas model get ID --out model.zip\n");
		return 2;
	}
	if (parse_id("model", "ID", argv[2], &id))
		return 2;
	if (open_pool(cfg, &pool))
		return 1;
	if (store_model_zip(pool, id, &zip, &len, err, sizeof err) ||
	    core_file_write_atomic(out, zip, len, err, sizeof err)) {
		fprintf(stderr, "lmnas model: %s\n", err);
		goto done;
	}
	printf("%s: %zu bytes\n", out, len);
	rc = 0;
done:
	core_free(zip);
	store_pool_close(pool);
	return rc;
}
