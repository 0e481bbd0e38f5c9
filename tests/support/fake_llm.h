/* SPDX-License-Identifier: Apache-2.0 */
/* fake_llm.h - a scripted OpenAI-compatible HTTP server for tests, running
 * in-process on 127.0.0.1 (libmicrohttpd, one thread per connection). It
 * answers requests with a list of replies in order (the last one repeats
 * once the list is used up) and records every request it received.
 *
 *	struct fake_llm *f;
 *	struct fake_llm_reply script[] = {
 *		{429, "{\"error\":\"slow down\"}", 0, "Retry-After: 1"},
 *		{200, body, 0, NULL},
 *	};
 *	assert_int_equal(fake_llm_start(&f), 0);
 *	fake_llm_script(f, script, 2);
 *	... point the client at fake_llm_url(f) ...
 *	assert_int_equal(fake_llm_request_count(f), 2);
 *	fake_llm_stop(f);
 *
 * All functions are thread-safe. The fake allocates with plain malloc, so
 * core_alloc_fail_after() never breaks it. Symbols are prefixed fake_llm_.
 */
#ifndef LMNAS_TESTS_FAKE_LLM_H
#define LMNAS_TESTS_FAKE_LLM_H

#include <stddef.h>

struct fake_llm_reply {
	int status;	     /* HTTP status; 0 = close the connection
				without answering */
	const char *body;    /* copied; NULL = empty */
	long delay_ms;	     /* wait before answering (a hang); fake_llm_stop
				cuts it short */
	const char *headers; /* extra "Name: value" lines separated by '\n',
				or NULL; Content-Type defaults to JSON */
};

/* A received request; a copy owned by the caller (fake_llm_request_free). */
struct fake_llm_request {
	char method[16];
	char *path;	     /* "/v1/chat/completions" */
	char *headers;	     /* "Name: value\n" lines as received */
	char *authorization; /* the Authorization value, NULL when absent */
	char *body;	     /* NUL-terminated */
	size_t body_len;
	double at; /* core_now_seconds() when the body was complete */
};

struct fake_llm; /* opaque */

/* Starts the server on 127.0.0.1 on a free port. Returns 0 or -1. */
int fake_llm_start(struct fake_llm **out);
/* Stops the server (waking replies that are still waiting) and frees it. */
void fake_llm_stop(struct fake_llm *f);

unsigned fake_llm_port(const struct fake_llm *f);
/* "http://127.0.0.1:PORT/v1", owned by f. */
const char *fake_llm_url(const struct fake_llm *f);

/* Replaces the script (replies are copied), restarts it from its first
 * reply and forgets the requests received so far. An empty script answers
 * 500. Returns 0 or -1 (out of memory). */
int fake_llm_script(struct fake_llm *f, const struct fake_llm_reply *replies,
		    size_t n);

/* Number of requests received since the last fake_llm_script(). */
size_t fake_llm_request_count(struct fake_llm *f);
/* Copies request i into *out. Returns 0, or -1 if there is no such request
 * (out is then zeroed). */
int fake_llm_request_get(struct fake_llm *f, size_t i,
			 struct fake_llm_request *out);
void fake_llm_request_free(struct fake_llm_request *r);
/* Value of header `name` (case-insensitive) in r->headers, malloc'd, or
 * NULL. */
char *fake_llm_request_header(const struct fake_llm_request *r,
			      const char *name);

/* The response_format type request i carried ("json_schema", "json_object",
 * or "none" without one) into out. Returns 0, or -1 when there is no such
 * request or its body is not a JSON object. */
int fake_llm_request_format(struct fake_llm *f, size_t i, char *out,
			    size_t outlen);

/* Replaces the script by one 200 reply carrying content (see
 * fake_llm_chat_body; usage FAKE_LLM_TOKENS_AUTO prompt and 34 completion
 * tokens). */
int fake_llm_script_chat(struct fake_llm *f, const char *content,
			 const char *finish_reason);

/* A chat-completion reply body carrying content (JSON-escaped here), the
 * finish reason and usage counts; malloc'd (free). NULL on out of memory.
 * prompt_tokens FAKE_LLM_TOKENS_AUTO: the server fills in what a real one
 * would count for the request (its messages' bytes / 3 + 8), so that the
 * client's check for a silently cut prompt sees an honest count. */
#define FAKE_LLM_TOKENS_AUTO (-1L)
char *fake_llm_chat_body(const char *content, const char *finish_reason,
			 long prompt_tokens, long completion_tokens);

/* The answers to the client's server probes, GET /props (llama-server)
 * and POST /api/show (Ollama): status and body each; status 0 = 404 (the
 * default). Probes never use the script and are not in the request log;
 * fake_llm_probe_count() counts them (reset here). Returns 0 or -1. */
int fake_llm_probes(struct fake_llm *f, int props_status,
		    const char *props_body, int show_status,
		    const char *show_body);
size_t fake_llm_probe_count(struct fake_llm *f);

#endif
