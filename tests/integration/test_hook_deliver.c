/* SPDX-License-Identifier: Apache-2.0 */
/* test_hook_deliver.c - webhook deliveries on a real PostgreSQL, sent in
 * process to a scripted receiver: the trigger queues one per status change
 * of a team's job with a webhook (none without a team, none when the status
 * stays); a target resolving to loopback is refused when private targets
 * are not allowed (the attempt recorded, retried later, given up after the
 * last attempt); a later delivery waits for an earlier one of its job; a
 * delivery leased by a process that died is sent by another once the lease
 * expires; a redirect is not followed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/fake_llm.h"
#include "../support/testsupport.h"
#include "auth/auth.h"
#include "hook/hook.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ts_pg pg;
static struct store_pool *pool;
static struct fake_llm *rx;
static long long team_id;

static int group_setup(void **state)
{
	char url[256], err[CORE_ERR_LEN], tok[AUTH_TOKEN_MAX], out[64];
	long long id;

	(void)state;
	if (ts_pg_start(&pg))
		return -1;
	ts_pg_url(&pg, NULL, url, sizeof url);
	if (store_pool_open(url, 2, &pool, err, sizeof err) ||
	    store_migrate(pool, NULL, err, sizeof err) ||
	    auth_token_create(pool, "hooks", 0, 0, tok, &id, err, sizeof err)) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	if (ts_pg_exec(&pg, NULL, "SELECT id FROM teams WHERE name = 'hooks'",
		       out, sizeof out))
		return -1;
	team_id = atoll(out);
	return fake_llm_start(&rx);
}

static int group_teardown(void **state)
{
	(void)state;
	fake_llm_stop(rx);
	store_pool_close(pool);
	ts_pg_destroy(&pg);
	return 0;
}

static long long sql_ll(const char *fmt, long long a)
{
	char q[1024], out[256];

	snprintf(q, sizeof q, fmt, a);
	if (ts_pg_exec(&pg, NULL, q, out, sizeof out))
		fail_msg("%s: %s", q, out);
	return atoll(out);
}

static void sql_text(const char *fmt, long long a, char *out, size_t len)
{
	char q[1024];

	snprintf(q, sizeof q, fmt, a);
	if (ts_pg_exec(&pg, NULL, q, out, len))
		fail_msg("%s: %s", q, out);
}

/* A job of team (0: none) whose spec names the receiver at path. */
static long long job_insert(long long team, const char *path)
{
	char q[512], out[64], t[32];

	snprintf(t, sizeof t, team ? "%lld" : "NULL", team);
	snprintf(q, sizeof q,
		 "INSERT INTO jobs (name, spec, team_id) VALUES ('h', "
		 "'{\"webhook\": {\"url\": \"http://127.0.0.1:%u%s\"}}', %s) "
		 "RETURNING id",
		 fake_llm_port(rx), path, t);
	if (ts_pg_exec(&pg, NULL, q, out, sizeof out))
		fail_msg("%s: %s", q, out);
	return atoll(out);
}

static void set_status(long long job, const char *status)
{
	char q[256], out[64];

	snprintf(q, sizeof q, "UPDATE jobs SET status = '%s' WHERE id = %lld",
		 status, job);
	if (ts_pg_exec(&pg, NULL, q, out, sizeof out))
		fail_msg("%s: %s", q, out);
}

static int deliver(const struct hook_policy *p, const char *owner,
		   int max_attempts)
{
	struct hook_deliverer_config c = {0};
	char err[CORE_ERR_LEN];
	int sent = -1;

	c.policy = p;
	c.owner = owner;
	c.max_attempts = max_attempts;
	c.backoff_s = 3600; /* a retry is never due within a test */
	c.timeout_ms = 5000;
	assert_int_equal(hook_deliver_due(pool, &c, 10, &sent, err, sizeof err),
			 CORE_OK);
	return sent;
}

/* Nothing pending from an earlier test blocks the next. */
static void pending_clear(void)
{
	char out[64];

	assert_int_equal(
	    ts_pg_exec(&pg, NULL,
		       "UPDATE webhook_deliveries SET status = 'failed' "
		       "WHERE status = 'pending'",
		       out, sizeof out),
	    0);
}

static void trigger_queues_one_per_change(void **state)
{
	long long job, lone;
	char body[1024];

	(void)state;
	pending_clear();
	lone = job_insert(0, "/none");
	set_status(lone, "running");
	assert_int_equal(sql_ll("SELECT count(*) FROM webhook_deliveries WHERE "
				"job_id = %lld",
				lone),
			 0);
	job = job_insert(team_id, "/t");
	set_status(job, "running");
	set_status(job, "running"); /* no change, no delivery */
	assert_int_equal(sql_ll("UPDATE jobs SET progress = '{\"x\":1}' WHERE "
				"id = %lld RETURNING 0",
				job),
			 0);
	set_status(job, "succeeded");
	assert_int_equal(sql_ll("SELECT count(*) FROM webhook_deliveries WHERE "
				"job_id = %lld",
				job),
			 3);
	sql_text("SELECT body FROM webhook_deliveries WHERE job_id = %lld "
		 "ORDER BY id DESC LIMIT 1",
		 job, body, sizeof body);
	assert_non_null(strstr(body, "\"status\": \"succeeded\""));
	assert_non_null(strstr(body, "\"previous_status\": \"running\""));
	assert_non_null(strstr(body, "\"team\": \"hooks\""));
	assert_non_null(strstr(body, "\"counts\": {"));
	sql_text("SELECT body FROM webhook_deliveries WHERE job_id = %lld "
		 "ORDER BY id LIMIT 1",
		 job, body, sizeof body);
	assert_non_null(strstr(body, "\"previous_status\": null"));
	assert_null(strstr(body, "\"counts\""));
	pending_clear();
}

/* The allowlist names 127.0.0.1, but private targets are not allowed:
 * nothing is sent, the attempt is recorded with the reason, retried later,
 * and given up at the last attempt. The job's later delivery waits. */
static void private_target_refused_and_order_kept(void **state)
{
	struct hook_policy p;
	char err[CORE_ERR_LEN], why[512];
	long long job;
	struct fake_llm_reply ok[] = {{200, "{}", 0, NULL}};

	(void)state;
	pending_clear();
	assert_int_equal(fake_llm_script(rx, ok, 1), 0);
	assert_int_equal(hook_policy_parse("127.0.0.1", 0, &p, err, sizeof err),
			 0);
	job = job_insert(team_id, "/private");
	set_status(job, "running");
	assert_int_equal(deliver(&p, "w1", 2), 1); /* the second waits */
	assert_int_equal(fake_llm_request_count(rx), 0);
	sql_text("SELECT status || ' ' || attempts || ' ' || last_error FROM "
		 "webhook_deliveries WHERE job_id = %lld ORDER BY id LIMIT 1",
		 job, why, sizeof why);
	assert_non_null(strstr(why, "pending 1 "));
	assert_non_null(strstr(why, "127.0.0.1"));
	assert_non_null(strstr(why, "--webhook-allow-private"));
	/* the backoff has not passed: nothing is due, not even the later one */
	assert_int_equal(deliver(&p, "w1", 2), 0);
	/* due again: the second attempt is the last */
	assert_int_equal(sql_ll("UPDATE webhook_deliveries SET next_at = now() "
				"WHERE id = (SELECT min(id) FROM "
				"webhook_deliveries WHERE job_id = %lld AND "
				"status = 'pending') RETURNING 0",
				job),
			 0);
	/* given up, which lets the later one be tried in the same pass */
	assert_int_equal(deliver(&p, "w1", 2), 2);
	assert_int_equal(fake_llm_request_count(rx), 0);
	assert_int_equal(sql_ll("SELECT count(*) FROM webhook_deliveries WHERE "
				"job_id = %lld AND status = 'failed' AND "
				"attempts = 2 AND finished_at IS NOT NULL",
				job),
			 1);
	/* with private targets allowed, the later one goes out */
	sql_ll("UPDATE webhook_deliveries SET next_at = now() WHERE job_id = "
	       "%lld AND status = 'pending' RETURNING 0",
	       job);
	p.allow_private = 1;
	assert_int_equal(deliver(&p, "w1", 2), 1);
	assert_int_equal(fake_llm_request_count(rx), 1);
	assert_int_equal(sql_ll("SELECT count(*) FROM webhook_deliveries WHERE "
				"job_id = %lld AND status = 'delivered'",
				job),
			 1);
}

/* A delivery leased by a process that died: another sends it once the
 * lease has expired. */
static void expired_lease_taken_over(void **state)
{
	struct hook_policy p;
	char err[CORE_ERR_LEN];
	long long job, did;
	struct fake_llm_reply ok[] = {{204, NULL, 0, NULL}};

	(void)state;
	pending_clear();
	assert_int_equal(fake_llm_script(rx, ok, 1), 0);
	assert_int_equal(hook_policy_parse("127.0.0.1", 1, &p, err, sizeof err),
			 0);
	job = job_insert(team_id, "/takeover");
	did = sql_ll("SELECT max(id) FROM webhook_deliveries WHERE job_id = "
		     "%lld",
		     job);
	sql_ll("UPDATE webhook_deliveries SET lease_owner = 'dead', "
	       "lease_expires_at = now() + interval '1 h', attempts = 1 "
	       "WHERE id = %lld RETURNING 0",
	       did);
	assert_int_equal(deliver(&p, "w2", 6), 0); /* leased: not due */
	sql_ll("UPDATE webhook_deliveries SET lease_expires_at = now() - "
	       "interval '1 s' WHERE id = %lld RETURNING 0",
	       did);
	assert_int_equal(deliver(&p, "w2", 6), 1);
	assert_int_equal(fake_llm_request_count(rx), 1);
	assert_int_equal(sql_ll("SELECT count(*) FROM webhook_deliveries WHERE "
				"id = %lld AND status = 'delivered' AND "
				"attempts = 2 AND last_http_status = 204",
				did),
			 1);
}

/* A 302 is a failed attempt: the Location is not followed. */
static void redirect_not_followed(void **state)
{
	struct hook_policy p;
	char err[CORE_ERR_LEN], out[256], loc[128];
	long long job;
	struct fake_llm_reply r[1];

	(void)state;
	pending_clear();
	snprintf(loc, sizeof loc, "Location: http://127.0.0.1:%u/elsewhere",
		 fake_llm_port(rx));
	r[0] = (struct fake_llm_reply){302, "{}", 0, loc};
	assert_int_equal(fake_llm_script(rx, r, 1), 0);
	assert_int_equal(hook_policy_parse("127.0.0.1", 1, &p, err, sizeof err),
			 0);
	job = job_insert(team_id, "/redirect");
	assert_int_equal(deliver(&p, "w3", 6), 1);
	assert_int_equal(fake_llm_request_count(rx), 1);
	sql_text("SELECT status || ' ' || last_http_status || ' ' || "
		 "last_error FROM webhook_deliveries WHERE job_id = %lld",
		 job, out, sizeof out);
	assert_string_equal(out, "pending 302 HTTP 302");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(trigger_queues_one_per_change),
	    cmocka_unit_test(private_target_refused_and_order_kept),
	    cmocka_unit_test(expired_lease_taken_over),
	    cmocka_unit_test(redirect_not_followed),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
