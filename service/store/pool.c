/* SPDX-License-Identifier: Apache-2.0 */
/* pool.c - the libpq connection pool and statement execution. Owns every
 * PGconn; a connection found broken (server restart, network) is closed and
 * reopened, never handed out. */
#include "store.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct store_conn {
	PGconn *pg;
	int in_use;
	const struct store_stmt **prepared; /* statements prepared on pg */
	size_t nprepared, capprepared;
	char sqlstate[6];
};

struct store_pool {
	char *url;
	int size;
	struct store_conn *slots; /* size entries */
	pthread_mutex_t lock;
	pthread_cond_t freed;
};

enum core_status store_pool_open(const char *url, int size,
				 struct store_pool **out, char *err,
				 size_t errlen)
{
	struct store_pool *p;

	*out = NULL;
	if (size < 1 || size > 1024) {
		core_errf(err, errlen, "pool size %d is outside 1..1024", size);
		return CORE_ERR_INVALID;
	}
	p = core_calloc(1, sizeof *p);
	if (!p)
		goto nomem;
	p->url = core_strdup(url);
	p->slots = core_calloc((size_t)size, sizeof *p->slots);
	if (!p->url || !p->slots) {
		core_free(p->url);
		core_free(p->slots);
		core_free(p);
		goto nomem;
	}
	p->size = size;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	*out = p;
	return CORE_OK;
nomem:
	core_errf(err, errlen, "out of memory creating the database pool");
	return CORE_ERR_NOMEM;
}

static void conn_close(struct store_conn *c)
{
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	c->nprepared = 0;
}

void store_pool_close(struct store_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->size; i++) {
		conn_close(&p->slots[i]);
		core_free(p->slots[i].prepared);
	}
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->freed);
	core_free(p->slots);
	core_free(p->url);
	core_free(p);
}

/* A pooled connection is idle: the server has nothing to say to it (lmnas
 * never LISTENs). Anything readable on its socket is a termination notice
 * (server shutdown, admin kill) or the end of the stream, so such a
 * connection is replaced rather than handed out. */
static int conn_healthy(struct store_conn *c)
{
	struct pollfd pfd;

	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK ||
	    PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		return 0;
	pfd.fd = PQsocket(c->pg);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (pfd.fd < 0 || poll(&pfd, 1, 0) != 0)
		return 0;
	return 1;
}

static void first_line(char *s)
{
	char *nl = strchr(s, '\n');
	if (nl)
		*nl = '\0';
}

/* Appends n bytes of s to out[*used..outlen), keeping room for the NUL. */
static void scrub_put(char *out, size_t outlen, size_t *used, const char *s,
		      size_t n)
{
	if (*used + 1 >= outlen)
		return;
	if (n > outlen - 1 - *used)
		n = outlen - 1 - *used;
	memcpy(out + *used, s, n);
	*used += n;
	out[*used] = '\0';
}

static int scrub_is_end(char c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	       c == '"' || c == '\'';
}

/* Length of a password= value at v: a quoted conninfo value up to its
 * closing quote (backslash escapes), else up to a blank or '&'. */
static size_t scrub_value_len(const char *v)
{
	size_t n = 0;

	if (v[0] == '\'') {
		for (n = 1; v[n] && v[n] != '\''; n++)
			if (v[n] == '\\' && v[n + 1])
				n++;
		return v[n] ? n + 1 : n;
	}
	while (v[n] && v[n] != ' ' && v[n] != '\t' && v[n] != '\n' &&
	       v[n] != '&')
		n++;
	return n;
}

void store_secrets_scrub(const char *text, char *out, size_t outlen)
{
	size_t used = 0, i = 0;

	if (!outlen)
		return;
	out[0] = '\0';
	while (text[i]) {
		if (strncmp(text + i, "://", 3) == 0) {
			/* userinfo ends at the LAST '@' before the URL ends:
			 * a password may hold '/', '?', '#' or '@' that
			 * libpq's own parse stopped at */
			size_t a = i + 3, end = a, at = 0, colon = 0;
			while (!scrub_is_end(text[end])) {
				if (text[end] == '@')
					at = end;
				end++;
			}
			for (size_t k = a; at && k < at && !colon; k++)
				if (text[k] == ':')
					colon = k;
			scrub_put(out, outlen, &used, text + i, 3);
			i = a;
			if (colon) {
				scrub_put(out, outlen, &used, text + a,
					  colon + 1 - a);
				scrub_put(out, outlen, &used, "***", 3);
				i = at;
			}
			continue;
		}
		if (strncasecmp(text + i, "password", 8) == 0) {
			size_t k = i + 8;
			while (text[k] == ' ')
				k++;
			if (text[k] == '=') {
				k++;
				while (text[k] == ' ')
					k++;
				scrub_put(out, outlen, &used, "password=***",
					  12);
				i = k + scrub_value_len(text + k);
				continue;
			}
		}
		scrub_put(out, outlen, &used, text + i, 1);
		i++;
	}
}

static enum core_status conn_open(struct store_pool *p, struct store_conn *c,
				  char *err, size_t errlen)
{
	/* connect_timeout and application_name come first so that values in the
	 * URL override them; dbname is expanded as a URL or conninfo. */
	const char *keys[] = {"connect_timeout", "application_name", "dbname",
			      NULL};
	const char *vals[] = {"5", "lmnas", p->url, NULL};

	conn_close(c);
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (!c->pg) {
		core_errf(err, errlen, "database: out of memory connecting");
		return CORE_ERR_NOMEM;
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		char msg[CORE_ERR_LEN];
		store_secrets_scrub(PQerrorMessage(c->pg), msg, sizeof msg);
		first_line(msg);
		core_errf(err, errlen, "database unreachable: %s", msg);
		conn_close(c);
		return CORE_ERR_UNAVAILABLE;
	}
	return CORE_OK;
}

enum core_status store_conn_acquire(struct store_pool *p, double timeout_s,
				    struct store_conn **out, char *err,
				    size_t errlen)
{
	struct store_conn *c = NULL;
	struct timespec deadline;
	enum core_status st;

	*out = NULL;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)timeout_s;
	deadline.tv_nsec +=
	    (long)((timeout_s - (double)(time_t)timeout_s) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	for (;;) {
		/* prefer a slot that already holds a connection */
		for (int i = 0; i < p->size && !c; i++)
			if (!p->slots[i].in_use && p->slots[i].pg)
				c = &p->slots[i];
		for (int i = 0; i < p->size && !c; i++)
			if (!p->slots[i].in_use)
				c = &p->slots[i];
		if (c)
			break;
		if (pthread_cond_timedwait(&p->freed, &p->lock, &deadline)) {
			pthread_mutex_unlock(&p->lock);
			core_errf(err, errlen,
				  "database pool: no free connection within "
				  "%.1f s (pool size %d)",
				  timeout_s, p->size);
			return CORE_ERR_UNAVAILABLE;
		}
	}
	c->in_use = 1;
	pthread_mutex_unlock(&p->lock);

	/* outside the lock: health check and (re)connect */
	if (!conn_healthy(c)) {
		st = conn_open(p, c, err, errlen);
		if (st) {
			store_conn_release(p, c);
			return st;
		}
	}
	c->sqlstate[0] = '\0';
	*out = c;
	return CORE_OK;
}

void store_conn_release(struct store_pool *p, struct store_conn *c)
{
	if (!c)
		return;
	if (c->pg && (PQstatus(c->pg) != CONNECTION_OK ||
		      PQtransactionStatus(c->pg) != PQTRANS_IDLE))
		conn_close(c);
	pthread_mutex_lock(&p->lock);
	c->in_use = 0;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

PGconn *store_conn_pg(struct store_conn *c)
{
	return c->pg;
}

const char *store_conn_sqlstate(struct store_conn *c)
{
	return c->sqlstate;
}

/* Records the outcome of a failed result in c and err. */
static enum core_status result_error(struct store_conn *c, PGresult *r,
				     const char *what, char *err, size_t errlen)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg);

	char clean[CORE_ERR_LEN];

	snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state ? state : "");
	store_secrets_scrub(msg && *msg ? msg : "no result", clean,
			    sizeof clean);
	first_line(clean);
	core_errf(err, errlen, "%s: [%s] %s", what, state ? state : "-", clean);
	if (PQstatus(c->pg) != CONNECTION_OK)
		return CORE_ERR_UNAVAILABLE;
	return CORE_ERR_DB;
}

static int is_prepared(const struct store_conn *c, const struct store_stmt *s)
{
	for (size_t i = 0; i < c->nprepared; i++)
		if (c->prepared[i] == s)
			return 1;
	return 0;
}

static enum core_status prepare(struct store_conn *c,
				const struct store_stmt *s, char *err,
				size_t errlen)
{
	PGresult *r;
	enum core_status st = CORE_OK;

	if (c->nprepared == c->capprepared) {
		size_t n = c->capprepared ? 2 * c->capprepared : 16;
		const struct store_stmt **np =
		    core_realloc(c->prepared, n * sizeof *np);
		if (!np) {
			core_errf(err, errlen, "out of memory preparing %s",
				  s->name);
			return CORE_ERR_NOMEM;
		}
		c->prepared = np;
		c->capprepared = n;
	}
	r = PQprepare(c->pg, s->name, s->sql, s->nparams, NULL);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
		st = result_error(c, r, s->name, err, errlen);
	else
		c->prepared[c->nprepared++] = s;
	PQclear(r);
	return st;
}

enum core_status store_exec_pooled(struct store_pool *p,
				   const struct store_stmt *s,
				   const char *const *params, PGresult **res,
				   char *err, size_t errlen)
{
	struct store_conn *c = NULL;
	enum core_status st = store_conn_acquire(p, 10.0, &c, err, errlen);

	if (st)
		return st;
	st = store_exec(c, s, params, NULL, NULL, res, err, errlen);
	store_conn_release(p, c);
	return st;
}

enum core_status store_exec(struct store_conn *c, const struct store_stmt *s,
			    const char *const *params, const int *lengths,
			    const int *formats, PGresult **res, char *err,
			    size_t errlen)
{
	PGresult *r;
	ExecStatusType rs;
	enum core_status st;

	if (res)
		*res = NULL;
	c->sqlstate[0] = '\0';
	if (!is_prepared(c, s)) {
		st = prepare(c, s, err, errlen);
		if (st)
			return st;
	}
	r = PQexecPrepared(c->pg, s->name, s->nparams, params, lengths, formats,
			   0);
	rs = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
		st = result_error(c, r, s->name, err, errlen);
		PQclear(r);
		return st;
	}
	if (res)
		*res = r;
	else
		PQclear(r);
	return CORE_OK;
}

enum core_status store_exec_sql(struct store_conn *c, const char *sql,
				char *err, size_t errlen)
{
	PGresult *r = PQexec(c->pg, sql);
	ExecStatusType rs = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	enum core_status st = CORE_OK;

	c->sqlstate[0] = '\0';
	if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK)
		st = result_error(c, r, "sql", err, errlen);
	PQclear(r);
	return st;
}
