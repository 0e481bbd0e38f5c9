/* SPDX-License-Identifier: Apache-2.0 */
/* test_llm_client.c - llm: the chat client against the scripted fake server
 * (tests/support/fake_llm): what it sends, what each kind of reply gives,
 * the response_format fallback, settings validation, allocation failures.
 * Retries, timeouts and cancellation are in test_llm_client_retry.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "llm/llm.h"

#include "../support/fake_llm.h"
#include "../support/llmtest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct fake_llm *fake;

static const char *SCHEMA =
    "{\"type\":\"object\",\"properties\":{\"candidates\":{\"type\":"
    "\"array\",\"items\":{\"type\":\"object\"}}},\"required\":"
    "[\"candidates\"],\"additionalProperties\":false}";
static const char *ANSWER = "{\"candidates\":[{\"stages\":2},{\"stages\":3}]}";
static const char *KEY = "sk-test-0123456789";

static const struct llm_message MSGS[] = {
    {"system", "You design small CNNs. Reply with JSON."},
    {"user", "Propose 2 candidates for 96x96 grayscale, \"quoted\"."},
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
	s->temperature = 0.2;
	s->max_tokens = 256;
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

static void script_chat(const char *content, const char *finish)
{
	assert_int_equal(fake_llm_script_chat(fake, content, finish), 0);
}

static enum core_status chat(struct llm_client *c, const char *schema,
			     volatile int *cancel, struct llm_record *rec,
			     char *err, size_t errlen)
{
	struct llm_request req = {MSGS, 2, "candidates", schema, cancel};

	return llm_client_chat(c, &req, rec, err, errlen);
}

/* The body of request i, parsed. */
static json_t *request_json(size_t i, struct fake_llm_request *r)
{
	json_error_t jerr;
	json_t *v;

	assert_int_equal(fake_llm_request_get(fake, i, r), 0);
	v = json_loads(r->body, 0, &jerr);
	if (!v)
		fail_msg("request %zu body is not JSON: %s", i, jerr.text);
	return v;
}

/* The response_format type of request i ("none" without one). */
static const char *request_format(size_t i)
{
	static char out[32];

	assert_int_equal(fake_llm_request_format(fake, i, out, sizeof out), 0);
	return out;
}

static void good_json_and_request_shape(void **state)
{
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	struct fake_llm_request r;
	char err[CORE_ERR_LEN];
	json_t *body, *msgs, *rf, *js, *schema;
	char *ct;

	test_settings(&s);
	s.api_key = KEY;
	c = open_client(&s);
	script_chat(ANSWER, "stop");
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err), CORE_OK);
	assert_int_equal(rec.outcome, LLM_OUTCOME_OK);
	assert_string_equal(rec.json, ANSWER);
	assert_int_equal(rec.json_len, strlen(ANSWER));
	assert_string_equal(rec.content, ANSWER);
	assert_int_equal(rec.attempts, 1);
	assert_int_equal(rec.http_status, 200);
	/* the fake counts what a tokenizer would: at least the estimate */
	assert_true(rec.prompt_tokens >= rec.prompt_estimate);
	assert_true(rec.prompt_estimate > 0);
	assert_int_equal(rec.completion_tokens, 34);
	assert_string_equal(rec.finish_reason, "stop");
	assert_string_equal(rec.error, "");
	assert_int_equal(rec.format, LLM_FORMAT_JSON_SCHEMA);
	assert_int_equal(rec.attempt[0].http_status, 200);
	assert_int_equal(rec.attempt[0].outcome, LLM_OUTCOME_OK);
	assert_true(rec.latency_ms >= 0 && rec.latency_ms < 2000);
	assert_non_null(rec.reply_body);
	assert_non_null(strstr(rec.reply_body, "chatcmpl-fake"));
	assert_string_equal(
	    rec.messages_json,
	    "[{\"role\":\"system\",\"content\":\"You design small CNNs. "
	    "Reply with JSON.\"},{\"role\":\"user\",\"content\":\"Propose 2 "
	    "candidates for 96x96 grayscale, \\\"quoted\\\".\"}]");
	/* the key appears nowhere in the record */
	assert_null(strstr(rec.messages_json, KEY));
	assert_null(strstr(rec.reply_body, KEY));

	/* what went over the wire */
	assert_int_equal(fake_llm_request_count(fake), 1);
	body = request_json(0, &r);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.path, "/v1/chat/completions");
	assert_non_null(r.authorization);
	assert_string_equal(r.authorization, "Bearer sk-test-0123456789");
	ct = fake_llm_request_header(&r, "content-type");
	assert_non_null(ct);
	assert_string_equal(ct, "application/json");
	free(ct);
	assert_string_equal(json_string_value(json_object_get(body, "model")),
			    "test-model");
	assert_true(json_real_value(json_object_get(body, "temperature")) ==
		    0.2);
	assert_int_equal(
	    json_integer_value(json_object_get(body, "max_tokens")), 256);
	assert_true(json_is_false(json_object_get(body, "stream")));
	msgs = json_object_get(body, "messages");
	assert_int_equal(json_array_size(msgs), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(msgs, 0), "role")),
	    "system");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(msgs, 1), "content")),
			    MSGS[1].content);
	rf = json_object_get(body, "response_format");
	assert_string_equal(json_string_value(json_object_get(rf, "type")),
			    "json_schema");
	js = json_object_get(rf, "json_schema");
	assert_string_equal(json_string_value(json_object_get(js, "name")),
			    "candidates");
	assert_true(json_is_true(json_object_get(js, "strict")));
	schema = json_loads(SCHEMA, 0, NULL);
	assert_true(json_equal(json_object_get(js, "schema"), schema));
	json_decref(schema);
	json_decref(body);
	fake_llm_request_free(&r);
	llm_record_free(&rec);
	llm_client_close(c);
}

static void no_key_no_authorization(void **state)
{
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	struct fake_llm_request r;
	char err[CORE_ERR_LEN];
	char *auth;

	test_settings(&s);
	s.api_key = ""; /* the env var was empty: same as none */
	s.max_tokens = 0;
	c = open_client(&s);
	script_chat(ANSWER, "stop");
	/* no schema: json_object, and no max_tokens field */
	assert_int_equal(chat(c, NULL, NULL, &rec, err, sizeof err), CORE_OK);
	assert_int_equal(rec.format, LLM_FORMAT_JSON_OBJECT);
	assert_int_equal(fake_llm_request_get(fake, 0, &r), 0);
	assert_null(r.authorization);
	auth = fake_llm_request_header(&r, "Authorization");
	assert_null(auth);
	assert_null(strstr(r.body, "max_tokens"));
	fake_llm_request_free(&r);
	assert_string_equal(request_format(0), "json_object");
	/* the client still starts at json_schema when a schema comes */
	assert_int_equal(llm_client_format(c), LLM_FORMAT_JSON_SCHEMA);
	llm_record_free(&rec);
	llm_client_close(c);
}

/* Content variants that must all give ANSWER. */
static void fenced_and_prose(void **state)
{
	static const char *contents[] = {
	    "```json\n{\"candidates\":[{\"stages\":2},{\"stages\":3}]}\n```",
	    "Here are two candidates:\n\n{\"candidates\":[{\"stages\":2},"
	    "{\"stages\":3}]}\n\nThe first is smaller.",
	    "<think>try {\"candidates\": []}</think>```json\n{\"candidates\""
	    ":[{\"stages\":2},{\"stages\":3}]}\n```",
	};
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	char err[CORE_ERR_LEN];

	test_settings(&s);
	c = open_client(&s);
	for (size_t i = 0; i < sizeof contents / sizeof contents[0]; i++) {
		script_chat(contents[i], "stop");
		assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err),
				 CORE_OK);
		assert_string_equal(rec.json, ANSWER);
		assert_string_equal(rec.content, contents[i]);
		assert_int_equal(rec.attempts, 1);
		llm_record_free(&rec);
	}
	llm_client_close(c);
}

/* A 2xx reply that cannot be used: bad_reply, one attempt, no retry. */
static void expect_bad_reply(struct llm_client *c, enum llm_reply_error re,
			     const char *err_has)
{
	struct llm_record rec;
	char err[CORE_ERR_LEN];

	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(rec.outcome, LLM_OUTCOME_BAD_REPLY);
	if (rec.reply_error != re)
		fail_msg("reply_error %s, wanted %s (%s)",
			 llm_reply_error_name(rec.reply_error),
			 llm_reply_error_name(re), rec.error);
	assert_int_equal(rec.attempts, 1);
	assert_int_equal(fake_llm_request_count(fake), 1);
	assert_int_equal(rec.http_status, 200);
	assert_null(rec.json);
	assert_non_null(rec.reply_body);
	if (!strstr(err, err_has) || strcmp(err, rec.error) != 0)
		fail_msg("error '%s' lacks '%s'", err, err_has);
	llm_record_free(&rec);
}

static void bad_replies(void **state)
{
	struct llm_settings s;
	struct llm_client *c;
	struct fake_llm_reply r = {200, NULL, 0, NULL};

	test_settings(&s);
	c = open_client(&s);
	script_chat("{\"candidates\":[{\"stages\":2},{\"sta", "length");
	expect_bad_reply(c, LLM_REPLY_TRUNCATED, "finish_reason \"length\"");
	script_chat("{\"candidates\":[{\"stages\":2}", "stop");
	expect_bad_reply(c, LLM_REPLY_TRUNCATED, "cut off");
	script_chat("", "stop");
	expect_bad_reply(c, LLM_REPLY_EMPTY, "empty");
	script_chat("", "length"); /* a reasoning model used every token */
	expect_bad_reply(c, LLM_REPLY_TRUNCATED, "length");
	/* once json_schema has given a usable reply on this client, text
	 * without JSON is the model's fault, not an ignored format */
	{
		struct llm_record ok;
		char err[CORE_ERR_LEN];
		script_chat(ANSWER, "stop");
		assert_int_equal(chat(c, SCHEMA, NULL, &ok, err, sizeof err),
				 CORE_OK);
		llm_record_free(&ok);
	}
	script_chat("I cannot help with that.", "stop");
	expect_bad_reply(c, LLM_REPLY_NO_JSON, "no JSON object");
	script_chat("{\"candidates\": [1, 2 3]}", "stop");
	expect_bad_reply(c, LLM_REPLY_INVALID_JSON, "invalid");
	r.body = "{\"id\":\"x\",\"choices\":[]}";
	script(&r, 1);
	expect_bad_reply(c, LLM_REPLY_SHAPE, "empty choices");
	r.body = "{\"id\":\"x\"}";
	script(&r, 1);
	expect_bad_reply(c, LLM_REPLY_SHAPE, "no choices");
	r.body = "{\"choices\":[{\"message\":{\"role\":\"assistant\","
		 "\"content\":null,\"refusal\":\"not allowed\"}}]}";
	script(&r, 1);
	expect_bad_reply(c, LLM_REPLY_SHAPE, "refused: not allowed");
	r.body = "{\"choices\":[{\"message\":{\"content\":42}}]}";
	script(&r, 1);
	expect_bad_reply(c, LLM_REPLY_SHAPE, "content");
	r.body = "{\"error\":{\"message\":\"model not loaded\"}}";
	script(&r, 1);
	expect_bad_reply(c, LLM_REPLY_SHAPE, "model not loaded");
	r.body = "<html>proxy error</html>";
	script(&r, 1);
	expect_bad_reply(c, LLM_REPLY_NOT_JSON, "not a JSON object");
	r.body = "";
	script(&r, 1);
	expect_bad_reply(c, LLM_REPLY_NOT_JSON, "not a JSON object");
	llm_client_close(c);
}

static void content_parts_and_bad_usage(void **state)
{
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	char err[CORE_ERR_LEN];
	struct fake_llm_reply r = {
	    200,
	    "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\","
	    "\"text\":\"{\\\"candidates\\\":\"},{\"type\":\"text\",\"text\":"
	    "\"[]}\"}]},\"finish_reason\":\"stop\"}],\"usage\":{"
	    "\"prompt_tokens\":-5,\"completion_tokens\":\"many\"}}",
	    0, NULL};

	test_settings(&s);
	c = open_client(&s);
	script(&r, 1);
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err), CORE_OK);
	assert_string_equal(rec.json, "{\"candidates\":[]}");
	/* sizes from the reply are not trusted */
	assert_int_equal(rec.prompt_tokens, -1);
	assert_int_equal(rec.completion_tokens, -1);
	llm_record_free(&rec);
	llm_client_close(c);
}

static void format_fallback(void **state)
{
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	char err[CORE_ERR_LEN];
	char *ok = fake_llm_chat_body(ANSWER, "stop", FAKE_LLM_TOKENS_AUTO, 2);
	struct fake_llm_reply rs[] = {
	    {400,
	     "{\"error\":{\"message\":\"response_format type json_schema is "
	     "unavailable\"}}",
	     0, NULL},
	    {400, "{\"error\":{\"message\":\"Invalid value: json_object\"}}", 0,
	     NULL},
	    {200, ok, 0, NULL},
	};

	test_settings(&s);
	s.max_attempts = 1; /* fallbacks do not spend retries */
	c = open_client(&s);
	script(rs, 3);
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err), CORE_OK);
	assert_int_equal(rec.attempts, 3);
	assert_int_equal(rec.attempt[0].outcome, LLM_OUTCOME_REFUSED_FORMAT);
	assert_int_equal(rec.attempt[0].format, LLM_FORMAT_JSON_SCHEMA);
	assert_int_equal(rec.attempt[1].format, LLM_FORMAT_JSON_OBJECT);
	assert_int_equal(rec.attempt[2].format, LLM_FORMAT_NONE);
	assert_int_equal(rec.attempt[0].wait_ms, 0);
	assert_string_equal(request_format(0), "json_schema");
	assert_string_equal(request_format(1), "json_object");
	assert_string_equal(request_format(2), "none");
	assert_int_equal(rec.format, LLM_FORMAT_NONE);
	assert_string_equal(rec.json, ANSWER);
	llm_record_free(&rec);
	/* remembered: the next call sends no response_format at once */
	assert_int_equal(llm_client_format(c), LLM_FORMAT_NONE);
	script(&rs[2], 1);
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err), CORE_OK);
	assert_int_equal(rec.attempts, 1);
	assert_string_equal(request_format(0), "none");
	llm_record_free(&rec);
	free(ok);
	llm_client_close(c);
}

static void format_fallback_rules(void **state)
{
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	char err[CORE_ERR_LEN];
	char *ok = fake_llm_chat_body(ANSWER, "stop", FAKE_LLM_TOKENS_AUTO, 2);
	struct fake_llm_reply generic = {400, "{\"error\":\"bad request\"}", 0,
					 NULL};
	struct fake_llm_reply good = {200, ok, 0, NULL};
	struct fake_llm_reply rs[2] = {generic, good};

	test_settings(&s);
	c = open_client(&s);
	/* a generic 400 at an unconfirmed level counts as a refusal */
	script(rs, 2);
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err), CORE_OK);
	assert_int_equal(rec.attempts, 2);
	assert_int_equal(rec.format, LLM_FORMAT_JSON_OBJECT);
	assert_int_equal(llm_client_format(c), LLM_FORMAT_JSON_OBJECT);
	llm_record_free(&rec);
	/* json_object is confirmed now: a generic 400 is the request's fault,
	 * no fallback, no retry, and the level stays */
	script(&generic, 1);
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err),
			 CORE_ERR_UNAVAILABLE);
	assert_int_equal(rec.outcome, LLM_OUTCOME_HTTP_ERROR);
	assert_int_equal(rec.attempts, 1);
	assert_int_equal(llm_client_format(c), LLM_FORMAT_JSON_OBJECT);
	assert_non_null(strstr(err, "bad request"));
	llm_record_free(&rec);
	llm_client_close(c);

	/* with a floor of json_object, a server refusing both formats ends as
	 * refused_format */
	s.format_floor = LLM_FORMAT_JSON_OBJECT;
	c = open_client(&s);
	generic.body = "{\"error\":\"unknown field response_format\"}";
	script(&generic, 1);
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(rec.outcome, LLM_OUTCOME_REFUSED_FORMAT);
	assert_int_equal(rec.attempts, 2);
	assert_int_equal(rec.format, LLM_FORMAT_JSON_OBJECT);
	assert_non_null(strstr(err, "refused response_format json_object"));
	assert_int_equal(llm_client_format(c), LLM_FORMAT_JSON_SCHEMA);
	llm_record_free(&rec);

	/* a 500 naming the schema is a refusal too (grammar converters) */
	rs[0].status = 500;
	rs[0].body = "{\"error\":\"failed to parse grammar from schema\"}";
	script(rs, 2);
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err), CORE_OK);
	assert_int_equal(rec.attempts, 2);
	assert_int_equal(rec.attempt[0].wait_ms, 0);
	assert_int_equal(rec.format, LLM_FORMAT_JSON_OBJECT);
	llm_record_free(&rec);
	free(ok);
	llm_client_close(c);
}

static void oversized_body(void **state)
{
	struct llm_settings s;
	struct llm_client *c;
	struct llm_record rec;
	char err[CORE_ERR_LEN];
	size_t n = 200 * 1024;
	char *big = malloc(n + 1);
	struct fake_llm_reply r = {200, big, 0, NULL};

	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	test_settings(&s);
	s.max_reply_bytes = 64 * 1024;
	c = open_client(&s);
	script(&r, 1);
	free(big);
	assert_int_equal(chat(c, SCHEMA, NULL, &rec, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(rec.outcome, LLM_OUTCOME_BAD_REPLY);
	assert_int_equal(rec.reply_error, LLM_REPLY_TOO_LARGE);
	assert_int_equal(rec.attempts, 1);
	assert_null(rec.reply_body);
	assert_non_null(strstr(err, "65536"));
	llm_record_free(&rec);
	llm_client_close(c);
}

static void bad_settings_and_requests(void **state)
{
	struct llm_settings s;
	struct llm_client *c = (struct llm_client *)1;
	struct llm_record rec;
	char err[CORE_ERR_LEN];
	const struct llm_message bad_role[] = {{"robot", "hi"}};
	const struct llm_message bad_utf8[] = {{"user", "caf\xc3"}};
	struct llm_request req = {bad_role, 1, NULL, NULL, NULL};

	test_settings(&s);
	s.base_url = "ftp://example.org/v1";
	assert_int_equal(llm_client_open(&s, &c, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_null(c);
	assert_non_null(strstr(err, "base_url"));
	test_settings(&s);
	s.base_url = "https://user:secret@api.example.org/v1";
	assert_int_equal(llm_client_open(&s, &c, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "credentials"));
	assert_null(strstr(err, "secret"));
	test_settings(&s);
	s.model = "";
	assert_int_equal(llm_client_open(&s, &c, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "model"));
	test_settings(&s);
	s.max_attempts = 0;
	assert_int_equal(llm_client_open(&s, &c, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "max_attempts"));
	test_settings(&s);
	s.api_key = "sk\r\nX-Evil: 1";
	assert_int_equal(llm_client_open(&s, &c, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "api_key"));
	assert_null(strstr(err, "Evil")); /* the key is not echoed */
	test_settings(&s);
	s.format_start = LLM_FORMAT_NONE;
	s.format_floor = LLM_FORMAT_JSON_OBJECT;
	assert_int_equal(llm_client_open(&s, &c, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "format_floor"));

	test_settings(&s);
	c = open_client(&s);
	script_chat(ANSWER, "stop");
	assert_int_equal(llm_client_chat(c, &req, &rec, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_int_equal(rec.outcome, LLM_OUTCOME_INTERNAL);
	assert_non_null(strstr(rec.error, "messages[0].role"));
	llm_record_free(&rec);
	req.messages = bad_utf8;
	assert_int_equal(llm_client_chat(c, &req, &rec, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "UTF-8"));
	llm_record_free(&rec);
	req.messages = MSGS;
	req.nmessages = 0;
	assert_int_equal(llm_client_chat(c, &req, &rec, err, sizeof err),
			 CORE_ERR_INVALID);
	llm_record_free(&rec);
	req.nmessages = 2;
	req.schema = "[1, 2]";
	assert_int_equal(llm_client_chat(c, &req, &rec, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "schema"));
	llm_record_free(&rec);
	req.schema = SCHEMA;
	req.schema_name = "has space";
	assert_int_equal(llm_client_chat(c, &req, &rec, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "schema_name"));
	llm_record_free(&rec);
	assert_int_equal(fake_llm_request_count(fake), 0); /* nothing sent */
	llm_client_close(c);
	llm_client_close(NULL);
}

/* Fails each allocation of open + chat in turn: never a crash or a leak,
 * always NOMEM (or success once n is past the last allocation). */
static void allocation_failures(void **state)
{
	struct llm_settings s;
	struct llm_record rec;
	char err[CORE_ERR_LEN];
	long n;
	int done = 0;

	test_settings(&s);
	s.api_key = KEY;
	script_chat(ANSWER, "stop");
	for (n = 0; n < 200 && !done; n++) {
		struct llm_client *c = NULL;
		enum core_status rc;

		core_alloc_fail_after(n);
		rc = llm_client_open(&s, &c, err, sizeof err);
		if (rc == CORE_OK) {
			rc = chat(c, SCHEMA, NULL, &rec, err, sizeof err);
			if (rc == CORE_OK)
				assert_string_equal(rec.json, ANSWER);
			else
				assert_int_equal(rec.outcome,
						 LLM_OUTCOME_INTERNAL);
			llm_record_free(&rec);
			llm_client_close(c);
		}
		core_alloc_fail_after(-1);
		if (rc != CORE_OK && rc != CORE_ERR_NOMEM)
			fail_msg("n=%ld: %s (%s)", n, core_status_name(rc),
				 err);
		done = rc == CORE_OK;
	}
	print_message("# allocation failures: %ld points tried\n", n);
	assert_true(done);
	assert_true(n > 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(good_json_and_request_shape),
	    cmocka_unit_test(no_key_no_authorization),
	    cmocka_unit_test(fenced_and_prose),
	    cmocka_unit_test(bad_replies),
	    cmocka_unit_test(content_parts_and_bad_usage),
	    cmocka_unit_test(format_fallback),
	    cmocka_unit_test(format_fallback_rules),
	    cmocka_unit_test(oversized_body),
	    cmocka_unit_test(bad_settings_and_requests),
	    cmocka_unit_test(allocation_failures),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
