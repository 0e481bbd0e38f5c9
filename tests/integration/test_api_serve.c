/* SPDX-License-Identifier: Apache-2.0 */
/* test_api_serve.c - the API's authentication as `lmnas serve` decides it
 * at start, and `lmnas token` as a process: without any token, serve refuses
 * a non-loopback address and runs open (with a warning) on loopback; a
 * token printed once by `token create` opens /v1, `token list` never shows
 * the secret, `token revoke` closes it; bad arguments exit 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../support/testsupport.h"

#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ts_pg pg;
static char env_url[320];

static int group_setup(void **state)
{
	char url[256];

	if (ts_pg_start(&pg))
		return -1;
	ts_pg_url(&pg, NULL, url, sizeof url);
	snprintf(env_url, sizeof env_url, "LMNAS_DATABASE_URL=%s", url);
	return 0;
}

static int group_teardown(void **state)
{
	ts_pg_destroy(&pg);
	return 0;
}

/* Runs `lmnas ARGS` against the test database; its exit code, its output
 * in p. */
static int lmnas(struct ts_proc *p, const char *const *args)
{
	const char *env[] = {env_url, NULL};

	return ts_lmnas_run(p, args, env);
}

static int log_has(const struct ts_proc *p, const char *needle)
{
	char *log = ts_proc_log_read(p);
	int found = strstr(log, needle) != NULL;

	if (!found)
		fprintf(stderr, "log lacks '%s':\n%s\n", needle, log);
	free(log);
	return found;
}

static long get_status(const struct ts_proc *srv, const char *path,
		       const char *token, char *code, size_t codelen)
{
	char url[256], auth[160];
	const char *h[2] = {NULL, NULL};
	struct ts_http_reply r;
	long status;
	const char *c;

	snprintf(url, sizeof url, "%s%s", srv->base, path);
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		h[0] = auth;
	}
	assert_int_equal(ts_http("GET", url, h, NULL, 0, 10, &r), 0);
	status = r.status;
	code[0] = '\0';
	c = strstr(r.body, "\"code\":\"");
	if (c)
		snprintf(code, codelen, "%.*s", (int)strcspn(c + 8, "\""),
			 c + 8);
	ts_http_reply_free(&r);
	return status;
}

static void
serve_without_tokens_refuses_public_runs_open_on_loopback(void **state)
{
	static const char *const migrate[] = {"migrate", NULL};
	char listen[64], code[64];
	const char *env[3] = {env_url, listen, NULL};
	struct ts_proc p, srv;

	assert_int_equal(lmnas(&p, migrate), 0);
	snprintf(listen, sizeof listen, "LMNAS_LISTEN=0.0.0.0:%d",
		 ts_free_port());
	assert_int_equal(ts_lmnas_serve(&srv, env), -1);
	assert_int_equal(srv.exit_code, 1);
	assert_true(log_has(&srv, "no API token exists"));
	assert_true(log_has(&srv, "lmnas token create"));

	env[1] = NULL; /* loopback */
	assert_int_equal(ts_lmnas_serve(&srv, env), 0);
	assert_true(log_has(&srv, "the API is OPEN"));
	assert_int_equal(get_status(&srv, "/v1/jobs", NULL, code, sizeof code),
			 200);
	assert_int_equal(ts_proc_stop(&srv, SIGTERM, 10), 0);
}

/* The token printed by `token create` (the log holds stdout and stderr). */
static void token_from_log(const struct ts_proc *p, char *out, size_t outlen)
{
	char *log = ts_proc_log_read(p);
	regex_t re;
	regmatch_t m;

	assert_int_equal(
	    regcomp(&re, "lmnas_[0-9]+_[0-9a-f]{64}", REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, log, 1, &m, 0), 0);
	snprintf(out, outlen, "%.*s", (int)(m.rm_eo - m.rm_so), log + m.rm_so);
	regfree(&re);
	free(log);
}

static void token_create_list_revoke_drive_the_api(void **state)
{
	static const char *const create[] = {
	    "token", "create", "--team", "ci", "--expires", "90d", NULL};
	static const char *const list[] = {"token", "list", NULL};
	static const char *const bad_exp[] = {
	    "token", "create", "--team", "ci", "--expires", "soon", NULL};
	static const char *const bad_team[] = {"token", "create", "--team",
					       "no way", NULL};
	static const char *const no_team[] = {"token", "create", NULL};
	char tok[128], code[64], idarg[32];
	const char *revoke[] = {"token", "revoke", idarg, NULL};
	const char *env[2] = {env_url, NULL};
	struct ts_proc p, srv;
	char *log;

	assert_int_equal(lmnas(&p, bad_exp), 2);
	assert_int_equal(lmnas(&p, no_team), 2);
	assert_int_equal(lmnas(&p, bad_team), 1);
	assert_true(log_has(&p, "team: must be"));

	assert_int_equal(lmnas(&p, create), 0);
	token_from_log(&p, tok, sizeof tok);
	snprintf(idarg, sizeof idarg, "%.*s", (int)strcspn(tok + 6, "_"),
		 tok + 6);

	assert_int_equal(lmnas(&p, list), 0);
	assert_true(log_has(&p, "\"team\" : \"ci\""));
	assert_true(log_has(&p, "\"active\" : true"));
	log = ts_proc_log_read(&p);
	assert_null(strstr(log, tok + 6 + strlen(idarg) + 1)); /* no secret */
	assert_null(strstr(log, "hash"));
	free(log);

	/* with a token, /v1 needs it */
	if (ts_lmnas_serve(&srv, env) != 0) {
		log = ts_proc_log_read(&srv);
		fail_msg("serve did not come up: %s", log);
	}
	assert_int_equal(get_status(&srv, "/v1/jobs", NULL, code, sizeof code),
			 401);
	assert_string_equal(code, "unauthenticated");
	assert_int_equal(get_status(&srv, "/v1/jobs", tok, code, sizeof code),
			 200);
	assert_int_equal(get_status(&srv, "/healthz", NULL, code, sizeof code),
			 200);

	assert_int_equal(lmnas(&p, revoke), 0);
	assert_int_equal(get_status(&srv, "/v1/jobs", tok, code, sizeof code),
			 401);
	assert_string_equal(code, "token_revoked");
	assert_int_equal(lmnas(&p, revoke), 0); /* revoked stays revoked */
	assert_int_equal(ts_proc_stop(&srv, SIGTERM, 10), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		serve_without_tokens_refuses_public_runs_open_on_loopback),
	    cmocka_unit_test(token_create_list_revoke_drive_the_api),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
