/* SPDX-License-Identifier: Apache-2.0 */
/* conns.c - the header deadline: a registry of open connections and the
 * reaper thread that closes those whose request headers are late, however
 * slowly they trickle bytes; and the fit of the connection limit to the
 * process's open-file limit. */
#include "http_internal.h"

#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

/* One TCP connection, registered while open. The reaper closes it when its
 * current request has not finished its headers header_timeout_s after
 * `since`. */
struct http_conn {
	struct http_conn *prev, *next;
	int fd;
	int in_request; /* headers are in: the deadline is over */
	int cut;	/* shut down by the reaper */
	double since;	/* opened, or the previous request completed */
};

void http_conns_init(struct http_conns *c, int header_timeout_s)
{
	pthread_condattr_t ca;

	memset(c, 0, sizeof *c);
	c->header_timeout_s = header_timeout_s;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->wake, &ca);
	pthread_condattr_destroy(&ca);
}

static struct http_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

void http_conns_mark(struct http_conns *c, struct MHD_Connection *conn,
		     int in_request)
{
	struct http_conn *hc = conn_of(conn);

	if (!hc)
		return;
	pthread_mutex_lock(&c->lock);
	hc->in_request = in_request;
	hc->since = core_now_seconds();
	pthread_mutex_unlock(&c->lock);
}

void http_conns_notify(void *cls, struct MHD_Connection *conn,
		       void **socket_context,
		       enum MHD_ConnectionNotificationCode toe)
{
	struct http_conns *c = cls;
	struct http_conn *hc = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn,
					     MHD_CONNECTION_INFO_CONNECTION_FD);
		hc = core_calloc(1, sizeof *hc);
		if (!hc || !ci) { /* no deadline for this one: rare enough */
			core_free(hc);
			return;
		}
		hc->fd = ci->connect_fd;
		hc->since = core_now_seconds();
		pthread_mutex_lock(&c->lock);
		hc->next = c->head;
		if (c->head)
			c->head->prev = hc;
		c->head = hc;
		pthread_mutex_unlock(&c->lock);
		*socket_context = hc;
		return;
	}
	if (!hc)
		return;
	/* libmicrohttpd tells of the close before it closes the socket:
	 * once unlinked here the reaper can no longer touch the fd (which
	 * the kernel may then hand to a new connection) */
	pthread_mutex_lock(&c->lock);
	if (hc->prev)
		hc->prev->next = hc->next;
	else
		c->head = hc->next;
	if (hc->next)
		hc->next->prev = hc->prev;
	pthread_mutex_unlock(&c->lock);
	*socket_context = NULL;
	core_free(hc);
}

/* libmicrohttpd's own timeout counts idle time only, so a client sending a
 * byte every few seconds kept a connection (and, by the thousand, the
 * server) forever. shutdown() leaves the fd to libmicrohttpd, which sees the
 * end of the stream and closes it in its own thread. */
static void *reaper_main(void *arg)
{
	struct http_conns *c = arg;
	double limit = c->header_timeout_s;
	long tick_ms = c->header_timeout_s * 250L;
	struct timespec until;
	int cut;

	if (tick_ms > 1000)
		tick_ms = 1000;
	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		double now = core_now_seconds();
		cut = 0;
		for (struct http_conn *hc = c->head; hc; hc = hc->next) {
			if (hc->in_request || hc->cut ||
			    now - hc->since < limit)
				continue;
			shutdown(hc->fd, SHUT_RDWR);
			hc->cut = 1;
			cut++;
		}
		if (cut)
			LOG_INFO("http: closed %d connection(s) without "
				 "complete request headers after %d s",
				 cut, c->header_timeout_s);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += (tick_ms % 1000) * 1000000L;
		until.tv_sec += tick_ms / 1000 + until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&c->wake, &c->lock, &until);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

enum core_status http_conns_start(struct http_conns *c, char *err,
				  size_t errlen)
{
	if (c->header_timeout_s <= 0)
		return CORE_OK;
	if (pthread_create(&c->reaper, NULL, reaper_main, c) != 0) {
		core_errf(err, errlen,
			  "http: cannot start the header deadline thread");
		return CORE_ERR_NOMEM;
	}
	c->reaper_started = 1;
	return CORE_OK;
}

void http_conns_stop(struct http_conns *c)
{
	if (!c->reaper_started)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->reaper, NULL);
	c->reaper_started = 0;
}

void http_conns_destroy(struct http_conns *c)
{
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->wake);
}

/* Each connection is a file descriptor: a connection limit above the
 * process's descriptor limit would fail accept() (EMFILE) instead of
 * refusing cleanly. Leaves room for files and the database. */
void http_conns_fit_fd_limit(struct http_server_config *cfg)
{
	const rlim_t spare = 128;
	rlim_t want = (rlim_t)cfg->max_connections + spare;
	struct rlimit rl;
	int fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	fit = rl.rlim_cur > spare + (rlim_t)cfg->threads
		  ? (int)(rl.rlim_cur - spare)
		  : cfg->threads;
	LOG_WARN("http: %d connections do not fit the limit of %llu open "
		 "files: serving at most %d",
		 cfg->max_connections, (unsigned long long)rl.rlim_cur, fit);
	cfg->max_connections = fit;
}
