/* SPDX-License-Identifier: Apache-2.0 */
/* test_distribution.c - the service spread over processes as it would be
 * over machines: one `lmnas serve` (API only) and two `lmnas worker`
 * processes on one PostgreSQL. The worker running a job is killed (-9)
 * in the middle of an epoch; the other takes the job over once the lease
 * expires and finishes it: every candidate trained exactly once, no
 * metric lost, and the job's Server-Sent Events stream, followed through
 * `serve` from submission to end, shows the takeover and holds every
 * event of the job exactly once, in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/testsupport.h"
#include "../support/ts_cifar.h"
#include "../support/ts_sse.h"
#include "auth/auth.h"
#include "core/core.h"
#include "queue/queue.h"
#include "store/store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_EVENTS 512

static struct ts_pg pg;
static char url[256], env_url[300], data[64], token[AUTH_TOKEN_MAX];

static const char *space =
    "{\"format\":\"lmnas-space/1\",\"stages\":{\"min\":2,\"max\":2},"
    "\"resolution\":[32],\"block\":[\"dwsep\",\"mbconv\"],"
    "\"out\":[8,16],\"layers\":[1],\"kernel\":[3],\"stride\":[2],"
    "\"expand\":[2],\"se\":[0,0.25],\"skip\":[\"none\",\"residual\"],"
    "\"act\":[\"relu6\",\"swish\"],\"dropout\":[0]}";

static int group_setup(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN];
	long long id;
	int rc;

	(void)state;
	snprintf(data, sizeof data, "/tmp/lmnas-dist-XXXXXX");
	/* epochs of a second or two (32x32, 2000 images, one thread): long
	 * enough to be killed inside one */
	if (!mkdtemp(data) || ts_cifar100_write(data, 2000, 40, 10, 5))
		return -1;
	if (ts_pg_start(&pg))
		return -1;
	ts_pg_url(&pg, NULL, url, sizeof url);
	snprintf(env_url, sizeof env_url, "LMNAS_DATABASE_URL=%s", url);
	if (store_pool_open(url, 1, &p, err, sizeof err))
		return -1;
	rc = store_migrate(p, NULL, err, sizeof err) ||
		     auth_token_create(p, "ops", 1, 0, token, &id, err,
				       sizeof err)
		 ? -1
		 : 0;
	if (rc)
		fprintf(stderr, "setup: %s\n", err);
	store_pool_close(p);
	return rc;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	ts_pg_destroy(&pg);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", data);
	return system(cmd) == 0 ? 0 : -1;
}

static long long sql_ll(const char *fmt, long long id)
{
	char q[2048], out[256];

	snprintf(q, sizeof q, fmt, id, id);
	assert_int_equal(ts_pg_exec(&pg, NULL, q, out, sizeof out), 0);
	return atoll(out);
}

/* Evolution, one round of 2 candidates of 2 proxy epochs, the best
 * trained 1 more epoch and exported. */
static long long submit(void)
{
	struct store_pool *p = NULL;
	char spec[4096], err[CORE_ERR_LEN];
	long long id = 0;

	snprintf(spec, sizeof spec,
		 "{\"name\":\"dist\",\"dataset\":{\"kind\":\"cifar100\","
		 "\"path\":\"%s\"},\"space\":%s,\"proposer\":\"evolution\","
		 "\"llm\":{\"candidates_per_round\":2},"
		 "\"budget\":{\"rounds\":1,\"max_candidates\":2,"
		 "\"proxy\":{\"epochs\":2,\"train_fraction\":1,\"batch\":16,"
		 "\"lr\":0.1},\"final\":{\"top_k\":1,\"epochs\":1,"
		 "\"batch\":16,\"lr\":0.1}},\"export\":{\"target\":\"qemu\","
		 "\"calibration_images\":32,\"calibration\":\"percentile\","
		 "\"percentile\":99.5,\"eval_images\":20},\"threads\":1,"
		 "\"seed\":11}",
		 data, space);
	assert_int_equal(store_pool_open(url, 1, &p, err, sizeof err), CORE_OK);
	assert_int_equal(
	    queue_job_enqueue(p, "dist", spec, &id, err, sizeof err), CORE_OK);
	store_pool_close(p);
	return id;
}

/* Reads the stream's events into ids/kinds/messages until timeout_s
 * passes without one, or the query (formatted with the job id) answers
 * non-zero; the stream keeps its place. */
struct followed {
	struct ts_sse c;
	long long ids[MAX_EVENTS];
	char kinds[MAX_EVENTS][32];
	char data[MAX_EVENTS][512];
	int n;
};

static int follow_until(struct followed *f, long long job, const char *until,
			double timeout_s)
{
	struct ts_sse_event ev;
	double t0 = core_now_seconds();

	while (core_now_seconds() - t0 < timeout_s) {
		int r = ts_sse_next(&f->c, &ev, 0.2, NULL);

		if (r < 0 || f->c.closed)
			return f->c.closed;
		if (r == 1 && f->n < MAX_EVENTS) {
			f->ids[f->n] = ev.id;
			core_utf8_copy(f->kinds[f->n], sizeof f->kinds[0],
				       ev.kind);
			core_utf8_copy(f->data[f->n], sizeof f->data[0],
				       ev.data);
			f->n++;
		}
		if (until && sql_ll(until, job))
			return 1;
	}
	return 0;
}

/* The index of the first event after `from` of kind whose data holds
 * text; -1 when none. */
static int find_event(const struct followed *f, int from, const char *kind,
		      const char *text)
{
	for (int i = from; i < f->n; i++)
		if (strcmp(f->kinds[i], kind) == 0 &&
		    (!text || strstr(f->data[i], text)))
			return i;
	return -1;
}

static void killed_worker_job_taken_over_and_stream_shows_it(void **state)
{
	const char *senv[] = {env_url, NULL};
	const char *wenv[] = {env_url, "LMNAS_LEASE_SECONDS=3",
			      "LMNAS_WORKER_THREADS=1", NULL};
	const char *wargs[] = {"worker", NULL};
	struct ts_proc srv = {0}, w[2] = {{0}, {0}};
	struct followed *f = calloc(1, sizeof *f);
	char target[128], owner_a[64], owner_b[64], q[256], ids[4096];
	long long job;
	int victim = -1, survivor, start_a, start_b, k;

	(void)state;
	assert_non_null(f);
	assert_int_equal(ts_lmnas_serve(&srv, senv), 0);
	job = submit();
	/* followed from before any worker runs it */
	snprintf(target, sizeof target, "/v1/jobs/%lld/events", job);
	assert_int_equal(ts_sse_open(&f->c, srv.port, target, token, 0), 0);
	assert_int_equal(ts_sse_headers(&f->c, 10), 0);
	assert_int_equal(f->c.status, 200);
	assert_string_equal(f->c.ctype, "text/event-stream");
	for (int i = 0; i < 2; i++)
		assert_int_equal(ts_lmnas_spawn(&w[i], wargs, wenv), 0);

	/* mid-epoch: a candidate's first proxy epoch stored, the second
	 * under way */
	assert_true(follow_until(f, job,
				 "SELECT count(*) FROM candidates WHERE "
				 "job_id = %lld AND status = 'training' AND "
				 "epochs_done = 1 AND %lld > 0",
				 120));
	for (int i = 0; i < 2; i++) {
		snprintf(q, sizeof q,
			 "SELECT count(*) FROM jobs WHERE id = %%lld AND "
			 "lease_owner LIKE '%%%%:%ld' AND %%lld > 0",
			 (long)w[i].pid);
		if (sql_ll(q, job) == 1)
			victim = i;
	}
	if (victim < 0)
		fail_msg("no worker holds job %lld", job);
	survivor = victim == 0 ? 1 : 0;
	snprintf(owner_a, sizeof owner_a, ":%ld,", (long)w[victim].pid);
	snprintf(owner_b, sizeof owner_b, ":%ld,", (long)w[survivor].pid);
	ts_proc_kill(&w[victim]); /* kill -9 */

	/* the survivor claims it once the 3 s lease has run out, and ends
	 * it; the stream ends with the job */
	assert_true(follow_until(f, job, NULL, 240));
	assert_true(f->c.closed);
	ts_sse_close(&f->c);
	assert_int_equal(sql_ll("SELECT count(*) FROM jobs WHERE id = %lld AND "
				"status = 'succeeded' AND attempts = 2 AND "
				"%lld > 0",
				job),
			 1);
	assert_true(ts_proc_alive(&w[survivor]));

	/* the takeover as the stream showed it: the start by the killed
	 * worker, then the start by the other one (attempt 2), then the
	 * interrupted candidate resumed from its checkpoint */
	start_a = find_event(f, 0, "start", "attempt 1");
	start_b = find_event(f, 0, "start", "attempt 2");
	assert_true(start_a >= 0 && start_b > start_a);
	assert_non_null(strstr(f->data[start_a], owner_a));
	assert_non_null(strstr(f->data[start_b], owner_b));
	k = find_event(f, start_b, "resume", "continues proxy training from");
	assert_true(k > start_b);
	assert_null(strstr(f->data[k], "from epoch 0\""));
	assert_true(find_event(f, k, "end", "succeeded") > k);

	/* every event of the job in the stream, once each and in order */
	snprintf(q, sizeof q,
		 "SELECT string_agg(id::text, ',' ORDER BY id) FROM events "
		 "WHERE job_id = %lld",
		 job);
	assert_int_equal(ts_pg_exec(&pg, NULL, q, ids, sizeof ids), 0);
	k = 0;
	for (char *p = ids; *p; k++) {
		assert_true(k < f->n);
		assert_int_equal(f->ids[k], strtoll(p, &p, 10));
		if (*p == ',')
			p++;
	}
	assert_int_equal(k, f->n);

	/* every candidate trained exactly once, no metric lost: 2
	 * candidates, distinct networks, 2 proxy epochs each with their
	 * metrics, the final candidate's epoch, the model */
	assert_int_equal(sql_ll("SELECT count(*) FROM candidates WHERE job_id "
				"= %lld AND status <> 'rejected' AND %lld > 0",
				job),
			 2);
	assert_int_equal(sql_ll("SELECT count(DISTINCT arch_hash) FROM "
				"candidates WHERE job_id = %lld AND status <> "
				"'rejected' AND %lld > 0",
				job),
			 2);
	assert_int_equal(
	    sql_ll("SELECT count(*) FROM candidates c WHERE job_id = %lld AND "
		   "status <> 'rejected' AND c.val_top1 IS NOT NULL AND "
		   "(SELECT count(*) FROM candidate_epochs e WHERE "
		   "e.candidate_id = c.id AND e.phase = 'proxy' AND e.epoch "
		   "BETWEEN 1 AND 2 AND e.val_top1 IS NOT NULL AND "
		   "e.train_loss IS NOT NULL) = 2 AND %lld > 0",
		   job),
	    2);
	assert_int_equal(
	    sql_ll("SELECT count(*) FROM candidate_epochs e JOIN candidates c "
		   "ON c.id = e.candidate_id WHERE c.job_id = %lld AND "
		   "e.phase = 'final' AND e.val_top1 IS NOT NULL AND %lld > 0",
		   job),
	    1);
	assert_int_equal(sql_ll("SELECT count(*) FROM models WHERE job_id = "
				"%lld AND %lld > 0",
				job),
			 1);
	print_message("# %d events followed through serve; taken over by "
		      "the second worker\n",
		      f->n);
	assert_int_equal(ts_proc_stop(&w[survivor], SIGTERM, 30), 0);
	assert_int_equal(ts_proc_stop(&srv, SIGTERM, 30), 0);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(killed_worker_job_taken_over_and_stream_shows_it),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
