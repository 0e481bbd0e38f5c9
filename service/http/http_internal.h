/* SPDX-License-Identifier: Apache-2.0 */
/* http_internal.h - what the server shares with conns.c, sse.c, intake.c
 * and upload.c inside the http module: the registry of open connections
 * behind the header deadline, the fit of the connection limit to the
 * open-file limit, the Server-Sent Events streams, the server's and one
 * request's state, and uploads streamed to a file. Not part of the module's
 * public face (http.h). */
#ifndef LMNAS_HTTP_INTERNAL_H
#define LMNAS_HTTP_INTERNAL_H

#include "http.h"

#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>

struct http_conn; /* one open connection (conns.c) */

/* Every open connection, and the thread (the reaper) that closes the ones
 * late with their headers. head and stop live under lock. */
struct http_conns {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct http_conn *head;
	pthread_t reaper;
	int reaper_started, stop;
	int header_timeout_s; /* 0: no deadline, no reaper */
};

/* Empty registry; the reaper is not running yet. */
void http_conns_init(struct http_conns *c, int header_timeout_s);
/* Starts the reaper (when there is a deadline). CORE_ERR_NOMEM when the
 * thread cannot start. */
enum core_status http_conns_start(struct http_conns *c, char *err,
				  size_t errlen);
/* Stops and joins the reaper; connections stay registered. */
void http_conns_stop(struct http_conns *c);
/* Frees the lock and condition; the daemon has closed every connection. */
void http_conns_destroy(struct http_conns *c);

/* MHD_OPTION_NOTIFY_CONNECTION callback (cls: the struct http_conns). */
void http_conns_notify(void *cls, struct MHD_Connection *conn,
		       void **socket_context,
		       enum MHD_ConnectionNotificationCode toe);
/* in_request 1: conn's request headers are in (its deadline is over);
 * 0: the request completed, the next one's header phase starts now. */
void http_conns_mark(struct http_conns *c, struct MHD_Connection *conn,
		     int in_request);

/* Makes cfg->max_connections fit the open-file limit: raises the soft
 * limit when the hard one allows, else lowers max_connections (logged). */
void http_conns_fit_fd_limit(struct http_server_config *cfg);

/* ---- Server-Sent Events (sse.c) ------------------------------------------
 * A handler turns its response into a live stream of a job's events with
 * http_sse_reply; the server serves it with http_sse_response, suspending
 * the connection while there is nothing to send; the hub wakes streams on
 * NOTIFY lmnas_events, for keep-alives and after a listener outage. */

struct http_sse;     /* one stream */
struct http_sse_hub; /* every stream of a server, and the listener */
struct queue_events;

/* Makes res (cleared first) a 200 text/event-stream of job's events after
 * `after`, first (already read, copied) sent at once, visible to team as in
 * queue_job_events_read. CORE_ERR_NOMEM leaves res untouched. */
enum core_status http_sse_reply(struct http_response *res,
				struct store_pool *pool, long long job,
				long long team, long long after,
				const struct queue_events *first);
/* Frees a stream that was never served (http_response_clear calls it). */
void http_sse_free(struct http_sse *st);

/* A hub for a server; pool (may be NULL: no listener) is borrowed and
 * must outlive the hub. keepalive_s: seconds between keep-alive comments
 * (<= 0: 15). */
enum core_status http_sse_hub_new(struct store_pool *pool, double keepalive_s,
				  struct http_sse_hub **out, char *err,
				  size_t errlen);
/* The response that serves st on conn; takes st (freed with the response,
 * or at once when NULL is returned). */
struct MHD_Response *http_sse_response(struct http_sse_hub *h,
				       struct http_sse *st,
				       struct MHD_Connection *conn);
/* For the stop, before MHD_stop_daemon: every stream ends after what it
 * holds (its connection resumed, none suspends again) and the listener
 * thread is joined. Idempotent. */
void http_sse_close(struct http_sse_hub *h);
/* Closes (as above) and frees; the daemon has stopped (its responses, and
 * with them the streams, are gone). */
void http_sse_hub_free(struct http_sse_hub *h);

/* ---- uploads streamed to a file (upload.c) -------------------------------
 * The state of one HTTP_ROUTE_UPLOAD request body. */
struct http_upload {
	int fd;			 /* -1: closed */
	char path[PATH_MAX];	 /* "": none (discarded or taken) */
	unsigned long long seen; /* bytes received */
	unsigned long long max;	 /* cap */
};

void http_upload_init(struct http_upload *u);
/* 1 for the archive media types an upload may carry (zip, gzip, x-tar;
 * parameters after ';' ignored). */
int http_upload_type_ok(const char *ctype);
/* Creates a fresh file (mode 0600) under <root>/uploads. */
enum core_status http_upload_open(struct http_upload *u, const char *root,
				  unsigned long long max, char *err,
				  size_t errlen);
/* Appends a chunk; past max the file is removed first and CORE_ERR_NOMEM
 * returned (the request answers 413). */
enum core_status http_upload_write(struct http_upload *u, const char *data,
				   size_t n, char *err, size_t errlen);
/* Closes the file once the body is in (it stays for the handler). */
enum core_status http_upload_finish(struct http_upload *u, char *err,
				    size_t errlen);
/* Closes and removes whatever is left (idempotent). */
void http_upload_discard(struct http_upload *u);

/* ---- the server and one request (server.c, intake.c) -------------------- */

#define LOG_PATH_MAX 200

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

/* The first call for a request: headers are in, the body (if any) is not.
 * Decides every error the headers alone reveal (rc->decided). */
void http_intake_begin(struct http_server *s, struct req_ctx *rc,
		       struct MHD_Connection *conn, const char *url,
		       const char *method);
/* A piece of the body: kept (JSON routes), streamed to the upload file
 * (upload routes) or counted; MHD_NO drops a client far past the cap. */
enum MHD_Result http_intake_upload(struct http_server *s, struct req_ctx *rc,
				   const char *data, size_t *size);
/* The body is in: authentication, the JSON parse, the handler. */
void http_intake_dispatch(struct http_server *s, struct req_ctx *rc);
/* Answers rc with the registered problem e (rc->decided). */
void http_intake_decide(struct req_ctx *rc, enum http_error e,
			const char *detail);

#endif
