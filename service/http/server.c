/* SPDX-License-Identifier: Apache-2.0 */
/* server.c - the libmicrohttpd daemon (epoll thread pool): per-request state
 * (id, route, body), dispatch to handlers and static files, response headers,
 * the access log, in-flight counting, the limits on connections (per address
 * and in all; the header deadline is in conns.c) and on queries, and the
 * graceful stop. */
#include "http.h"
#include "http_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_PATH_MAX	   200
#define MHD_LOG_PER_SECOND 10 /* libmicrohttpd lines logged per second */

struct http_server {
	struct MHD_Daemon *daemon;
	const struct http_router *router;
	struct http_server_config cfg; /* host and web_dir point below */
	char host[256];
	char web_dir[PATH_MAX];
	int port;
	atomic_int stopping;
	atomic_int starting;
	char start_error[512]; /* last libmicrohttpd message while starting */
	pthread_mutex_t lock;
	pthread_cond_t idle; /* signalled when inflight drops to 0 */
	int inflight;
	struct http_conns conns;  /* open connections: the header deadline */
	struct http_sse_hub *sse; /* live event streams (sse.c) */
	/* rate limit of libmicrohttpd's own lines (a flood of refused
	 * connections must not flood the log) */
	atomic_long mhd_log_second;
	atomic_int mhd_log_count;
};

/* One request, from its headers to its completion notice. */
struct req_ctx {
	struct http_request req;
	struct http_response res;
	struct http_match match;
	struct core_buf body;
	unsigned long long body_seen;
	struct http_upload upload; /* HTTP_ROUTE_UPLOAD: the body's file */
	double t0;
	int begun;	   /* the headers are in (request_begin ran) */
	int decided;	   /* the response is known (an error found early) */
	size_t query_args; /* > HTTP_QUERY_ARGS_MAX: the query was dropped */
	size_t uri_len;	   /* > HTTP_URI_MAX: the query was dropped */
	int is_static;	   /* serve static_file */
	int status;	   /* as queued, for the access log */
	size_t bytes;
	char id[HTTP_REQUEST_ID_MAX + 1];
	char method[16];
	char log_path[LOG_PATH_MAX + 1];
	char static_file[PATH_MAX];
	const char *static_type;
	char client[NI_MAXHOST]; /* numeric client address */
};

void http_server_config_defaults(struct http_server_config *c)
{
	memset(c, 0, sizeof *c);
	c->host = "127.0.0.1";
	c->port = 8080;
	c->threads = 4;
	c->max_body_bytes = 1024L * 1024;
	c->json_max_depth = HTTP_JSON_MAX_DEPTH;
	c->connection_timeout_s = 60;
	c->header_timeout_s = 10;
	c->max_connections = 1000;
	c->max_per_client = 64;
}

/* ---- request state ----------------------------------------------------- */

static void copy_for_log(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; s[n] && n + 1 < cap; n++) {
		unsigned char c = (unsigned char)s[n];
		out[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[n] = '\0';
}

static void decide_problem(struct req_ctx *rc, enum http_error e,
			   const char *detail)
{
	http_reply_error(&rc->res, e, detail, NULL);
	rc->decided = 1;
}

static void decide_405(struct req_ctx *rc, unsigned allow)
{
	char methods[96], detail[HTTP_PATH_MAX + 160];

	http_methods_format(allow, methods, sizeof methods);
	snprintf(detail, sizeof detail, "%s is not allowed on %s (allowed: %s)",
		 rc->method, rc->req.path, methods);
	decide_problem(rc, HTTP_E_METHOD_NOT_ALLOWED, detail);
	http_reply_header(&rc->res, "Allow", methods);
}

static void decide_413(struct req_ctx *rc, long max)
{
	char detail[128];

	snprintf(detail, sizeof detail,
		 "the request body is larger than %ld bytes", max);
	decide_problem(rc, HTTP_E_BODY_TOO_LARGE, detail);
}

/* Finds the first query argument whose key or value is not UTF-8; its key
 * (made printable) goes to cls. */
static enum MHD_Result query_arg_check(void *cls, enum MHD_ValueKind kind,
				       const char *key, const char *value)
{
	char *bad = cls;

	if (core_utf8_valid(key, strlen(key)) &&
	    (!value || core_utf8_valid(value, strlen(value))))
		return MHD_YES;
	core_utf8_copy(bad, 64, key);
	if (!bad[0])
		snprintf(bad, 64, "?");
	return MHD_NO;
}

/* The numeric address of the peer ("" when unknown): the key of the
 * failed-authentication limit. */
static void client_address(struct MHD_Connection *conn, char *out,
			   size_t outlen)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	socklen_t len = 0;

	out[0] = '\0';
	if (!sa)
		return;
	len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					: sizeof(struct sockaddr_in);
	if (getnameinfo(sa, len, out, (socklen_t)outlen, NULL, 0,
			NI_NUMERICHOST) != 0)
		out[0] = '\0';
}

/* 1 when the matched route needs a bearer token: every /v1 route but the
 * ones flagged public. */
static int route_needs_auth(const struct http_match *m)
{
	return strncmp(m->pattern, "/v1/", 4) == 0 &&
	       !(m->flags & HTTP_ROUTE_PUBLIC);
}

static unsigned long long upload_max(const struct http_server *s)
{
	const struct http_app *a = s->cfg.app;
	return (unsigned long long)(a && a->upload_max_bytes > 0
					? a->upload_max_bytes
					: HTTP_UPLOAD_MAX_DEFAULT);
}

/* An upload route (HTTP_ROUTE_UPLOAD): its size, token and media type are
 * checked from the headers, before a byte of the body is stored. */
static void upload_begin(struct http_server *s, struct req_ctx *rc,
			 struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *ct = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	char detail[160], ctype[65], err[CORE_ERR_LEN];
	enum core_status st;

	if (cl && strtoull(cl, NULL, 10) > upload_max(s)) {
		decide_413(rc, (long)upload_max(s));
		return;
	}
	if (!http_auth_check(&rc->req, &rc->res)) {
		rc->decided = 1;
		return;
	}
	if (!http_upload_type_ok(ct)) {
		core_utf8_copy(ctype, sizeof ctype, ct ? ct : "none");
		snprintf(detail, sizeof detail,
			 "send application/zip, application/gzip or "
			 "application/x-tar (got %s)",
			 ctype);
		decide_problem(rc, HTTP_E_UNSUPPORTED_MEDIA_TYPE, detail);
		return;
	}
	st = http_upload_open(&rc->upload,
			      s->cfg.app ? s->cfg.app->data_root : NULL,
			      upload_max(s), err, sizeof err);
	if (st) {
		LOG_ERROR("upload: %s", err);
		decide_problem(rc, HTTP_E_INTERNAL_ERROR,
			       "cannot store the upload");
	}
}

/* The first call for a request: headers are in, the body (if any) is not.
 * Decides every error that the headers alone reveal. */
static void request_begin(struct http_server *s, struct req_ctx *rc,
			  struct MHD_Connection *conn, const char *url,
			  const char *method)
{
	const char *cl, *ct;
	char detail[HTTP_PATH_MAX + 64], err[CORE_ERR_LEN];
	char logged[LOG_PATH_MAX + 1], ctype[65], bad[64];
	enum http_match_result mr;

	rc->t0 = core_now_seconds();
	/* the method, path and Content-Type reach JSON (problem details, the
	 * log), which holds only UTF-8: Jansson refuses anything else */
	core_utf8_copy(rc->method, sizeof rc->method, method);
	copy_for_log(logged, sizeof logged, url);
	core_utf8_copy(rc->log_path, sizeof rc->log_path, logged);
	http_request_id_choose(
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id"),
	    rc->id);
	core_buf_init(&rc->body, (size_t)s->cfg.max_body_bytes);
	http_upload_init(&rc->upload);
	rc->req.upload = &rc->upload;
	rc->req.method = http_method_parse(method);
	rc->req.method_name = rc->method;
	rc->req.path = url;
	rc->req.id = rc->id;
	rc->req.app = s->cfg.app;
	rc->req.match = &rc->match;
	rc->req.conn = conn;
	client_address(conn, rc->client, sizeof rc->client);
	rc->req.client = rc->client;

	if (rc->query_args) {
		snprintf(detail, sizeof detail,
			 "the query has %zu arguments; at most %d are accepted",
			 rc->query_args, HTTP_QUERY_ARGS_MAX);
		decide_problem(rc, HTTP_E_TOO_MANY_QUERY_ARGS, detail);
		return;
	}
	if (rc->uri_len) {
		snprintf(detail, sizeof detail,
			 "the request target is %zu bytes long; with a query "
			 "at most %d are accepted",
			 rc->uri_len, HTTP_URI_MAX);
		decide_problem(rc, HTTP_E_URI_TOO_LONG, detail);
		return;
	}
	if (!core_utf8_valid(url, strlen(url))) {
		decide_problem(rc, HTTP_E_INVALID_PATH,
			       "the path is not UTF-8 text once "
			       "percent-decoded");
		return;
	}
	bad[0] = '\0';
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_arg_check,
				  bad);
	if (bad[0]) {
		snprintf(detail, sizeof detail,
			 "query argument '%s' is not UTF-8 text once "
			 "percent-decoded",
			 bad);
		decide_problem(rc, HTTP_E_INVALID_QUERY, detail);
		return;
	}

	mr = http_router_match(s->router, rc->req.method, url, &rc->match);
	switch (mr) {
	case HTTP_MATCH_FOUND: break;
	case HTTP_MATCH_TOO_LONG:
		decide_problem(rc, HTTP_E_URI_TOO_LONG,
			       "the path is longer than the server accepts");
		return;
	case HTTP_MATCH_NO_METHOD: decide_405(rc, rc->match.allow); return;
	case HTTP_MATCH_NO_PATH:
		if (s->web_dir[0] &&
		    http_static_resolve(s->web_dir, url, rc->static_file,
					sizeof rc->static_file,
					&rc->static_type, err,
					sizeof err) == CORE_OK) {
			if (rc->req.method & (HTTP_GET | HTTP_HEAD)) {
				rc->is_static = 1;
				break;
			}
			decide_405(rc, HTTP_GET);
			return;
		}
		snprintf(detail, sizeof detail, "no resource at %s", url);
		decide_problem(rc, HTTP_E_NOT_FOUND, detail);
		return;
	}
	if (rc->match.flags & HTTP_ROUTE_UPLOAD) {
		upload_begin(s, rc, conn);
		return;
	}
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) >
		      (unsigned long long)s->cfg.max_body_bytes) {
		decide_413(rc, s->cfg.max_body_bytes);
		return;
	}
	if (!(rc->match.flags & HTTP_ROUTE_BODY))
		return;
	ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!http_content_type_is_json(ct)) {
		core_utf8_copy(ctype, sizeof ctype,
			       ct ? ct : "no Content-Type");
		snprintf(detail, sizeof detail,
			 "send the body as application/json (got %s)", ctype);
		decide_problem(rc, HTTP_E_UNSUPPORTED_MEDIA_TYPE, detail);
	}
}

/* The body arrives in pieces; only routes that take a body keep it. */
static enum MHD_Result request_upload(struct http_server *s, struct req_ctx *rc,
				      const char *data, size_t *size)
{
	unsigned long long max = (unsigned long long)s->cfg.max_body_bytes;
	char err[CORE_ERR_LEN];

	rc->body_seen += *size;
	if (rc->match.flags & HTTP_ROUTE_UPLOAD) {
		max = upload_max(s);
		if (!rc->decided &&
		    http_upload_write(&rc->upload, data, *size, err,
				      sizeof err) != CORE_OK) {
			if (rc->body_seen > max)
				decide_413(rc, (long)max);
			else
				decide_problem(rc, HTTP_E_INTERNAL_ERROR,
					       "cannot store the upload");
		}
	} else if (!rc->decided && rc->body_seen > max) {
		core_buf_free(&rc->body);
		decide_413(rc, s->cfg.max_body_bytes);
	} else if (!rc->decided && (rc->match.flags & HTTP_ROUTE_BODY) &&
		   !rc->is_static) {
		if (core_buf_append(&rc->body, data, *size) != CORE_OK)
			decide_problem(rc, HTTP_E_OUT_OF_MEMORY,
				       "no memory for the request body");
	}
	*size = 0;
	/* the reply to an oversized body waits for its end (libmicrohttpd
	 * cannot answer mid-upload); a client that keeps sending far past
	 * the cap loses the connection instead */
	if (rc->body_seen > 2 * max + 65536)
		return MHD_NO;
	return MHD_YES;
}

/* Runs the handler (or the body parse that precedes it). */
static void request_dispatch(struct http_server *s, struct req_ctx *rc)
{
	json_t *body = NULL;
	char err[CORE_ERR_LEN];
	int line = 0, column = 0;
	enum core_status st;

	if (rc->is_static)
		return;
	/* authenticated once the body is in (libmicrohttpd answers only after
	 * the upload), before it is parsed: a stranger gets nothing but 401;
	 * an upload's token was checked before its body was stored */
	if (rc->match.flags & HTTP_ROUTE_UPLOAD) {
		if (http_upload_finish(&rc->upload, err, sizeof err)) {
			LOG_ERROR("upload: %s", err);
			decide_problem(rc, HTTP_E_INTERNAL_ERROR,
				       "cannot store the upload");
			return;
		}
		rc->req.upload_path = rc->upload.path;
		rc->req.upload_bytes = rc->upload.seen;
	} else if (route_needs_auth(&rc->match) &&
		   !http_auth_check(&rc->req, &rc->res)) {
		core_buf_free(&rc->body);
		return;
	}
	if (rc->match.flags & HTTP_ROUTE_BODY) {
		st = http_json_parse(rc->body.data ? rc->body.data : "",
				     rc->body.len, s->cfg.json_max_depth, &body,
				     &line, &column, err, sizeof err);
		core_buf_free(&rc->body);
		if (st == CORE_ERR_NOMEM) {
			decide_problem(rc, HTTP_E_OUT_OF_MEMORY,
				       "no memory to parse the request body");
			return;
		}
		if (st) {
			json_t *p =
			    http_error_new(HTTP_E_INVALID_JSON, err, NULL);
			if (p) {
				json_object_set_new(p, "line",
						    json_integer(line));
				json_object_set_new(p, "column",
						    json_integer(column));
			}
			http_reply_problem_json(&rc->res, p);
			return;
		}
	}
	rc->req.body = body;
	rc->match.fn(&rc->req, &rc->res);
	rc->req.body = NULL;
	json_decref(body);
	if (rc->res.status == 0) {
		LOG_ERROR("handler for %s %s produced no response", rc->method,
			  rc->match.pattern);
		decide_problem(rc, HTTP_E_INTERNAL_ERROR,
			       "the handler produced no response");
	}
}

static int add_header(struct MHD_Response *resp, const char *name,
		      const char *value)
{
	if (MHD_add_response_header(resp, name, value) == MHD_YES)
		return 1;
	LOG_WARN("could not add response header %s", name);
	return 0;
}

static struct MHD_Response *static_response(struct req_ctx *rc)
{
	struct MHD_Response *resp;
	struct stat sb;
	int fd = open(rc->static_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	resp = MHD_create_response_from_fd((size_t)sb.st_size, fd);
	if (!resp) {
		close(fd);
		return NULL;
	}
	rc->bytes = (size_t)sb.st_size;
	return resp;
}

static enum MHD_Result request_queue(struct http_server *s, struct req_ctx *rc,
				     struct MHD_Connection *conn)
{
	struct MHD_Response *resp = NULL;
	const char *ctype, *cache;
	enum MHD_Result ret;
	int status;

	if (rc->is_static) {
		resp = static_response(rc);
		if (!resp) {
			rc->is_static = 0;
			decide_problem(rc, HTTP_E_NOT_FOUND,
				       "the file went away");
		}
	}
	if (rc->is_static) {
		status = 200;
		ctype = rc->static_type;
		cache = "no-cache";
	} else if (rc->res.sse) {
		status = rc->res.status;
		ctype = rc->res.content_type;
		cache = "no-store";
		resp = http_sse_response(s->sse, rc->res.sse, conn);
		rc->res.sse = NULL; /* the response owns it now */
		if (!resp)
			return MHD_NO;
	} else {
		status = rc->res.status;
		ctype = rc->res.content_type;
		cache = "no-store";
		if (rc->res.body_static)
			resp = MHD_create_response_from_buffer(
			    rc->res.len, rc->res.body, MHD_RESPMEM_PERSISTENT);
		else
			resp =
			    MHD_create_response_from_buffer_with_free_callback(
				rc->res.len, rc->res.body, core_free);
		if (!resp)
			return MHD_NO;
		if (!rc->res.body_static)
			rc->res.body = NULL; /* the response owns it now */
		rc->bytes = rc->res.len;
	}
	if (ctype)
		add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	add_header(resp, "X-Request-Id", rc->id);
	add_header(resp, "X-Content-Type-Options", "nosniff");
	add_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
	for (int i = 0; !rc->is_static && i < rc->res.nheaders; i++)
		add_header(resp, rc->res.headers[i].name,
			   rc->res.headers[i].value);
	if (atomic_load(&s->stopping))
		add_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	rc->status = status;
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- libmicrohttpd callbacks -------------------------------------------- */

static int has_body(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);

	return te != NULL || (cl && strtoull(cl, NULL, 10) > 0);
}

/* Called with the request line, before libmicrohttpd splits the query into
 * arguments: each one takes a record in the connection's fixed memory pool
 * (32 KiB, which also holds the request line), and libmicrohttpd 0.9.75
 * answers an exhausted pool there (about 600 arguments, or 64 in a 29 KB
 * target) with a 431 that never leaves: the client waited for the timeout.
 * A query with more than HTTP_QUERY_ARGS_MAX arguments or in a target longer
 * than HTTP_URI_MAX is blanked here (this callback exists to process the URI
 * before it is parsed), so the request goes on without it and gets a 414. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct req_ctx *rc = core_calloc(1, sizeof *rc);
	char *q = strchr(uri, '?');
	size_t n = 1, len = strlen(uri);

	if (!rc || !q)
		return rc;
	for (const char *p = q + 1; *p; p++)
		n += *p == '&';
	if (n > HTTP_QUERY_ARGS_MAX)
		rc->query_args = n;
	else if (len > HTTP_URI_MAX)
		rc->uri_len = len;
	else
		return rc;
	memset(q, 0, strlen(q));
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct req_ctx *rc = *con_cls;
	enum MHD_Result ret;

	if (!rc || !rc->begun) {
		if (!rc)
			rc = core_calloc(1, sizeof *rc);
		if (!rc) {
			LOG_ERROR("out of memory for a request: closing the "
				  "connection");
			return MHD_NO;
		}
		*con_cls = rc;
		rc->begun = 1;
		http_conns_mark(&s->conns, conn, 1);
		pthread_mutex_lock(&s->lock);
		s->inflight++;
		pthread_mutex_unlock(&s->lock);
		request_begin(s, rc, conn, url, method);
		core_log_set_context(rc->id);
		LOG_DEBUG("%s %s started", rc->method, rc->log_path);
		core_log_set_context(NULL);
		/* An error found from the headers is answered now when a body
		 * follows, so that it is never read (libmicrohttpd then closes
		 * the connection); without a body it waits for the final call,
		 * which keeps the connection alive. */
		if (!rc->decided || !has_body(conn))
			return MHD_YES;
		core_log_set_context(rc->id);
		ret = request_queue(s, rc, conn);
		core_log_set_context(NULL);
		return ret;
	}
	if (rc->status) { /* already queued: drain */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size)
		return request_upload(s, rc, upload_data, upload_data_size);
	core_log_set_context(rc->id);
	if (!rc->decided)
		request_dispatch(s, rc);
	ret = request_queue(s, rc, conn);
	core_log_set_context(NULL);
	return ret;
}

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK: return NULL;
	case MHD_REQUEST_TERMINATED_WITH_ERROR: return "error";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return "timeout";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "shutdown";
	case MHD_REQUEST_TERMINATED_READ_ERROR: return "read error";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return "client abort";
	}
	return "unknown";
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct req_ctx *rc = *con_cls;
	const char *why = termination_name(toe);

	if (!rc)
		return;
	*con_cls = NULL;
	if (!rc->begun) { /* the headers never came: not in flight */
		core_free(rc);
		return;
	}
	http_conns_mark(&s->conns, conn, 0);
	if (rc->status) /* a response went out (not a client abort) */
		http_metrics_observe(
		    rc->is_static ? "static" : rc->match.pattern, rc->method,
		    rc->status, core_now_seconds() - rc->t0);
	core_log_set_context(rc->id);
	LOG_INFO("%s %s %d %zu bytes %.1f ms%s%s", rc->method, rc->log_path,
		 rc->status, rc->bytes, (core_now_seconds() - rc->t0) * 1e3,
		 why ? " aborted: " : "", why ? why : "");
	core_log_set_context(NULL);
	http_response_clear(&rc->res);
	core_buf_free(&rc->body);
	http_upload_discard(&rc->upload); /* unless the handler took it */
	core_free(rc);
	pthread_mutex_lock(&s->lock);
	if (--s->inflight == 0)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *s = cls;
	char msg[512];
	size_t n;
	long sec = (long)core_now_seconds();
	int count;

	vsnprintf(msg, sizeof msg, fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	/* while starting, the reason goes to the caller's err instead */
	if (atomic_load(&s->starting)) {
		snprintf(s->start_error, sizeof s->start_error, "%s", msg);
		return;
	}
	if (atomic_exchange(&s->mhd_log_second, sec) != sec)
		atomic_store(&s->mhd_log_count, 0);
	count = atomic_fetch_add(&s->mhd_log_count, 1);
	if (count < MHD_LOG_PER_SECOND)
		LOG_WARN("http: %s", msg);
	else if (count == MHD_LOG_PER_SECOND)
		LOG_WARN("http: more messages this second are not logged");
}

/* ---- start and stop ---------------------------------------------------- */

/* New connections are refused once the stop began (see http_server_stop). */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr,
				     socklen_t addrlen)
{
	struct http_server *s = cls;

	(void)addr;
	(void)addrlen;
	return atomic_load(&s->stopping) ? MHD_NO : MHD_YES;
}

/* The keep-alive period: 15 s unless set, and within the idle timeout,
 * which would otherwise close a quiet stream first. */
static double sse_keepalive(const struct http_server_config *cfg)
{
	double k = cfg->sse_keepalive_s > 0 ? cfg->sse_keepalive_s : 15;

	if (cfg->connection_timeout_s > 0 && k >= cfg->connection_timeout_s)
		k = cfg->connection_timeout_s / 2.0;
	return k;
}

static enum core_status server_init(struct http_server *s,
				    const struct http_server_config *cfg,
				    char *err, size_t errlen)
{
	pthread_condattr_t ca;
	size_t hl;

	s->cfg = *cfg;
	if (snprintf(s->host, sizeof s->host, "%s",
		     cfg->host ? cfg->host : "") >= (int)sizeof s->host ||
	    snprintf(s->web_dir, sizeof s->web_dir, "%s",
		     cfg->web_dir ? cfg->web_dir : "") >=
		(int)sizeof s->web_dir) {
		core_errf(err, errlen, "http: host or web_dir too long");
		return CORE_ERR_INVALID;
	}
	/* "[::1]" (as in a URL) means "::1" */
	hl = strlen(s->host);
	if (hl >= 2 && s->host[0] == '[' && s->host[hl - 1] == ']') {
		memmove(s->host, s->host + 1, hl - 2);
		s->host[hl - 2] = '\0';
	}
	if (!s->host[0]) {
		core_errf(err, errlen, "http: no listen host");
		return CORE_ERR_INVALID;
	}
	s->cfg.host = s->host;
	s->cfg.web_dir = s->web_dir;
	if (cfg->threads < 1 || cfg->max_body_bytes < 1 ||
	    cfg->json_max_depth < 1 || cfg->port < 0 || cfg->port > 65535 ||
	    cfg->connection_timeout_s < 0 || cfg->header_timeout_s < 0 ||
	    cfg->max_connections < cfg->threads || cfg->max_per_client < 0) {
		core_errf(err, errlen,
			  "http: bad configuration (threads %d, max body %ld, "
			  "depth %d, port %d, timeouts %d/%d s, connections "
			  "%d, per client %d)",
			  cfg->threads, cfg->max_body_bytes,
			  cfg->json_max_depth, cfg->port,
			  cfg->connection_timeout_s, cfg->header_timeout_s,
			  cfg->max_connections, cfg->max_per_client);
		return CORE_ERR_INVALID;
	}
	http_conns_fit_fd_limit(&s->cfg);
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->idle, &ca);
	pthread_condattr_destroy(&ca);
	http_conns_init(&s->conns, s->cfg.header_timeout_s);
	return CORE_OK;
}

enum core_status http_server_start(const struct http_server_config *cfg,
				   const struct http_router *router,
				   struct http_server **out, char *err,
				   size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	struct http_server *s;
	const union MHD_DaemonInfo *info;
	char port[16];
	unsigned flags;
	enum core_status st;
	int gai;

	*out = NULL;
	s = core_calloc(1, sizeof *s);
	if (!s) {
		core_errf(err, errlen, "http: out of memory");
		return CORE_ERR_NOMEM;
	}
	st = server_init(s, cfg, err, errlen);
	if (st) {
		core_free(s);
		return st;
	}
	st = http_sse_hub_new(cfg->app ? cfg->app->pool : NULL,
			      sse_keepalive(cfg), &s->sse, err, errlen);
	if (st)
		goto fail;
	s->router = router;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof port, "%d", cfg->port);
	gai = getaddrinfo(s->host, port, &hints, &ai);
	if (gai != 0) {
		core_errf(err, errlen, "http: cannot resolve '%s': %s", s->host,
			  gai_strerror(gai));
		st = CORE_ERR_INVALID;
		goto fail;
	}
	/* suspend/resume: event streams wait without holding a thread */
	flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
		MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	atomic_store(&s->starting, 1);
	s->daemon = MHD_start_daemon(
	    flags, (uint16_t)cfg->port, accept_policy, s, on_request, s,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, MHD_OPTION_SOCK_ADDR,
	    ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned int)cfg->threads, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)cfg->connection_timeout_s,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, http_conns_notify, &s->conns,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)s->cfg.max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned int)s->cfg.max_per_client, MHD_OPTION_END);
	atomic_store(&s->starting, 0);
	freeaddrinfo(ai);
	if (!s->daemon) {
		core_errf(err, errlen, "http: cannot listen on %s:%d: %s",
			  s->host, cfg->port,
			  s->start_error[0] ? s->start_error : "unknown error");
		st = CORE_ERR_IO;
		goto fail;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : cfg->port;
	st = http_conns_start(&s->conns, err, errlen);
	if (st) {
		MHD_stop_daemon(s->daemon);
		goto fail;
	}
	*out = s;
	return CORE_OK;
fail:
	http_sse_hub_free(s->sse);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->idle);
	http_conns_destroy(&s->conns);
	core_free(s);
	return st;
}

int http_server_port(const struct http_server *s)
{
	return s->port;
}

int http_server_inflight(struct http_server *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->inflight;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int http_server_stop(struct http_server *s, double timeout_s)
{
	struct timespec deadline;
	int left;

	if (!s)
		return 0;
	if (timeout_s < 0)
		timeout_s = 0;
	/* From here on accept_policy refuses new connections (accepted and
	 * closed at once). MHD_quiesce_daemon is not used: in libmicrohttpd
	 * 0.9.75 it removes the listening socket from each pool worker's
	 * epoll set from this thread while the worker, seeing was_quiesced
	 * (neither flag atomic nor locked), may remove it too; the loser's
	 * epoll_ctl answers ENOENT and the unguarded branch calls MHD_PANIC
	 * ("Failed to remove listen FD from epoll set"): an abort in the
	 * middle of a graceful stop. The socket stays in the epoll sets
	 * until MHD_stop_daemon, which closes it. */
	atomic_store(&s->stopping, 1);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)timeout_s;
	deadline.tv_nsec +=
	    (long)((timeout_s - (double)(time_t)timeout_s) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	/* event streams end now (MHD_stop_daemon must meet no suspended
	 * connection); their requests complete like any other */
	http_sse_close(s->sse);
	pthread_mutex_lock(&s->lock);
	while (s->inflight > 0)
		if (pthread_cond_timedwait(&s->idle, &s->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	left = s->inflight;
	pthread_mutex_unlock(&s->lock);
	if (left)
		LOG_WARN("http: %d request(s) still in flight after %.1f s: "
			 "closing them",
			 left, timeout_s);
	http_conns_stop(&s->conns);
	MHD_stop_daemon(s->daemon);
	http_sse_hub_free(s->sse);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->idle);
	http_conns_destroy(&s->conns);
	core_free(s);
	return left;
}
