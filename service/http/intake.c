/* SPDX-License-Identifier: Apache-2.0 */
/* intake.c - a request from its headers to its handler: the checks the
 * headers alone decide (query and target limits, UTF-8 path and query, the
 * route, the body's size and media type; for an upload route the token
 * too, before a byte is stored), the body (JSON kept in memory under its
 * cap, or an upload streamed to a file: upload.c), and the dispatch to the
 * handler with authentication and the JSON parse. Split from server.c,
 * which owns the daemon and the responses. */
#include "http.h"
#include "http_internal.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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

void http_intake_decide(struct req_ctx *rc, enum http_error e,
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
	http_intake_decide(rc, HTTP_E_METHOD_NOT_ALLOWED, detail);
	http_reply_header(&rc->res, "Allow", methods);
}

static void decide_413(struct req_ctx *rc, long max)
{
	char detail[128];

	snprintf(detail, sizeof detail,
		 "the request body is larger than %ld bytes", max);
	http_intake_decide(rc, HTTP_E_BODY_TOO_LARGE, detail);
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
		http_intake_decide(rc, HTTP_E_UNSUPPORTED_MEDIA_TYPE, detail);
		return;
	}
	st = http_upload_open(&rc->upload,
			      s->cfg.app ? s->cfg.app->data_root : NULL,
			      upload_max(s), err, sizeof err);
	if (st) {
		LOG_ERROR("upload: %s", err);
		http_intake_decide(rc, HTTP_E_INTERNAL_ERROR,
				   "cannot store the upload");
	}
}

/* The first call for a request: headers are in, the body (if any) is not.
 * Decides every error that the headers alone reveal. */
void http_intake_begin(struct http_server *s, struct req_ctx *rc,
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
		http_intake_decide(rc, HTTP_E_TOO_MANY_QUERY_ARGS, detail);
		return;
	}
	if (rc->uri_len) {
		snprintf(detail, sizeof detail,
			 "the request target is %zu bytes long; with a query "
			 "at most %d are accepted",
			 rc->uri_len, HTTP_URI_MAX);
		http_intake_decide(rc, HTTP_E_URI_TOO_LONG, detail);
		return;
	}
	if (!core_utf8_valid(url, strlen(url))) {
		http_intake_decide(rc, HTTP_E_INVALID_PATH,
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
		http_intake_decide(rc, HTTP_E_INVALID_QUERY, detail);
		return;
	}

	mr = http_router_match(s->router, rc->req.method, url, &rc->match);
	switch (mr) {
	case HTTP_MATCH_FOUND: break;
	case HTTP_MATCH_TOO_LONG:
		http_intake_decide(
		    rc, HTTP_E_URI_TOO_LONG,
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
		http_intake_decide(rc, HTTP_E_NOT_FOUND, detail);
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
		http_intake_decide(rc, HTTP_E_UNSUPPORTED_MEDIA_TYPE, detail);
	}
}

/* The body arrives in pieces; only routes that take a body keep it. */
enum MHD_Result http_intake_upload(struct http_server *s, struct req_ctx *rc,
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
				http_intake_decide(rc, HTTP_E_INTERNAL_ERROR,
						   "cannot store the upload");
		}
	} else if (!rc->decided && rc->body_seen > max) {
		core_buf_free(&rc->body);
		decide_413(rc, s->cfg.max_body_bytes);
	} else if (!rc->decided && (rc->match.flags & HTTP_ROUTE_BODY) &&
		   !rc->is_static) {
		if (core_buf_append(&rc->body, data, *size) != CORE_OK)
			http_intake_decide(rc, HTTP_E_OUT_OF_MEMORY,
					   "no memory for the request body");
	}
	*size = 0;
	/* the reply to an oversized body waits for its end (libmicrohttpd
	 * cannot answer mid-upload); a client that keeps sending far past
	 * the cap loses the connection instead (an upload past its cap
	 * after 1 MiB more: its cap is gigabytes, twice that is not a
	 * margin) */
	if (rc->body_seen > 2 * max + 65536 ||
	    ((rc->match.flags & HTTP_ROUTE_UPLOAD) &&
	     rc->body_seen > max + (1u << 20)))
		return MHD_NO;
	return MHD_YES;
}

/* Runs the handler (or the body parse that precedes it). */
void http_intake_dispatch(struct http_server *s, struct req_ctx *rc)
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
			http_intake_decide(rc, HTTP_E_INTERNAL_ERROR,
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
			http_intake_decide(
			    rc, HTTP_E_OUT_OF_MEMORY,
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
	/* an upload the handler did not take goes before the answer does:
	 * a client that sees the answer finds no file left behind */
	if (rc->match.flags & HTTP_ROUTE_UPLOAD)
		http_upload_discard(&rc->upload);
	rc->req.body = NULL;
	json_decref(body);
	if (rc->res.status == 0) {
		LOG_ERROR("handler for %s %s produced no response", rc->method,
			  rc->match.pattern);
		http_intake_decide(rc, HTTP_E_INTERNAL_ERROR,
				   "the handler produced no response");
	}
}
