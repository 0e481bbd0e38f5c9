/* SPDX-License-Identifier: Apache-2.0 */
/* fake_llm.c - the scripted fake OpenAI-compatible server of the tests
 * (libmicrohttpd): owns the script, the request log and the daemon. */
#include "fake_llm.h"

#include "core/core.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define FAKE_LLM_MAX_BODY ((size_t)16 << 20)

struct fake_reply {
	int status;
	char *body;
	size_t body_len;
	long delay_ms;
	char *headers;
};

struct fake_llm {
	struct MHD_Daemon *daemon;
	unsigned port;
	char url[64];
	atomic_int stopping;
	pthread_mutex_t lock;
	struct fake_reply *script;
	size_t nscript, next;
	struct fake_llm_request *reqs;
	size_t nreqs, capreqs;
	/* the server probes (GET /props, POST /api/show): answered from
	 * these, not from the script, and counted apart */
	int props_status, show_status;
	char *props_body, *show_body;
	size_t nprobes;
};

/* One connection's request while its body arrives. */
struct pending {
	char *body;
	size_t len, cap;
	int too_big;
};

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static char *dup_s(const char *s)
{
	return s ? dup_n(s, strlen(s)) : NULL;
}

static void reply_free(struct fake_reply *r)
{
	free(r->body);
	free(r->headers);
}

void fake_llm_request_free(struct fake_llm_request *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->headers);
	free(r->authorization);
	free(r->body);
	memset(r, 0, sizeof *r);
}

struct header_acc {
	char *s;
	size_t len;
	int failed;
};

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind,
				 const char *key, const char *value)
{
	struct header_acc *a = cls;
	size_t add = strlen(key) + 2 + (value ? strlen(value) : 0) + 1;
	char *n = realloc(a->s, a->len + add + 1);

	if (!n) {
		a->failed = 1;
		return MHD_NO;
	}
	a->s = n;
	a->len +=
	    (size_t)sprintf(a->s + a->len, "%s: %s\n", key, value ? value : "");
	return MHD_YES;
}

static int record_request(struct fake_llm *f, struct MHD_Connection *conn,
			  const char *url, const char *method,
			  struct pending *p)
{
	struct fake_llm_request r;
	struct header_acc acc = {NULL, 0, 0};
	const char *auth;
	int rc = -1;

	memset(&r, 0, sizeof r);
	snprintf(r.method, sizeof r.method, "%s", method);
	r.path = dup_s(url);
	MHD_get_connection_values(conn, MHD_HEADER_KIND, on_header, &acc);
	r.headers = acc.s ? acc.s : dup_s("");
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_AUTHORIZATION);
	r.authorization = dup_s(auth);
	r.body = dup_n(p->body ? p->body : "", p->len);
	r.body_len = p->len;
	r.at = core_now_seconds();
	if (!r.path || !r.headers || acc.failed || (auth && !r.authorization) ||
	    !r.body)
		goto out;
	pthread_mutex_lock(&f->lock);
	if (f->nreqs == f->capreqs) {
		size_t nc = f->capreqs ? f->capreqs * 2 : 16;
		struct fake_llm_request *n = realloc(f->reqs, nc * sizeof *n);
		if (!n) {
			pthread_mutex_unlock(&f->lock);
			goto out;
		}
		f->reqs = n;
		f->capreqs = nc;
	}
	f->reqs[f->nreqs++] = r;
	memset(&r, 0, sizeof r);
	pthread_mutex_unlock(&f->lock);
	rc = 0;
out:
	fake_llm_request_free(&r);
	return rc;
}

/* Copies the reply to play next (the last one repeats). */
static int next_reply(struct fake_llm *f, struct fake_reply *out)
{
	const struct fake_reply *r;
	int rc = 0;

	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&f->lock);
	if (f->nscript == 0) {
		out->status = 500;
		out->body = dup_s("{\"error\":{\"message\":\"fake_llm: no "
				  "script\"}}");
		out->body_len = out->body ? strlen(out->body) : 0;
	} else {
		r = &f->script[f->next < f->nscript ? f->next : f->nscript - 1];
		f->next++;
		out->status = r->status;
		out->body = dup_n(r->body, r->body_len);
		out->body_len = r->body_len;
		out->delay_ms = r->delay_ms;
		out->headers = dup_s(r->headers);
		if (r->headers && !out->headers)
			rc = -1;
	}
	if (!out->body)
		rc = -1;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void delay(struct fake_llm *f, long ms)
{
	double end = core_now_seconds() + (double)ms / 1000.0;

	while (!atomic_load(&f->stopping) && core_now_seconds() < end)
		sleep_ms(5);
}

/* Adds "Name: value" lines to resp. Content-Type defaults to JSON. */
static void add_headers(struct MHD_Response *resp, char *headers)
{
	int has_ct = 0;
	char *save = NULL;

	for (char *line = headers ? strtok_r(headers, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		char *v;
		if (!colon)
			continue;
		*colon = '\0';
		v = colon + 1;
		while (*v == ' ')
			v++;
		if (strcasecmp(line, "Content-Type") == 0)
			has_ct = 1;
		MHD_add_response_header(resp, line, v);
	}
	if (!has_ct)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json");
}

/* The bytes of the messages' contents of a chat request body. */
static size_t content_bytes(const char *body, size_t len)
{
	json_t *v = json_loadb(body, len, 0, NULL), *m;
	size_t i, n = 0;

	json_array_foreach(json_object_get(v, "messages"), i, m)
	{
		n += json_string_length(json_object_get(m, "content"));
	}
	json_decref(v);
	return n;
}

/* FAKE_LLM_TOKENS_AUTO in a reply: the prompt's tokens as a real server
 * would count them (content bytes / 3, plus the chat template's few). */
static int auto_usage(struct fake_reply *rep, const struct pending *p)
{
	static const char key[] = "\"prompt_tokens\":-1";
	char *at = rep->body ? strstr(rep->body, key) : NULL;
	char num[32], *nb;
	size_t head, tail, nl;

	if (!at)
		return 0;
	nl = (size_t)snprintf(
	    num, sizeof num, "\"prompt_tokens\":%zu",
	    content_bytes(p->body ? p->body : "", p->len) / 3 + 8);
	head = (size_t)(at - rep->body);
	tail = rep->body_len - head - (sizeof key - 1);
	nb = malloc(head + nl + tail + 1);
	if (!nb)
		return -1;
	memcpy(nb, rep->body, head);
	memcpy(nb + head, num, nl);
	memcpy(nb + head + nl, at + sizeof key - 1, tail);
	nb[head + nl + tail] = '\0';
	free(rep->body);
	rep->body = nb;
	rep->body_len = head + nl + tail;
	return 0;
}

/* Answers GET /props and POST /api/show (not scripted, not recorded). */
static enum MHD_Result probe_reply(struct fake_llm *f,
				   struct MHD_Connection *conn, int props)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int status;
	char *body;

	pthread_mutex_lock(&f->lock);
	f->nprobes++;
	status = props ? f->props_status : f->show_status;
	body = dup_s(props ? f->props_body : f->show_body);
	pthread_mutex_unlock(&f->lock);
	if (!body || !status) {
		free(body);
		status = 404;
		body = dup_s("{\"error\":\"not found\"}");
		if (!body)
			return MHD_NO;
	}
	resp = MHD_create_response_from_buffer(strlen(body), body,
					       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	add_headers(resp, NULL);
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct fake_llm *f = cls;
	struct pending *p = *con_cls;
	struct fake_reply rep;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!p) {
		p = calloc(1, sizeof *p);
		if (!p)
			return MHD_NO;
		*con_cls = p;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (p->too_big || n > FAKE_LLM_MAX_BODY - p->len) {
			p->too_big = 1;
			return MHD_YES;
		}
		if (p->len + n + 1 > p->cap) {
			size_t nc = p->cap ? p->cap : 4096;
			char *nb;
			while (nc < p->len + n + 1)
				nc *= 2;
			nb = realloc(p->body, nc);
			if (!nb)
				return MHD_NO;
			p->body = nb;
			p->cap = nc;
		}
		memcpy(p->body + p->len, upload_data, n);
		p->len += n;
		p->body[p->len] = '\0';
		return MHD_YES;
	}
	if (strcmp(url, "/props") == 0 || strcmp(url, "/api/show") == 0)
		return probe_reply(f, conn, strcmp(url, "/props") == 0);
	if (record_request(f, conn, url, method, p) || next_reply(f, &rep) ||
	    auto_usage(&rep, p)) {
		reply_free(&rep);
		return MHD_NO;
	}
	if (rep.delay_ms > 0)
		delay(f, rep.delay_ms);
	if (rep.status == 0) { /* drop the connection */
		reply_free(&rep);
		return MHD_NO;
	}
	resp = MHD_create_response_from_buffer(rep.body_len, rep.body,
					       MHD_RESPMEM_MUST_COPY);
	if (!resp) {
		reply_free(&rep);
		return MHD_NO;
	}
	add_headers(resp, rep.headers);
	ret = MHD_queue_response(conn, (unsigned)rep.status, resp);
	MHD_destroy_response(resp);
	reply_free(&rep);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct pending *p = *con_cls;

	if (p) {
		free(p->body);
		free(p);
	}
	*con_cls = NULL;
}

int fake_llm_start(struct fake_llm **out)
{
	struct fake_llm *f = calloc(1, sizeof *f);
	struct sockaddr_in addr;
	const union MHD_DaemonInfo *info;

	*out = NULL;
	if (!f)
		return -1;
	pthread_mutex_init(&f->lock, NULL);
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = 0;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->daemon = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
	    NULL, NULL, on_request, f, MHD_OPTION_SOCK_ADDR, &addr,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, f,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
	if (!f->daemon)
		goto fail;
	info = MHD_get_daemon_info(f->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || info->port == 0)
		goto fail;
	f->port = info->port;
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u/v1", f->port);
	*out = f;
	return 0;
fail:
	fake_llm_stop(f);
	return -1;
}

static void script_clear(struct fake_llm *f)
{
	for (size_t i = 0; i < f->nscript; i++)
		reply_free(&f->script[i]);
	free(f->script);
	f->script = NULL;
	f->nscript = 0;
	f->next = 0;
	for (size_t i = 0; i < f->nreqs; i++)
		fake_llm_request_free(&f->reqs[i]);
	f->nreqs = 0;
}

void fake_llm_stop(struct fake_llm *f)
{
	if (!f)
		return;
	atomic_store(&f->stopping, 1);
	if (f->daemon)
		MHD_stop_daemon(f->daemon);
	script_clear(f);
	free(f->reqs);
	free(f->props_body);
	free(f->show_body);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

unsigned fake_llm_port(const struct fake_llm *f)
{
	return f->port;
}

const char *fake_llm_url(const struct fake_llm *f)
{
	return f->url;
}

int fake_llm_script(struct fake_llm *f, const struct fake_llm_reply *replies,
		    size_t n)
{
	struct fake_reply *s = n ? calloc(n, sizeof *s) : NULL;
	int rc = 0;

	if (n && !s)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *body = replies[i].body ? replies[i].body : "";
		s[i].status = replies[i].status;
		s[i].body_len = strlen(body);
		s[i].body = dup_n(body, s[i].body_len);
		s[i].delay_ms = replies[i].delay_ms;
		s[i].headers = dup_s(replies[i].headers);
		if (!s[i].body || (replies[i].headers && !s[i].headers))
			rc = -1;
	}
	if (rc) {
		for (size_t i = 0; i < n; i++)
			reply_free(&s[i]);
		free(s);
		return -1;
	}
	pthread_mutex_lock(&f->lock);
	script_clear(f);
	f->script = s;
	f->nscript = n;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

size_t fake_llm_request_count(struct fake_llm *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->nreqs;
	pthread_mutex_unlock(&f->lock);
	return n;
}

int fake_llm_request_get(struct fake_llm *f, size_t i,
			 struct fake_llm_request *out)
{
	int rc = -1;

	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&f->lock);
	if (i < f->nreqs) {
		const struct fake_llm_request *r = &f->reqs[i];
		memcpy(out->method, r->method, sizeof out->method);
		out->path = dup_s(r->path);
		out->headers = dup_s(r->headers);
		out->authorization = dup_s(r->authorization);
		out->body = dup_n(r->body, r->body_len);
		out->body_len = r->body_len;
		out->at = r->at;
		rc = out->path && out->headers && out->body &&
			     (!r->authorization || out->authorization)
			 ? 0
			 : -1;
	}
	pthread_mutex_unlock(&f->lock);
	if (rc)
		fake_llm_request_free(out);
	return rc;
}

char *fake_llm_request_header(const struct fake_llm_request *r,
			      const char *name)
{
	size_t n = strlen(name);

	for (const char *line = r->headers; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		if (len > n + 1 && strncasecmp(line, name, n) == 0 &&
		    line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ')
				v++;
			return dup_n(v, len - (size_t)(v - line));
		}
		line = eol ? eol + 1 : line + len;
	}
	return NULL;
}

char *fake_llm_chat_body(const char *content, const char *finish_reason,
			 long prompt_tokens, long completion_tokens)
{
	json_t *v = json_pack(
	    "{s:s, s:s, s:I, s:s, s:[{s:i, s:{s:s, s:s}, s:s}], "
	    "s:{s:I, s:I, s:I}}",
	    "id", "chatcmpl-fake", "object", "chat.completion", "created",
	    (json_int_t)1700000000, "model", "fake-model", "choices", "index",
	    0, "message", "role", "assistant", "content", content,
	    "finish_reason", finish_reason ? finish_reason : "stop", "usage",
	    "prompt_tokens", (json_int_t)prompt_tokens, "completion_tokens",
	    (json_int_t)completion_tokens, "total_tokens",
	    (json_int_t)(prompt_tokens + completion_tokens));
	char *s;

	if (!v)
		return NULL;
	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return s;
}

int fake_llm_request_format(struct fake_llm *f, size_t i, char *out,
			    size_t outlen)
{
	struct fake_llm_request r;
	json_t *v, *rf;
	const char *type;
	int rc = -1;

	if (fake_llm_request_get(f, i, &r))
		return -1;
	v = json_loadb(r.body, r.body_len, 0, NULL);
	if (json_is_object(v)) {
		rf = json_object_get(v, "response_format");
		type = rf ? json_string_value(json_object_get(rf, "type"))
			  : "none";
		snprintf(out, outlen, "%s", type ? type : "(no type)");
		rc = 0;
	}
	json_decref(v);
	fake_llm_request_free(&r);
	return rc;
}

int fake_llm_probes(struct fake_llm *f, int props_status,
		    const char *props_body, int show_status,
		    const char *show_body)
{
	char *pb = dup_s(props_body), *sb = dup_s(show_body);

	if ((props_body && !pb) || (show_body && !sb)) {
		free(pb);
		free(sb);
		return -1;
	}
	pthread_mutex_lock(&f->lock);
	free(f->props_body);
	free(f->show_body);
	f->props_status = props_status;
	f->props_body = pb;
	f->show_status = show_status;
	f->show_body = sb;
	f->nprobes = 0;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

size_t fake_llm_probe_count(struct fake_llm *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->nprobes;
	pthread_mutex_unlock(&f->lock);
	return n;
}

int fake_llm_script_chat(struct fake_llm *f, const char *content,
			 const char *finish_reason)
{
	char *body = fake_llm_chat_body(content, finish_reason,
					FAKE_LLM_TOKENS_AUTO, 34);
	struct fake_llm_reply r = {200, body, 0, NULL};
	int rc;

	if (!body)
		return -1;
	rc = fake_llm_script(f, &r, 1);
	free(body);
	return rc;
}
