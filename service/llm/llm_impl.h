/* SPDX-License-Identifier: Apache-2.0 */
/* llm_impl.h - private to the llm module: the HTTP transfer (libcurl), the
 * request body builder and the reply parser shared by its files. Callers use
 * llm.h. */
#ifndef LMNAS_LLM_IMPL_H
#define LMNAS_LLM_IMPL_H

#include "llm.h"

#include <curl/curl.h>
#include <jansson.h>

/* ---- transfer.c -------------------------------------------------------- */

/* One libcurl easy handle driven by a multi handle, so that the transfer
 * loop can wake every LLM_HTTP_SLICE_MS to look at the cancel flag. */
#define LLM_HTTP_SLICE_MS 50

struct llm_http {
	CURLM *multi;
	CURL *easy;
};

struct llm_http_post {
	const char *url;
	const char *bearer; /* the key, or NULL: no Authorization header */
	const char *body;   /* NULL: a GET instead of a POST */
	size_t body_len;
	long connect_timeout_ms;
	long timeout_ms;
	volatile int *cancel;
};

enum llm_http_end {
	LLM_HTTP_DONE = 0,  /* an HTTP reply came (any status) */
	LLM_HTTP_TIMEOUT,   /* connected, the reply did not finish in time */
	LLM_HTTP_CONNECT,   /* no connection (refused, DNS, connect timeout) */
	LLM_HTTP_LOST,	    /* the connection broke (reset, empty reply) */
	LLM_HTTP_FATAL,	    /* a failure a retry cannot fix (TLS, URL) */
	LLM_HTTP_TOO_LARGE, /* the body went over the reply buffer's max */
	LLM_HTTP_CANCELLED,
	LLM_HTTP_NOMEM
};

struct llm_http_result {
	enum llm_http_end end;
	long status;	     /* HTTP status (LLM_HTTP_DONE), else 0 */
	long retry_after_ms; /* Retry-After of the reply, -1 if none */
	char detail[CURL_ERROR_SIZE + 64]; /* curl's reason on failure */
};

enum core_status llm_http_open(struct llm_http *h, char *err, size_t errlen);
void llm_http_close(struct llm_http *h);
/* POSTs p->body and collects the reply body into *reply (a core_buf whose
 * max is the reply cap; it is reset first). Fills *res; returns CORE_OK
 * whenever the transfer ran (look at res->end), an error only when it could
 * not be set up. */
enum core_status llm_http_post(struct llm_http *h,
			       const struct llm_http_post *p,
			       struct core_buf *reply,
			       struct llm_http_result *res, char *err,
			       size_t errlen);

/* ---- request.c --------------------------------------------------------- */

/* The messages array of req; validates roles and UTF-8 content. New
 * reference in *out. */
enum core_status llm_request_messages(const struct llm_request *req,
				      json_t **out, char *err, size_t errlen);

struct llm_body_params {
	const char *model;
	double temperature;
	int max_tokens;
	json_t *messages; /* borrowed */
	json_t *schema;	  /* borrowed; NULL without a schema */
	const char *schema_name;
	enum llm_format format;
};

/* Serializes the request body for one attempt into *out (reset first). */
enum core_status llm_request_body(const struct llm_body_params *bp,
				  struct core_buf *out, char *err,
				  size_t errlen);

/* Dumps v compactly into a new NUL-terminated core_malloc'd string. */
enum core_status llm_json_dump(const json_t *v, char **out, size_t *len);

/* ---- client.c: the state shared with server.c ---------------------------- */

struct llm_client {
	struct llm_settings s; /* string fields point at the copies below */
	char *base_url;
	char *model;
	char *key;  /* NULL when none; wiped on close */
	char *url;  /* base_url + "/chat/completions" */
	char *root; /* base_url without a trailing "/v1": /props, /api/show */
	struct llm_http http;
	enum llm_format format;		    /* where the next call starts */
	int confirmed[LLM_FORMAT_NONE + 1]; /* level gave a 2xx reply */
	int worked[LLM_FORMAT_NONE + 1];    /* level gave a usable reply */
	int probed;			    /* /props and /api/show asked */
	int llama;			    /* /props answered: llama-server */
	long n_ctx;   /* the server's context (exact); 0 unknown */
	long ctx_max; /* an upper bound of it (a model's maximum) */
	struct core_rng rng;
};

/* Everything one call carries between attempts. */
struct llm_call {
	struct llm_client *c;
	const struct llm_request *req;
	struct llm_record *rec;
	json_t *messages;
	json_t *schema;
	enum llm_json_want want;
	const char *schema_name;
	struct core_buf body;
	struct core_buf reply;
	long est;    /* prompt tokens estimated from the messages' bytes */
	long cached; /* of the last reply: cached prompt tokens, -1 absent */
	double t0;
};

/* ---- server.c ---------------------------------------------------------- */

/* A 4xx/5xx body that says the prompt does not fit the context. */
int llm_server_mentions_context(const char *body, size_t len);
/* The fallback rule of llm.h: whether the reply in k->reply refuses the
 * response_format level (never a context refusal). */
int llm_server_refuses_format(const struct llm_call *k, enum llm_format level,
			      long status);
/* The level below level within the floor, skipping llama-server's own field
 * for other servers (may probe); LLM_FORMAT_NONE + 1 when none is left. */
int llm_server_next_level(struct llm_call *k, enum llm_format level);
/* The context, in tokens rounded up to 1024, to tell the user to set: the
 * prompt (its estimate is low: half again) and the reply. */
long llm_server_context_needed(const struct llm_call *k);
/* Asks the server for its context length (once per client) into
 * k->rec->context_tokens, after it refused a prompt as too long. */
void llm_server_learn_context(struct llm_call *k);
/* Whether the 2xx reply just read shows a prompt the server cut (may probe
 * the server); on 1 the record's error says so and names the fix. */
int llm_server_prompt_was_cut(struct llm_call *k);

/* ---- reply.c ----------------------------------------------------------- */

struct llm_reply {
	char *content; /* core_malloc'd, NUL-terminated; NULL on failure */
	size_t content_len;
	char finish_reason[32];
	long prompt_tokens;	/* -1 when absent */
	long completion_tokens; /* -1 when absent */
	long cached_tokens;	/* usage.prompt_tokens_details.cached_tokens;
				   -1 when absent */
};

/* Parses an OpenAI chat-completion body. Returns LLM_REPLY_OK,
 * LLM_REPLY_NOT_JSON or LLM_REPLY_SHAPE (err says which field); *nomem is
 * set when an allocation failed. The usage and finish_reason are filled as
 * far as they could be read, even on failure. */
enum llm_reply_error llm_reply_parse(const char *body, size_t len,
				     struct llm_reply *r, int *nomem, char *err,
				     size_t errlen);

/* The server's own error message from an error body ({"error":{"message":
 * ...}}, {"error":"..."}, {"detail":...}), else the body's start, made
 * printable, into out. */
void llm_reply_error_message(const char *body, size_t len, char *out,
			     size_t outlen);

#endif
