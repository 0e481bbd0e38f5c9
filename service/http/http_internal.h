/* SPDX-License-Identifier: Apache-2.0 */
/* http_internal.h - what the server shares with conns.c inside the http
 * module: the registry of open connections behind the header deadline, and
 * the fit of the connection limit to the open-file limit. Not part of the
 * module's public face (http.h). */
#ifndef LMNAS_HTTP_INTERNAL_H
#define LMNAS_HTTP_INTERNAL_H

#include "http.h"

#include <microhttpd.h>
#include <pthread.h>

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

#endif
