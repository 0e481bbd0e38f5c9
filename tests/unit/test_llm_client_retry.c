/* SPDX-License-Identifier: Apache-2.0 */
/* test_llm_client_retry.c - llm: the chat client's retries, backoff,
 * Retry-After, timeouts, cancellation and unreachable servers, against the
 * scripted fake server (tests/support/fake_llm). Timings are printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "llm/llm.h"

#include "../support/fake_llm.h"
#include "../support/llmtest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct fake_llm *fake;

static const char *SCHEMA =
    "{\"type\":\"object\",\"required\":[\"candidates\"]}";
static const char *ANSWER = "{\"candidates\":[{\"stages\":2},{\"stages\":3}]}";

static const struct llm_message MSGS[] = {
    {"system", "You design small CNNs. Reply with JSON."},
    {"user", "Propose 2 candidates."},
};

static int group_setup(void **state)
{
	return fake_llm_start(&fake);
}

static int group_teardown(void **state)
{
	fake_llm_stop(fake);
	return 0;
}

/* Fast settings (llmtest.h) against this file's fake. */
static void test_settings(struct llm_settings *s)
{
	llmtest_settings(s, fake_llm_url(fake));
}

static struct llm_client *open_client(const struct llm_settings *s)
{
	struct llm_client *c = llmtest_client(s);

	if (!c)
		fail_msg("llm_client_open failed");
	return c;
}

static void script(const struct fake_llm_reply *r, size_t n)
{
	assert_int_equal(fake_llm_script(fake, r, n), 0);
}

static enum core_status chat(struct llm_client *c, const char *schema,
			     volatile int *cancel, struct llm_record *rec,
			     char *err, size_t errlen)
{
	struct llm_request req = {MSGS, 2, "candidates", schema, cancel};

	return llm_client_chat(c, &req, rec, err, errlen);
}

static const char *request_format(size_t i)
{
	static char out[32];

	assert_int_equal(fake_llm_request_format(fake, i, out, sizeof out), 0);
	return out;
}

static void retry_after_429(void **state)
{
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	struct fake_llm_request r0, r1;
	char err[CORE_ERR_LEN];
	char *ok = fake_llm_chat_body(ANSWER, "stop", FAKE_LLM_TOKENS_AUTO, 2);
	struct fake_llm_reply rs[] = {
	    {429, "{\"error\":{\"message\":\"rate limited\"}}", 0,
	     "Retry-After: 1"},
	    {200, ok, 0, NULL},
	};
	double gap, t0;

	test_settings(&s);
	c = open_client(&s);
	script(rs, 2);
	t0 = core_now_seconds();
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err), CORE_OK);
	assert_int_equal(rec.attempts, 2);
	assert_int_equal(rec.attempt[0].http_status, 429);
	assert_int_equal(rec.attempt[0].outcome, LLM_OUTCOME_HTTP_ERROR);
	assert_int_equal(rec.attempt[0].wait_ms, 1000);
	assert_int_equal(rec.attempt[1].http_status, 200);
	assert_string_equal(rec.json, ANSWER);
	assert_int_equal(fake_llm_request_get(fake, 0, &r0), 0);
	assert_int_equal(fake_llm_request_get(fake, 1, &r1), 0);
	gap = r1.at - r0.at;
	print_message("# 429 Retry-After: 1 -> gap between requests %.3f s\n",
		      gap);
	assert_true(gap >= 0.95 && gap < 1.8);
	assert_true(rec.latency_ms >= 950);
	assert_true(core_now_seconds() - t0 < 2.5);
	fake_llm_request_free(&r0);
	fake_llm_request_free(&r1);
	llm_record_free(&rec);

	/* a Retry-After beyond the cap waits only the cap */
	s.retry_after_max_ms = 150;
	llm_client_close(c);
	c = open_client(&s);
	rs[0].headers = "Retry-After: 30";
	script(rs, 2);
	t0 = core_now_seconds();
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err), CORE_OK);
	assert_int_equal(rec.attempt[0].wait_ms, 150);
	assert_true(core_now_seconds() - t0 < 1.5);
	llm_record_free(&rec);
	free(ok);
	llm_client_close(c);
}

static void server_errors_then_success(void **state)
{
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	char err[CORE_ERR_LEN];
	char *ok = fake_llm_chat_body(ANSWER, "stop", FAKE_LLM_TOKENS_AUTO, 2);
	struct fake_llm_reply rs[] = {
	    {500, "{\"error\":\"boom\"}", 0, NULL},
	    {500, "overloaded", 0, NULL},
	    {200, ok, 0, NULL},
	};

	test_settings(&s);
	c = open_client(&s);
	script(rs, 3);
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err), CORE_OK);
	assert_int_equal(rec.attempts, 3);
	assert_int_equal(fake_llm_request_count(fake), 3);
	assert_int_equal(rec.attempt[0].http_status, 500);
	assert_int_equal(rec.attempt[1].http_status, 500);
	/* jittered exponential backoff: [5, 10] then [10, 20] ms */
	assert_true(rec.attempt[0].wait_ms >= 5 &&
		    rec.attempt[0].wait_ms <= 10);
	assert_true(rec.attempt[1].wait_ms >= 10 &&
		    rec.attempt[1].wait_ms <= 20);
	/* every attempt sent the same format: a 5xx is no format refusal */
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(request_format(i), "json_schema");
	assert_string_equal(rec.json, ANSWER);
	llm_record_free(&rec);
	free(ok);
	llm_client_close(c);
}

static void dropped_connection_is_retried(void **state)
{
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	char err[CORE_ERR_LEN];
	char *ok = fake_llm_chat_body(ANSWER, "stop", FAKE_LLM_TOKENS_AUTO, 2);
	struct fake_llm_reply rs[] = {{0, NULL, 0, NULL}, {200, ok, 0, NULL}};

	test_settings(&s);
	c = open_client(&s);
	script(rs, 2);
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err), CORE_OK);
	assert_int_equal(rec.attempts, 2);
	assert_int_equal(rec.attempt[0].outcome, LLM_OUTCOME_UNREACHABLE);
	assert_int_equal(rec.attempt[0].http_status, 0);
	assert_int_equal(fake_llm_request_count(fake), 2);
	assert_string_equal(rec.json, ANSWER);
	llm_record_free(&rec);
	free(ok);
	llm_client_close(c);
}

static void server_errors_exhaust_attempts(void **state)
{
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	char err[CORE_ERR_LEN];
	struct fake_llm_reply r = {500,
				   "{\"error\":{\"message\":\"GPU on "
				   "fire\"}}",
				   0, NULL};

	test_settings(&s);
	c = open_client(&s);
	script(&r, 1); /* repeats */
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err),
			 CORE_ERR_UNAVAILABLE);
	assert_int_equal(rec.outcome, LLM_OUTCOME_HTTP_ERROR);
	assert_int_equal(rec.attempts, 3);
	assert_int_equal(fake_llm_request_count(fake), 3);
	assert_int_equal(rec.http_status, 500);
	assert_int_equal(rec.attempt[2].wait_ms, 0);
	assert_non_null(strstr(err, "HTTP 500"));
	assert_non_null(strstr(err, "GPU on fire"));
	assert_non_null(strstr(err, "after 3 attempts"));
	assert_string_equal(rec.reply_body, r.body);
	llm_record_free(&rec);

	/* a 401 is not retried */
	r.status = 401;
	r.body = "{\"error\":{\"message\":\"bad key\"}}";
	script(&r, 1);
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err),
			 CORE_ERR_UNAVAILABLE);
	assert_int_equal(rec.outcome, LLM_OUTCOME_HTTP_ERROR);
	assert_int_equal(rec.attempts, 1);
	assert_int_equal(rec.http_status, 401);
	assert_non_null(strstr(err, "bad key"));
	llm_record_free(&rec);
	llm_client_close(c);
}

static void hang_times_out(void **state)
{
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	char err[CORE_ERR_LEN];
	struct fake_llm_reply r = {200, "{}", 2000, NULL};
	double t0, took;

	test_settings(&s);
	s.timeout_ms = 300;
	s.max_attempts = 2;
	c = open_client(&s);
	script(&r, 1);
	t0 = core_now_seconds();
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err),
			 CORE_ERR_UNAVAILABLE);
	took = core_now_seconds() - t0;
	print_message("# hang: 2 attempts of 300 ms took %.3f s\n", took);
	assert_int_equal(rec.outcome, LLM_OUTCOME_TIMEOUT);
	assert_int_equal(rec.attempts, 2);
	assert_int_equal(fake_llm_request_count(fake), 2);
	assert_int_equal(rec.attempt[0].outcome, LLM_OUTCOME_TIMEOUT);
	assert_int_equal(rec.http_status, 0);
	assert_null(rec.reply_body);
	assert_true(rec.attempt[0].ms >= 280 && rec.attempt[0].ms < 1000);
	assert_true(took >= 0.58 && took < 2.0);
	assert_non_null(strstr(err, "within 300 ms"));
	llm_record_free(&rec);
	llm_client_close(c);
}

struct canceller {
	volatile int *flag;
	long after_ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *k = arg;
	struct timespec ts = {0, k->after_ms * 1000000L};

	nanosleep(&ts, NULL);
	*k->flag = 1;
	return NULL;
}

static void cancellation(void **state)
{
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	char err[CORE_ERR_LEN];
	volatile int cancel = 0;
	struct canceller k = {&cancel, 200};
	struct fake_llm_reply hang = {200, "{}", 5000, NULL};
	struct fake_llm_reply fail = {503, "busy", 0, NULL};
	pthread_t t;
	double t0, took;

	test_settings(&s);
	s.timeout_ms = 10000;
	s.backoff_base_ms = 5000;
	s.backoff_max_ms = 5000;
	c = open_client(&s);

	/* during a hang */
	script(&hang, 1);
	t0 = core_now_seconds();
	assert_int_equal(pthread_create(&t, NULL, cancel_later, &k), 0);
	assert_int_equal(chat(c, SCHEMA, &cancel, &rec, err, sizeof err),
			 CORE_ERR_CANCELLED);
	took = core_now_seconds() - t0;
	pthread_join(t, NULL);
	print_message("# cancel during a hang returned after %.3f s\n", took);
	assert_true(took >= 0.19 && took < 0.8);
	assert_int_equal(rec.outcome, LLM_OUTCOME_CANCELLED);
	assert_int_equal(rec.attempts, 1);
	llm_record_free(&rec);

	/* during a backoff wait */
	cancel = 0;
	script(&fail, 1);
	t0 = core_now_seconds();
	assert_int_equal(pthread_create(&t, NULL, cancel_later, &k), 0);
	assert_int_equal(chat(c, SCHEMA, &cancel, &rec, err, sizeof err),
			 CORE_ERR_CANCELLED);
	took = core_now_seconds() - t0;
	pthread_join(t, NULL);
	print_message("# cancel during a backoff returned after %.3f s\n",
		      took);
	assert_true(took < 0.8);
	assert_int_equal(rec.outcome, LLM_OUTCOME_CANCELLED);
	assert_int_equal(rec.attempts, 1);
	assert_int_equal(rec.http_status, 503);
	assert_non_null(strstr(err, "waiting to retry"));
	llm_record_free(&rec);

	/* already cancelled: nothing is sent */
	script(&fail, 1);
	assert_int_equal(chat(c, SCHEMA, &cancel, &rec, err, sizeof err),
			 CORE_ERR_CANCELLED);
	assert_int_equal(rec.attempts, 0);
	assert_int_equal(fake_llm_request_count(fake), 0);
	llm_record_free(&rec);
	llm_client_close(c);
}

/* A port nobody listens on: bind, read the port, close. */
static unsigned unused_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void connection_refused(void **state)
{
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	char err[CORE_ERR_LEN], url[64];
	double t0, took;

	test_settings(&s);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/", unused_port());
	s.base_url = url;
	c = open_client(&s);
	t0 = core_now_seconds();
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err),
			 CORE_ERR_UNAVAILABLE);
	took = core_now_seconds() - t0;
	assert_int_equal(rec.outcome, LLM_OUTCOME_UNREACHABLE);
	assert_int_equal(rec.attempts, 3);
	assert_int_equal(rec.http_status, 0);
	assert_int_equal(rec.attempt[0].outcome, LLM_OUTCOME_UNREACHABLE);
	assert_true(rec.attempt[0].wait_ms > 0);
	assert_true(took < 2.0);
	assert_non_null(strstr(err, "cannot reach"));
	/* the trailing slash of base_url is not doubled */
	assert_non_null(strstr(err, "/v1/chat/completions"));
	llm_record_free(&rec);
	llm_client_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(retry_after_429),
	    cmocka_unit_test(server_errors_then_success),
	    cmocka_unit_test(dropped_connection_is_retried),
	    cmocka_unit_test(server_errors_exhaust_attempts),
	    cmocka_unit_test(hang_times_out),
	    cmocka_unit_test(cancellation),
	    cmocka_unit_test(connection_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
