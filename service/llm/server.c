/* SPDX-License-Identifier: Apache-2.0 */
/* server.c - what the llm client learns about the server behind an
 * endpoint: which of its refusals are about the response_format and which
 * about the prompt's size, what kind of server it is and its context length
 * (GET /props, POST /api/show, asked once per client), and whether a 2xx
 * reply shows that it silently cut the prompt (llm.h, "The server's
 * context"). */
#include "llm_impl.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int mentions(const char *body, size_t len, const char *const *words,
		    size_t nwords)
{
	for (size_t w = 0; w < nwords; w++) {
		size_t n = strlen(words[w]);
		for (size_t i = 0; i + n <= len; i++)
			if (strncasecmp(body + i, words[w], n) == 0)
				return 1;
	}
	return 0;
}

static int mentions_format(const char *body, size_t len)
{
	static const char *const words[] = {"response_format", "json_schema",
					    "json_object",     "schema",
					    "grammar",	       "structured"};

	return mentions(body, len, words, sizeof words / sizeof words[0]);
}

/* A refusal because the prompt does not fit (llama-server: "the request
 * exceeds the available context size", OpenAI: "maximum context length",
 * vLLM: "context length", code context_length_exceeded). */
int llm_server_mentions_context(const char *body, size_t len)
{
	static const char *const words[] = {"context size",   "context length",
					    "context window", "context_length",
					    "n_ctx",	      "maximum context",
					    "too many tokens"};

	return mentions(body, len, words, sizeof words / sizeof words[0]);
}

/* The fallback rule documented in llm.h. */
int llm_server_refuses_format(const struct llm_call *k, enum llm_format level,
			      long status)
{
	const char *body = k->reply.data ? k->reply.data : "";
	int named = mentions_format(body, k->reply.len);

	if (level == LLM_FORMAT_NONE ||
	    llm_server_mentions_context(body, k->reply.len))
		return 0;
	if (status == 400 || status == 422)
		return named || !k->c->confirmed[level];
	if (status == 500 || status == 501)
		return named;
	return 0;
}

/* A positive token count below 100 M from a JSON value, else 0. */
static long ctx_value(const json_t *v)
{
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;

	return n > 0 && n < 100000000 ? (long)n : 0;
}

/* Ollama's "parameters" text holds lines like "num_ctx 8192". */
static long ollama_num_ctx(const char *p)
{
	const char *at = p ? strstr(p, "num_ctx") : NULL;
	long n = 0;

	if (!at)
		return 0;
	at += strlen("num_ctx");
	while (*at == ' ' || *at == '\t')
		at++;
	while (*at >= '0' && *at <= '9' && n < 100000000)
		n = n * 10 + (*at++ - '0');
	return n < 100000000 ? n : 0;
}

/* One probe request (GET when body is NULL); the parsed JSON object of a
 * 200 reply, or NULL. */
static json_t *probe_get(struct llm_call *k, const char *path, const char *body)
{
	struct llm_client *c = k->c;
	struct llm_http_post post;
	struct llm_http_result res;
	struct core_buf url;
	char err[CORE_ERR_LEN];
	json_t *v = NULL;

	core_buf_init(&url, 4096);
	if (core_buf_printf(&url, "%s%s", c->root, path))
		goto out;
	memset(&post, 0, sizeof post);
	post.url = url.data;
	post.bearer = c->key;
	post.body = body;
	post.body_len = body ? strlen(body) : 0;
	post.connect_timeout_ms = c->s.connect_timeout_ms;
	post.timeout_ms = c->s.timeout_ms < 10000 ? c->s.timeout_ms : 10000;
	post.cancel = k->req->cancel;
	if (llm_http_post(&c->http, &post, &k->reply, &res, err, sizeof err) ||
	    res.end != LLM_HTTP_DONE || res.status != 200 || !k->reply.data)
		goto out;
	v = json_loadb(k->reply.data, k->reply.len, 0, NULL);
	if (!json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
out:
	core_buf_free(&url);
	core_buf_free(&k->reply);
	return v;
}

/* Learns, once per client, what server this is and its context length
 * (see llm.h). Failures only leave them unknown. */
static void client_probe(struct llm_call *k)
{
	struct llm_client *c = k->c;
	json_t *v, *body, *info, *x;
	const char *key;
	char *text = NULL;

	if (c->probed)
		return;
	c->probed = 1;
	v = probe_get(k, "/props", NULL);
	if (v) {
		json_t *dgs = json_object_get(v, "default_generation_settings");
		c->llama = dgs != NULL;
		c->n_ctx = ctx_value(json_object_get(dgs, "n_ctx"));
		if (!c->n_ctx)
			c->n_ctx = ctx_value(json_object_get(v, "n_ctx"));
		json_decref(v);
		if (c->llama)
			goto done;
	}
	body = json_pack("{s:s}", "model", c->model);
	if (body && llm_json_dump(body, &text, NULL) == CORE_OK) {
		v = probe_get(k, "/api/show", text);
		c->n_ctx = ollama_num_ctx(
		    json_string_value(json_object_get(v, "parameters")));
		info = json_object_get(v, "model_info");
		/* the model's maximum, not the context Ollama runs it
		 * with (OLLAMA_CONTEXT_LENGTH, by default far smaller):
		 * only an upper bound */
		json_object_foreach(info, key, x)
		{
			size_t n = strlen(key), m = strlen(".context_length");
			if (!c->ctx_max && n > m &&
			    strcmp(key + n - m, ".context_length") == 0)
				c->ctx_max = ctx_value(x);
		}
		json_decref(v);
	}
	core_free(text);
	json_decref(body);
done:
	if (c->n_ctx && (!c->ctx_max || c->ctx_max > c->n_ctx))
		c->ctx_max = c->n_ctx;
	if (c->n_ctx)
		LOG_INFO("llm: %s has a context of %ld tokens%s", c->root,
			 c->n_ctx, c->llama ? " (llama-server)" : "");
}

/* The level below level, skipping llama-server's own field for other
 * servers; LLM_FORMAT_NONE + 1 when there is none within the floor. */
int llm_server_next_level(struct llm_call *k, enum llm_format level)
{
	int next = (int)level + 1;

	if (next == LLM_FORMAT_LLAMA_SCHEMA) {
		client_probe(k);
		if (!k->c->llama || !k->schema)
			next++;
	}
	return next <= (int)k->c->s.format_floor ? next : LLM_FORMAT_NONE + 1;
}

/* What to tell the user: a context that holds the prompt (the estimate
 * is low: half again) and the reply, in whole KiB of tokens. */
long llm_server_context_needed(const struct llm_call *k)
{
	long need = k->est + k->est / 2 +
		    (k->c->s.max_tokens > 0 ? k->c->s.max_tokens : 1024);

	if (need <= k->c->n_ctx)
		need = 2 * k->c->n_ctx;
	return (need + 1023) / 1024 * 1024;
}

/* Whether a 2xx reply shows that the server cut the prompt (llm.h); the
 * record's error then says so and how to fix it. */
void llm_server_learn_context(struct llm_call *k)
{
	client_probe(k);
	k->rec->context_tokens = k->c->n_ctx;
}

int llm_server_prompt_was_cut(struct llm_call *k)
{
	struct llm_record *rec = k->rec;
	struct llm_client *c = k->c;
	long read = rec->prompt_tokens;
	char ctx[48] = "";
	int cut;

	if (read < 0 || read < k->est)
		client_probe(k);
	rec->context_tokens = c->n_ctx;
	/* Some servers leave KV-cached tokens out of prompt_tokens (Ollama's
	 * prompt_eval_count did, across versions), so a small count after a
	 * cache hit is no cut: with a known context only a prompt larger
	 * than it counts, and the count alone only where no context is
	 * known (hosted APIs, vLLM: they count the cached tokens in). */
	if (read >= 0 && k->cached > 0)
		read += k->cached;
	if (c->n_ctx > 0)
		cut = k->est > c->n_ctx;
	else
		cut = (read >= 0 && read * 2 < k->est) ||
		      (c->ctx_max > 0 && k->est > c->ctx_max);
	if (!cut)
		return 0;
	if (c->n_ctx)
		snprintf(ctx, sizeof ctx, " of %ld tokens", c->n_ctx);
	if (rec->prompt_tokens >= 0)
		core_errf(rec->error, sizeof rec->error,
			  "the server read %ld of about %ld prompt tokens: it "
			  "cut the prompt to its context%s; raise the "
			  "server's context to %ld tokens (llama-server -c, "
			  "Ollama num_ctx) or send a shorter prompt",
			  rec->prompt_tokens, k->est, ctx,
			  llm_server_context_needed(k));
	else
		core_errf(rec->error, sizeof rec->error,
			  "the prompt (about %ld tokens) does not fit the "
			  "server's context%s; raise the server's context to "
			  "%ld tokens (llama-server -c, Ollama num_ctx) or "
			  "send a shorter prompt",
			  k->est, ctx, llm_server_context_needed(k));
	return 1;
}
