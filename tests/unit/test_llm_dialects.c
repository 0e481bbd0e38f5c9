/* SPDX-License-Identifier: Apache-2.0 */
/* test_llm_dialects.c - llm: replies as real servers send them, against the
 * scripted fake server: bare lists, the lenient JSON dialect (comments,
 * trailing commas) and no inner fragments, JSON only in reasoning_content or
 * in a tool call, a 200 that ignored response_format (step down, llama's own
 * field, remembered), a prompt cut to the server's context (usage, /props,
 * /api/show) or refused for its size, an ok call without an earlier
 * attempt's error, and bodies that are not UTF-8. */
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
    "\"array\"}},\"required\":[\"candidates\"]}";
static const char *ANSWER = "{\"candidates\":[{\"stages\":2}]}";

static const struct llm_message MSGS[] = {
    {"system", "You design small CNNs. Reply with JSON."},
    {"user", "Propose 1 candidate."},
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

static struct llm_client *open_client(void)
{
	struct llm_settings s;
	struct llm_client *c;

	llmtest_settings(&s, fake_llm_url(fake));
	s.max_tokens = 1000;
	c = llmtest_client(&s);
	if (!c)
		fail_msg("llm_client_open failed");
	/* no server probes unless a test scripts them */
	assert_int_equal(fake_llm_probes(fake, 0, NULL, 0, NULL), 0);
	return c;
}

static enum core_status chat_msgs(struct llm_client *c,
				  const struct llm_message *m, size_t n,
				  struct llm_record *rec)
{
	struct llm_request req = {m, n, "candidates", SCHEMA, NULL};
	char err[CORE_ERR_LEN];
	enum core_status rc = llm_client_chat(c, &req, rec, err, sizeof err);

	if (rc)
		assert_string_equal(err, rec->error);
	return rc;
}

static enum core_status chat(struct llm_client *c, struct llm_record *rec)
{
	return chat_msgs(c, MSGS, 2, rec);
}

static void script1(int status, const char *body)
{
	struct fake_llm_reply r = {status, body, 0, NULL};

	assert_int_equal(fake_llm_script(fake, &r, 1), 0);
}

/* A 200 chat reply with content and an honest usage count. */
static void script_content(const char *content)
{
	char *body =
	    fake_llm_chat_body(content, "stop", FAKE_LLM_TOKENS_AUTO, 20);

	assert_non_null(body);
	script1(200, body);
	free(body);
}

/* A 200 reply whose message is the given JSON object text. */
static void script_message(const char *message)
{
	char body[4096];

	snprintf(body, sizeof body,
		 "{\"choices\":[{\"index\":0,\"message\":%s,\"finish_reason\":"
		 "\"stop\"}],\"usage\":{\"prompt_tokens\":40,"
		 "\"completion_tokens\":9}}",
		 message);
	script1(200, body);
}

static const char *request_format(size_t i)
{
	static char out[32];

	assert_int_equal(fake_llm_request_format(fake, i, out, sizeof out), 0);
	return out;
}

static json_t *request_json(size_t i)
{
	struct fake_llm_request r;
	json_t *v;

	assert_int_equal(fake_llm_request_get(fake, i, &r), 0);
	v = json_loadb(r.body, r.body_len, 0, NULL);
	fake_llm_request_free(&r);
	assert_non_null(v);
	return v;
}

/* The JSON the client hands on is strict JSON equal to want. */
static void assert_json_is(const char *got, const char *want)
{
	json_error_t jerr;
	json_t *g = json_loads(got, 0, &jerr), *w = json_loads(want, 0, NULL);

	if (!g)
		fail_msg("rec.json is not strict JSON (%s): %s", jerr.text,
			 got);
	assert_non_null(w);
	if (!json_equal(g, w))
		fail_msg("rec.json %s, wanted %s", got, want);
	json_decref(g);
	json_decref(w);
}

/* The seed paper's own reply shape: a bare list where an object was asked
 * for (schema type object) is the answer, not "no JSON object found". */
static void bare_list(void **state)
{
	struct llm_client *c = open_client();
	struct llm_record rec;

	script_content("[{\"rationale\":\"r\",\"arch\":{\"stages\":2}}]");
	assert_int_equal(chat(c, &rec), CORE_OK);
	assert_json_is(rec.json, "[{\"rationale\":\"r\",\"arch\":{\"stages\":"
				 "2}}]");
	llm_record_free(&rec);
	script_content("Here you go:\n[{\"stages\": 2}, {\"stages\": 3}]");
	assert_int_equal(chat(c, &rec), CORE_OK);
	assert_json_is(rec.json, "[{\"stages\":2},{\"stages\":3}]");
	llm_record_free(&rec);
	llm_client_close(c);
}

/* Comments and trailing commas are read, and what is handed on is strict
 * JSON; a value that is invalid anyway is rejected with the parser's own
 * reason, never replaced by a fragment of its inside. */
static void lenient_json(void **state)
{
	struct llm_client *c = open_client();
	struct llm_record rec;

	script_content(
	    "```json\n{\n  // two stages is enough\n  \"candidates\": "
	    "[\n    {\"stages\": 2, /* small */ \"url\": "
	    "\"http://x/*y*/\"},\n  ],\n}\n```");
	assert_int_equal(chat(c, &rec), CORE_OK);
	assert_json_is(rec.json, "{\"candidates\":[{\"stages\":2,\"url\":"
				 "\"http://x/*y*/\"}]}");
	llm_record_free(&rec);
	/* the reply: an inner {"resolution":32,"channels":3} must
	 * not come out as the answer */
	script_content("{\"candidates\": [{\"arch\": {\"resolution\":32,"
		       "\"channels\":3}, \"stages\": [1 2]}]}");
	assert_int_equal(chat(c, &rec), CORE_ERR_INVALID);
	assert_int_equal(rec.outcome, LLM_OUTCOME_BAD_REPLY);
	assert_null(rec.json);
	/* stepped down once for an ignored format, then the same reply */
	assert_int_equal(rec.reply_error, LLM_REPLY_INVALID_JSON);
	if (!strstr(rec.error, "at offset 0 is invalid") ||
	    !strstr(rec.error, "column"))
		fail_msg("error: %s", rec.error);
	llm_record_free(&rec);
	llm_client_close(c);
}

static void reasoning_and_tool_calls(void **state)
{
	struct llm_client *c = open_client();
	struct llm_record rec;

	/* a reasoning model that put everything in reasoning_content */
	script_message("{\"role\":\"assistant\",\"content\":\"\","
		       "\"reasoning_content\":\"Let me think. Final: "
		       "{\\\"candidates\\\":[{\\\"stages\\\":2}]}\"}");
	assert_int_equal(chat(c, &rec), CORE_OK);
	assert_json_is(rec.json, ANSWER);
	llm_record_free(&rec);
	/* content null, the answer as a tool call's arguments */
	script_message("{\"role\":\"assistant\",\"content\":null,"
		       "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
		       "\"function\":{\"name\":\"propose\",\"arguments\":"
		       "\"{\\\"candidates\\\":[{\\\"stages\\\":2}]}\"}}]}");
	assert_int_equal(chat(c, &rec), CORE_OK);
	assert_json_is(rec.json, ANSWER);
	llm_record_free(&rec);
	/* arguments sent as an object (some servers parse them) */
	script_message("{\"role\":\"assistant\",\"tool_calls\":[{\"function\":"
		       "{\"name\":\"propose\",\"arguments\":{\"candidates\":[{"
		       "\"stages\":2}]}}}]}");
	assert_int_equal(chat(c, &rec), CORE_OK);
	assert_json_is(rec.json, ANSWER);
	llm_record_free(&rec);
	llm_client_close(c);
}

/* A 200 that ignores response_format json_schema: one step down at once,
 * and the client starts there from then on. */
static void ignored_format_steps_down(void **state)
{
	struct llm_client *c = open_client();
	struct llm_record rec;
	char *good =
	    fake_llm_chat_body(ANSWER, "stop", FAKE_LLM_TOKENS_AUTO, 9);
	char *prose = fake_llm_chat_body("A MobileNet with 2 stages would do.",
					 "stop", FAKE_LLM_TOKENS_AUTO, 9);
	struct fake_llm_reply rs[] = {{200, prose, 0, NULL},
				      {200, good, 0, NULL}};

	assert_int_equal(fake_llm_script(fake, rs, 2), 0);
	assert_int_equal(chat(c, &rec), CORE_OK);
	assert_int_equal(rec.attempts, 2);
	assert_int_equal(rec.attempt[0].format, LLM_FORMAT_JSON_SCHEMA);
	assert_int_equal(rec.attempt[0].outcome, LLM_OUTCOME_BAD_REPLY);
	assert_int_equal(rec.attempt[1].format, LLM_FORMAT_JSON_OBJECT);
	assert_string_equal(request_format(0), "json_schema");
	assert_string_equal(request_format(1), "json_object");
	assert_string_equal(rec.error, "");
	assert_json_is(rec.json, ANSWER);
	llm_record_free(&rec);
	assert_int_equal(llm_client_format(c), LLM_FORMAT_JSON_OBJECT);
	/* remembered for this endpoint */
	assert_int_equal(fake_llm_script(fake, &rs[1], 1), 0);
	assert_int_equal(chat(c, &rec), CORE_OK);
	assert_int_equal(rec.attempts, 1);
	assert_string_equal(request_format(0), "json_object");
	llm_record_free(&rec);
	llm_client_close(c);

	/* a llama-server (its /props answers): its own json_schema field */
	c = open_client();
	assert_int_equal(
	    fake_llm_probes(
		fake, 200, "{\"default_generation_settings\":{\"n_ctx\":8192}}",
		0, NULL),
	    0);
	assert_int_equal(fake_llm_script(fake, rs, 2), 0);
	assert_int_equal(chat(c, &rec), CORE_OK);
	assert_int_equal(rec.attempts, 2);
	assert_int_equal(rec.attempt[1].format, LLM_FORMAT_LLAMA_SCHEMA);
	{
		json_t *b = request_json(1);
		json_t *want = json_loads(SCHEMA, 0, NULL);
		assert_null(json_object_get(b, "response_format"));
		assert_true(
		    json_equal(json_object_get(b, "json_schema"), want));
		json_decref(want);
		json_decref(b);
	}
	assert_int_equal(llm_client_format(c), LLM_FORMAT_LLAMA_SCHEMA);
	assert_int_equal(llm_client_context(c), 8192);
	assert_int_equal(fake_llm_probe_count(fake), 1); /* asked once */
	llm_record_free(&rec);
	llm_client_close(c);

	/* once json_schema has worked, prose is the model's fault */
	c = open_client();
	assert_int_equal(fake_llm_script(fake, &rs[1], 1), 0);
	assert_int_equal(chat(c, &rec), CORE_OK);
	llm_record_free(&rec);
	assert_int_equal(fake_llm_script(fake, rs, 1), 0);
	assert_int_equal(chat(c, &rec), CORE_ERR_INVALID);
	assert_int_equal(rec.attempts, 1);
	assert_int_equal(rec.reply_error, LLM_REPLY_NO_JSON);
	assert_int_equal(llm_client_format(c), LLM_FORMAT_JSON_SCHEMA);
	llm_record_free(&rec);
	llm_client_close(c);
	free(good);
	free(prose);
}

/* A system message of about n bytes of prose. */
static char *big_text(size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = "lorem ipsum "[i % 12];
	s[n] = '\0';
	return s;
}

/* The case: a prompt of about 2,700 tokens to a server with
 * -c 2048 that silently kept 2048 of them. */
static void silent_truncation(void **state)
{
	char *sys = big_text(10800); /* estimate: 2700 tokens */
	const struct llm_message m[] = {{"system", sys}, {"user", "go"}};
	char *cut = fake_llm_chat_body(ANSWER, "stop", 2048, 9);
	char *tiny = fake_llm_chat_body(ANSWER, "stop", 300, 9);
	char *honest =
	    fake_llm_chat_body(ANSWER, "stop", FAKE_LLM_TOKENS_AUTO, 9);
	struct llm_client *c;
	struct llm_record rec;

	/* llama-server: /props gives n_ctx 2048 < the prompt */
	c = open_client();
	assert_int_equal(
	    fake_llm_probes(
		fake, 200, "{\"default_generation_settings\":{\"n_ctx\":2048}}",
		0, NULL),
	    0);
	script1(200, cut);
	assert_int_equal(chat_msgs(c, m, 2, &rec), CORE_ERR_INVALID);
	assert_int_equal(rec.outcome, LLM_OUTCOME_CONTEXT);
	assert_string_equal(llm_outcome_name(rec.outcome), "context_exceeded");
	assert_int_equal(rec.prompt_estimate, 2701);
	assert_int_equal(rec.context_tokens, 2048);
	assert_null(rec.json);
	if (!strstr(rec.error, "read 2048 of about 2701 prompt tokens") ||
	    !strstr(rec.error, "context of 2048 tokens") ||
	    !strstr(rec.error, "raise the server's context to 5120 tokens"))
		fail_msg("error: %s", rec.error);
	assert_int_equal(fake_llm_request_count(fake), 1); /* no retry */
	llm_record_free(&rec);
	llm_client_close(c);

	/* Ollama: no /props; /api/show gives num_ctx */
	c = open_client();
	assert_int_equal(
	    fake_llm_probes(fake, 0, NULL, 200,
			    "{\"parameters\":\"stop \\\"<|im_end|>\\\"\\n"
			    "num_ctx                        2048\","
			    "\"model_info\":{\"qwen2.context_length\":32768}}"),
	    0);
	script1(200, cut);
	assert_int_equal(chat_msgs(c, m, 2, &rec), CORE_ERR_INVALID);
	assert_int_equal(rec.outcome, LLM_OUTCOME_CONTEXT);
	assert_int_equal(llm_client_context(c), 2048);
	assert_int_equal(fake_llm_probe_count(fake), 2); /* /props, /api/show */
	llm_record_free(&rec);
	/* asked once per client */
	assert_int_equal(chat_msgs(c, m, 2, &rec), CORE_ERR_INVALID);
	assert_int_equal(fake_llm_probe_count(fake), 2);
	llm_record_free(&rec);
	llm_client_close(c);

	/* a context that holds the prompt: a small count is a cache hit (an
	 * Ollama that leaves cached tokens out), not a cut */
	c = open_client();
	assert_int_equal(fake_llm_probes(fake, 0, NULL, 200,
					 "{\"parameters\":\"num_ctx 8192\"}"),
			 0);
	script1(200, tiny);
	assert_int_equal(chat_msgs(c, m, 2, &rec), CORE_OK);
	assert_int_equal(rec.context_tokens, 8192);
	llm_record_free(&rec);
	llm_client_close(c);
	/* Ollama without num_ctx: model_info gives the model's maximum only
	 * (it runs a smaller context), so the count rule still applies */
	c = open_client();
	assert_int_equal(
	    fake_llm_probes(
		fake, 0, NULL, 200,
		"{\"model_info\":{\"qwen2.context_length\":32768}}"),
	    0);
	script1(200, tiny);
	assert_int_equal(chat_msgs(c, m, 2, &rec), CORE_ERR_INVALID);
	assert_int_equal(rec.outcome, LLM_OUTCOME_CONTEXT);
	assert_int_equal(llm_client_context(c), 0);
	llm_record_free(&rec);
	llm_client_close(c);
	/* cached tokens reported apart count as read */
	c = open_client();
	script1(200,
		"{\"choices\":[{\"message\":{\"content\":\"{\\\"a\\\":1}\"},"
		"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":"
		"300,\"completion_tokens\":9,\"prompt_tokens_details\":{"
		"\"cached_tokens\":2600}}}");
	assert_int_equal(chat_msgs(c, m, 2, &rec), CORE_OK);
	llm_record_free(&rec);
	llm_client_close(c);

	/* no context length known: a count far below the estimate alone */
	c = open_client();
	script1(200, tiny);
	assert_int_equal(chat_msgs(c, m, 2, &rec), CORE_ERR_INVALID);
	assert_int_equal(rec.outcome, LLM_OUTCOME_CONTEXT);
	assert_int_equal(rec.context_tokens, 0);
	if (!strstr(rec.error, "read 300 of about 2701"))
		fail_msg("error: %s", rec.error);
	llm_record_free(&rec);
	/* an honest count is no truncation, and asks nothing */
	assert_int_equal(fake_llm_probes(fake, 0, NULL, 0, NULL), 0);
	script1(200, honest);
	assert_int_equal(chat_msgs(c, m, 2, &rec), CORE_OK);
	assert_int_equal(fake_llm_probe_count(fake), 0);
	llm_record_free(&rec);
	llm_client_close(c);
	free(sys);
	free(cut);
	free(tiny);
	free(honest);
}

/* A 400 about the context before any success is not a format refusal:
 * no fallback to json_object, the call says what to raise. */
static void context_400_is_no_refusal(void **state)
{
	struct llm_client *c = open_client();
	struct llm_record rec;

	script1(400, "{\"error\":{\"code\":400,\"message\":\"the request "
		     "exceeds the available context size, try increasing "
		     "it\",\"type\":\"exceed_context_size_error\"}}");
	assert_int_equal(chat(c, &rec), CORE_ERR_INVALID);
	assert_int_equal(rec.outcome, LLM_OUTCOME_CONTEXT);
	assert_int_equal(rec.attempts, 1);
	assert_int_equal(fake_llm_request_count(fake), 1);
	assert_int_equal(llm_client_format(c), LLM_FORMAT_JSON_SCHEMA);
	if (!strstr(rec.error, "exceeds the available context size") ||
	    !strstr(rec.error, "raise it to"))
		fail_msg("error: %s", rec.error);
	llm_record_free(&rec);
	/* OpenAI's wording */
	script1(400, "{\"error\":{\"message\":\"This model's maximum context "
		     "length is 8192 tokens.\",\"code\":"
		     "\"context_length_exceeded\"}}");
	assert_int_equal(chat(c, &rec), CORE_ERR_INVALID);
	assert_int_equal(rec.outcome, LLM_OUTCOME_CONTEXT);
	assert_int_equal(rec.attempts, 1);
	llm_record_free(&rec);
	llm_client_close(c);
}

/* An ok call after a failed attempt carries no error. */
static void ok_has_no_stale_error(void **state)
{
	struct llm_client *c = open_client();
	struct llm_record rec;
	char *good =
	    fake_llm_chat_body(ANSWER, "stop", FAKE_LLM_TOKENS_AUTO, 9);
	struct fake_llm_reply rs[] = {{500, "{\"error\":\"boom\"}", 0, NULL},
				      {200, good, 0, NULL}};

	assert_int_equal(fake_llm_script(fake, rs, 2), 0);
	assert_int_equal(chat(c, &rec), CORE_OK);
	assert_int_equal(rec.attempts, 2);
	assert_int_equal(rec.attempt[0].http_status, 500);
	assert_int_equal(rec.outcome, LLM_OUTCOME_OK);
	assert_string_equal(rec.error, "");
	assert_int_equal(rec.reply_error, LLM_REPLY_OK);
	llm_record_free(&rec);
	llm_client_close(c);
	free(good);
}

/* Bodies that are not UTF-8 never break the parser or the record. */
static void not_utf8(void **state)
{
	struct llm_client *c = open_client();
	struct llm_record rec;
	char body[2048], msg[1200];
	size_t n = 0;

	/* a Latin-1 503 page */
	script1(503, "<html><body>Service indisponible: r\xe9"
		     "essayez plus tard \xe0 10h</body></html>");
	assert_int_equal(chat(c, &rec), CORE_ERR_UNAVAILABLE);
	assert_int_equal(rec.http_status, 503);
	assert_true(core_utf8_valid(rec.error, strlen(rec.error)));
	assert_true(core_utf8_valid(rec.reply_body, rec.reply_len));
	assert_non_null(strstr(rec.error, "r\xef\xbf\xbd"
					  "essayez"));
	llm_record_free(&rec);
	/* a bad byte inside a string of a 200 body */
	script1(200,
		"{\"choices\":[{\"message\":{\"content\":"
		"\"{\\\"candidates\\\":[{\\\"why\\\":\\\"caf\xe9\\\"}]}\"},"
		"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":"
		"40,\"completion_tokens\":9}}");
	assert_int_equal(chat(c, &rec), CORE_OK);
	assert_json_is(rec.json, "{\"candidates\":[{\"why\":\"caf\xef\xbf\xbd"
				 "\"}]}");
	llm_record_free(&rec);
	/* a long non-ASCII error message: cut on a character boundary */
	for (int i = 0; i < 500; i++) {
		msg[n++] = (char)0xc3;
		msg[n++] = (char)0xa9; /* é */
	}
	msg[n] = '\0';
	snprintf(body, sizeof body, "{\"error\":{\"message\":\"x%s\"}}", msg);
	script1(404, body);
	assert_int_equal(chat(c, &rec), CORE_ERR_UNAVAILABLE);
	assert_true(core_utf8_valid(rec.error, strlen(rec.error)));
	llm_record_free(&rec);
	/* and the refusal text of a model */
	snprintf(body, sizeof body,
		 "{\"choices\":[{\"message\":{\"content\":null,\"refusal\":"
		 "\"%s\"}}]}",
		 msg);
	script1(200, body);
	assert_int_equal(chat(c, &rec), CORE_ERR_INVALID);
	assert_non_null(strstr(rec.error, "refused"));
	assert_true(core_utf8_valid(rec.error, strlen(rec.error)));
	llm_record_free(&rec);
	llm_client_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bare_list),
	    cmocka_unit_test(lenient_json),
	    cmocka_unit_test(reasoning_and_tool_calls),
	    cmocka_unit_test(ignored_format_steps_down),
	    cmocka_unit_test(silent_truncation),
	    cmocka_unit_test(context_400_is_no_refusal),
	    cmocka_unit_test(ok_has_no_stale_error),
	    cmocka_unit_test(not_utf8),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
