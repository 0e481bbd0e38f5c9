/* SPDX-License-Identifier: Apache-2.0 */
/* check.c - the connection check behind the dashboard's "test connection"
 * (POST /v1/llm/check): is the endpoint reachable, does it serve the
 * model, does it honour the structured output the search asks for, what
 * context does it run with. Each check is one short request; a failure is
 * a result (ok 0 with the reason), never an error of the call. */
#include "llm_impl.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MODELS_REPLY_MAX ((size_t)1 << 20) /* GET /models body cap */

/* The tiny request of the structured-output check: the same
 * response_format path as the search's proposals (json_schema with strict,
 * then llama-server's field, then json_object), with a schema small enough
 * for any model to answer in a few tokens. */
static const char check_schema[] =
    "{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"},"
    "\"model\":{\"type\":\"string\"}},\"required\":[\"ok\",\"model\"],"
    "\"additionalProperties\":false}";

/* The whole check's deadline: a thread that raises the cancel flag every
 * request of the check polls (llm.h: every 50 ms) when total_ms is over,
 * so a hanging endpoint holds the caller for total_ms at most. */
struct watchdog {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int done, started;
	long total_ms;
	volatile int cancel;
	pthread_t th;
};

static void *watchdog_main(void *arg)
{
	struct watchdog *w = arg;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += w->total_ms / 1000;
	until.tv_nsec += (w->total_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	while (!w->done) {
		if (pthread_cond_timedwait(&w->wake, &w->lock, &until) ==
		    ETIMEDOUT) {
			w->cancel = 1;
			break;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void watchdog_start(struct watchdog *w, long total_ms)
{
	memset(w, 0, sizeof *w);
	w->total_ms = total_ms;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	/* without the thread the per-request timeouts still bound it */
	w->started = pthread_create(&w->th, NULL, watchdog_main, w) == 0;
}

static void watchdog_stop(struct watchdog *w)
{
	pthread_mutex_lock(&w->lock);
	w->done = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->th, NULL);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
}

static struct llm_check_item *item_add(struct llm_check_report *out,
				       const char *name)
{
	struct llm_check_item *it = &out->item[out->n++];

	memset(it, 0, sizeof *it);
	it->check = name;
	return it;
}

static void item_set(struct llm_check_item *it, int ok, long ms,
		     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void item_set(struct llm_check_item *it, int ok, long ms,
		     const char *fmt, ...)
{
	char raw[sizeof it->detail];
	va_list ap;

	it->ok = ok;
	it->ms = ms;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	/* server text quoted in a detail must stay valid UTF-8 */
	core_utf8_copy(it->detail, sizeof it->detail, raw);
}

static long ms_since(double t0)
{
	return (long)((core_now_seconds() - t0) * 1000.0 + 0.5);
}

/* Whether the /models reply lists model: OpenAI's data[].id, or Ollama's
 * models[].name / models[].model. *count receives the entries seen and
 * names the first few (for the detail). */
static int models_list_has(const json_t *v, const char *model, int *count,
			   char *names, size_t nameslen)
{
	static const char *const lists[] = {"data", "models"};
	static const char *const keys[] = {"id", "name", "model"};
	int found = 0;
	size_t used = 0;

	*count = 0;
	names[0] = '\0';
	for (size_t l = 0; l < 2; l++) {
		const json_t *arr = json_object_get(v, lists[l]), *e;
		size_t i;
		json_array_foreach(arr, i, e)
		{
			const char *id = NULL;
			for (size_t k = 0; !id && k < 3; k++)
				id = json_string_value(
				    json_object_get(e, keys[k]));
			if (!id)
				continue;
			(*count)++;
			if (strcmp(id, model) == 0)
				found = 1;
			if (*count <= 5 && used + strlen(id) + 3 < nameslen)
				used += (size_t)snprintf(
				    names + used, nameslen - used, "%s%s",
				    used ? ", " : "", id);
		}
	}
	return found;
}

/* GET {base_url}/models: the reachable and model checks. Returns 1 when
 * the server answered (later checks make sense). */
static int check_models(struct llm_client *c, volatile int *cancel,
			struct llm_check_report *out)
{
	struct llm_check_item *reach = item_add(out, "reachable");
	struct llm_check_item *model = item_add(out, "model");
	struct llm_http_post post;
	struct llm_http_result res;
	struct core_buf url, reply;
	char err[CORE_ERR_LEN], names[160];
	size_t n = strlen(c->url) - strlen("/chat/completions");
	double t0 = core_now_seconds();
	json_t *v = NULL;
	int answered = 0, count = 0;
	long ms;

	core_buf_init(&url, 4096);
	core_buf_init(&reply, MODELS_REPLY_MAX);
	memset(&post, 0, sizeof post);
	if (core_buf_append(&url, c->url, n) ||
	    core_buf_append(&url, "/models", sizeof "/models")) {
		item_set(reach, 0, 0, "out of memory");
		item_set(model, 0, 0, "not tried");
		goto out;
	}
	post.url = url.data;
	post.bearer = c->key;
	post.connect_timeout_ms = c->s.connect_timeout_ms;
	post.timeout_ms = c->s.timeout_ms;
	post.cancel = cancel;
	if (llm_http_post(&c->http, &post, &reply, &res, err, sizeof err)) {
		item_set(reach, 0, ms_since(t0), "%s", err);
		item_set(model, 0, 0, "not tried: no request was sent");
		goto out;
	}
	ms = ms_since(t0);
	if (res.end == LLM_HTTP_CANCELLED) {
		item_set(reach, 0, ms,
			 "GET %s: no reply within the check's time limit",
			 url.data);
		item_set(model, 0, 0, "not tried: the endpoint hangs");
		goto out;
	}
	if (res.end != LLM_HTTP_DONE && res.end != LLM_HTTP_TOO_LARGE) {
		item_set(reach, 0, ms, "GET %s: %s", url.data,
			 res.detail[0] ? res.detail : "no reply");
		item_set(model, 0, 0, "not tried: the endpoint is unreachable");
		goto out;
	}
	answered = 1;
	item_set(reach, 1, ms, "GET %s answered HTTP %ld", url.data,
		 res.status);
	if (res.status == 401 || res.status == 403) {
		item_set(model, 0, ms,
			 "HTTP %ld: the server refused the key (check "
			 "api_key_env)",
			 res.status);
		goto out;
	}
	if (res.status != 200 || res.end != LLM_HTTP_DONE) {
		item_set(model, 0, ms,
			 "GET /models answered HTTP %ld: the server does not "
			 "list its models, so model '%s' cannot be confirmed",
			 res.status, c->model);
		goto out;
	}
	v = json_loadb(reply.data ? reply.data : "", reply.len, 0, NULL);
	if (!json_is_object(v))
		item_set(model, 0, ms,
			 "GET /models did not answer a JSON "
			 "object");
	else if (models_list_has(v, c->model, &count, names, sizeof names))
		item_set(model, 1, ms, "model '%s' is served", c->model);
	else
		item_set(model, 0, ms,
			 "model '%s' is not among the %d the server lists%s%s",
			 c->model, count, count ? ": " : "", names);
out:
	json_decref(v);
	core_buf_free(&reply);
	core_buf_free(&url);
	return answered;
}

/* One chat call with the tiny schema: ok when a schema level gave a reply
 * of that schema's shape. */
static void check_structured(struct llm_client *c, volatile int *cancel,
			     struct llm_check_report *out)
{
	struct llm_check_item *it = item_add(out, "structured_output");
	struct llm_message msgs[] = {
	    {"system", "You answer with one JSON object and nothing else."},
	    {"user", "Connection test: reply {\"ok\": true, \"model\": \"<your "
		     "model name>\"}."}};
	struct llm_request req = {msgs, 2, "connection_check", check_schema,
				  cancel};
	struct llm_record rec;
	char err[CORE_ERR_LEN];
	enum core_status st;
	json_t *v = NULL;

	memset(&rec, 0, sizeof rec);
	st = llm_client_chat(c, &req, &rec, err, sizeof err);
	out->format = rec.format;
	if (st == CORE_ERR_CANCELLED) {
		item_set(it, 0, rec.latency_ms,
			 "no reply within the check's time limit");
		goto out;
	}
	if (st) {
		item_set(it, 0, rec.latency_ms, "%s: %s",
			 llm_outcome_name(rec.outcome),
			 rec.error[0] ? rec.error : err);
		goto out;
	}
	v = json_loadb(rec.json, rec.json_len, 0, NULL);
	if (!json_is_boolean(json_object_get(v, "ok")) ||
	    !json_is_string(json_object_get(v, "model"))) {
		item_set(it, 0, rec.latency_ms,
			 "the reply (format %s) is JSON but not of the schema "
			 "asked for: the server ignores it",
			 llm_format_name(rec.format));
	} else if (rec.format > LLM_FORMAT_LLAMA_SCHEMA) {
		item_set(it, 0, rec.latency_ms,
			 "the server refused a JSON schema; it answers with "
			 "format %s (the search falls back to it, with no "
			 "guarantee of the reply's shape)",
			 llm_format_name(rec.format));
	} else {
		item_set(it, 1, rec.latency_ms,
			 "a reply of the schema came back (format %s)",
			 llm_format_name(rec.format));
	}
out:
	json_decref(v);
	llm_record_free(&rec);
}

/* The server's context as /props (llama-server) or /api/show (Ollama)
 * reports it; unknown is not a failure. */
static void check_context(struct llm_client *c, long min_context,
			  volatile int *cancel, struct llm_check_report *out)
{
	struct llm_check_item *it = item_add(out, "context_length");
	struct llm_request req = {NULL, 0, NULL, NULL, cancel};
	struct llm_record rec;
	struct llm_call k;
	double t0 = core_now_seconds();

	memset(&rec, 0, sizeof rec);
	memset(&k, 0, sizeof k);
	k.c = c;
	k.req = &req;
	k.rec = &rec;
	core_buf_init(&k.reply, MODELS_REPLY_MAX);
	llm_server_learn_context(&k);
	core_buf_free(&k.reply);
	out->context_tokens = c->n_ctx;
	if (!c->n_ctx)
		item_set(it, 1, ms_since(t0),
			 "the server does not report its context length "
			 "(the search then checks every reply's token count)");
	else if (c->n_ctx < min_context)
		item_set(it, 0, ms_since(t0),
			 "%ld tokens: below the %ld the job needs (its "
			 "prompt_token_budget + max_tokens); raise the "
			 "server's context",
			 c->n_ctx, min_context);
	else
		item_set(it, 1, ms_since(t0), "%ld tokens", c->n_ctx);
}

enum core_status llm_check_run(const struct llm_settings *s, long min_context,
			       long total_ms, struct llm_check_report *out,
			       char *err, size_t errlen)
{
	struct llm_settings t = *s;
	struct llm_client *c = NULL;
	struct watchdog w;
	enum core_status st;

	memset(out, 0, sizeof *out);
	out->format = LLM_FORMAT_NONE;
	/* a check answers within moments or says it did not */
	t.max_attempts = 1;
	if (t.connect_timeout_ms > LLM_CHECK_CONNECT_MS)
		t.connect_timeout_ms = LLM_CHECK_CONNECT_MS;
	if (t.timeout_ms > LLM_CHECK_TIMEOUT_MS)
		t.timeout_ms = LLM_CHECK_TIMEOUT_MS;
	if (t.max_tokens == 0 || t.max_tokens > 512)
		t.max_tokens = 512;
	t.format_start = LLM_FORMAT_JSON_SCHEMA;
	/* json_object is the weakest level worth a request: without any
	 * format the structured check has failed anyway */
	t.format_floor = LLM_FORMAT_JSON_OBJECT;
	st = llm_client_open(&t, &c, err, errlen);
	if (st)
		return st;
	watchdog_start(&w, total_ms > 0 ? total_ms : LLM_CHECK_TOTAL_MS);
	if (check_models(c, &w.cancel, out)) {
		check_structured(c, &w.cancel, out);
		check_context(c, min_context, &w.cancel, out);
	} else {
		item_set(item_add(out, "structured_output"), 0, 0,
			 "not tried: the endpoint is unreachable");
		item_set(item_add(out, "context_length"), 0, 0,
			 "not tried: the endpoint is unreachable");
	}
	watchdog_stop(&w);
	llm_client_close(c);
	return CORE_OK;
}

enum core_status llm_url_host(const char *url, char *host, size_t hostlen,
			      long *port, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *h = NULL, *p = NULL;
	enum core_status st = CORE_ERR_INVALID;
	size_t n;

	if (!u) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) ||
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT)) {
		core_errf(err, errlen, "not a URL with a host");
		goto out;
	}
	n = strlen(h);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') { /* IPv6 literal */
		memmove(h, h + 1, n - 2);
		h[n - 2] = '\0';
		n -= 2;
	}
	if (n == 0 || n >= hostlen) {
		core_errf(err, errlen, "host empty or too long");
		goto out;
	}
	for (size_t i = 0; i <= n; i++)
		host[i] = (char)tolower((unsigned char)h[i]);
	*port = strtol(p, NULL, 10);
	st = CORE_OK;
out:
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return st;
}
