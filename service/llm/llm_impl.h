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

/* ---- reply.c ----------------------------------------------------------- */

struct llm_reply {
	char *content; /* core_malloc'd, NUL-terminated; NULL on failure */
	size_t content_len;
	char finish_reason[32];
	long prompt_tokens;	/* -1 when absent */
	long completion_tokens; /* -1 when absent */
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
