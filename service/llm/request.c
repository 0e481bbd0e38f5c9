/* SPDX-License-Identifier: Apache-2.0 */
/* request.c - builds the OpenAI chat-completion request body of the llm
 * client: the messages array and, per attempt, the response_format of the
 * current fallback level. */
#include "llm_impl.h"

#include <string.h>

#define REQUEST_MAX_MESSAGES 256

static int dump_to_buf(const char *buffer, size_t size, void *data)
{
	return core_buf_append(data, buffer, size) == CORE_OK ? 0 : -1;
}

enum core_status llm_json_dump(const json_t *v, char **out, size_t *len)
{
	struct core_buf b;

	*out = NULL;
	core_buf_init(&b, (size_t)1 << 30);
	if (json_dump_callback(v, dump_to_buf, &b, JSON_COMPACT) != 0 ||
	    !b.data) {
		core_buf_free(&b);
		return CORE_ERR_NOMEM;
	}
	*out = core_buf_steal(&b, len);
	return CORE_OK;
}

static int role_ok(const char *role)
{
	static const char *roles[] = {"system", "user", "assistant",
				      "developer"};

	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (strcmp(role, roles[i]) == 0)
			return 1;
	return 0;
}

enum core_status llm_request_messages(const struct llm_request *req,
				      json_t **out, char *err, size_t errlen)
{
	json_t *arr, *m;

	*out = NULL;
	if (!req->messages || req->nmessages == 0 ||
	    req->nmessages > REQUEST_MAX_MESSAGES) {
		core_errf(err, errlen, "messages: need 1..%d, got %zu",
			  REQUEST_MAX_MESSAGES,
			  req->messages ? req->nmessages : 0);
		return CORE_ERR_INVALID;
	}
	for (size_t i = 0; i < req->nmessages; i++) {
		const struct llm_message *msg = &req->messages[i];
		if (!msg->role || !role_ok(msg->role)) {
			core_errf(err, errlen,
				  "messages[%zu].role: must be system, user, "
				  "assistant or developer",
				  i);
			return CORE_ERR_INVALID;
		}
		if (!msg->content) {
			core_errf(err, errlen, "messages[%zu].content: missing",
				  i);
			return CORE_ERR_INVALID;
		}
	}
	arr = json_array();
	if (!arr)
		goto nomem;
	for (size_t i = 0; i < req->nmessages; i++) {
		const struct llm_message *msg = &req->messages[i];
		json_t *content = json_string(msg->content);

		if (!content) {
			/* jansson refuses invalid UTF-8 (and fails on memory
			 * likewise): tell the caller the likelier cause. */
			json_decref(arr);
			core_errf(err, errlen,
				  "messages[%zu].content: not valid UTF-8", i);
			return CORE_ERR_INVALID;
		}
		m = json_pack("{s:s, s:o}", "role", msg->role, "content",
			      content);
		if (!m || json_array_append_new(arr, m)) {
			json_decref(arr);
			goto nomem;
		}
	}
	*out = arr;
	return CORE_OK;
nomem:
	core_errf(err, errlen, "out of memory building the messages");
	return CORE_ERR_NOMEM;
}

static json_t *response_format(const struct llm_body_params *bp)
{
	switch (bp->format) {
	case LLM_FORMAT_JSON_SCHEMA:
		return json_pack("{s:s, s:{s:s, s:O, s:b}}", "type",
				 "json_schema", "json_schema", "name",
				 bp->schema_name, "schema", bp->schema,
				 "strict", 1);
	case LLM_FORMAT_JSON_OBJECT:
		return json_pack("{s:s}", "type", "json_object");
	case LLM_FORMAT_LLAMA_SCHEMA: /* a field of its own, not this one */
	case LLM_FORMAT_NONE: break;
	}
	return NULL;
}

enum core_status llm_request_body(const struct llm_body_params *bp,
				  struct core_buf *out, char *err,
				  size_t errlen)
{
	json_t *body, *rf;
	enum core_status rc = CORE_ERR_NOMEM;

	core_buf_free(out);
	body = json_pack("{s:s, s:O, s:f, s:b}", "model", bp->model, "messages",
			 bp->messages, "temperature", bp->temperature, "stream",
			 0);
	if (!body)
		goto out;
	if (bp->max_tokens > 0 &&
	    json_object_set_new(body, "max_tokens",
				json_integer(bp->max_tokens)))
		goto out;
	if (bp->format == LLM_FORMAT_LLAMA_SCHEMA) {
		/* llama-server turns its own "json_schema" field into a
		 * grammar where some builds ignore response_format */
		if (!bp->schema) {
			core_errf(err, errlen,
				  "llama_json_schema format without a schema");
			rc = CORE_ERR_INTERNAL;
			goto out;
		}
		if (json_object_set(body, "json_schema", bp->schema))
			goto out;
	} else if (bp->format != LLM_FORMAT_NONE) {
		if (bp->format == LLM_FORMAT_JSON_SCHEMA && !bp->schema) {
			core_errf(err, errlen,
				  "json_schema format without a schema");
			rc = CORE_ERR_INTERNAL;
			goto out;
		}
		rf = response_format(bp);
		if (!rf || json_object_set_new(body, "response_format", rf))
			goto out;
	}
	if (json_dump_callback(body, dump_to_buf, out, JSON_COMPACT) != 0 ||
	    !out->data)
		goto out;
	rc = CORE_OK;
out:
	if (rc == CORE_ERR_NOMEM) {
		core_buf_free(out);
		core_errf(err, errlen, "out of memory building the request");
	}
	json_decref(body);
	return rc;
}
