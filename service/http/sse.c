/* SPDX-License-Identifier: Apache-2.0 */
/* sse.c - live job events as Server-Sent Events, without a thread per
 * stream.
 *
 * A stream is a libmicrohttpd response whose content reader writes the
 * job's events after the last id it sent; with nothing to send it
 * suspends the connection (MHD_suspend_connection, then 0: the pattern
 * microhttpd.h prescribes), so an open stream costs a socket and this
 * struct, not a pool thread. The hub's one thread wakes streams:
 *  - on a NOTIFY on lmnas_events (migration 0006: every event insert, from
 *    any process or machine, notifies its job id), through one pooled
 *    connection that LISTENs, taken when the first stream opens;
 *  - when a stream's keep-alive comment is due (proxies close idle
 *    connections, and a client that went away is only noticed when a
 *    write fails: libmicrohttpd does not watch a suspended socket);
 *  - all of them when the listener (re)connects, and every POLL_S while
 *    it is down, so that a lost notification never loses an event: a
 *    woken stream re-reads everything after its last id.
 *
 * Resuming from an id is exact because a job's events are written one at
 * a time by the holder of its lease (the job's thread, each insert its own
 * transaction): they commit in id order, so "id > last" never passes over
 * one still to commit. Two concurrent writers for one job would break
 * that (bigserial ids are taken before commit) and need another cursor.
 *
 * Locking: hub->lock guards the list and every stream's state. A stream
 * suspends itself with the lock held and is resumed only with it held and
 * only while marked suspended, so a resume always follows its suspend and
 * never reaches a connection that went on (libmicrohttpd calls resuming a
 * connection that is not suspended undefined). The stop (http_sse_close)
 * resumes every stream and forbids new suspensions before MHD_stop_daemon,
 * which must not meet a suspended connection. */
#include "http_internal.h"

#include "queue/queue.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SSE_BATCH     100	 /* events read per query */
#define SSE_BUF_MAX   (1u << 20) /* formatted events waiting to be sent */
#define SSE_TICK_MS   250	 /* the hub's look at due keep-alives */
#define SSE_POLL_S    2.0	 /* re-read period while not listening */
#define SSE_RETRY_S   2.0	 /* re-read after a failed read */
#define SSE_RECONNECT 1.0	 /* seconds between listener attempts */
#define SSE_CHANNEL   "lmnas_events"
#define SSE_RETRY_MS  2000 /* the client's reconnection delay */

struct http_sse {
	struct http_sse_hub *hub; /* NULL until registered */
	struct http_sse *next;
	struct MHD_Connection *conn;
	struct store_pool *pool;
	long long job, team;
	long long last_id; /* the last event id formatted */
	struct core_buf out;
	size_t off;	  /* bytes of out already sent */
	int ended;	  /* the job ended and every event is in out */
	int woken;	  /* something may have arrived: re-read */
	int suspended;	  /* suspended by the reader, not yet resumed */
	double next_beat; /* monotonic time of the next keep-alive */
	double retry_at;  /* re-read after a failure (0: none) */
};

struct http_sse_hub {
	pthread_mutex_t lock;
	struct http_sse *head;
	struct store_pool *pool; /* for the listener; may be NULL */
	double keepalive_s;
	int closing; /* the server stops: streams end, none suspends */
	int quit;    /* the thread ends */
	int thread_started;
	pthread_t thread;
	int pipe_fd[2];		     /* wakes the thread's poll */
	struct store_conn *listener; /* only the thread touches it */
};

/* ---- formatting ---------------------------------------------------------- */

/* Appends one event: id, event (the kind, only [A-Za-z0-9_.-]) and the
 * JSON object as data lines (split at newlines, which the JSON text of
 * PostgreSQL does not hold: the split only keeps the framing safe). */
static enum core_status format_event(struct core_buf *b,
				     const struct queue_event *e)
{
	char kind[sizeof e->kind];
	size_t k = 0;
	const char *p = e->json;
	enum core_status st;

	for (const char *s = e->kind; *s && k + 1 < sizeof kind; s++)
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		    *s == '.')
			kind[k++] = *s;
	kind[k] = '\0';
	st = core_buf_printf(b, "id: %lld\nevent: %s\n", e->id,
			     k ? kind : "message");
	while (!st) {
		size_t n = strcspn(p, "\r\n");

		st = core_buf_append(b, "data: ", 6);
		if (!st)
			st = core_buf_append(b, p, n);
		if (!st)
			st = core_buf_append(b, "\n", 1);
		p += n;
		if (!*p)
			break;
		p++;
	}
	return st ? st : core_buf_append(b, "\n", 1);
}

/* Appends ev to st->out; st->last_id follows. Called with the hub's lock
 * held (or before the stream is registered). */
static enum core_status stream_take(struct http_sse *st,
				    const struct queue_events *ev)
{
	for (int i = 0; i < ev->n; i++) {
		enum core_status rc = format_event(&st->out, &ev->v[i]);

		if (rc)
			return rc;
		st->last_id = ev->v[i].id;
	}
	if (ev->ended)
		st->ended = 1;
	return CORE_OK;
}

/* ---- streams ------------------------------------------------------------- */

enum core_status http_sse_reply(struct http_response *res,
				struct store_pool *pool, long long job,
				long long team, long long after,
				const struct queue_events *first)
{
	struct http_sse *st = core_calloc(1, sizeof *st);

	if (!st)
		return CORE_ERR_NOMEM;
	st->pool = pool;
	st->job = job;
	st->team = team;
	st->last_id = after;
	core_buf_init(&st->out, SSE_BUF_MAX);
	/* the reconnection delay an EventSource uses; sent at once, it also
	 * gets the headers out while no event is there yet */
	if (core_buf_printf(&st->out, "retry: %d\n\n", SSE_RETRY_MS) ||
	    stream_take(st, first)) {
		http_sse_free(st);
		return CORE_ERR_NOMEM;
	}
	/* read again once registered: a NOTIFY between the first read and
	 * the registration (or a full first batch) must not be missed */
	st->woken = !first->ended;
	http_response_clear(res);
	res->status = 200;
	res->content_type = "text/event-stream";
	/* nginx buffers responses unless told otherwise */
	http_reply_header(res, "X-Accel-Buffering", "no");
	res->sse = st;
	return CORE_OK;
}

static void hub_unlink(struct http_sse_hub *h, struct http_sse *st)
{
	for (struct http_sse **pp = &h->head; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			return;
		}
}

void http_sse_free(struct http_sse *st)
{
	struct http_sse_hub *h;

	if (!st)
		return;
	h = st->hub;
	if (h) {
		pthread_mutex_lock(&h->lock);
		hub_unlink(h, st);
		pthread_mutex_unlock(&h->lock);
	}
	core_buf_free(&st->out);
	core_free(st);
}

/* libmicrohttpd's free callback: the response is gone, so is the stream */
static void stream_free_cb(void *cls)
{
	http_sse_free(cls);
}

/* Reads what came after st->last_id into st (lock not held). */
static void stream_read(struct http_sse_hub *h, struct http_sse *st)
{
	struct queue_events ev;
	char err[CORE_ERR_LEN];
	enum core_status rc;
	long long after;

	pthread_mutex_lock(&h->lock);
	after = st->last_id;
	pthread_mutex_unlock(&h->lock);
	rc = queue_job_events_read(st->pool, st->job, st->team, after,
				   SSE_BATCH, &ev, err, sizeof err);
	pthread_mutex_lock(&h->lock);
	if (rc == CORE_ERR_NOT_FOUND) {
		st->ended = 1; /* deleted while followed */
	} else if (rc) {
		LOG_WARN("events of job %lld: %s; retrying", st->job, err);
		st->retry_at = core_now_seconds() + SSE_RETRY_S;
	} else {
		if (stream_take(st, &ev)) {
			LOG_WARN("events of job %lld: no memory; ending the "
				 "stream",
				 st->job);
			st->ended = 1;
		}
		if (ev.n == SSE_BATCH)
			st->woken = 1; /* more behind */
		queue_events_free(&ev);
	}
	pthread_mutex_unlock(&h->lock);
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_sse *st = cls;
	struct http_sse_hub *h = st->hub;
	double now;

	(void)pos;
	pthread_mutex_lock(&h->lock);
	for (;;) {
		if (st->out.len > st->off) {
			size_t n = st->out.len - st->off;

			if (n > max)
				n = max;
			memcpy(buf, st->out.data + st->off, n);
			st->off += n;
			if (st->off == st->out.len)
				st->off = st->out.len = 0;
			pthread_mutex_unlock(&h->lock);
			return (ssize_t)n;
		}
		if (st->ended || h->closing)
			break;
		now = core_now_seconds();
		if (now >= st->next_beat) {
			st->next_beat = now + h->keepalive_s;
			if (core_buf_append(&st->out, ": keep-alive\n\n", 14))
				break;
			continue;
		}
		if (st->retry_at > 0 && now >= st->retry_at) {
			st->retry_at = 0;
			st->woken = 1;
		}
		if (!st->woken) {
			st->suspended = 1;
			MHD_suspend_connection(st->conn);
			pthread_mutex_unlock(&h->lock);
			return 0;
		}
		st->woken = 0;
		pthread_mutex_unlock(&h->lock);
		stream_read(h, st);
		pthread_mutex_lock(&h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	return MHD_CONTENT_READER_END_OF_STREAM;
}

static void *hub_main(void *arg);

struct MHD_Response *http_sse_response(struct http_sse_hub *h,
				       struct http_sse *st,
				       struct MHD_Connection *conn)
{
	struct MHD_Response *resp;

	st->conn = conn;
	st->hub = h;
	pthread_mutex_lock(&h->lock);
	st->next_beat = core_now_seconds() + h->keepalive_s;
	st->next = h->head;
	h->head = st;
	if (!h->thread_started && h->pool && !h->closing) {
		if (pthread_create(&h->thread, NULL, hub_main, h) == 0)
			h->thread_started = 1;
		else
			LOG_ERROR("sse: cannot start the listener thread");
	}
	pthread_mutex_unlock(&h->lock);
	resp = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, 4096, stream_reader, st, stream_free_cb);
	if (!resp)
		http_sse_free(st);
	return resp;
}

/* ---- the hub ------------------------------------------------------------- */

/* Resumes st when suspended (lock held). */
static void stream_resume(struct http_sse *st)
{
	if (!st->suspended)
		return;
	st->suspended = 0;
	MHD_resume_connection(st->conn);
}

/* Wakes the streams of job (0: every stream); lock held. */
static void hub_wake(struct http_sse_hub *h, long long job)
{
	for (struct http_sse *st = h->head; st; st = st->next)
		if (job == 0 || st->job == job) {
			st->woken = 1;
			stream_resume(st);
		}
}

static void listen_stop(struct http_sse_hub *h)
{
	char err[CORE_ERR_LEN];

	if (!h->listener)
		return;
	if (PQstatus(store_conn_pg(h->listener)) == CONNECTION_OK)
		store_exec_sql(h->listener, "UNLISTEN *", err, sizeof err);
	store_conn_release(h->pool, h->listener);
	h->listener = NULL;
}

static void listen_start(struct http_sse_hub *h)
{
	char err[CORE_ERR_LEN];
	struct store_conn *c = NULL;

	if (store_conn_acquire(h->pool, 1.0, &c, err, sizeof err)) {
		LOG_WARN("sse listener: %s; streams poll every %.0f s", err,
			 SSE_POLL_S);
		return;
	}
	if (store_exec_sql(c, "LISTEN " SSE_CHANNEL, err, sizeof err)) {
		LOG_WARN("sse listener: %s; streams poll every %.0f s", err,
			 SSE_POLL_S);
		store_conn_release(h->pool, c);
		return;
	}
	h->listener = c;
}

/* Reads the notifications that arrived and wakes their jobs' streams; a
 * broken connection ends listening (the caller reconnects). */
static void listen_read(struct http_sse_hub *h)
{
	PGconn *pg = store_conn_pg(h->listener);
	PGnotify *n;

	/* a terminated backend's last message is read fine: the status
	 * tells (libpq may close the socket, which poll would then ignore) */
	if (!PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK) {
		LOG_WARN("sse listener: connection lost; reconnecting");
		listen_stop(h);
		pthread_mutex_lock(&h->lock);
		hub_wake(h, 0);
		pthread_mutex_unlock(&h->lock);
		return;
	}
	while ((n = PQnotifies(pg)) != NULL) {
		long long job = n->extra ? strtoll(n->extra, NULL, 10) : 0;

		pthread_mutex_lock(&h->lock);
		if (job > 0)
			hub_wake(h, job);
		pthread_mutex_unlock(&h->lock);
		PQfreemem(n);
	}
}

static void *hub_main(void *arg)
{
	struct http_sse_hub *h = arg;
	double next_connect = 0, next_poll = 0;
	char drain[64];

	pthread_mutex_lock(&h->lock);
	while (!h->quit) {
		struct pollfd fds[2];
		int nfds = 1;
		double now;

		pthread_mutex_unlock(&h->lock);
		now = core_now_seconds();
		if (!h->listener && now >= next_connect) {
			listen_start(h);
			next_connect = now + SSE_RECONNECT;
			/* what was stored before the LISTEN took effect */
			pthread_mutex_lock(&h->lock);
			if (h->listener)
				hub_wake(h, 0);
			pthread_mutex_unlock(&h->lock);
		}
		fds[0].fd = h->pipe_fd[0];
		fds[0].events = POLLIN;
		if (h->listener) {
			fds[1].fd = PQsocket(store_conn_pg(h->listener));
			fds[1].events = POLLIN;
			nfds = 2;
		}
		if (poll(fds, (nfds_t)nfds, SSE_TICK_MS) > 0) {
			if (fds[0].revents)
				while (read(h->pipe_fd[0], drain,
					    sizeof drain) > 0)
					;
			if (nfds == 2 && fds[1].revents)
				listen_read(h);
		}
		now = core_now_seconds();
		pthread_mutex_lock(&h->lock);
		if (!h->listener && now >= next_poll) {
			hub_wake(h, 0);
			next_poll = now + SSE_POLL_S;
		}
		for (struct http_sse *st = h->head; st; st = st->next)
			if (st->suspended &&
			    (now >= st->next_beat ||
			     (st->retry_at > 0 && now >= st->retry_at)))
				stream_resume(st);
	}
	pthread_mutex_unlock(&h->lock);
	listen_stop(h);
	return NULL;
}

enum core_status http_sse_hub_new(struct store_pool *pool, double keepalive_s,
				  struct http_sse_hub **out, char *err,
				  size_t errlen)
{
	struct http_sse_hub *h = core_calloc(1, sizeof *h);

	*out = NULL;
	if (!h) {
		core_errf(err, errlen, "http: out of memory");
		return CORE_ERR_NOMEM;
	}
	if (pipe(h->pipe_fd) != 0) {
		core_errf(err, errlen, "http: pipe: %s", strerror(errno));
		core_free(h);
		return CORE_ERR_IO;
	}
	for (int i = 0; i < 2; i++)
		fcntl(h->pipe_fd[i], F_SETFL,
		      fcntl(h->pipe_fd[i], F_GETFL) | O_NONBLOCK);
	pthread_mutex_init(&h->lock, NULL);
	h->pool = pool;
	h->keepalive_s = keepalive_s > 0 ? keepalive_s : 15;
	*out = h;
	return CORE_OK;
}

void http_sse_close(struct http_sse_hub *h)
{
	int started;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->closing = 1;
	h->quit = 1;
	hub_wake(h, 0); /* readers see closing and end their streams */
	started = h->thread_started;
	pthread_mutex_unlock(&h->lock);
	if (started) {
		if (write(h->pipe_fd[1], "q", 1) < 0)
			LOG_DEBUG("sse: wake pipe: %s", strerror(errno));
		pthread_join(h->thread, NULL);
		pthread_mutex_lock(&h->lock);
		h->thread_started = 0;
		pthread_mutex_unlock(&h->lock);
	}
}

void http_sse_hub_free(struct http_sse_hub *h)
{
	if (!h)
		return;
	http_sse_close(h);
	close(h->pipe_fd[0]);
	close(h->pipe_fd[1]);
	pthread_mutex_destroy(&h->lock);
	core_free(h);
}
