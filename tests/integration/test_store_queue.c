/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_queue.c - the store layer and the job queue against a real
 * PostgreSQL: migrations (idempotent, concurrent, refusing newer databases),
 * the pool surviving a server restart, the transaction runner retrying
 * serialization failures, and queue leases (SKIP LOCKED: no double claims
 * under concurrency, expiry and reclaim, heartbeat, cancel, finish). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/testsupport.h"
#include "queue/queue.h"
#include "store/store.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct ts_pg pg;
static char url[256];

static int group_setup(void **state)
{
	if (ts_pg_start(&pg))
		return -1;
	ts_pg_url(&pg, NULL, url, sizeof url);
	return 0;
}

/* A test that stopped the server and failed midway must not take the
 * following ones down with it. */
static int ensure_running(void **state)
{
	return pg.running ? 0 : ts_pg_start(&pg);
}

static int group_teardown(void **state)
{
	ts_pg_destroy(&pg);
	return 0;
}

static void migrations_apply_once(void **state)
{
	struct store_pool *p = NULL;
	struct store_schema_state s;
	char err[CORE_ERR_LEN], out[64];
	int applied = -1;

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	assert_int_equal(store_migrate(p, &applied, err, sizeof err), CORE_OK);
	assert_int_equal(applied, (int)store_migrations_count);
	assert_int_equal(store_migrate(p, &applied, err, sizeof err), CORE_OK);
	assert_int_equal(applied, 0);
	assert_int_equal(store_schema_check(p, &s, err, sizeof err), CORE_OK);
	assert_int_equal(s.pending, 0);
	assert_int_equal(s.unknown, 0);
	assert_int_equal(s.db_version, s.binary_version);
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "SELECT count(*) FROM schema_migrations",
				    out, sizeof out),
			 0);
	assert_int_equal(atoi(out), (int)store_migrations_count);
	store_pool_close(p);
}

static void *migrate_thread(void *arg)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN];
	enum core_status st;

	(void)arg;
	if (store_pool_open(url, 1, &p, err, sizeof err))
		return (void *)1;
	st = store_migrate(p, NULL, err, sizeof err);
	store_pool_close(p);
	return (void *)(intptr_t)st;
}

static void concurrent_migrations_apply_each_once(void **state)
{
	pthread_t t[4];
	char out[64];

	/* a fresh database, migrated by four processes' worth of pools */
	assert_int_equal(ts_pg_exec(&pg, "postgres",
				    "DROP DATABASE IF EXISTS lmnas", out,
				    sizeof out),
			 0);
	assert_int_equal(ts_pg_exec(&pg, "postgres", "CREATE DATABASE lmnas",
				    out, sizeof out),
			 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(
		    pthread_create(&t[i], NULL, migrate_thread, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *rv;
		pthread_join(t[i], &rv);
		assert_int_equal((intptr_t)rv, 0);
	}
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "SELECT count(*) FROM schema_migrations",
				    out, sizeof out),
			 0);
	assert_int_equal(atoi(out), (int)store_migrations_count);
}

static void newer_database_is_refused(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], out[64];

	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "INSERT INTO schema_migrations (version, "
				    "name) VALUES (9999, 'future')",
				    out, sizeof out),
			 0);
	assert_int_equal(store_pool_open(url, 1, &p, err, sizeof err), CORE_OK);
	assert_int_equal(store_migrate(p, NULL, err, sizeof err),
			 CORE_ERR_CONFLICT);
	assert_non_null(strstr(err, "newer"));
	store_pool_close(p);
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "DELETE FROM schema_migrations WHERE "
				    "version = 9999",
				    out, sizeof out),
			 0);
}

static const struct store_stmt stmt_one = {"test_one", "SELECT $1::int + 1", 1};

static void pool_survives_a_restart(void **state)
{
	struct store_pool *p = NULL;
	struct store_conn *c = NULL;
	char err[CORE_ERR_LEN];
	const char *params[1] = {"41"};
	PGresult *r = NULL;

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	assert_int_equal(store_conn_acquire(p, 5, &c, err, sizeof err),
			 CORE_OK);
	assert_int_equal(
	    store_exec(c, &stmt_one, params, NULL, NULL, &r, err, sizeof err),
	    CORE_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "42");
	PQclear(r);
	store_conn_release(p, c);

	assert_int_equal(ts_pg_stop(&pg), 0);
	assert_int_equal(store_conn_acquire(p, 5, &c, err, sizeof err),
			 CORE_ERR_UNAVAILABLE);
	assert_int_equal(ts_pg_start(&pg), 0);
	/* the broken connection is replaced, not handed out; the statement
	 * is prepared again on the new connection */
	assert_int_equal(store_conn_acquire(p, 5, &c, err, sizeof err),
			 CORE_OK);
	assert_int_equal(
	    store_exec(c, &stmt_one, params, NULL, NULL, &r, err, sizeof err),
	    CORE_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "42");
	PQclear(r);
	store_conn_release(p, c);
	store_pool_close(p);
}

static void pool_times_out_when_exhausted(void **state)
{
	struct store_pool *p = NULL;
	struct store_conn *c = NULL, *c2 = NULL;
	char err[CORE_ERR_LEN];

	assert_int_equal(store_pool_open(url, 1, &p, err, sizeof err), CORE_OK);
	assert_int_equal(store_conn_acquire(p, 1, &c, err, sizeof err),
			 CORE_OK);
	assert_int_equal(store_conn_acquire(p, 0.2, &c2, err, sizeof err),
			 CORE_ERR_UNAVAILABLE);
	assert_non_null(strstr(err, "no free connection"));
	store_conn_release(p, c);
	store_pool_close(p);
	assert_int_equal(store_pool_open(url, 0, &p, err, sizeof err),
			 CORE_ERR_INVALID);
}

/* Two serializable transactions that read-then-write the same counter:
 * one of them must fail with 40001 at least once; the runner retries it. */
static const struct store_stmt stmt_read = {
    "test_counter_read", "SELECT v FROM tx_counter WHERE id = 1", 0};
static const struct store_stmt stmt_write = {
    "test_counter_write", "UPDATE tx_counter SET v = $1::int WHERE id = 1", 1};

struct tx_arg {
	int runs;
	pthread_barrier_t *barrier;
};

static enum core_status incr(struct store_conn *c, void *argp, char *err,
			     size_t errlen)
{
	struct tx_arg *arg = argp;
	PGresult *r = NULL;
	char v[16];
	const char *params[1] = {v};
	enum core_status st;

	st = store_exec(c, &stmt_read, NULL, NULL, NULL, &r, err, errlen);
	if (st)
		return st;
	snprintf(v, sizeof v, "%d", atoi(PQgetvalue(r, 0, 0)) + 1);
	PQclear(r);
	if (arg->runs++ == 0)
		pthread_barrier_wait(arg->barrier); /* both have read */
	return store_exec(c, &stmt_write, params, NULL, NULL, NULL, err,
			  errlen);
}

struct tx_thread {
	struct store_pool *p;
	struct tx_arg arg;
	enum core_status st;
};

static void *tx_thread_fn(void *x)
{
	struct tx_thread *t = x;
	char err[CORE_ERR_LEN];

	t->st = store_tx_run(t->p, STORE_SERIALIZABLE, incr, &t->arg, err,
			     sizeof err);
	if (t->st)
		printf("# transaction failed: %s\n", err);
	return NULL;
}

static void serialization_failures_are_retried(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], out[64];
	pthread_barrier_t b;
	struct tx_thread t[2];
	pthread_t th[2];

	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "DROP TABLE IF EXISTS tx_counter; "
				    "CREATE TABLE tx_counter (id int primary "
				    "key, v int); INSERT INTO tx_counter "
				    "VALUES (1, 0)",
				    out, sizeof out),
			 0);
	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	pthread_barrier_init(&b, NULL, 2);
	for (int i = 0; i < 2; i++) {
		t[i].p = p;
		t[i].arg.runs = 0;
		t[i].arg.barrier = &b;
		pthread_create(&th[i], NULL, tx_thread_fn, &t[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(t[0].st, CORE_OK);
	assert_int_equal(t[1].st, CORE_OK);
	/* one ran twice (retried after 40001), and no update was lost */
	assert_int_equal(t[0].arg.runs + t[1].arg.runs, 3);
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "SELECT v FROM tx_counter WHERE id = 1",
				    out, sizeof out),
			 0);
	assert_string_equal(out, "2");
	pthread_barrier_destroy(&b);
	store_pool_close(p);
}

static enum core_status fails_with_error(struct store_conn *c, void *arg,
					 char *err, size_t errlen)
{
	(void)arg;
	return store_exec_sql(c, "INSERT INTO tx_counter VALUES (1, 5)", err,
			      errlen); /* duplicate key: not retried */
}

static void other_errors_roll_back(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN];

	assert_int_equal(store_pool_open(url, 1, &p, err, sizeof err), CORE_OK);
	assert_int_equal(store_tx_run(p, STORE_READ_COMMITTED, fails_with_error,
				      NULL, err, sizeof err),
			 CORE_ERR_DB);
	assert_non_null(strstr(err, "23505"));
	store_pool_close(p);
}

/* ---- queue ---- */

struct claimer {
	struct store_pool *p;
	char worker[32];
	long long got[64];
	int n;
};

static void *claim_all(void *x)
{
	struct claimer *c = x;
	char err[CORE_ERR_LEN];
	struct queue_claim q;

	for (;;) {
		enum core_status st =
		    queue_job_claim(c->p, c->worker, 60, &q, err, sizeof err);
		if (st)
			break;
		c->got[c->n++] = q.id;
		queue_claim_free(&q);
	}
	return NULL;
}

static void queue_never_double_claims(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], out[64];
	struct claimer cl[4];
	pthread_t th[4];
	long long id;
	int total = 0;

	assert_int_equal(
	    ts_pg_exec(&pg, NULL, "DELETE FROM jobs", out, sizeof out), 0);
	assert_int_equal(store_pool_open(url, 4, &p, err, sizeof err), CORE_OK);
	for (int i = 0; i < 40; i++)
		assert_int_equal(queue_job_enqueue(p, "j", "{\"a\":1}", &id,
						   err, sizeof err),
				 CORE_OK);
	for (int i = 0; i < 4; i++) {
		memset(&cl[i], 0, sizeof cl[i]);
		cl[i].p = p;
		snprintf(cl[i].worker, sizeof cl[i].worker, "w%d", i);
		pthread_create(&th[i], NULL, claim_all, &cl[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += cl[i].n;
	}
	assert_int_equal(total, 40);
	for (int i = 0; i < 4; i++)
		for (int a = 0; a < cl[i].n; a++)
			for (int j = 0; j < 4; j++)
				for (int b = 0; b < cl[j].n; b++)
					if (i != j || a != b)
						assert_true(cl[i].got[a] !=
							    cl[j].got[b]);
	store_pool_close(p);
}

/* A claim running in a thread, so that the test can tell a claim that
 * skipped a locked job from one that waits for it. */
struct claim_bg {
	struct store_pool *p;
	struct queue_claim q;
	enum core_status st;
	int done;
	pthread_mutex_t m;
	pthread_cond_t c;
	pthread_t th;
};

static void *claim_bg_main(void *x)
{
	struct claim_bg *b = x;
	char err[CORE_ERR_LEN];
	enum core_status st =
	    queue_job_claim(b->p, "a", 60, &b->q, err, sizeof err);

	pthread_mutex_lock(&b->m);
	b->st = st;
	b->done = 1;
	pthread_cond_signal(&b->c);
	pthread_mutex_unlock(&b->m);
	return NULL;
}

/* Starts a claim and waits for it up to limit_s; returns whether it
 * finished. A claim that skips locked rows answers in milliseconds; one
 * that waits for the lock never does while the lock is held, so the limit
 * only bounds how long a broken claim stalls the test. */
static int claim_returns(struct claim_bg *b, struct store_pool *p,
			 double limit_s)
{
	struct timespec ts;
	int done;

	memset(&b->q, 0, sizeof b->q);
	b->p = p;
	b->done = 0;
	pthread_mutex_init(&b->m, NULL);
	pthread_cond_init(&b->c, NULL);
	assert_int_equal(pthread_create(&b->th, NULL, claim_bg_main, b), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)limit_s;
	pthread_mutex_lock(&b->m);
	while (!b->done)
		if (pthread_cond_timedwait(&b->c, &b->m, &ts))
			break;
	done = b->done;
	pthread_mutex_unlock(&b->m);
	return done;
}

static void claim_join(struct claim_bg *b)
{
	pthread_join(b->th, NULL);
	pthread_cond_destroy(&b->c);
	pthread_mutex_destroy(&b->m);
}

static void pg_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
		 PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		printf("# %s: %s\n", sql, PQerrorMessage(c));
	PQclear(r);
	assert_true(ok);
}

/* Another connection holds a job's row lock (a worker in the middle of
 * claiming it): a claim skips that job at once, taking the next one or
 * nothing, and never waits for the lock nor takes the job after it. */
static void claim_skips_a_locked_job(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], out[128], sql1[256];
	struct claim_bg b;
	long long j1, j2;
	PGconn *other;
	int returned;

	assert_int_equal(
	    ts_pg_exec(&pg, NULL, "DELETE FROM jobs", out, sizeof out), 0);
	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	assert_int_equal(
	    queue_job_enqueue(p, "first", "{}", &j1, err, sizeof err), CORE_OK);
	assert_int_equal(
	    queue_job_enqueue(p, "second", "{}", &j2, err, sizeof err),
	    CORE_OK);
	other = PQconnectdb(url);
	assert_int_equal(PQstatus(other), CONNECTION_OK);
	pg_ok(other, "BEGIN");
	snprintf(sql1, sizeof sql1,
		 "UPDATE jobs SET status = 'running', lease_owner = 'other', "
		 "lease_expires_at = now() + interval '60 s' WHERE id = %lld",
		 j1);
	pg_ok(other, sql1);
	/* the oldest job is locked: the claim takes the second */
	returned = claim_returns(&b, p, 5);
	if (!returned)
		pg_ok(other, "COMMIT"); /* let the stuck claim end */
	claim_join(&b);
	assert_true(returned);
	assert_int_equal(b.st, CORE_OK);
	assert_true(b.q.id == j2);
	queue_claim_free(&b.q);
	/* only the locked one is left: nothing, at once */
	returned = claim_returns(&b, p, 5);
	if (!returned)
		pg_ok(other, "COMMIT");
	claim_join(&b);
	assert_true(returned);
	assert_int_equal(b.st, CORE_ERR_NOT_FOUND);
	pg_ok(other, "COMMIT");
	PQfinish(other);
	/* the first job is the other worker's, claimed once */
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "SELECT string_agg(coalesce(lease_owner, "
				    "'-') || attempts, ',' ORDER BY id) FROM "
				    "jobs",
				    out, sizeof out),
			 0);
	assert_string_equal(out, "other0,a1");
	store_pool_close(p);
}

static void queue_lease_lifecycle(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], out[64];
	struct queue_claim q, q2;
	long long id, id2;
	int cancel = -1;

	assert_int_equal(
	    ts_pg_exec(&pg, NULL, "DELETE FROM jobs", out, sizeof out), 0);
	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	assert_int_equal(queue_job_claim(p, "a", 60, &q, err, sizeof err),
			 CORE_ERR_NOT_FOUND);
	assert_int_equal(queue_job_enqueue(p, "first", "{\"x\":[1,2]}", &id,
					   err, sizeof err),
			 CORE_OK);
	assert_int_equal(queue_job_claim(p, "a", 1, &q, err, sizeof err),
			 CORE_OK);
	assert_true(q.id == id);
	assert_string_equal(q.name, "first");
	assert_non_null(strstr(q.spec, "\"x\""));
	assert_int_equal(q.attempts, 1);
	queue_claim_free(&q);
	/* while the lease holds nobody else gets it */
	assert_int_equal(queue_job_claim(p, "b", 60, &q, err, sizeof err),
			 CORE_ERR_NOT_FOUND);
	assert_int_equal(queue_job_heartbeat(p, id, "a", 1, "{\"round\":1}",
					     &cancel, err, sizeof err),
			 CORE_OK);
	assert_int_equal(cancel, 0);
	/* the lease expires: worker b takes over, a has lost it */
	sleep(2);
	assert_int_equal(queue_job_claim(p, "b", 60, &q, err, sizeof err),
			 CORE_OK);
	assert_true(q.id == id);
	assert_int_equal(q.attempts, 2);
	queue_claim_free(&q);
	assert_int_equal(
	    queue_job_heartbeat(p, id, "a", 60, NULL, &cancel, err, sizeof err),
	    CORE_ERR_CONFLICT);
	assert_int_equal(queue_job_finish(p, id, "a", QUEUE_JOB_SUCCEEDED, NULL,
					  err, sizeof err),
			 CORE_ERR_CONFLICT);
	/* cancel reaches b through its heartbeat; b ends the job */
	assert_int_equal(queue_job_cancel(p, id, err, sizeof err), CORE_OK);
	assert_int_equal(
	    queue_job_heartbeat(p, id, "b", 60, NULL, &cancel, err, sizeof err),
	    CORE_OK);
	assert_int_equal(cancel, 1);
	assert_int_equal(queue_job_finish(p, id, "b", QUEUE_JOB_CANCELLED, NULL,
					  err, sizeof err),
			 CORE_OK);
	assert_int_equal(queue_job_cancel(p, id, err, sizeof err),
			 CORE_ERR_CONFLICT);
	assert_int_equal(queue_job_cancel(p, 999999, err, sizeof err),
			 CORE_ERR_NOT_FOUND);
	/* a queued job is cancelled at once and never claimed */
	assert_int_equal(
	    queue_job_enqueue(p, "second", "{}", &id2, err, sizeof err),
	    CORE_OK);
	assert_int_equal(queue_job_cancel(p, id2, err, sizeof err), CORE_OK);
	assert_int_equal(queue_job_claim(p, "c", 60, &q2, err, sizeof err),
			 CORE_ERR_NOT_FOUND);
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "SELECT string_agg(status, ',' ORDER BY id)"
				    " FROM jobs",
				    out, sizeof out),
			 0);
	assert_string_equal(out, "cancelled,cancelled");
	assert_int_equal(queue_job_finish(p, id2, "c", QUEUE_JOB_QUEUED, NULL,
					  err, sizeof err),
			 CORE_ERR_INVALID);
	/* bad JSON never reaches the table */
	assert_int_equal(
	    queue_job_enqueue(p, "bad", "{not json", &id, err, sizeof err),
	    CORE_ERR_DB);
	store_pool_close(p);
}

static void search_records_round_trip(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], out[128];
	long long job, id1, id2, id3, mid, mid2;
	struct store_candidate c = {0}, *list = NULL;
	unsigned char blob[300];
	void *back = NULL;
	size_t len = 0;
	int n = 0, epochs = -1;
	struct store_llm_call call = {0};
	struct store_epoch e = {0};
	struct store_model m = {0};

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	assert_int_equal(
	    queue_job_enqueue(p, "rec", "{}", &job, err, sizeof err), CORE_OK);
	c.job_id = job;
	c.round = 1;
	c.source = STORE_SOURCE_EVOLUTION;
	c.arch_json = "{\"format\":\"lmnas-arch/1\"}";
	c.arch_hash = "abc";
	c.status = STORE_CAND_PROPOSED;
	c.rationale = "wider";
	c.macs = 1000;
	c.params = 10;
	c.flash_bytes = -1;
	c.sram_bytes = 2048;
	c.val_top1 = c.val_top5 = c.val_loss = c.test_top1 = NAN;
	assert_int_equal(
	    store_candidate_insert(p, NULL, &c, &id1, err, sizeof err),
	    CORE_OK);
	assert_true(id1 > 0);
	/* the same network twice in a job: not stored again (id 0) unless
	 * rejected */
	assert_int_equal(
	    store_candidate_insert(p, NULL, &c, &id2, err, sizeof err),
	    CORE_OK);
	assert_true(id2 == 0);
	c.status = STORE_CAND_REJECTED;
	c.rejection_reason = "duplicate";
	assert_int_equal(
	    store_candidate_insert(p, NULL, &c, &id2, err, sizeof err),
	    CORE_OK);
	assert_true(id2 > 0);
	c.status = STORE_CAND_PROPOSED;
	c.arch_hash = "def";
	c.rationale = NULL;
	c.rejection_reason = NULL;
	assert_int_equal(
	    store_candidate_insert(p, NULL, &c, &id3, err, sizeof err),
	    CORE_OK);
	assert_int_equal(store_candidate_set_status(p, NULL, id1,
						    STORE_CAND_TRAINING, NULL,
						    err, sizeof err),
			 CORE_OK);
	assert_int_equal(store_candidate_set_status(p, NULL, 987654,
						    STORE_CAND_TRAINING, NULL,
						    err, sizeof err),
			 CORE_ERR_NOT_FOUND);
	assert_int_equal(
	    store_candidate_set_metrics(p, NULL, id1, STORE_PHASE_PROXY, 0.5,
					0.8, 1.5, NAN, 2, err, sizeof err),
	    CORE_OK);
	/* final metrics go to their own columns: the proxy ones stay */
	assert_int_equal(
	    store_candidate_set_metrics(p, NULL, id1, STORE_PHASE_FINAL, 0.7,
					0.9, 1.1, 0.65, 2, err, sizeof err),
	    CORE_OK);
	/* a binary checkpoint with NUL bytes survives the round trip */
	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (unsigned char)(i * 7);
	assert_int_equal(store_candidate_load_checkpoint(
			     p, id1, &back, &len, &epochs, err, sizeof err),
			 CORE_OK);
	assert_null(back);
	assert_int_equal(store_candidate_save_checkpoint(p, NULL, id1, blob,
							 sizeof blob, 3, err,
							 sizeof err),
			 CORE_OK);
	assert_int_equal(store_candidate_load_checkpoint(
			     p, id1, &back, &len, &epochs, err, sizeof err),
			 CORE_OK);
	assert_int_equal(len, sizeof blob);
	assert_int_equal(epochs, 3);
	assert_memory_equal(back, blob, sizeof blob);
	core_free(back);
	assert_int_equal(
	    store_candidates_list(p, job, &list, &n, err, sizeof err), CORE_OK);
	assert_int_equal(n, 3);
	assert_true(list[0].id == id1);
	assert_int_equal(list[0].status, STORE_CAND_TRAINING);
	assert_int_equal(list[0].source, STORE_SOURCE_EVOLUTION);
	assert_string_equal(list[0].rationale, "wider");
	assert_null(list[0].rejection_reason);
	assert_true(list[0].val_top1 == 0.5);
	assert_true(list[0].final_val_top1 == 0.7);
	assert_true(list[0].final_val_loss == 1.1);
	assert_true(list[0].test_top1 == 0.65);
	assert_true(list[0].flash_bytes == -1);
	assert_true(list[0].sram_bytes == 2048);
	assert_string_equal(list[1].rejection_reason, "duplicate");
	assert_int_equal(list[1].status, STORE_CAND_REJECTED);
	assert_int_equal(list[0].epochs_done, 3);
	assert_true(isnan(list[2].final_val_top1));
	core_free(list);
	/* epochs and rounds are idempotent on resumption */
	e.candidate_id = id1;
	e.phase = STORE_PHASE_PROXY;
	e.epoch = 1;
	e.train_loss = 2.0;
	e.val_top1 = 0.1;
	e.val_top5 = 0.3;
	e.val_loss = 2.1;
	e.lr = 0.05;
	e.seconds = 1.5;
	for (int k = 0; k < 2; k++) {
		assert_int_equal(store_epoch_put(p, NULL, &e, err, sizeof err),
				 CORE_OK);
		assert_int_equal(store_round_put(p, NULL, job, 1, "evolution",
						 "[{\"id\":1}]", 0.25, "ok", k,
						 err, sizeof err),
				 CORE_OK);
	}
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "SELECT (SELECT count(*) FROM "
				    "candidate_epochs) || ',' || (SELECT "
				    "count(*) FROM rounds WHERE finished_at IS "
				    "NOT NULL)",
				    out, sizeof out),
			 0);
	assert_string_equal(out, "1,1");
	e.phase = (enum store_phase)7;
	assert_int_equal(store_epoch_put(p, NULL, &e, err, sizeof err),
			 CORE_ERR_INVALID);
	/* epoch row and proxy metrics together */
	e.phase = STORE_PHASE_PROXY;
	e.epoch = 2;
	e.val_top1 = 0.25;
	assert_int_equal(store_epoch_finish(p, NULL, &e, err, sizeof err),
			 CORE_OK);
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "SELECT val_top1 || ',' || final_val_top1 "
				    "|| ',' || epochs_done FROM candidates "
				    "ORDER BY id LIMIT 1",
				    out, sizeof out),
			 0);
	assert_string_equal(out, "0.25,0.7,2");
	call.job_id = job;
	call.round = 1;
	call.attempt = 1;
	call.model = "qwen";
	call.messages_json = "[{\"role\":\"user\",\"content\":\"hi\"}]";
	call.reply = "{}";
	call.http_status = 200;
	call.prompt_tokens = 12;
	call.completion_tokens = -1;
	call.latency_ms = 30;
	call.outcome = "ok";
	assert_int_equal(store_llm_call_insert(p, NULL, &call, err, sizeof err),
			 CORE_OK);
	/* malformed JSON is a data error, not a database outage */
	call.messages_json = "[{\"role\":";
	assert_int_equal(store_llm_call_insert(p, NULL, &call, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(store_event_insert(p, NULL, job, STORE_EVENT_WARN,
					    "fallback", "LLM unreachable", NULL,
					    err, sizeof err),
			 CORE_OK);
	m.job_id = job;
	m.candidate_id = id1;
	m.ckpt = blob;
	m.ckpt_len = 100;
	m.zip = blob + 100;
	m.zip_len = 200;
	m.report_json = "{\"macs\":1}";
	assert_int_equal(store_model_insert(p, NULL, &m, &mid, err, sizeof err),
			 CORE_OK);
	/* one model per candidate */
	assert_int_equal(
	    store_model_insert(p, NULL, &m, &mid2, err, sizeof err),
	    CORE_ERR_CONFLICT);
	/* finishing it again keeps the stored model and sets the status */
	assert_int_equal(
	    store_model_finish(p, NULL, &m, &mid2, err, sizeof err), CORE_OK);
	assert_true(mid2 == mid);
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "SELECT (SELECT count(*) FROM models) || "
				    "',' || (SELECT status FROM candidates "
				    "ORDER BY id LIMIT 1)",
				    out, sizeof out),
			 0);
	assert_string_equal(out, "1,final_done");
	assert_int_equal(store_model_zip(p, mid, &back, &len, err, sizeof err),
			 CORE_OK);
	assert_int_equal(len, 200);
	assert_memory_equal(back, blob + 100, 200);
	core_free(back);
	assert_int_equal(
	    store_model_zip(p, mid + 1000, &back, &len, err, sizeof err),
	    CORE_ERR_NOT_FOUND);
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "SELECT zip_sha256 = encode(sha256(zip), "
				    "'hex') AND zip_size = 200 FROM models",
				    out, sizeof out),
			 0);
	assert_string_equal(out, "t");
	store_pool_close(p);
}

/* Text that is not UTF-8 (a Latin-1 reply, a cut in the middle of a
 * character) is stored with U+FFFD, never refused by PostgreSQL. */
static void text_is_stored_as_valid_utf8(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], out[256];
	long long job, id = 0;
	struct store_llm_call call = {0};
	struct store_candidate c = {0};

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	assert_int_equal(
	    queue_job_enqueue(p, "utf8", "{}", &job, err, sizeof err), CORE_OK);
	assert_int_equal(store_event_insert(p, NULL, job, STORE_EVENT_WARN,
					    "llm", "r\xe9ponse \xc3", NULL, err,
					    sizeof err),
			 CORE_OK);
	call.job_id = job;
	call.model = "m\xff";
	call.messages_json = "[\"caf\xe9\"]";
	call.reply = "<html>Service indisponible \xe0 l'instant</html>";
	call.http_status = 503;
	call.prompt_tokens = call.completion_tokens = call.latency_ms = -1;
	call.outcome = "http_error";
	call.error = "HTTP 503: \xe9t\xe9";
	assert_int_equal(store_llm_call_insert(p, NULL, &call, err, sizeof err),
			 CORE_OK);
	c.job_id = job;
	c.source = STORE_SOURCE_LLM;
	c.arch_json = "null";
	c.arch_hash = "";
	c.status = STORE_CAND_REJECTED;
	c.rationale = "plus l\xe9ger";
	c.rejection_reason = "trop \xe9troit";
	c.macs = c.params = c.flash_bytes = c.sram_bytes = -1;
	c.val_top1 = c.val_top5 = c.val_loss = c.test_top1 = NAN;
	assert_int_equal(
	    store_candidate_insert(p, NULL, &c, &id, err, sizeof err), CORE_OK);
	assert_int_equal(store_round_put(p, NULL, job, 0, "llm", NULL, NAN,
					 "r\xe9sum\xe9", 0, err, sizeof err),
			 CORE_OK);
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "SELECT (SELECT message FROM events WHERE "
				    "kind = 'llm') || '|' || (SELECT reply || "
				    "error || messages::text FROM llm_calls "
				    "WHERE http_status = 503) || '|' || "
				    "(SELECT rationale || rejection_reason "
				    "FROM candidates WHERE rationale LIKE "
				    "'plus%') || '|' || (SELECT summary FROM "
				    "rounds WHERE summary LIKE 'r%')",
				    out, sizeof out),
			 0);
	assert_string_equal(
	    out, "r\xef\xbf\xbdponse \xef\xbf\xbd|<html>Service indisponible "
		 "\xef\xbf\xbd l'instant</html>HTTP 503: "
		 "\xef\xbf\xbdt\xef\xbf\xbd[\"caf\xef\xbf\xbd\"]|plus "
		 "l\xef\xbf\xbdgertrop \xef\xbf\xbdtroit|r\xef\xbf\xbdsum"
		 "\xef\xbf\xbd");
	store_pool_close(p);
}

/* A round's proposals go in together or not at all. */
static void proposals_are_one_transaction(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], out[64];
	long long job, ids[2] = {-1, -1};
	struct store_llm_call call = {0};
	struct store_candidate c[2] = {{0}, {0}};

	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	assert_int_equal(
	    queue_job_enqueue(p, "props", "{}", &job, err, sizeof err),
	    CORE_OK);
	call.job_id = job;
	call.outcome = "ok";
	call.reply = "{}";
	call.http_status = call.prompt_tokens = call.completion_tokens =
	    call.latency_ms = -1;
	for (int i = 0; i < 2; i++) {
		c[i].job_id = job;
		c[i].source = STORE_SOURCE_LLM;
		c[i].status = STORE_CAND_PROPOSED;
		c[i].macs = c[i].params = c[i].flash_bytes = c[i].sram_bytes =
		    -1;
		c[i].val_top1 = c[i].val_top5 = c[i].val_loss = c[i].test_top1 =
		    NAN;
	}
	c[0].arch_json = "{\"a\":1}";
	c[0].arch_hash = "p1";
	c[1].arch_json = "{\"a\":"; /* refused: the whole batch is */
	c[1].arch_hash = "p2";
	assert_int_equal(store_proposals_insert(p, NULL, &call, 1, c, 2, ids,
						err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(
	    ts_pg_exec(&pg, NULL,
		       "SELECT (SELECT count(*) FROM llm_calls "
		       "WHERE job_id = (SELECT max(id) FROM "
		       "jobs)) + (SELECT count(*) FROM candidates "
		       "WHERE job_id = (SELECT max(id) FROM jobs))",
		       out, sizeof out),
	    0);
	assert_string_equal(out, "0");
	c[1].arch_json = "{\"a\":2}";
	assert_int_equal(store_proposals_insert(p, NULL, &call, 1, c, 2, ids,
						err, sizeof err),
			 CORE_OK);
	assert_true(ids[0] > 0 && ids[1] > ids[0]);
	/* the same again (a resume): nothing new, ids 0 */
	assert_int_equal(store_proposals_insert(p, NULL, NULL, 0, c, 2, ids,
						err, sizeof err),
			 CORE_OK);
	assert_true(ids[0] == 0 && ids[1] == 0);
	store_pool_close(p);
}

/* A worker that no longer holds the lease writes nothing: every record
 * write checks the owner in its own statement. */
static void writes_need_the_lease(void **state)
{
	struct store_pool *p = NULL;
	char err[CORE_ERR_LEN], out[128];
	long long job, id = 0, cand = 0, mid = 0;
	struct queue_claim q;
	struct store_candidate c = {0};
	struct store_llm_call call = {0};
	struct store_epoch e = {0};
	struct store_model m = {0};

	assert_int_equal(
	    ts_pg_exec(&pg, NULL, "DELETE FROM jobs", out, sizeof out), 0);
	assert_int_equal(store_pool_open(url, 2, &p, err, sizeof err), CORE_OK);
	assert_int_equal(
	    queue_job_enqueue(p, "lease", "{}", &job, err, sizeof err),
	    CORE_OK);
	assert_int_equal(queue_job_claim(p, "a", 60, &q, err, sizeof err),
			 CORE_OK);
	queue_claim_free(&q);
	c.job_id = job;
	c.source = STORE_SOURCE_RANDOM;
	c.arch_json = "{}";
	c.arch_hash = "h1";
	c.status = STORE_CAND_PROPOSED;
	c.macs = c.params = c.flash_bytes = c.sram_bytes = -1;
	c.val_top1 = c.val_top5 = c.val_loss = c.test_top1 = NAN;
	/* the holder writes */
	assert_int_equal(
	    store_candidate_insert(p, "a", &c, &cand, err, sizeof err),
	    CORE_OK);
	assert_true(cand > 0);
	assert_int_equal(store_event_insert(p, "a", job, STORE_EVENT_INFO, "k",
					    "by a", NULL, err, sizeof err),
			 CORE_OK);
	/* another worker takes the job over */
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "UPDATE jobs SET lease_owner = 'b'", out,
				    sizeof out),
			 0);
	c.arch_hash = "h2";
	assert_int_equal(
	    store_candidate_insert(p, "a", &c, &id, err, sizeof err),
	    CORE_ERR_CONFLICT);
	assert_non_null(strstr(err, "lease lost"));
	assert_int_equal(store_candidate_set_status(p, "a", cand,
						    STORE_CAND_TRAINING, NULL,
						    err, sizeof err),
			 CORE_ERR_CONFLICT);
	assert_int_equal(
	    store_candidate_set_metrics(p, "a", cand, STORE_PHASE_PROXY, 0.5,
					0.5, 1, NAN, 1, err, sizeof err),
	    CORE_ERR_CONFLICT);
	assert_int_equal(store_candidate_save_checkpoint(p, "a", cand, "x", 1,
							 1, err, sizeof err),
			 CORE_ERR_CONFLICT);
	e.candidate_id = cand;
	e.epoch = 1;
	assert_int_equal(store_epoch_finish(p, "a", &e, err, sizeof err),
			 CORE_ERR_CONFLICT);
	assert_int_equal(store_round_put(p, "a", job, 0, "random", "[]", 0.1,
					 "s", 1, err, sizeof err),
			 CORE_ERR_CONFLICT);
	call.job_id = job;
	call.outcome = "ok";
	call.http_status = call.prompt_tokens = call.completion_tokens =
	    call.latency_ms = -1;
	assert_int_equal(store_llm_call_insert(p, "a", &call, err, sizeof err),
			 CORE_ERR_CONFLICT);
	assert_int_equal(store_event_insert(p, "a", job, STORE_EVENT_INFO, "k",
					    "late", NULL, err, sizeof err),
			 CORE_ERR_CONFLICT);
	m.job_id = job;
	m.candidate_id = cand;
	m.ckpt = "x";
	m.ckpt_len = 1;
	assert_int_equal(store_model_finish(p, "a", &m, &mid, err, sizeof err),
			 CORE_ERR_CONFLICT);
	/* nothing of a's later writes is stored */
	assert_int_equal(ts_pg_exec(&pg, NULL,
				    "SELECT (SELECT count(*) FROM candidates "
				    "WHERE job_id IN (SELECT id FROM jobs)) "
				    "|| ',' || (SELECT status || epochs_done "
				    "FROM candidates WHERE arch_hash = 'h1') "
				    "|| ',' || (SELECT count(*) FROM "
				    "candidate_epochs) || ',' || (SELECT "
				    "count(*) FROM rounds) || ',' || (SELECT "
				    "count(*) FROM llm_calls) || ',' || "
				    "(SELECT count(*) FROM events WHERE kind "
				    "<> 'state') || ',' || "
				    "(SELECT count(*) FROM models)",
				    out, sizeof out),
			 0);
	assert_string_equal(out, "1,proposed0,0,0,0,1,0");
	/* the new holder writes */
	assert_int_equal(store_event_insert(p, "b", job, STORE_EVENT_INFO, "k",
					    "by b", NULL, err, sizeof err),
			 CORE_OK);
	store_pool_close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(migrations_apply_once, ensure_running),
	    cmocka_unit_test_setup(concurrent_migrations_apply_each_once,
				   ensure_running),
	    cmocka_unit_test_setup(newer_database_is_refused, ensure_running),
	    cmocka_unit_test_setup(pool_survives_a_restart, ensure_running),
	    cmocka_unit_test_setup(pool_times_out_when_exhausted,
				   ensure_running),
	    cmocka_unit_test_setup(serialization_failures_are_retried,
				   ensure_running),
	    cmocka_unit_test_setup(other_errors_roll_back, ensure_running),
	    cmocka_unit_test_setup(queue_never_double_claims, ensure_running),
	    cmocka_unit_test_setup(claim_skips_a_locked_job, ensure_running),
	    cmocka_unit_test_setup(queue_lease_lifecycle, ensure_running),
	    cmocka_unit_test_setup(search_records_round_trip, ensure_running),
	    cmocka_unit_test_setup(text_is_stored_as_valid_utf8,
				   ensure_running),
	    cmocka_unit_test_setup(proposals_are_one_transaction,
				   ensure_running),
	    cmocka_unit_test_setup(writes_need_the_lease, ensure_running),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
