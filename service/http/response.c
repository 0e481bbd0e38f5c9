/* SPDX-License-Identifier: Apache-2.0 */
/* response.c - the http_reply_* functions handlers fill a response with:
 * JSON and problem bodies (serialized at once, owned by the response), static
 * bytes, extra headers. */
#include "http.h"
#include "http_internal.h"

#include <string.h>

/* Largest serialized JSON response; beyond it the reply is a 500. */
#define RESPONSE_JSON_MAX (64L * 1024 * 1024)

static const char oom_body[] =
    "{\"type\":\"urn:lmnas:problem:out_of_memory\","
    "\"title\":\"Internal Server Error\",\"status\":500,"
    "\"detail\":\"the server ran out of memory building the response\","
    "\"code\":\"out_of_memory\"}";

void http_response_clear(struct http_response *res)
{
	if (!res->body_static)
		core_free(res->body);
	http_sse_free(res->sse);
	memset(res, 0, sizeof *res);
}

static void set_body(struct http_response *res, int status,
		     const char *content_type, char *body, size_t len,
		     int body_static)
{
	if (!res->body_static)
		core_free(res->body);
	res->status = status;
	res->content_type = content_type;
	res->body = body;
	res->len = len;
	res->body_static = body_static;
}

static void reply_oom(struct http_response *res)
{
	set_body(res, 500, "application/problem+json", (char *)oom_body,
		 sizeof oom_body - 1, 1);
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
	return core_buf_append(data, buffer, size) == CORE_OK ? 0 : -1;
}

/* Serializes json (stolen) as the body; a 500 when that fails. */
static void reply_serialized(struct http_response *res, int status,
			     const char *content_type, json_t *json)
{
	struct core_buf b;
	char *body;
	size_t len = 0;

	if (!json) {
		reply_oom(res);
		return;
	}
	core_buf_init(&b, RESPONSE_JSON_MAX);
	if (json_dump_callback(json, dump_cb, &b,
			       JSON_COMPACT | JSON_ENCODE_ANY) != 0 ||
	    core_buf_append(&b, "", 0) != CORE_OK) {
		core_buf_free(&b);
		json_decref(json);
		reply_oom(res);
		return;
	}
	json_decref(json);
	body = core_buf_steal(&b, &len);
	if (!body) { /* an empty buffer never allocated: cannot happen */
		reply_oom(res);
		return;
	}
	set_body(res, status, content_type, body, len, 0);
}

void http_reply_json(struct http_response *res, int status, json_t *json)
{
	reply_serialized(res, status, "application/json", json);
}

void http_reply_problem_json(struct http_response *res, json_t *problem)
{
	json_t *st = json_object_get(problem, "status");
	int status = json_is_integer(st) ? (int)json_integer_value(st) : 500;

	if (status < 400 || status > 599)
		status = 500;
	reply_serialized(res, status, "application/problem+json", problem);
}

void http_reply_problem(struct http_response *res, int status, const char *code,
			const char *title, const char *detail,
			const struct core_field_errors *fe)
{
	reply_serialized(res, status, "application/problem+json",
			 http_problem_new(status, code, title, detail, fe));
}

void http_reply_static(struct http_response *res, int status,
		       const char *content_type, const void *data, size_t len)
{
	set_body(res, status, content_type, (char *)data, len, 1);
}

static int header_text_ok(const char *s, size_t cap)
{
	size_t n = strlen(s);

	if (n == 0 || n >= cap)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n')
			return 0;
	return 1;
}

enum core_status http_reply_header(struct http_response *res, const char *name,
				   const char *value)
{
	if (!header_text_ok(name, sizeof res->headers[0].name) ||
	    strchr(name, ':') ||
	    (*value && !header_text_ok(value, sizeof res->headers[0].value)))
		return CORE_ERR_INVALID;
	if (res->nheaders >= HTTP_HEADERS_MAX)
		return CORE_ERR_NOMEM;
	memcpy(res->headers[res->nheaders].name, name, strlen(name) + 1);
	memcpy(res->headers[res->nheaders].value, value, strlen(value) + 1);
	res->nheaders++;
	return CORE_OK;
}

void http_reply_db_error(struct http_response *res, const char *what,
			 enum core_status st, const char *err)
{
	LOG_ERROR("%s: %s", what, err);
	if (st == CORE_ERR_NOMEM)
		http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
	else if (st == CORE_ERR_UNAVAILABLE)
		http_reply_error(res, HTTP_E_DATABASE_UNAVAILABLE,
				 "database unavailable", NULL);
	else
		http_reply_error(res, HTTP_E_INTERNAL_ERROR, "database error",
				 NULL);
}

void http_reply_json_text(struct http_response *res, int status, char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &je);

	core_free(text);
	http_reply_json(res, status, j);
}
