/* SPDX-License-Identifier: Apache-2.0 */
/* hook_deliver.c - sending the queued webhook deliveries: claim one (lease,
 * SKIP LOCKED, oldest pending of its job first), POST it signed to the
 * checked address, record the outcome or the next attempt. */
#include "hook.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEASE_S 60 /* far above a POST's timeout */

/* The oldest due delivery whose job has no earlier one pending (so that a
 * receiver sees a job's changes in order), leased to $1. */
static const struct store_stmt stmt_claim = {
    "hook_claim",
    "UPDATE webhook_deliveries d SET lease_owner = $1,"
    " lease_expires_at = now() + make_interval(secs => $2::int),"
    " attempts = d.attempts + 1"
    " WHERE d.id = (SELECT x.id FROM webhook_deliveries x"
    "  WHERE x.status = 'pending' AND x.next_at <= now()"
    "  AND (x.lease_expires_at IS NULL OR x.lease_expires_at < now())"
    "  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries y"
    "   WHERE y.job_id = x.job_id AND y.status = 'pending' AND y.id < x.id)"
    "  ORDER BY x.next_at, x.id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " RETURNING d.id, d.url, d.body, d.attempts,"
    " (SELECT t.webhook_secret FROM teams t WHERE t.id = d.team_id)",
    2};

static const struct store_stmt stmt_done = {
    "hook_done",
    "UPDATE webhook_deliveries SET status = 'delivered', finished_at = now(),"
    " lease_owner = NULL, lease_expires_at = NULL,"
    " last_http_status = $3::int, last_error = NULL"
    " WHERE id = $1::bigint AND lease_owner = $2",
    3};

/* $4: delay before the next attempt; $5: the attempts allowed */
static const struct store_stmt stmt_retry = {
    "hook_retry",
    "UPDATE webhook_deliveries SET"
    " status = CASE WHEN attempts >= $5::int THEN 'failed' ELSE 'pending'"
    "  END,"
    " finished_at = CASE WHEN attempts >= $5::int THEN now() END,"
    " next_at = now() + make_interval(secs => $4::float8),"
    " lease_owner = NULL, lease_expires_at = NULL,"
    " last_http_status = nullif($3::int, 0), last_error = $6"
    " WHERE id = $1::bigint AND lease_owner = $2",
    6};

struct delivery {
	long long id;
	int attempts;
	char *url, *body, *secret; /* copies, freed by delivery_free */
};

static void delivery_free(struct delivery *d)
{
	if (d->secret)
		explicit_bzero(d->secret, strlen(d->secret));
	core_free(d->url);
	core_free(d->body);
	core_free(d->secret);
	memset(d, 0, sizeof *d);
}

static char *dup_value(PGresult *r, int col)
{
	const char *v = PQgetvalue(r, 0, col);
	size_t n = strlen(v);
	char *s = core_malloc(n + 1);

	if (s)
		memcpy(s, v, n + 1);
	return s;
}

/* CORE_ERR_NOT_FOUND when nothing is due. */
static enum core_status claim(struct store_pool *p, const char *owner,
			      struct delivery *d, char *err, size_t errlen)
{
	char lease[16];
	const char *params[2] = {owner, lease};
	PGresult *r = NULL;
	enum core_status st;

	memset(d, 0, sizeof *d);
	snprintf(lease, sizeof lease, "%d", LEASE_S);
	st = store_exec_pooled(p, &stmt_claim, params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return CORE_ERR_NOT_FOUND;
	}
	d->id = atoll(PQgetvalue(r, 0, 0));
	d->attempts = atoi(PQgetvalue(r, 0, 3));
	d->url = dup_value(r, 1);
	d->body = dup_value(r, 2);
	d->secret = dup_value(r, 4);
	explicit_bzero(PQgetvalue(r, 0, 4), strlen(PQgetvalue(r, 0, 4)));
	PQclear(r);
	if (!d->url || !d->body || !d->secret) {
		delivery_free(d);
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

static size_t discard(char *data, size_t size, size_t nmemb, void *ud)
{
	size_t *total = ud;

	(void)data;
	*total += size * nmemb;
	/* a receiver's reply is not read: a few KiB is plenty to see it */
	return *total > 65536 ? 0 : size * nmemb;
}

/* POSTs d; returns the HTTP status (0 when none came) and why on failure. */
static long post(const struct hook_deliverer_config *c,
		 const struct delivery *d, char *why, size_t whylen)
{
	char resolve[HOOK_RESOLVE_MAX], sig[65], h_sig[96], h_id[64], h_ts[64],
	    cerr[CURL_ERROR_SIZE];
	struct curl_slist *headers = NULL, *rl = NULL, *n;
	const char *fixed[] = {"Content-Type: application/json",
			       "X-Lmnas-Event: job.status",
			       "Expect:",
			       h_sig,
			       h_id,
			       h_ts};
	CURL *e = NULL;
	CURLcode cc = CURLE_OK;
	long status = 0, timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 10000;
	size_t got = 0;

	why[0] = '\0';
	if (hook_url_resolve(c->policy, d->url, resolve, sizeof resolve, why,
			     whylen))
		return 0;
	if (hook_sign(d->secret, d->body, strlen(d->body), sig)) {
		core_errf(why, whylen, "signing failed");
		return 0;
	}
	snprintf(h_sig, sizeof h_sig, "X-Lmnas-Signature: sha256=%s", sig);
	snprintf(h_id, sizeof h_id, "X-Lmnas-Delivery: %lld", d->id);
	snprintf(h_ts, sizeof h_ts, "X-Lmnas-Timestamp: %lld",
		 (long long)time(NULL));
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		n = curl_slist_append(headers, fixed[i]);
		if (!n)
			goto nomem;
		headers = n;
	}
	rl = curl_slist_append(NULL, resolve);
	e = curl_easy_init();
	if (!rl || !e)
		goto nomem;
	cerr[0] = '\0';
#define SET(opt, val)                                                          \
	do {                                                                   \
		if (cc == CURLE_OK)                                            \
			cc = curl_easy_setopt(e, opt, val);                    \
	} while (0)
	SET(CURLOPT_URL, d->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L); /* a redirect could point inside */
	SET(CURLOPT_RESOLVE, rl);	 /* the address that was checked */
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_NOPROXY, "*"); /* the check is of the target itself */
	SET(CURLOPT_POSTFIELDS, d->body);
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(d->body));
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 3000 ? timeout_ms : 3000L);
	SET(CURLOPT_TIMEOUT_MS, timeout_ms);
	SET(CURLOPT_WRITEFUNCTION, discard);
	SET(CURLOPT_WRITEDATA, &got);
	SET(CURLOPT_ERRORBUFFER, cerr);
	SET(CURLOPT_USERAGENT, "lmnas-webhook/" LMNAS_VERSION);
#undef SET
	if (cc == CURLE_OK)
		cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && status))
		core_errf(why, whylen, "%s",
			  cerr[0] ? cerr : curl_easy_strerror(cc));
	else if (status < 200 || status > 299)
		core_errf(why, whylen, "HTTP %ld", status);
	curl_easy_cleanup(e);
	curl_slist_free_all(headers);
	curl_slist_free_all(rl);
	return status;
nomem:
	if (e)
		curl_easy_cleanup(e);
	curl_slist_free_all(headers);
	curl_slist_free_all(rl);
	core_errf(why, whylen, "out of memory");
	return 0;
}

static enum core_status record(struct store_pool *p,
			       const struct hook_deliverer_config *c,
			       const struct delivery *d, long status,
			       const char *why, char *err, size_t errlen)
{
	char id[32], st[16], delay[32], max[16], reason[256];
	double base = c->backoff_s > 0 ? c->backoff_s : 1.0, wait = base;
	int maxa = c->max_attempts > 0 ? c->max_attempts : 6;

	snprintf(id, sizeof id, "%lld", d->id);
	snprintf(st, sizeof st, "%ld", status);
	if (status >= 200 && status <= 299) {
		const char *params[3] = {id, c->owner, st};
		LOG_INFO("webhook delivery %lld delivered (HTTP %ld, attempt "
			 "%d)",
			 d->id, status, d->attempts);
		return store_exec_pooled(p, &stmt_done, params, NULL, err,
					 errlen);
	}
	for (int i = 1; i < d->attempts && wait < 86400; i++)
		wait *= 4;
	snprintf(delay, sizeof delay, "%.3f", wait);
	snprintf(max, sizeof max, "%d", maxa);
	core_utf8_copy(reason, sizeof reason, why);
	LOG_WARN("webhook delivery %lld attempt %d/%d: %s%s", d->id,
		 d->attempts, maxa, reason,
		 d->attempts >= maxa ? "; given up" : "");
	{
		const char *params[6] = {id, c->owner, st, delay, max, reason};
		return store_exec_pooled(p, &stmt_retry, params, NULL, err,
					 errlen);
	}
}

enum core_status hook_deliver_due(struct store_pool *p,
				  const struct hook_deliverer_config *c,
				  int max, int *sent, char *err, size_t errlen)
{
	enum core_status st = CORE_OK;

	*sent = 0;
	while (*sent < max) {
		struct delivery d;
		char why[CORE_ERR_LEN];
		long status;

		st = claim(p, c->owner, &d, err, errlen);
		if (st == CORE_ERR_NOT_FOUND)
			return CORE_OK;
		if (st)
			return st;
		status = post(c, &d, why, sizeof why);
		st = record(p, c, &d, status, why, err, errlen);
		delivery_free(&d);
		(*sent)++;
		if (st)
			return st; /* the lease expires: tried again later */
	}
	return st;
}

/* ---- the thread ---------------------------------------------------------- */

struct hook_deliverer {
	pthread_t thread;
	struct store_pool *pool;
	const struct hook_deliverer_config *cfg;
	volatile int stop;
};

static void *loop(void *arg)
{
	struct hook_deliverer *d = arg;
	double poll = d->cfg->poll_s > 0 ? d->cfg->poll_s : 0.5;
	struct timespec slice = {0, 50000000L};

	core_log_set_context("webhooks");
	while (!d->stop) {
		char err[CORE_ERR_LEN];
		int sent = 0;

		if (hook_deliver_due(d->pool, d->cfg, 20, &sent, err,
				     sizeof err))
			LOG_WARN("webhook deliveries: %s", err);
		if (sent)
			continue; /* more may be due */
		for (double t = 0; t < poll && !d->stop; t += 0.05)
			nanosleep(&slice, NULL);
	}
	return NULL;
}

enum core_status hook_deliverer_start(struct store_pool *p,
				      const struct hook_deliverer_config *c,
				      struct hook_deliverer **out, char *err,
				      size_t errlen)
{
	struct hook_deliverer *d;

	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		core_errf(err, errlen, "curl_global_init failed");
		return CORE_ERR_INTERNAL;
	}
	d = core_calloc(1, sizeof *d);
	if (!d) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	d->pool = p;
	d->cfg = c;
	if (pthread_create(&d->thread, NULL, loop, d) != 0) {
		core_free(d);
		core_errf(err, errlen, "cannot start the webhook thread");
		return CORE_ERR_INTERNAL;
	}
	*out = d;
	return CORE_OK;
}

void hook_deliverer_stop(struct hook_deliverer *d)
{
	if (!d)
		return;
	d->stop = 1;
	pthread_join(d->thread, NULL);
	core_free(d);
}
