/* SPDX-License-Identifier: Apache-2.0 */
/* client.c - the llm client: settings, the call loop with its retries,
 * backoff and response_format fallback, and the record of each call. Owns
 * the client struct (its copies of the settings, the API key, the curl
 * handles and the remembered format level). */
#include "llm_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define WAIT_SLICE_MS 20

/* ---- names ---- */

const char *llm_outcome_name(enum llm_outcome o)
{
	static const char *names[] = {
	    "ok",	 "http_error", "timeout",     "refused_format",
	    "bad_reply", "cancelled",  "unreachable", "context_exceeded",
	    "internal"};

	if ((unsigned)o < sizeof names / sizeof names[0])
		return names[o];
	return "unknown";
}

static const char *format_names[] = {"json_schema", "llama_json_schema",
				     "json_object", "none"};

const char *llm_format_name(enum llm_format f)
{
	if ((unsigned)f <= LLM_FORMAT_NONE)
		return format_names[f];
	return "unknown";
}

enum core_status llm_format_parse(const char *s, enum llm_format *out)
{
	for (int i = 0; i <= LLM_FORMAT_NONE; i++) {
		if (strcmp(s, format_names[i]) == 0) {
			*out = (enum llm_format)i;
			return CORE_OK;
		}
	}
	return CORE_ERR_INVALID;
}

const char *llm_reply_error_name(enum llm_reply_error e)
{
	static const char *names[] = {"ok",	   "too_large",	  "not_json",
				      "shape",	   "empty",	  "no_json",
				      "truncated", "invalid_json"};

	if ((unsigned)e < sizeof names / sizeof names[0])
		return names[e];
	return "unknown";
}

/* ---- settings and client ---- */

void llm_settings_default(struct llm_settings *s)
{
	memset(s, 0, sizeof *s);
	s->temperature = 0.7;
	s->max_tokens = 4096;
	s->connect_timeout_ms = 10000;
	s->timeout_ms = 300000;
	s->max_attempts = 4;
	s->backoff_base_ms = 500;
	s->backoff_max_ms = 8000;
	s->retry_after_max_ms = 60000;
	s->max_reply_bytes = (size_t)4 << 20;
	s->format_start = LLM_FORMAT_JSON_SCHEMA;
	s->format_floor = LLM_FORMAT_NONE;
}

/* Whether the authority of url ("scheme://user:pass@host/...") has a
 * userinfo part. */
static int url_has_userinfo(const char *url)
{
	const char *a = strstr(url, "://");
	size_t n;

	if (!a)
		return 0;
	a += 3;
	n = strcspn(a, "/?#");
	return memchr(a, '@', n) != NULL;
}

static enum core_status settings_check(const struct llm_settings *s, char *err,
				       size_t errlen)
{
	const char *why = NULL, *field = NULL;

#define CHECK(cond, f, reason)                                                 \
	do {                                                                   \
		if (!why && !(cond)) {                                         \
			field = (f);                                           \
			why = (reason);                                        \
		}                                                              \
	} while (0)
	CHECK(s->base_url && (strncmp(s->base_url, "http://", 7) == 0 ||
			      strncmp(s->base_url, "https://", 8) == 0),
	      "base_url", "must start with http:// or https://");
	CHECK(!s->base_url || strlen(s->base_url) < 2048, "base_url",
	      "longer than 2047 characters");
	CHECK(!s->base_url || !url_has_userinfo(s->base_url), "base_url",
	      "must not carry credentials (they would be logged): use the "
	      "API key setting");
	CHECK(s->model && s->model[0], "model", "must not be empty");
	CHECK(!s->model || strlen(s->model) < 512, "model",
	      "longer than 511 characters");
	CHECK(!s->api_key || strlen(s->api_key) < 900, "api_key",
	      "longer than 899 characters");
	CHECK(!s->api_key || !strpbrk(s->api_key, "\r\n"), "api_key",
	      "contains a line break");
	CHECK(s->temperature >= 0 && s->temperature <= 2, "temperature",
	      "must be within 0..2");
	CHECK(s->max_tokens >= 0 && s->max_tokens <= 1000000, "max_tokens",
	      "must be within 0..1000000");
	CHECK(s->connect_timeout_ms >= 1 && s->connect_timeout_ms <= 600000,
	      "connect_timeout_ms", "must be within 1..600000");
	CHECK(s->timeout_ms >= 1 && s->timeout_ms <= 3600000, "timeout_ms",
	      "must be within 1..3600000");
	CHECK(s->max_attempts >= 1 && s->max_attempts <= LLM_ATTEMPTS_MAX,
	      "max_attempts", "must be within 1..10");
	CHECK(s->backoff_base_ms >= 0 && s->backoff_base_ms <= 600000,
	      "backoff_base_ms", "must be within 0..600000");
	CHECK(s->backoff_max_ms >= s->backoff_base_ms &&
		  s->backoff_max_ms <= 3600000,
	      "backoff_max_ms", "must be within backoff_base_ms..3600000");
	CHECK(s->retry_after_max_ms >= 0 && s->retry_after_max_ms <= 3600000,
	      "retry_after_max_ms", "must be within 0..3600000");
	CHECK(s->max_reply_bytes >= 1024 && s->max_reply_bytes <= (256u << 20),
	      "max_reply_bytes", "must be within 1 KiB..256 MiB");
	CHECK((unsigned)s->format_start <= LLM_FORMAT_NONE, "format_start",
	      "unknown level");
	CHECK((unsigned)s->format_floor <= LLM_FORMAT_NONE &&
		  s->format_floor >= s->format_start,
	      "format_floor", "must be format_start or a weaker level");
#undef CHECK
	if (why) {
		core_errf(err, errlen, "%s: %s", field, why);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

enum core_status llm_client_open(const struct llm_settings *s,
				 struct llm_client **out, char *err,
				 size_t errlen)
{
	struct llm_client *c;
	size_t n;
	enum core_status rc;

	*out = NULL;
	rc = settings_check(s, err, errlen);
	if (rc)
		return rc;
	c = core_calloc(1, sizeof *c);
	if (!c)
		goto nomem;
	c->s = *s;
	c->base_url = core_strdup(s->base_url);
	c->model = core_strdup(s->model);
	n = strlen(s->base_url);
	while (n > 0 && s->base_url[n - 1] == '/')
		n--;
	c->url = core_malloc(n + sizeof "/chat/completions");
	c->root = core_malloc(n + 1);
	if (s->api_key && s->api_key[0])
		c->key = core_strdup(s->api_key);
	if (!c->base_url || !c->model || !c->url || !c->root ||
	    (s->api_key && s->api_key[0] && !c->key))
		goto nomem;
	memcpy(c->url, s->base_url, n);
	memcpy(c->url + n, "/chat/completions", sizeof "/chat/completions");
	memcpy(c->root, s->base_url, n);
	c->root[n] = '\0';
	if (n >= 3 && strcmp(c->root + n - 3, "/v1") == 0)
		c->root[n - 3] = '\0';
	c->s.base_url = c->base_url;
	c->s.model = c->model;
	c->s.api_key = NULL; /* only c->key holds it */
	c->format = s->format_start;
	core_rng_seed(&c->rng, s->seed ? s->seed
				       : (uint64_t)(core_now_seconds() * 1e9) ^
					     (uint64_t)(uintptr_t)c);
	rc = llm_http_open(&c->http, err, errlen);
	if (rc) {
		llm_client_close(c);
		return rc;
	}
	*out = c;
	return CORE_OK;
nomem:
	llm_client_close(c);
	core_errf(err, errlen, "out of memory creating the LLM client");
	return CORE_ERR_NOMEM;
}

void llm_client_close(struct llm_client *c)
{
	if (!c)
		return;
	llm_http_close(&c->http);
	if (c->key) {
		explicit_bzero(c->key, strlen(c->key));
		core_free(c->key);
	}
	core_free(c->base_url);
	core_free(c->model);
	core_free(c->url);
	core_free(c->root);
	core_free(c);
}

enum llm_format llm_client_format(const struct llm_client *c)
{
	return c->format;
}

long llm_client_context(const struct llm_client *c)
{
	return c->n_ctx;
}

void llm_record_free(struct llm_record *rec)
{
	core_free(rec->messages_json);
	core_free(rec->reply_body);
	core_free(rec->content);
	core_free(rec->json);
	memset(rec, 0, sizeof *rec);
}

/* ---- the call ---- */

static int cancelled(const struct llm_call *k)
{
	return k->req->cancel && *k->req->cancel;
}

static long ms_since(double t)
{
	return (long)((core_now_seconds() - t) * 1000.0 + 0.5);
}

/* Sleeps ms in slices, watching the cancel flag. Returns 1 if cancelled. */
static int wait_ms(const struct llm_call *k, long ms)
{
	double end = core_now_seconds() + (double)ms / 1000.0;

	for (;;) {
		double left = end - core_now_seconds();
		struct timespec ts;
		long slice;

		if (cancelled(k))
			return 1;
		if (left <= 0)
			return 0;
		slice = (long)(left * 1000.0) + 1;
		if (slice > WAIT_SLICE_MS)
			slice = WAIT_SLICE_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = slice * 1000000L;
		nanosleep(&ts, NULL);
	}
}

/* The k-th retry's wait (k >= 1): base * 2^(k-1) capped, drawn uniformly
 * in [d/2, d] so that many clients do not retry in step. */
static long backoff_ms(struct llm_client *c, int k)
{
	long d = c->s.backoff_base_ms;

	for (int i = 1; i < k && d < c->s.backoff_max_ms; i++)
		d *= 2;
	if (d > c->s.backoff_max_ms)
		d = c->s.backoff_max_ms;
	if (d <= 1)
		return d;
	return d / 2 + (long)core_rng_below(&c->rng, (uint64_t)(d - d / 2) + 1);
}

static enum llm_json_want schema_want(json_t *schema)
{
	const char *type = json_string_value(json_object_get(schema, "type"));

	if (type && strcmp(type, "object") == 0)
		return LLM_JSON_OBJECT;
	if (type && strcmp(type, "array") == 0)
		return LLM_JSON_ARRAY;
	return LLM_JSON_ANY;
}

static int schema_name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len > 64)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)n[i]) && n[i] != '_' && n[i] != '-')
			return 0;
	return 1;
}

static enum core_status call_prepare(struct llm_call *k, char *err,
				     size_t errlen)
{
	const struct llm_request *req = k->req;
	json_error_t jerr;
	enum core_status rc;

	k->schema_name = req->schema_name ? req->schema_name : "reply";
	if (!schema_name_ok(k->schema_name)) {
		core_errf(err, errlen,
			  "schema_name: use 1..64 of [A-Za-z0-9_-]");
		return CORE_ERR_INVALID;
	}
	rc = llm_request_messages(req, &k->messages, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < req->nmessages; i++)
		k->est += (long)((strlen(req->messages[i].content) + 3) / 4);
	k->rec->prompt_estimate = k->est;
	rc = llm_json_dump(k->messages, &k->rec->messages_json, NULL);
	if (rc) {
		core_errf(err, errlen, "out of memory recording the messages");
		return rc;
	}
	if (req->schema) {
		k->schema = json_loads(req->schema, 0, &jerr);
		if (!json_is_object(k->schema)) {
			core_errf(err, errlen, "schema: not a JSON object (%s)",
				  k->schema ? "another value" : jerr.text);
			return CORE_ERR_INVALID;
		}
		k->want = schema_want(k->schema);
	} else if (k->c->s.format_floor == LLM_FORMAT_JSON_SCHEMA) {
		core_errf(err, errlen,
			  "schema: required, the format floor is json_schema");
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

/* Takes the body of a 2xx reply apart. Returns the attempt's outcome. */
static enum llm_outcome call_take_reply(struct llm_call *k, int *nomem)
{
	struct llm_record *rec = k->rec;
	struct llm_reply r;
	enum llm_reply_error re;
	enum llm_extract_status es;
	size_t off, span;
	char why[CORE_ERR_LEN];
	int truncated_by_length;

	/* the body as recorded: bad UTF-8 bytes already replaced, so that a
	 * stray Latin-1 byte in a string does not make the parser fail */
	re = llm_reply_parse(rec->reply_body, rec->reply_len, &r, nomem, why,
			     sizeof why);
	rec->prompt_tokens = r.prompt_tokens;
	rec->completion_tokens = r.completion_tokens;
	k->cached = r.cached_tokens;
	memcpy(rec->finish_reason, r.finish_reason, sizeof r.finish_reason);
	if (*nomem) {
		core_errf(rec->error, sizeof rec->error, "%s", why);
		return LLM_OUTCOME_INTERNAL;
	}
	if (re) {
		rec->reply_error = re;
		core_errf(rec->error, sizeof rec->error, "%s", why);
		return LLM_OUTCOME_BAD_REPLY;
	}
	rec->content = r.content;
	rec->content_len = r.content_len;
	truncated_by_length = strcmp(r.finish_reason, "length") == 0;
	es = llm_json_extract(r.content, r.content_len, k->want, &off, &span,
			      why, sizeof why);
	switch (es) {
	case LLM_EXTRACT_OK:
		rec->json = core_malloc(span + 1);
		if (!rec->json) {
			*nomem = 1;
			core_errf(rec->error, sizeof rec->error,
				  "out of memory copying the reply JSON");
			return LLM_OUTCOME_INTERNAL;
		}
		memcpy(rec->json, r.content + off, span);
		rec->json[span] = '\0';
		rec->json_len = span;
		llm_json_relax(rec->json, span); /* comments, trailing commas */
		/* A complete value is usable even if the model was cut off
		 * while writing something after it. */
		return LLM_OUTCOME_OK;
	case LLM_EXTRACT_EMPTY:
		rec->reply_error =
		    truncated_by_length ? LLM_REPLY_TRUNCATED : LLM_REPLY_EMPTY;
		break;
	case LLM_EXTRACT_TRUNCATED:
		rec->reply_error = LLM_REPLY_TRUNCATED;
		break;
	case LLM_EXTRACT_NOT_FOUND:
		rec->reply_error = truncated_by_length ? LLM_REPLY_TRUNCATED
						       : LLM_REPLY_NO_JSON;
		break;
	case LLM_EXTRACT_INVALID:
		rec->reply_error = truncated_by_length ? LLM_REPLY_TRUNCATED
						       : LLM_REPLY_INVALID_JSON;
		break;
	}
	if (truncated_by_length)
		core_errf(rec->error, sizeof rec->error,
			  "the reply was cut off at max_tokens (finish_reason "
			  "\"length\", %ld completion tokens): %s",
			  r.completion_tokens, why);
	else
		core_errf(rec->error, sizeof rec->error, "%s", why);
	return LLM_OUTCOME_BAD_REPLY;
}

/* Keeps the body of the last HTTP reply in the record ("" for a reply
 * without a body; NULL when no reply came), made valid UTF-8: it is stored
 * in PostgreSQL text and parsed by jansson, which both refuse bad bytes (a
 * Latin-1 error page, a stray byte in a 200 body). */
static int record_reply_body(struct llm_call *k, int got_reply)
{
	struct llm_record *rec = k->rec;
	size_t n = k->reply.len;

	core_free(rec->reply_body);
	core_free(rec->content);
	rec->content = NULL;
	rec->content_len = 0;
	rec->reply_body = NULL;
	rec->reply_len = 0;
	if (!got_reply)
		return 0;
	rec->reply_body = core_utf8_sanitize(k->reply.data ? k->reply.data : "",
					     n, n * 3, &rec->reply_len);
	return rec->reply_body ? 0 : -1;
}

static enum core_status status_of(enum llm_outcome o, int nomem)
{
	switch (o) {
	case LLM_OUTCOME_OK: return CORE_OK;
	case LLM_OUTCOME_HTTP_ERROR:
	case LLM_OUTCOME_TIMEOUT:
	case LLM_OUTCOME_UNREACHABLE: return CORE_ERR_UNAVAILABLE;
	case LLM_OUTCOME_REFUSED_FORMAT:
	case LLM_OUTCOME_CONTEXT:
	case LLM_OUTCOME_BAD_REPLY: return CORE_ERR_INVALID;
	case LLM_OUTCOME_CANCELLED: return CORE_ERR_CANCELLED;
	case LLM_OUTCOME_INTERNAL: break;
	}
	return nomem ? CORE_ERR_NOMEM : CORE_ERR_INTERNAL;
}

/* Runs attempts until one is final. Fills rec->outcome and rec->error. */
static enum core_status call_run(struct llm_call *k, char *err, size_t errlen)
{
	struct llm_client *c = k->c;
	struct llm_record *rec = k->rec;
	enum llm_format level = c->format;
	int transient = 0, nomem = 0, degraded = 0, ignored = 0, steps = 0;
	enum core_status rc;

	if (!k->schema && level < LLM_FORMAT_JSON_OBJECT)
		level = LLM_FORMAT_JSON_OBJECT;
	if (level > c->s.format_floor)
		level = c->s.format_floor;
	rec->format = level;
	for (;;) {
		struct llm_body_params bp = {
		    c->model,	 c->s.temperature, c->s.max_tokens,
		    k->messages, k->schema,	   k->schema_name,
		    level};
		struct llm_http_post post;
		struct llm_http_result res;
		struct llm_attempt *att;
		enum llm_outcome o;
		double ta;
		int retry = 0;
		long wait = 0;

		if (cancelled(k)) {
			rec->outcome = LLM_OUTCOME_CANCELLED;
			core_errf(rec->error, sizeof rec->error,
				  "cancelled after %d attempts", rec->attempts);
			break;
		}
		rc = llm_request_body(&bp, &k->body, err, errlen);
		if (rc)
			goto internal;
		post.url = c->url;
		post.bearer = c->key;
		post.body = k->body.data;
		post.body_len = k->body.len;
		post.connect_timeout_ms = c->s.connect_timeout_ms;
		post.timeout_ms = c->s.timeout_ms;
		post.cancel = k->req->cancel;
		ta = core_now_seconds();
		rc = llm_http_post(&c->http, &post, &k->reply, &res, err,
				   errlen);
		if (rc)
			goto internal;
		att = &rec->attempt[rec->attempts++];
		att->format = level;
		att->http_status = res.status;
		att->ms = ms_since(ta);
		rec->format = level;
		rec->http_status = res.status;
		if (record_reply_body(k, res.end == LLM_HTTP_DONE)) {
			rc = CORE_ERR_NOMEM;
			core_errf(err, errlen,
				  "out of memory keeping the reply");
			goto internal;
		}
		switch (res.end) {
		case LLM_HTTP_DONE: break;
		case LLM_HTTP_TIMEOUT:
			o = LLM_OUTCOME_TIMEOUT;
			retry = 1;
			core_errf(rec->error, sizeof rec->error,
				  "no reply from %s within %ld ms: %s", c->url,
				  c->s.timeout_ms, res.detail);
			goto decided;
		case LLM_HTTP_CONNECT:
		case LLM_HTTP_LOST:
			o = LLM_OUTCOME_UNREACHABLE;
			retry = 1;
			core_errf(rec->error, sizeof rec->error, "%s %s: %s",
				  res.end == LLM_HTTP_CONNECT
				      ? "cannot reach"
				      : "lost the connection to",
				  c->url, res.detail);
			goto decided;
		case LLM_HTTP_FATAL:
			o = LLM_OUTCOME_UNREACHABLE;
			core_errf(rec->error, sizeof rec->error,
				  "cannot talk to %s: %s", c->url, res.detail);
			goto decided;
		case LLM_HTTP_TOO_LARGE:
			o = LLM_OUTCOME_BAD_REPLY;
			rec->reply_error = LLM_REPLY_TOO_LARGE;
			core_errf(rec->error, sizeof rec->error, "%s",
				  res.detail);
			goto decided;
		case LLM_HTTP_CANCELLED:
			o = LLM_OUTCOME_CANCELLED;
			core_errf(rec->error, sizeof rec->error,
				  "cancelled during attempt %d", rec->attempts);
			goto decided;
		case LLM_HTTP_NOMEM:
			o = LLM_OUTCOME_INTERNAL;
			nomem = 1;
			core_errf(rec->error, sizeof rec->error, "%s",
				  res.detail);
			goto decided;
		}
		if (res.status >= 200 && res.status < 300) {
			int next;

			c->confirmed[level] = 1;
			o = call_take_reply(k, &nomem);
			if (o != LLM_OUTCOME_INTERNAL &&
			    llm_server_prompt_was_cut(k)) {
				o = LLM_OUTCOME_CONTEXT;
				core_free(
				    rec->json); /* read from half a prompt */
				rec->json = NULL;
				rec->json_len = 0;
			}
			if (o == LLM_OUTCOME_OK)
				c->worked[level] = 1;
			/* A server that ignored the format we asked for
			 * answers free text: ask again one level lower. */
			next = LLM_FORMAT_NONE + 1;
			if (o == LLM_OUTCOME_BAD_REPLY &&
			    (rec->reply_error == LLM_REPLY_NO_JSON ||
			     rec->reply_error == LLM_REPLY_INVALID_JSON) &&
			    level != LLM_FORMAT_NONE && !c->worked[level] &&
			    steps < LLM_FORMAT_FALLBACKS)
				next = llm_server_next_level(k, level);
			if (next <= LLM_FORMAT_NONE) {
				LOG_WARN("llm: %s answered response_format %s "
					 "without the JSON asked for (%s); "
					 "trying %s",
					 c->url, llm_format_name(level),
					 llm_reply_error_name(rec->reply_error),
					 llm_format_name(next));
				att->outcome = o;
				rec->reply_error = LLM_REPLY_OK;
				level = (enum llm_format)next;
				degraded = ignored = 1;
				steps++;
				continue;
			}
			/* After a fallback, start here next time: on any 2xx
			 * after refusals, on a usable reply after a level
			 * was ignored. */
			if (degraded && (o == LLM_OUTCOME_OK || !ignored))
				c->format = level;
			goto decided;
		}
		if (res.status == 400 || res.status == 413 ||
		    res.status == 422) {
			if (llm_server_mentions_context(k->reply.data,
							k->reply.len)) {
				char msg[256];
				llm_reply_error_message(k->reply.data,
							k->reply.len, msg,
							sizeof msg);
				o = LLM_OUTCOME_CONTEXT;
				llm_server_learn_context(k);
				core_errf(rec->error, sizeof rec->error,
					  "HTTP %ld from %s: %s: the prompt "
					  "(about %ld tokens) does not fit the "
					  "server's context; raise it to %ld "
					  "tokens (llama-server -c, Ollama "
					  "num_ctx) or send a shorter prompt",
					  res.status, c->url, msg, k->est,
					  llm_server_context_needed(k));
				goto decided;
			}
		}
		if (llm_server_refuses_format(k, level, res.status)) {
			char msg[256];
			int next = LLM_FORMAT_NONE + 1;
			llm_reply_error_message(k->reply.data, k->reply.len,
						msg, sizeof msg);
			att->outcome = LLM_OUTCOME_REFUSED_FORMAT;
			if (level < c->s.format_floor &&
			    steps < LLM_FORMAT_FALLBACKS)
				next = llm_server_next_level(k, level);
			if (next <= LLM_FORMAT_NONE) {
				LOG_WARN(
				    "llm: %s refused response_format %s "
				    "(HTTP %ld: %.*s); trying %s",
				    c->url, llm_format_name(level), res.status,
				    (int)core_utf8_cut_len(msg, strlen(msg),
							   200),
				    msg,
				    llm_format_name((enum llm_format)next));
				level = (enum llm_format)next;
				degraded = 1;
				steps++;
				continue;
			}
			o = LLM_OUTCOME_REFUSED_FORMAT;
			core_errf(rec->error, sizeof rec->error,
				  "%s refused response_format %s (HTTP %ld) "
				  "and no weaker format is allowed: %s",
				  c->url, llm_format_name(level), res.status,
				  msg);
			goto decided;
		}
		{
			char msg[256];
			llm_reply_error_message(k->reply.data, k->reply.len,
						msg, sizeof msg);
			o = LLM_OUTCOME_HTTP_ERROR;
			retry = res.status == 408 || res.status == 429 ||
				res.status >= 500;
			core_errf(rec->error, sizeof rec->error,
				  "HTTP %ld from %s: %s", res.status, c->url,
				  msg);
		}
	decided:
		att->outcome = o;
		rec->outcome = o;
		if (o == LLM_OUTCOME_OK) {
			/* an earlier attempt's failure is history now */
			rec->error[0] = '\0';
			rec->reply_error = LLM_REPLY_OK;
		}
		if (!retry || ++transient >= c->s.max_attempts)
			break;
		wait = res.retry_after_ms >= 0
			   ? (res.retry_after_ms < c->s.retry_after_max_ms
				  ? res.retry_after_ms
				  : c->s.retry_after_max_ms)
			   : backoff_ms(c, transient);
		att->wait_ms = wait;
		LOG_WARN(
		    "llm: attempt %d of %d failed (%s); retrying in %ld ms",
		    transient, c->s.max_attempts, rec->error, wait);
		if (wait_ms(k, wait)) {
			rec->outcome = LLM_OUTCOME_CANCELLED;
			core_errf(rec->error, sizeof rec->error,
				  "cancelled while waiting to retry after %d "
				  "attempts",
				  rec->attempts);
			break;
		}
	}
	if (rec->outcome != LLM_OUTCOME_OK &&
	    rec->outcome != LLM_OUTCOME_INTERNAL &&
	    rec->outcome != LLM_OUTCOME_CANCELLED && rec->attempts > 1) {
		size_t n = strlen(rec->error);
		snprintf(rec->error + n, sizeof rec->error - n,
			 " (after %d attempts)", rec->attempts);
	}
	/* snprintf cuts bytes, not characters; server text may be bad */
	core_utf8_copy(rec->error, sizeof rec->error, rec->error);
	if (rec->outcome != LLM_OUTCOME_OK) {
		core_errf(err, errlen, "%s", rec->error);
		core_utf8_copy(err, errlen, err);
	}
	return status_of(rec->outcome, nomem);
internal:
	rec->outcome = LLM_OUTCOME_INTERNAL;
	core_utf8_copy(err, errlen, err);
	core_errf(rec->error, sizeof rec->error, "%s", err);
	core_utf8_copy(rec->error, sizeof rec->error, rec->error);
	return rc;
}

enum core_status llm_client_chat(struct llm_client *c,
				 const struct llm_request *req,
				 struct llm_record *rec, char *err,
				 size_t errlen)
{
	struct llm_call k;
	enum core_status rc;

	memset(rec, 0, sizeof *rec);
	rec->prompt_tokens = -1;
	rec->completion_tokens = -1;
	memset(&k, 0, sizeof k);
	k.c = c;
	k.req = req;
	k.rec = rec;
	k.want = LLM_JSON_ANY;
	k.t0 = core_now_seconds();
	core_buf_init(&k.body, (size_t)64 << 20);
	core_buf_init(&k.reply, c->s.max_reply_bytes);
	rc = call_prepare(&k, err, errlen);
	if (rc) {
		rec->outcome = LLM_OUTCOME_INTERNAL;
		core_errf(rec->error, sizeof rec->error, "%s", err);
		goto out;
	}
	rc = call_run(&k, err, errlen);
out:
	rec->latency_ms = ms_since(k.t0);
	json_decref(k.messages);
	json_decref(k.schema);
	core_buf_free(&k.body);
	core_buf_free(&k.reply);
	return rc;
}
