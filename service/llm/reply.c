/* SPDX-License-Identifier: Apache-2.0 */
/* reply.c - reads an OpenAI chat-completion reply body: checks its shape
 * (choices[0].message.content), takes the finish reason and token counts
 * without trusting any size in it, and digs the message out of error
 * bodies. */
#include "llm_impl.h"

#include <stdio.h>
#include <string.h>

/* Token counts above this are taken for garbage and reported as absent. */
#define REPLY_MAX_TOKENS 100000000L

static long usage_count(json_t *usage, const char *key)
{
	json_t *v = json_object_get(usage, key);
	json_int_t n;

	if (!json_is_integer(v))
		return -1;
	n = json_integer_value(v);
	if (n < 0 || n > REPLY_MAX_TOKENS)
		return -1;
	return (long)n;
}

static enum llm_reply_error shape_error(char *err, size_t errlen,
					const char *what)
{
	core_errf(err, errlen, "the reply has %s", what);
	return LLM_REPLY_SHAPE;
}

/* Some servers send content as a list of parts ([{"type":"text","text":
 * ...}]); their text parts are joined. */
static enum core_status content_parts(json_t *parts, struct core_buf *b)
{
	size_t i;
	json_t *part;

	json_array_foreach(parts, i, part)
	{
		json_t *text = json_object_get(part, "text");
		if (!json_is_string(text))
			continue;
		if (core_buf_append(b, json_string_value(text),
				    json_string_length(text)))
			return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

static int blank(const struct core_buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (!strchr(" \t\r\n", b->data[i]))
			return 0;
	return 1;
}

/* When content is empty or null, what else carries the answer: the
 * arguments of the first tool call (a string of JSON, or an object some
 * servers send parsed), else the reasoning text of a reasoning model
 * (reasoning_content, as llama-server and DeepSeek name it, or
 * reasoning). Appends it to b; returns 1 when something was found, -1 out
 * of memory, 0 otherwise. */
static int content_elsewhere(json_t *message, struct core_buf *b)
{
	json_t *calls = json_object_get(message, "tool_calls"), *call, *args;
	static const char *reasoning[] = {"reasoning_content", "reasoning"};
	size_t i;

	json_array_foreach(calls, i, call)
	{
		args = json_object_get(json_object_get(call, "function"),
				       "arguments");
		if (json_is_string(args) && json_string_length(args) > 0)
			return core_buf_append(b, json_string_value(args),
					       json_string_length(args))
				   ? -1
				   : 1;
		if (json_is_object(args) || json_is_array(args)) {
			char *text = NULL;
			size_t n = 0;
			int rc;
			if (llm_json_dump(args, &text, &n))
				return -1;
			rc = core_buf_append(b, text, n) ? -1 : 1;
			core_free(text);
			return rc;
		}
	}
	for (i = 0; i < sizeof reasoning / sizeof reasoning[0]; i++) {
		json_t *r = json_object_get(message, reasoning[i]);
		if (json_is_string(r) && json_string_length(r) > 0)
			return core_buf_append(b, json_string_value(r),
					       json_string_length(r))
				   ? -1
				   : 1;
	}
	return 0;
}

enum llm_reply_error llm_reply_parse(const char *body, size_t len,
				     struct llm_reply *r, int *nomem, char *err,
				     size_t errlen)
{
	json_t *root, *choices, *choice, *message, *content, *finish, *e;
	json_error_t jerr;
	enum llm_reply_error re = LLM_REPLY_OK;
	struct core_buf b;

	memset(r, 0, sizeof *r);
	r->prompt_tokens = -1;
	r->completion_tokens = -1;
	r->cached_tokens = -1;
	*nomem = 0;
	core_buf_init(&b, len + 1); /* content can't be longer than its body */
	root = json_loadb(body ? body : "", body ? len : 0, 0, &jerr);
	if (!json_is_object(root)) {
		core_errf(err, errlen,
			  "the reply body is not a JSON object: %s",
			  root ? "another JSON value" : jerr.text);
		re = LLM_REPLY_NOT_JSON;
		goto out;
	}
	r->prompt_tokens =
	    usage_count(json_object_get(root, "usage"), "prompt_tokens");
	r->completion_tokens =
	    usage_count(json_object_get(root, "usage"), "completion_tokens");
	r->cached_tokens =
	    usage_count(json_object_get(json_object_get(root, "usage"),
					"prompt_tokens_details"),
			"cached_tokens");
	choices = json_object_get(root, "choices");
	if (!json_is_array(choices) || json_array_size(choices) == 0) {
		e = json_object_get(root, "error");
		if (e) {
			char msg[256];
			llm_reply_error_message(body, len, msg, sizeof msg);
			core_errf(err, errlen,
				  "the reply carries an error instead of "
				  "choices: %s",
				  msg);
			re = LLM_REPLY_SHAPE;
		} else {
			re = shape_error(err, errlen,
					 json_is_array(choices)
					     ? "an empty choices array"
					     : "no choices array");
		}
		goto out;
	}
	choice = json_array_get(choices, 0);
	finish = json_object_get(choice, "finish_reason");
	if (json_is_string(finish))
		core_utf8_copy(r->finish_reason, sizeof r->finish_reason,
			       json_string_value(finish));
	message = json_object_get(choice, "message");
	if (!json_is_object(message)) {
		re = shape_error(err, errlen, "no choices[0].message object");
		goto out;
	}
	content = json_object_get(message, "content");
	if (json_is_string(content)) {
		if (core_buf_append(&b, json_string_value(content),
				    json_string_length(content)))
			goto nomem;
	} else if (json_is_array(content)) {
		if (content_parts(content, &b))
			goto nomem;
	}
	if (blank(&b) && (content == NULL || json_is_null(content) ||
			  json_is_string(content) || json_is_array(content))) {
		struct core_buf alt;
		int found;

		core_buf_init(&alt, len + 1);
		found = content_elsewhere(message, &alt);
		if (found < 0) {
			core_buf_free(&alt);
			goto nomem;
		}
		if (found) {
			core_buf_free(&b);
			b = alt;
			content = message; /* something was found */
		} else {
			core_buf_free(&alt);
		}
	}
	if (!json_is_string(content) && !json_is_array(content) &&
	    content != message) {
		json_t *refusal = json_object_get(message, "refusal");
		if (json_is_string(refusal))
			core_errf(err, errlen, "the model refused: %.*s",
				  (int)core_utf8_cut_len(
				      json_string_value(refusal),
				      json_string_length(refusal), 300),
				  json_string_value(refusal));
		else
			core_errf(err, errlen,
				  "the reply has no choices[0].message.content "
				  "string (%s)",
				  content ? "wrong type" : "missing");
		re = LLM_REPLY_SHAPE;
		goto out;
	}
	if (!b.data && core_buf_append(&b, "", 0))
		goto nomem;
	r->content = core_buf_steal(&b, &r->content_len);
	goto out;
nomem:
	*nomem = 1;
	re = LLM_REPLY_SHAPE;
	core_errf(err, errlen, "out of memory reading the reply");
out:
	core_buf_free(&b);
	json_decref(root);
	return re;
}

/* Copies s into out, replacing control characters by spaces, cut on a
 * character boundary and with bad UTF-8 replaced (a Latin-1 error page). */
static void printable(const char *s, size_t n, char *out, size_t outlen)
{
	size_t k = 0;

	if (outlen == 0)
		return;
	n = core_utf8_cut_len(s, n, outlen - 1);
	for (size_t i = 0; i < n && k + 1 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];
		out[k++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	out[k] = '\0';
	core_utf8_copy(out, outlen, out);
}

void llm_reply_error_message(const char *body, size_t len, char *out,
			     size_t outlen)
{
	json_t *root, *e, *m = NULL;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (!body || len == 0)
		return;
	root = json_loadb(body, len, 0, NULL);
	e = json_object_get(root, "error");
	if (json_is_string(e))
		m = e;
	else if (json_is_object(e))
		m = json_object_get(e, "message");
	if (!json_is_string(m)) {
		m = json_object_get(root, "detail"); /* FastAPI-style servers */
		if (!json_is_string(m))
			m = json_object_get(root, "message");
	}
	if (json_is_string(m))
		printable(json_string_value(m), json_string_length(m), out,
			  outlen);
	else
		printable(body, len, out, outlen);
	json_decref(root);
}
