/* SPDX-License-Identifier: Apache-2.0 */
/* hook.h - job webhooks: which URLs a job may name, the HMAC signature of
 * a delivery, and the deliverer that sends the queued deliveries.
 *
 * Layer: beside queue and auth (uses store only; libcurl and libcrypto
 * outside). Deliveries are queued by the database itself (migration 0007:
 * a trigger on jobs.status), so every status change from any process gets
 * one, in the transaction of the change; a deliverer thread in any lmnas
 * process (serve, worker) sends them:
 *
 *	struct hook_policy pol;
 *	hook_policy_parse("hooks.example.com", 0, &pol, err, sizeof err);
 *	hook_url_allowed(&pol, spec.webhook_url, why, sizeof why);  // submit
 *	hook_deliverer_start(pool, &cfg, &d, err, sizeof err);       // serve
 *	...
 *	hook_deliverer_stop(d);
 *
 * A delivery is POSTed with X-Lmnas-Signature: sha256=<hex HMAC-SHA256 of
 * the body keyed with the team's secret (its 64 hex characters as text)>,
 * X-Lmnas-Delivery (its id) and X-Lmnas-Timestamp (Unix seconds). A 2xx is
 * delivered; anything else is retried after backoff_s x 4^(attempt-1)
 * until max_attempts, then marked failed. Deliveries of one job go out in
 * order: a later one waits while an earlier one is pending. */
#ifndef LMNAS_HOOK_H
#define LMNAS_HOOK_H

#include "core/core.h"
#include "store/store.h"

#include <sys/socket.h>

#define HOOK_HOSTS_MAX	 32
#define HOOK_HOST_MAX	 256
#define HOOK_SECRET_HEX	 64
#define HOOK_RESOLVE_MAX (HOOK_HOST_MAX + 80)

/* The server's webhook policy (--webhook-allow, --webhook-allow-private). */
struct hook_policy {
	char hosts[HOOK_HOSTS_MAX][HOOK_HOST_MAX]; /* lower case; "*.x" */
	int nhosts;	   /* 0: every webhook refused */
	int allow_private; /* 1: loopback/private/link-local targets too */
};

/* Parses a comma-separated host list ("" or NULL: none). An entry is a
 * host name or IP literal, or "*.example.com" for its subdomains. err
 * names the bad entry. */
enum core_status hook_policy_parse(const char *list, int allow_private,
				   struct hook_policy *p, char *err,
				   size_t errlen);

/* Checks a webhook URL against the policy: http or https, a host in the
 * allowlist, no credentials. CORE_ERR_INVALID with the reason in why. No
 * DNS lookup. */
enum core_status hook_url_allowed(const struct hook_policy *p, const char *url,
				  char *why, size_t whylen);

/* 1 when the address is a public unicast one; 0 for loopback, private,
 * link-local, shared (100.64/10), unspecified, multicast, reserved, and
 * IPv4-mapped IPv6 forms of those. */
int hook_address_public(const struct sockaddr *sa);

/* hook_url_allowed, then resolves the host: every address must be public
 * unless the policy allows private ones. resolve receives the curl
 * CURLOPT_RESOLVE entry "host:port:address" that pins the connection to
 * the checked address (no second lookup an attacker's DNS could answer
 * differently). */
enum core_status hook_url_resolve(const struct hook_policy *p, const char *url,
				  char *resolve, size_t resolvelen, char *why,
				  size_t whylen);

/* The hex HMAC-SHA256 of body keyed with secret (its bytes as text). */
enum core_status hook_sign(const char *secret, const char *body, size_t len,
			   char hex[65]);

/* Sets a new random secret for team (32 bytes from the OS, as 64 hex
 * characters) and returns it in hex. CORE_ERR_NOT_FOUND for no such team. */
enum core_status hook_team_secret_rotate(struct store_pool *p, const char *team,
					 char hex[65], char *err,
					 size_t errlen);

struct hook_deliverer_config {
	const struct hook_policy *policy;
	const char *owner; /* lease owner name (host:pid) */
	double poll_s;	   /* idle wait between looks (default 0.5) */
	double backoff_s;  /* first retry delay (default 1; then x4) */
	int max_attempts;  /* default 6 */
	long timeout_ms;   /* a whole POST (default 10000) */
};

/* Sends up to max due deliveries now; *sent counts those tried. Used by
 * the thread; a failure to send is recorded on the delivery, not
 * returned (only database errors are). */
enum core_status hook_deliver_due(struct store_pool *p,
				  const struct hook_deliverer_config *c,
				  int max, int *sent, char *err, size_t errlen);

struct hook_deliverer; /* opaque: the thread */

/* Starts a thread that calls hook_deliver_due until stopped. c (and its
 * policy and owner) must outlive it. */
enum core_status hook_deliverer_start(struct store_pool *p,
				      const struct hook_deliverer_config *c,
				      struct hook_deliverer **out, char *err,
				      size_t errlen);
/* Stops and joins the thread (a POST under way ends within its timeout);
 * safe on NULL. */
void hook_deliverer_stop(struct hook_deliverer *d);

#endif
