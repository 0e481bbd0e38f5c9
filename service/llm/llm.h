/* SPDX-License-Identifier: Apache-2.0 */
/* llm.h - the client for OpenAI-compatible chat-completion endpoints (Ollama's
 * and llama-server's /v1, vLLM, hosted APIs) that asks for JSON replies, and
 * the extractor that finds the JSON in what a model wrote.
 *
 * Layer: llm (beside quant, codegen, train; below search and explain).
 * Includes only core; libcurl and jansson stay inside the module.
 *
 * Worked example (error handling shortened):
 *
 *	struct llm_settings s;
 *	struct llm_client *c;
 *	struct llm_record rec;
 *	struct llm_message msgs[] = {{"system", "You design CNNs ..."},
 *				     {"user", "Propose 4 candidates ..."}};
 *	struct llm_request req = {msgs, 2, "candidates", schema_text,
 *				  &job->cancel};
 *
 *	llm_settings_default(&s);
 *	s.base_url = "http://127.0.0.1:11434/v1";
 *	s.model = "qwen2.5:7b";
 *	s.api_key = getenv(job->api_key_env); // the value; NULL = no key
 *	rc = llm_client_open(&s, &c, err, errlen);
 *	rc = llm_client_chat(c, &req, &rec, err, errlen);
 *	// store rec (it is filled whatever rc is), then on CORE_OK parse
 *	// rec.json (rec.json_len bytes, NUL-terminated)
 *	llm_record_free(&rec);
 *	llm_client_close(c);
 *
 * The request: POST {base_url}/chat/completions with model, messages,
 * temperature, max_tokens (when > 0) and response_format; headers
 * Content-Type: application/json and, only when a key is set,
 * Authorization: Bearer <key>. Redirects are not followed (so the key never
 * travels to another host), only http and https are allowed.
 *
 * response_format levels, strongest first (enum llm_format):
 *   json_schema  {"type":"json_schema","json_schema":{"name":N,"schema":S,
 *                 "strict":true}}   (only when the request carries a schema)
 *   llama_json_schema  no response_format; llama-server's own top-level
 *                 "json_schema": S field (only for a llama-server, known
 *                 from its GET /props, and only with a schema)
 *   json_object  {"type":"json_object"}
 *   none         no response_format field
 * Fallback rule. A reply refuses the format we sent (and the same call is
 * retried at once one level lower, without a backoff wait and without
 * spending a retry) when we sent a response_format and
 *   - the status is 400 or 422 and either the body mentions the format
 *     ("response_format", "json_schema", "json_object", "schema", "grammar",
 *     "structured", case-insensitive) or this level has never produced a 2xx
 *     reply on this client (servers that do not know the field often answer
 *     400 with a generic text); or
 *   - the status is 500 or 501 and the body mentions the format (some
 *     servers fail inside their grammar converter).
 * Once a level has produced a 2xx reply it is "confirmed": a later 400
 * without those words is the request's own fault (say, a prompt too long for
 * the context) and ends the call as http_error instead of degrading the
 * format. When a call fell back and then got a 2xx reply, the client
 * remembers that level and starts every later call there; a call that fails
 * changes nothing. A refusal at settings.format_floor ends the call as
 * refused_format.
 *
 * A 200 reply that ignored the format. Some servers (llama-server builds of
 * early 2025, some Ollama versions) answer json_schema with free text. When
 * a 2xx reply's content holds no JSON or invalid JSON (reply_error no_json
 * or invalid_json) at a level that has never given a usable reply on this
 * client, the same call is sent again at once one level lower (as for a
 * refusal); a call that ends ok after such a step makes the client start
 * there from then on. Once a level has given a usable reply, a bad reply is
 * the model's fault and ends the call as bad_reply (the caller repairs).
 *
 * A call without a schema starts at json_object at the strongest.
 *
 * The server's context. A 400 whose message is about the context ("exceeds
 * the available context size", "context length", "n_ctx", "too many
 * tokens") is not a format refusal: the call ends as context_exceeded. So
 * does a 2xx reply from a server that silently cut the prompt to its
 * context. The prompt's estimate is its messages' bytes / 4 (tokenizers give
 * 2.5..4.5 bytes per token on prompts like ours, so it is low). When the
 * server's context length is known, the prompt was cut when the estimate is
 * above it; when it is not, when usage.prompt_tokens (plus
 * prompt_tokens_details.cached_tokens) is below half the estimate. The
 * count alone is not trusted where the context is known: Ollama's count has
 * left KV-cached tokens out, so a repair after a cache hit reads as a tiny
 * prompt. The context length is
 * asked once per client, only when a reply looks suspicious (prompt_tokens
 * below the estimate or absent): llama-server's GET {root}/props
 * (default_generation_settings.n_ctx), else Ollama's POST {root}/api/show
 * (parameters num_ctx; model_info.*.context_length is only the model's
 * maximum, an upper bound: Ollama runs it with a smaller context unless
 * num_ctx says otherwise, so the count rule stays on), where {root} is
 * base_url without a trailing /v1. The error names the fix: "raise the
 * server's context to at least N tokens".
 *
 * Retries: 408, 429, 5xx (other than a format refusal), timeouts and
 * connection failures are retried until settings.max_attempts requests have
 * been spent on them (format fallbacks come on top: at most
 * LLM_FORMAT_FALLBACKS). The wait
 * is an exponential backoff with jitter (d = base * 2^(k-1) capped at
 * backoff_max_ms, drawn uniformly in [d/2, d]) or, when the reply carries
 * Retry-After (seconds or an HTTP date), that long capped at
 * retry_after_max_ms. Other 4xx and bad replies (a 2xx whose JSON cannot be
 * used) are not retried: the caller decides whether to ask again, typically
 * with a repair prompt.
 *
 * Cancellation: *req->cancel is polled every 50 ms while a request is in
 * flight (through the transfer loop and CURLOPT_XFERINFOFUNCTION) and every
 * 20 ms during backoff waits; a non-zero value ends the call as cancelled.
 *
 * libcurl global state: llm_global_init() runs curl_global_init() exactly
 * once per process (pthread_once); llm_client_open() calls it, so nothing
 * else has to. A program that also uses libcurl elsewhere should call
 * llm_global_init() from main() before it starts threads. curl_global_cleanup
 * is never called: the process exit reclaims it.
 *
 * Threads: a client is used by one thread at a time (one client per job); it
 * owns one curl easy handle and one multi handle, which keep the connection
 * alive between calls. Different clients may run in parallel.
 *
 * Secrets: the API key is copied into the client, used only to build the
 * Authorization header and wiped when the client closes. It never appears in
 * a record, an error string or a log line.
 */
#ifndef LMNAS_LLM_H
#define LMNAS_LLM_H

#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

/* ---- names ------------------------------------------------------------- */

/* How a call ended. The first seven are what talking to a server can give;
 * LLM_OUTCOME_INTERNAL is an allocation failure or a bad argument. */
enum llm_outcome {
	LLM_OUTCOME_OK = 0,
	LLM_OUTCOME_HTTP_ERROR,	    /* a non-2xx status (last one in rec) */
	LLM_OUTCOME_TIMEOUT,	    /* connected, but no full reply in time */
	LLM_OUTCOME_REFUSED_FORMAT, /* refused response_format at the floor */
	LLM_OUTCOME_BAD_REPLY, /* a 2xx reply we cannot use: see reply_error */
	LLM_OUTCOME_CANCELLED, /* *cancel became non-zero */
	LLM_OUTCOME_UNREACHABLE, /* no connection (refused, DNS, TLS, reset) */
	LLM_OUTCOME_CONTEXT, /* the prompt does not fit the server's context */
	LLM_OUTCOME_INTERNAL
};

/* "ok", "http_error", "timeout", "refused_format", "bad_reply", "cancelled",
 * "unreachable", "context_exceeded", "internal". */
const char *llm_outcome_name(enum llm_outcome o);

enum llm_format {
	LLM_FORMAT_JSON_SCHEMA = 0,
	LLM_FORMAT_LLAMA_SCHEMA, /* llama-server's "json_schema" field */
	LLM_FORMAT_JSON_OBJECT,
	LLM_FORMAT_NONE
};

/* "json_schema", "llama_json_schema", "json_object", "none". */
const char *llm_format_name(enum llm_format f);
/* Parses those names (for settings). */
enum core_status llm_format_parse(const char *s, enum llm_format *out);

/* Why a 2xx reply was unusable (LLM_OUTCOME_BAD_REPLY). */
enum llm_reply_error {
	LLM_REPLY_OK = 0,
	LLM_REPLY_TOO_LARGE, /* body longer than settings.max_reply_bytes */
	LLM_REPLY_NOT_JSON,  /* the body is not a JSON object */
	LLM_REPLY_SHAPE,     /* no choices[0].message.content string */
	LLM_REPLY_EMPTY,     /* content is empty or blank */
	LLM_REPLY_NO_JSON,   /* content holds no JSON object or array */
	LLM_REPLY_TRUNCATED, /* cut off: finish_reason "length" or unbalanced */
	LLM_REPLY_INVALID_JSON /* balanced brackets, but not valid JSON */
};

/* "ok", "too_large", "not_json", "shape", "empty", "no_json", "truncated",
 * "invalid_json". */
const char *llm_reply_error_name(enum llm_reply_error e);

/* ---- settings and client ----------------------------------------------- */

#define LLM_ATTEMPTS_MAX     10 /* upper bound of settings.max_attempts */
#define LLM_FORMAT_FALLBACKS 3	/* format steps of one call, at most */

struct llm_settings {
	const char *base_url; /* "http://host:port/v1"; http or https */
	const char *model;    /* non-empty */
	const char *api_key;  /* the key's value; NULL or "" = send none */
	double temperature;   /* 0..2 */
	int max_tokens;	      /* 0 = leave it to the server, else 1..1000000 */
	long connect_timeout_ms; /* per attempt, 1..600000 */
	long timeout_ms;	 /* whole transfer of one attempt, 1..3600000 */
	int max_attempts;	 /* 1..LLM_ATTEMPTS_MAX, transient failures */
	long backoff_base_ms;	 /* first retry wait, 0..600000 */
	long backoff_max_ms;	 /* cap on one backoff wait, >= base */
	long retry_after_max_ms; /* Retry-After cap, 0..3600000 */
	size_t max_reply_bytes;	 /* cap on the reply body, 1 KiB..256 MiB */
	enum llm_format format_start; /* strongest level to try */
	enum llm_format format_floor; /* weakest level to fall back to */
	uint64_t seed;		      /* backoff jitter; 0 = from the clock */
};

/* Defaults: temperature 0.7, max_tokens 4096, connect 10 s, timeout 300 s
 * (local models are slow), 4 attempts, backoff 500 ms .. 8 s, Retry-After up
 * to 60 s, replies up to 4 MiB, formats json_schema down to none. */
void llm_settings_default(struct llm_settings *s);

struct llm_client; /* opaque */

/* Runs curl_global_init once per process; later calls return its result. */
enum core_status llm_global_init(char *err, size_t errlen);

/* Validates s (err names the field) and creates a client. Strings are
 * copied. *out is owned by the caller (llm_client_close); NULL on failure. */
enum core_status llm_client_open(const struct llm_settings *s,
				 struct llm_client **out, char *err,
				 size_t errlen);
/* Frees the client and wipes its copy of the key. NULL is allowed. */
void llm_client_close(struct llm_client *c);
/* The response_format level the next call starts at. */
enum llm_format llm_client_format(const struct llm_client *c);
/* The server's context length in tokens as learnt from /props or
 * /api/show; 0 when unknown or not asked yet. */
long llm_client_context(const struct llm_client *c);

/* ---- one call ---------------------------------------------------------- */

struct llm_message {
	const char *role;    /* "system", "user", "assistant" */
	const char *content; /* UTF-8 */
};

struct llm_request {
	const struct llm_message *messages; /* 1..256 messages */
	size_t nmessages;
	const char *schema_name; /* json_schema.name; NULL = "reply";
				    [A-Za-z0-9_-], at most 64 characters */
	const char *schema;	 /* JSON Schema (an object, as text) of the
				    expected reply; NULL = start at
				    json_object. Its top-level "type"
				    ("object"/"array") also tells the
				    extractor what to look for. */
	volatile int *cancel;	 /* may be NULL; non-zero cancels the call */
};

/* One attempt of a call, for the record. */
struct llm_attempt {
	enum llm_format format;	  /* the response_format level sent */
	long http_status;	  /* 0 when no HTTP reply came */
	enum llm_outcome outcome; /* what this attempt alone gave */
	long ms;		  /* its duration */
	long wait_ms;		  /* the wait after it (0 if none) */
};

/* The record of a call, filled whatever the call returns (even when it
 * fails before sending). Strings are NUL-terminated and owned by the record
 * (llm_record_free); NULL when absent. */
struct llm_record {
	char *messages_json; /* the request's messages array as JSON */
	char *reply_body;    /* body of the last HTTP reply, made valid UTF-8
				(bad bytes replaced by U+FFFD) */
	size_t reply_len;
	char *content; /* choices[0].message.content of a 2xx reply (or,
			  when it is empty or null, the arguments of its
			  first tool call, else its reasoning_content) */
	size_t content_len;
	char *json; /* the JSON found in content (outcome ok only), strict:
		       comments and trailing commas removed */
	size_t json_len;
	long http_status;	/* of the last attempt; 0 if nothing answered */
	long prompt_tokens;	/* usage.prompt_tokens; -1 when not reported */
	long completion_tokens; /* usage.completion_tokens; -1 likewise */
	long latency_ms;	/* the whole call, waits included */
	int attempts;		/* requests sent (format fallbacks included) */
	enum llm_format format; /* level of the last attempt */
	enum llm_outcome outcome;
	enum llm_reply_error reply_error; /* set when outcome is bad_reply */
	char finish_reason[32];	  /* choices[0].finish_reason, "" if absent */
	char error[CORE_ERR_LEN]; /* "" when ok; valid UTF-8 */
	long prompt_estimate;	  /* message bytes / 4, rounded up */
	long context_tokens;	  /* the server's context; 0 = unknown */
	struct llm_attempt attempt[LLM_ATTEMPTS_MAX + LLM_FORMAT_FALLBACKS];
	/* [0, attempts) */
};

/* Sends req and extracts the JSON of the reply (see the top of this file
 * for the format fallback and retry rules). Always fills *rec (free it with
 * llm_record_free, also on failure). Returns
 *   CORE_OK              outcome ok: rec->json holds the JSON text
 *   CORE_ERR_UNAVAILABLE http_error, timeout, unreachable
 *   CORE_ERR_INVALID     bad_reply, refused_format, or a bad request
 *                        (outcome internal; nothing was sent)
 *   CORE_ERR_CANCELLED   cancelled
 *   CORE_ERR_NOMEM       out of memory (outcome internal)
 * with err (and rec->error) saying why. The client's format level moves only
 * on a 2xx reply. */
enum core_status llm_client_chat(struct llm_client *c,
				 const struct llm_request *req,
				 struct llm_record *rec, char *err,
				 size_t errlen);

/* Frees the record's strings and zeroes it. */
void llm_record_free(struct llm_record *rec);

/* ---- JSON extraction --------------------------------------------------- */

enum llm_json_want {
	LLM_JSON_ANY = 0, /* an object or an array */
	LLM_JSON_OBJECT,
	LLM_JSON_ARRAY
};

enum llm_extract_status {
	LLM_EXTRACT_OK = 0,
	LLM_EXTRACT_EMPTY,     /* empty or only whitespace */
	LLM_EXTRACT_NOT_FOUND, /* no JSON object/array of the wanted kind */
	LLM_EXTRACT_TRUNCATED, /* a JSON value opens but never closes */
	LLM_EXTRACT_INVALID    /* balanced, but not valid JSON */
};

/* Finds the JSON value a model meant in text[0, len) (which need not be
 * NUL-terminated) and reports it as text[*off, *off + *span). Nothing is
 * allocated. Rules, in order:
 *   - a "<think>...</think>" block (reasoning models) is skipped;
 *   - after a "```json" fence (any case) first, then in the whole text,
 *     the first top-level value that starts like JSON ('{' then '"', '}'
 *     or a comment, '[' then a value or ']') is scanned to its closing
 *     bracket, honouring strings, escapes and comments, and checked with a
 *     JSON parser;
 *   - the lenient dialect models write is accepted: // and block comments
 *     and trailing commas (the span then needs llm_json_relax on a copy to
 *     be strict JSON);
 *   - a candidate that does not parse is skipped whole, so is a value of
 *     the unwanted kind and prose in brackets ("[see below]"): an inner
 *     fragment is never the answer; when no valid value of the wanted kind
 *     follows, the status is INVALID with the parser's reason for the
 *     first one;
 *   - a value that is still open at the end of the text is TRUNCATED (its
 *     complete inner values are not taken for the answer);
 *   - several values: the first valid one of the wanted kind wins; when
 *     there is none (and none invalid), the first valid value of the other
 *     kind (a bare list of candidates where an object was asked for).
 * Work is linear in len: each byte is scanned a bounded number of times.
 * err receives the reason when the status is not OK. */
enum llm_extract_status llm_json_extract(const char *text, size_t len,
					 enum llm_json_want want, size_t *off,
					 size_t *span, char *err,
					 size_t errlen);

/* Blanks the comments and trailing commas of the JSON text s[0, n) (outside
 * strings) with spaces, in place, so that the lenient dialect becomes
 * strict JSON of the same length. Returns the bytes changed. */
size_t llm_json_relax(char *s, size_t n);

/* Bytes and candidates the last llm_json_extract of this thread looked at
 * (a work counter for tests: it stays within a small multiple of len). */
size_t llm_json_extract_steps(void);

/* ---- connection check (check.c) ---------------------------------------- */

#define LLM_CHECK_CONNECT_MS 3000  /* connect timeout of a check, at most */
#define LLM_CHECK_TIMEOUT_MS 20000 /* one check request, at most */
#define LLM_CHECK_TOTAL_MS   45000 /* the whole check, at most */
#define LLM_CHECK_MAX	     4

/* One check: "reachable" (GET {base_url}/models answered at all), "model"
 * (the model is in its list: OpenAI's data[].id or Ollama's
 * models[].name), "structured_output" (a tiny chat call with a JSON
 * schema, sent like the search's: ok when a schema level, json_schema or
 * llama_json_schema, gave a reply of that schema), "context_length" (the
 * server's context from /props or /api/show: ok when unknown or at least
 * min_context). ok 0 with the reason in detail otherwise. */
struct llm_check_item {
	const char *check; /* static name */
	int ok;
	char detail[320]; /* valid UTF-8; never holds the key */
	long ms;
};

struct llm_check_report {
	int n;
	struct llm_check_item item[LLM_CHECK_MAX];
	long context_tokens;	/* 0: unknown */
	enum llm_format format; /* level the structured call ended at */
};

/* Runs the checks against s with one attempt per request, a connect
 * timeout of at most LLM_CHECK_CONNECT_MS and a transfer of at most
 * LLM_CHECK_TIMEOUT_MS (s is copied, not changed), all of it within
 * total_ms (0: LLM_CHECK_TOTAL_MS; a request still running then is
 * cancelled and its check fails saying so). A server that cannot
 * be reached or fails a check is a result in *out, not an error: the call
 * fails only on invalid settings (CORE_ERR_INVALID, err names the field)
 * or out of memory. The caller decides which hosts may be asked
 * (llm_url_host). */
enum core_status llm_check_run(const struct llm_settings *s, long min_context,
			       long total_ms, struct llm_check_report *out,
			       char *err, size_t errlen);

/* The host of url as libcurl will connect to it (lower case, an IPv6
 * literal without brackets) into host[hostlen], and its port (the
 * scheme's default when none is written). CORE_ERR_INVALID when url has
 * none. */
enum core_status llm_url_host(const char *url, char *host, size_t hostlen,
			      long *port, char *err, size_t errlen);

#endif
