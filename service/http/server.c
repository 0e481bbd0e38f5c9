/* SPDX-License-Identifier: Apache-2.0 */
/* server.c - the libmicrohttpd daemon (epoll thread pool): its callbacks,
 * responses and their headers, the access log, in-flight counting, the
 * limits on connections (per address and in all; the header deadline is in
 * conns.c) and the graceful stop. What happens to a request before its
 * handler answers (header checks, the body, dispatch) is in intake.c. */
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

#define MHD_LOG_PER_SECOND 10 /* libmicrohttpd lines logged per second */

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
			http_intake_decide(rc, HTTP_E_NOT_FOUND,
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
		http_intake_begin(s, rc, conn, url, method);
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
		return http_intake_upload(s, rc, upload_data, upload_data_size);
	core_log_set_context(rc->id);
	if (!rc->decided)
		http_intake_dispatch(s, rc);
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
