/* SPDX-License-Identifier: Apache-2.0 */
/* test_api_llm_check.c - POST /v1/llm/check in process over real HTTP
 * against the fake LLM server: every check passing, the model missing, a
 * context too small, structured output refused, an unreachable port, hosts
 * outside the allow list (and its syntax), an invalid body, the cap on
 * checks at once, the whole check's time bound, and `lmnas serve`
 * refusing a bad --llm-allow. The key goes to the endpoint only and never
 * comes back. No database: the server runs open (admin of team 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/fake_llm.h"
#include "../support/testsupport.h"
#include "auth/auth.h"
#include "http/http.h"
#include "llm/llm.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SECRET "sk-lmnas-test-SECRET-4711"

static struct http_router *router;
static struct http_server *srv;
static struct http_app app;
static char base[64];
static const char *const tok_a = NULL; /* open mode: no token needed */

/* ---- helpers ------------------------------------------------------------ */

static void req(const char *method, const char *path, const char *token,
		const char *body, struct ts_http_reply *r)
{
	char url[1024], auth[AUTH_TOKEN_MAX + 32];
	const char *h[3];
	int n = 0;

	snprintf(url, sizeof url, "%s%s", base, path);
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		h[n++] = auth;
	}
	if (body)
		h[n++] = "Content-Type: application/json";
	h[n] = NULL;
	assert_int_equal(
	    ts_http(method, url, h, body, body ? strlen(body) : 0, 60, r), 0);
}

static json_t *body_json(const struct ts_http_reply *r)
{
	json_error_t je;
	json_t *j = json_loads(r->body, 0, &je);

	if (!j)
		fail_msg("not JSON (%s): %s", je.text, r->body);
	return j;
}

/* Asserts a problem with this status and code whose errors name field
 * (NULL: not checked). */
static void check_problem(const char *method, const char *path,
			  const char *token, const char *body, int status,
			  const char *code, const char *field)
{
	struct ts_http_reply r;
	json_t *j, *e;
	size_t i;
	int named = 0;

	req(method, path, token, body, &r);
	if (r.status != status)
		fail_msg("%s %s: %ld, wanted %d: %s", method, path, r.status,
			 status, r.body);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    code);
	assert_non_null(http_error_find(code));
	assert_int_equal(http_error_find(code)->status, status);
	json_array_foreach(json_object_get(j, "errors"), i, e)
	{
		if (field &&
		    strcmp(json_string_value(json_object_get(e, "field")),
			   field) == 0)
			named = 1;
	}
	if (field && !named)
		fail_msg("no error names %s: %s", field, r.body);
	json_decref(j);
	ts_http_reply_free(&r);
}

static int group_setup(void **state)
{
	char err[CORE_ERR_LEN];
	struct http_server_config c;

	(void)state;
	app.auth_open = 1;
	app.open_team_id = 1;
	if (http_router_new(&router, err, sizeof err) ||
	    http_api_routes_add(router, err, sizeof err))
		return -1;
	http_server_config_defaults(&c);
	c.port = 0;
	c.threads = 4; /* two checks held open, and more requests */
	c.app = &app;
	if (http_server_start(&c, router, &srv, err, sizeof err))
		return -1;
	snprintf(base, sizeof base, "http://127.0.0.1:%d",
		 http_server_port(srv));
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	http_server_stop(srv, 1);
	http_router_free(router);
	return 0;
}

/* ---- POST /v1/llm/check ---------------------------------------------------
 */

static json_t *check_ok(const char *body)
{
	struct ts_http_reply r;
	json_t *j;

	req("POST", "/v1/llm/check", tok_a, body, &r);
	if (r.status != 200)
		fail_msg("check: %ld %s", r.status, r.body);
	assert_null(strstr(r.body, SECRET));
	j = body_json(&r);
	ts_http_reply_free(&r);
	return j;
}

/* The check named name of a check result: its ok, detail into out. */
static int check_item(const json_t *j, const char *name, char *out,
		      size_t outlen)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(j, "checks"), i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "check")),
			   name) == 0) {
			snprintf(
			    out, outlen, "%s",
			    json_string_value(json_object_get(e, "detail")));
			assert_true(
			    json_integer_value(json_object_get(e, "ms")) >= 0);
			return json_is_true(json_object_get(e, "ok"));
		}
	}
	fail_msg("no check %s", name);
	return -1;
}

static const char models_body[] =
    "{\"object\": \"list\", \"data\": [{\"id\": \"other\"}, {\"id\": "
    "\"m1\"}]}";

static void llm_check_reports_each_check(void **state)
{
	struct fake_llm *f;
	char body[512], detail[512], fmt[32];
	char *chat = fake_llm_chat_body("{\"ok\": true, \"model\": \"m1\"}",
					"stop", FAKE_LLM_TOKENS_AUTO, 9);
	struct fake_llm_reply good[] = {{200, models_body, 0, NULL},
					{200, chat, 0, NULL}};
	struct fake_llm_reply refused[] = {
	    {200, models_body, 0, NULL},
	    {400,
	     "{\"error\": \"response_format json_schema is not supported\"}", 0,
	     NULL},
	    {200, chat, 0, NULL}};
	struct fake_llm_reply missing[] = {
	    {200, "{\"data\": [{\"id\": \"llama3\"}]}", 0, NULL},
	    {200, chat, 0, NULL}};
	struct fake_llm_request got;
	json_t *j;

	(void)state;
	assert_non_null(chat);
	assert_int_equal(fake_llm_start(&f), 0);
	setenv("LMNAS_LLM_KEY_CHECK", SECRET, 1);

	/* everything works; the key goes to the server, never back */
	assert_int_equal(fake_llm_script(f, good, 2), 0);
	assert_int_equal(
	    fake_llm_probes(
		f, 200, "{\"default_generation_settings\": {\"n_ctx\": 32768}}",
		0, NULL),
	    0);
	snprintf(body, sizeof body,
		 "{\"base_url\": \"%s\", \"model\": \"m1\", \"api_key_env\": "
		 "\"LMNAS_LLM_KEY_CHECK\"}",
		 fake_llm_url(f));
	j = check_ok(body);
	assert_true(check_item(j, "reachable", detail, sizeof detail));
	assert_true(check_item(j, "model", detail, sizeof detail));
	assert_true(check_item(j, "structured_output", detail, sizeof detail));
	assert_non_null(strstr(detail, "json_schema"));
	assert_true(check_item(j, "context_length", detail, sizeof detail));
	assert_int_equal(
	    json_integer_value(json_object_get(j, "context_tokens")), 32768);
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	assert_int_equal(fake_llm_request_count(f), 2);
	assert_int_equal(fake_llm_request_get(f, 0, &got), 0);
	assert_string_equal(got.method, "GET");
	assert_string_equal(got.path, "/v1/models");
	assert_non_null(strstr(got.authorization, SECRET));
	fake_llm_request_free(&got);
	assert_int_equal(fake_llm_request_format(f, 1, fmt, sizeof fmt), 0);
	assert_string_equal(fmt, "json_schema");
	/* the key is a header only, never part of the request's body */
	assert_int_equal(fake_llm_request_get(f, 1, &got), 0);
	assert_non_null(strstr(got.authorization, SECRET));
	assert_null(strstr(got.body, SECRET));
	fake_llm_request_free(&got);

	/* the model is not served; the context is too small for the job */
	assert_int_equal(fake_llm_script(f, missing, 2), 0);
	assert_int_equal(
	    fake_llm_probes(
		f, 200, "{\"default_generation_settings\": {\"n_ctx\": 2048}}",
		0, NULL),
	    0);
	snprintf(body, sizeof body, "{\"base_url\": \"%s\", \"model\": \"m1\"}",
		 fake_llm_url(f));
	j = check_ok(body);
	assert_true(check_item(j, "reachable", detail, sizeof detail));
	assert_false(check_item(j, "model", detail, sizeof detail));
	assert_non_null(strstr(detail, "'m1' is not among the 1"));
	assert_non_null(strstr(detail, "llama3"));
	assert_false(check_item(j, "context_length", detail, sizeof detail));
	assert_non_null(strstr(detail, "2048 tokens"));
	assert_true(json_is_false(json_object_get(j, "ok")));
	json_decref(j);

	/* the schema is refused, json_object works: not honoured */
	assert_int_equal(fake_llm_script(f, refused, 3), 0);
	assert_int_equal(fake_llm_probes(f, 0, NULL, 0, NULL), 0);
	j = check_ok(body);
	assert_true(check_item(j, "model", detail, sizeof detail));
	assert_false(check_item(j, "structured_output", detail, sizeof detail));
	assert_non_null(strstr(detail, "json_object"));
	/* the server says nothing about its context: not a failure */
	assert_true(check_item(j, "context_length", detail, sizeof detail));
	assert_true(json_is_null(json_object_get(j, "context_tokens")));
	json_decref(j);
	fake_llm_stop(f);
	free(chat);
	unsetenv("LMNAS_LLM_KEY_CHECK");
}

/* A port on 127.0.0.1 that nothing listens on (bound, then closed). */
static int closed_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void llm_check_unreachable_is_200_not_5xx(void **state)
{
	char body[256], detail[512];
	json_t *j;

	(void)state;
	snprintf(body, sizeof body,
		 "{\"base_url\": \"http://127.0.0.1:%d/v1\", \"model\": "
		 "\"m1\"}",
		 closed_port());
	j = check_ok(body);
	assert_false(check_item(j, "reachable", detail, sizeof detail));
	assert_false(check_item(j, "model", detail, sizeof detail));
	assert_non_null(strstr(detail, "unreachable"));
	assert_false(check_item(j, "structured_output", detail, sizeof detail));
	assert_false(check_item(j, "context_length", detail, sizeof detail));
	assert_true(json_is_false(json_object_get(j, "ok")));
	json_decref(j);
}

static void llm_check_refuses_hosts_outside_the_allow_list(void **state)
{
	static const char *const refused[] = {
	    "http://10.0.0.1:11434/v1",
	    "http://169.254.169.254/latest",
	    "http://localhost.example.com:11434/v1",
	    "http://user@127.0.0.2/v1",
	    "http://[::ffff:10.0.0.1]/v1",
	    "http://0x0a000001:11434/v1", /* 10.0.0.1 as libcurl reads it */
	    "http://127.0.0.1.nip.io/v1",
	};
	char body[512], allow[64];
	struct fake_llm *f;
	json_t *j;
	char detail[512];

	(void)state;
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		snprintf(body, sizeof body,
			 "{\"base_url\": \"%s\", \"model\": \"m1\"}",
			 refused[i]);
		check_problem("POST", "/v1/llm/check", tok_a, body, 422,
			      "validation_failed", "base_url");
	}
	/* an entry with a port allows that port only */
	assert_int_equal(fake_llm_start(&f), 0);
	assert_int_equal(
	    fake_llm_script(
		f, (struct fake_llm_reply[]){{200, models_body, 0, NULL}}, 1),
	    0);
	snprintf(allow, sizeof allow, "example.org, 127.0.0.1:%u",
		 fake_llm_port(f));
	app.llm_allow = allow;
	snprintf(body, sizeof body, "{\"base_url\": \"%s\", \"model\": \"m1\"}",
		 fake_llm_url(f));
	j = check_ok(body);
	assert_true(check_item(j, "reachable", detail, sizeof detail));
	json_decref(j);
	/* the host as libcurl reads it: 0x7f000001 is 127.0.0.1 */
	snprintf(body, sizeof body,
		 "{\"base_url\": \"http://0x7f000001:%u/v1\", \"model\": "
		 "\"m1\"}",
		 fake_llm_port(f));
	j = check_ok(body);
	assert_true(check_item(j, "reachable", detail, sizeof detail));
	json_decref(j);
	snprintf(body, sizeof body,
		 "{\"base_url\": \"http://127.0.0.1:%u/v1\", \"model\": "
		 "\"m1\"}",
		 fake_llm_port(f) == 65535 ? 1 : fake_llm_port(f) + 1);
	check_problem("POST", "/v1/llm/check", tok_a, body, 422,
		      "validation_failed", "base_url");
	snprintf(body, sizeof body,
		 "{\"base_url\": \"http://localhost:%u/v1\", \"model\": "
		 "\"m1\"}",
		 fake_llm_port(f));
	check_problem("POST", "/v1/llm/check", tok_a, body, 422,
		      "validation_failed", "base_url");
	app.llm_allow = NULL;
	fake_llm_stop(f);
	/* the allow list's own syntax */
	{
		char err[CORE_ERR_LEN];
		assert_int_equal(http_llm_allow_validate(
				     "localhost, [::1]:8080, 10.1.2.3:11434",
				     err, sizeof err),
				 CORE_OK);
		assert_int_equal(
		    http_llm_allow_validate("http://x/", err, sizeof err),
		    CORE_ERR_INVALID);
		assert_int_equal(http_llm_allow_validate("*", err, sizeof err),
				 CORE_ERR_INVALID);
		assert_int_equal(
		    http_llm_allow_validate("host:99999", err, sizeof err),
		    CORE_ERR_INVALID);
	}
}

struct check_thread {
	char body[256];
	long status;
};

static void *check_in_thread(void *arg)
{
	struct check_thread *t = arg;
	struct ts_http_reply r;

	req("POST", "/v1/llm/check", tok_a, t->body, &r);
	t->status = r.status;
	ts_http_reply_free(&r);
	return NULL;
}

/* Two checks held by a hanging server: a third is refused at once (429),
 * so checks cannot take every HTTP thread. */
static void llm_checks_at_once_are_capped(void **state)
{
	struct fake_llm *f;
	struct fake_llm_reply hang[] = {{200, models_body, 30000, NULL}};
	struct check_thread t[2];
	pthread_t th[2];
	char body[256];

	(void)state;
	memset(t, 0, sizeof t);
	assert_int_equal(fake_llm_start(&f), 0);
	assert_int_equal(fake_llm_script(f, hang, 1), 0);
	/* one at a time: a blocked server thread accepts no connection, so
	 * each check lands on a free one (bounded waits, not timings) */
	for (int i = 0; i < 2; i++) {
		snprintf(t[i].body, sizeof t[i].body,
			 "{\"base_url\": \"%s\", \"model\": \"m1\"}",
			 fake_llm_url(f));
		assert_int_equal(
		    pthread_create(&th[i], NULL, check_in_thread, &t[i]), 0);
		for (int k = 0;
		     k < 2000 && fake_llm_request_count(f) < (size_t)i + 1; k++)
			usleep(5000);
		assert_int_equal(fake_llm_request_count(f), i + 1);
	}
	snprintf(body, sizeof body, "{\"base_url\": \"%s\", \"model\": \"m1\"}",
		 fake_llm_url(f));
	check_problem("POST", "/v1/llm/check", tok_a, body, 429,
		      "llm_checks_busy", NULL);
	fake_llm_stop(f); /* cuts the hanging replies short */
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].status, 200);
	}
}

/* A hanging endpoint holds a check for its total time at most: the check
 * in flight is cancelled and fails saying so (the bound is the parameter,
 * 300 ms here, not a measured speed). */
static void llm_check_ends_at_its_total_time(void **state)
{
	struct fake_llm *f;
	struct fake_llm_reply hang_models[] = {{200, models_body, 30000, NULL}};
	char *chat = fake_llm_chat_body("{\"ok\": true, \"model\": \"m1\"}",
					"stop", FAKE_LLM_TOKENS_AUTO, 9);
	struct fake_llm_reply hang_chat[] = {{200, models_body, 0, NULL},
					     {200, chat, 30000, NULL}};
	struct llm_settings s;
	struct llm_check_report rep;
	char err[CORE_ERR_LEN];

	(void)state;
	assert_int_equal(fake_llm_start(&f), 0);
	llm_settings_default(&s);
	s.base_url = fake_llm_url(f);
	s.model = "m1";
	assert_int_equal(fake_llm_script(f, hang_models, 1), 0);
	assert_int_equal(llm_check_run(&s, 0, 300, &rep, err, sizeof err),
			 CORE_OK);
	assert_int_equal(rep.n, 4);
	assert_false(rep.item[0].ok);
	assert_non_null(strstr(rep.item[0].detail, "time limit"));
	assert_int_equal(fake_llm_script(f, hang_chat, 2), 0);
	assert_int_equal(llm_check_run(&s, 0, 300, &rep, err, sizeof err),
			 CORE_OK);
	assert_true(rep.item[0].ok);
	assert_true(rep.item[1].ok);
	assert_string_equal(rep.item[2].check, "structured_output");
	assert_false(rep.item[2].ok);
	assert_non_null(strstr(rep.item[2].detail, "time limit"));
	fake_llm_stop(f);
	free(chat);
}

/* A bad --llm-allow stops `lmnas serve` at start, naming the flag. */
static void serve_refuses_a_bad_allow_list(void **state)
{
	static const char *const args[] = {"serve", NULL};
	static const char *const env[] = {
	    "LMNAS_LLM_ALLOW=http://ollama:11434/", NULL};
	static const char *const args2[] = {"--llm-allow", "*", "serve", NULL};
	struct ts_proc p;
	char *log;

	(void)state;
	memset(&p, 0, sizeof p);
	assert_int_equal(ts_lmnas_run(&p, args, env), 2);
	log = ts_proc_log_read(&p);
	assert_non_null(strstr(log, "--llm-allow (LMNAS_LLM_ALLOW)"));
	free(log);
	memset(&p, 0, sizeof p);
	assert_int_equal(ts_lmnas_run(&p, args2, NULL), 2);
	log = ts_proc_log_read(&p);
	assert_non_null(strstr(log, "'*'"));
	free(log);
}

static void llm_check_invalid_body_is_422_naming_the_field(void **state)
{
	(void)state;
	check_problem("POST", "/v1/llm/check", tok_a,
		      "{\"base_url\": \"http://127.0.0.1:1/v1\", \"model\": 5}",
		      422, "validation_failed", "model");
	check_problem(
	    "POST", "/v1/llm/check", tok_a,
	    "{\"base_url\": \"ftp://127.0.0.1/v1\", \"model\": \"m\"}", 422,
	    "validation_failed", "base_url");
	check_problem("POST", "/v1/llm/check", tok_a,
		      "{\"model\": \"m\", \"bogus\": 1}", 422,
		      "validation_failed", "bogus");
	check_problem("POST", "/v1/llm/check", tok_a,
		      "{\"base_url\": \"http://127.0.0.1:1/v1\", \"model\": "
		      "\"m\", \"api_key_env\": \"LMNAS_DATABASE_URL\"}",
		      422, "validation_failed", "api_key_env");
	check_problem("POST", "/v1/llm/check", tok_a, "[1]", 422,
		      "validation_failed", "");
	/* (without a token: a 401, in test_api_candidates.c) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(llm_check_reports_each_check),
	    cmocka_unit_test(llm_check_unreachable_is_200_not_5xx),
	    cmocka_unit_test(llm_check_refuses_hosts_outside_the_allow_list),
	    cmocka_unit_test(llm_check_invalid_body_is_422_naming_the_field),
	    cmocka_unit_test(llm_checks_at_once_are_capped),
	    cmocka_unit_test(serve_refuses_a_bad_allow_list),
	    cmocka_unit_test(llm_check_ends_at_its_total_time),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
