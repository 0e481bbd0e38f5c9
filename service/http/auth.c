/* SPDX-License-Identifier: Apache-2.0 */
/* auth.c - bearer tokens on /v1 routes (the check itself is the auth
 * module's) and the limit on failed authentications per client address. */
#include "http.h"

#include "auth/auth.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LIMITER_SLOTS  64 /* addresses tracked at once */
#define LIMITER_ADDR   64
#define LIMITER_WINDOW 60 /* seconds */

/* A fixed table: an address that fails gets a slot for the current
 * minute; when every slot is taken, the oldest window is recycled (an
 * attacker rotating addresses gains nothing over a fresh address). */
struct http_auth_limiter {
	pthread_mutex_t lock;
	int per_minute;
	struct {
		char addr[LIMITER_ADDR];
		time_t start;
		int failures;
	} slot[LIMITER_SLOTS];
};

struct http_auth_limiter *http_auth_limiter_new(int per_minute)
{
	struct http_auth_limiter *l = core_calloc(1, sizeof *l);

	if (!l)
		return NULL;
	pthread_mutex_init(&l->lock, NULL);
	l->per_minute = per_minute;
	return l;
}

void http_auth_limiter_free(struct http_auth_limiter *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	core_free(l);
}

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Seconds until addr may try again (0: it may now). count: record one more
 * failure first. */
static long limiter_wait(struct http_auth_limiter *l, const char *addr,
			 int count)
{
	time_t now = now_s();
	int found = -1, oldest = 0;
	long wait = 0;

	if (!l || l->per_minute <= 0)
		return 0;
	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < LIMITER_SLOTS; i++) {
		if (strcmp(l->slot[i].addr, addr) == 0 &&
		    l->slot[i].failures > 0)
			found = i;
		if (l->slot[i].start < l->slot[oldest].start)
			oldest = i;
	}
	if (found >= 0 && now - l->slot[found].start >= LIMITER_WINDOW) {
		l->slot[found].failures = 0; /* its minute is over */
		l->slot[found].start = now;
	}
	if (found < 0 && count) {
		found = oldest;
		core_utf8_copy(l->slot[found].addr, LIMITER_ADDR, addr);
		l->slot[found].start = now;
		l->slot[found].failures = 0;
	}
	if (found >= 0) {
		if (count)
			l->slot[found].failures++;
		if (l->slot[found].failures > l->per_minute)
			wait =
			    LIMITER_WINDOW - (long)(now - l->slot[found].start);
	}
	pthread_mutex_unlock(&l->lock);
	return wait > 0 ? wait : (wait < 0 ? 1 : 0);
}

long long http_caller_team(const struct http_caller *c)
{
	return c->admin ? 0 : c->team_id;
}

static void reply_rate_limited(struct http_response *res, long wait)
{
	char secs[32];

	snprintf(secs, sizeof secs, "%ld", wait);
	http_reply_error(res, HTTP_E_AUTH_RATE_LIMITED,
			 "too many failed authentications from this address: "
			 "try again after Retry-After seconds",
			 NULL);
	http_reply_header(res, "Retry-After", secs);
}

int http_auth_check(struct http_request *req, struct http_response *res)
{
	struct http_app *app = req->app;
	struct http_auth_limiter *lim = app ? app->limiter : NULL;
	const char *addr = req->client ? req->client : "";
	const char *h = http_request_header(req, "Authorization");
	struct auth_identity who;
	enum auth_result ar;
	enum http_error e;
	char err[CORE_ERR_LEN];
	long wait;

	memset(&req->caller, 0, sizeof req->caller);
	if (app && app->auth_open) {
		req->caller.team_id = app->open_team_id;
		req->caller.admin = 1;
		return 1;
	}
	wait = limiter_wait(lim, addr, 0);
	if (wait) {
		reply_rate_limited(res, wait);
		return 0;
	}
	if (!app || !app->pool) {
		http_reply_error(res, HTTP_E_DATABASE_UNAVAILABLE,
				 "no database is configured", NULL);
		return 0;
	}
	if (!h) {
		e = HTTP_E_UNAUTHENTICATED;
		goto fail;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		e = HTTP_E_TOKEN_MALFORMED;
		goto fail;
	}
	if (auth_token_verify(app->pool, h + 7, &ar, &who, err, sizeof err)) {
		LOG_ERROR("authentication: %s", err);
		http_reply_error(res, HTTP_E_DATABASE_UNAVAILABLE,
				 "database unavailable", NULL);
		return 0;
	}
	switch (ar) {
	case AUTH_OK:
		req->caller.token_id = who.token_id;
		req->caller.team_id = who.team_id;
		req->caller.admin = who.admin;
		return 1;
	case AUTH_MALFORMED: e = HTTP_E_TOKEN_MALFORMED; break;
	case AUTH_REVOKED: e = HTTP_E_TOKEN_REVOKED; break;
	case AUTH_EXPIRED: e = HTTP_E_TOKEN_EXPIRED; break;
	default: e = HTTP_E_TOKEN_INVALID; break;
	}
fail:
	wait = limiter_wait(lim, addr, 1);
	if (wait) {
		reply_rate_limited(res, wait);
		return 0;
	}
	http_reply_error(res, e,
			 e == HTTP_E_UNAUTHENTICATED
			     ? "send Authorization: Bearer TOKEN (lmnas token "
			       "create)"
			     : "send Authorization: Bearer lmnas_<id>_<secret>",
			 NULL);
	http_reply_header(res, "WWW-Authenticate", "Bearer realm=\"lmnas\"");
	return 0;
}
