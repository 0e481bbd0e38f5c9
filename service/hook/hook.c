/* SPDX-License-Identifier: Apache-2.0 */
/* hook.c - the webhook policy (allowlisted hosts, public addresses only),
 * the HMAC signature, and the team secret. */
#include "hook.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static const struct store_stmt stmt_secret_set = {
    "hook_secret_set",
    "UPDATE teams SET webhook_secret = $2 WHERE name = $1 RETURNING id", 2};

/* ---- policy -------------------------------------------------------------- */

static int host_char_ok(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == ':' ||
	       c == '[' || c == ']' || c == '*' || c == '_';
}

enum core_status hook_policy_parse(const char *list, int allow_private,
				   struct hook_policy *p, char *err,
				   size_t errlen)
{
	const char *s = list ? list : "";

	memset(p, 0, sizeof *p);
	p->allow_private = allow_private ? 1 : 0;
	while (*s) {
		size_t n = strcspn(s, ",");
		size_t a = 0, b = n;

		while (a < b && isspace((unsigned char)s[a]))
			a++;
		while (b > a && isspace((unsigned char)s[b - 1]))
			b--;
		if (b > a) {
			char *h;
			if (p->nhosts == HOOK_HOSTS_MAX) {
				core_errf(err, errlen,
					  "--webhook-allow: more than %d hosts",
					  HOOK_HOSTS_MAX);
				return CORE_ERR_INVALID;
			}
			if (b - a >= HOOK_HOST_MAX) {
				core_errf(err, errlen,
					  "--webhook-allow: a host of %zu "
					  "characters (at most %d)",
					  b - a, HOOK_HOST_MAX - 1);
				return CORE_ERR_INVALID;
			}
			h = p->hosts[p->nhosts];
			for (size_t i = a; i < b; i++) {
				if (!host_char_ok(s[i]) ||
				    (s[i] == '*' && (i != a || b - a < 3 ||
						     s[a + 1] != '.'))) {
					core_errf(err, errlen,
						  "--webhook-allow: '%.*s' is "
						  "not a host name, IP "
						  "address or *.domain",
						  (int)(b - a), s + a);
					return CORE_ERR_INVALID;
				}
				h[i - a] = (char)tolower((unsigned char)s[i]);
			}
			h[b - a] = '\0';
			p->nhosts++;
		}
		s += n;
		if (*s == ',')
			s++;
	}
	return CORE_OK;
}

/* host (lower case, brackets of an IPv6 literal removed) against the
 * entries: exact, or a subdomain of a "*.domain" entry. */
static int host_listed(const struct hook_policy *p, const char *host)
{
	size_t hn = strlen(host);

	for (int i = 0; i < p->nhosts; i++) {
		const char *e = p->hosts[i];
		size_t en;
		char bare[HOOK_HOST_MAX];

		if (e[0] == '*') {
			en = strlen(e + 1); /* ".domain" */
			if (hn > en && strcmp(host + hn - en, e + 1) == 0)
				return 1;
			continue;
		}
		en = strlen(e);
		if (e[0] == '[' && en > 2 && e[en - 1] == ']') {
			snprintf(bare, sizeof bare, "%.*s", (int)(en - 2),
				 e + 1);
			e = bare;
		}
		if (strcmp(host, e) == 0)
			return 1;
	}
	return 0;
}

/* Splits url into scheme, host (lower case, no brackets) and port. */
static enum core_status url_split(const char *url, char *host, size_t hostlen,
				  long *port, char *why, size_t whylen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *h = NULL, *ps = NULL, *user = NULL;
	enum core_status st = CORE_ERR_INVALID;
	size_t n;

	if (!u) {
		core_errf(why, whylen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &ps, CURLU_DEFAULT_PORT) !=
		CURLUE_OK) {
		core_errf(why, whylen, "is not a valid URL");
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		core_errf(why, whylen, "must be http:// or https://");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		core_errf(why, whylen, "must not carry credentials");
		goto out;
	}
	n = strlen(h);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h[n - 1] = '\0';
		memmove(h, h + 1, n - 1);
		n -= 2;
	}
	if (n == 0 || n >= hostlen) {
		core_errf(why, whylen, "has no host or a host too long");
		goto out;
	}
	for (size_t i = 0; i <= n; i++)
		host[i] = (char)tolower((unsigned char)h[i]);
	*port = strtol(ps, NULL, 10);
	st = CORE_OK;
out:
	curl_free(scheme);
	curl_free(h);
	curl_free(ps);
	curl_free(user);
	curl_url_cleanup(u);
	return st;
}

enum core_status hook_url_allowed(const struct hook_policy *p, const char *url,
				  char *why, size_t whylen)
{
	char host[HOOK_HOST_MAX];
	long port;
	enum core_status st;

	if (p->nhosts == 0) {
		core_errf(why, whylen,
			  "webhooks are not enabled on this server (its "
			  "--webhook-allow is empty)");
		return CORE_ERR_INVALID;
	}
	st = url_split(url, host, sizeof host, &port, why, whylen);
	if (st)
		return st;
	if (!host_listed(p, host)) {
		core_errf(why, whylen,
			  "host '%s' is not in the server's webhook allowlist "
			  "(--webhook-allow)",
			  host);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

static int v4_public(uint32_t a)
{
	uint8_t b0 = (uint8_t)(a >> 24), b1 = (uint8_t)(a >> 16);

	if (b0 == 0 || b0 == 10 || b0 == 127 || b0 >= 224) /* 224/4, 240/4 */
		return 0;
	if (b0 == 100 && (b1 & 0xc0) == 64) /* 100.64/10 shared */
		return 0;
	if (b0 == 169 && b1 == 254) /* link-local, cloud metadata */
		return 0;
	if (b0 == 172 && (b1 & 0xf0) == 16)
		return 0;
	if (b0 == 192 && b1 == 168)
		return 0;
	if (b0 == 192 && b1 == 0 && (uint8_t)(a >> 8) == 0) /* 192.0.0/24 */
		return 0;
	if (b0 == 198 && (b1 & 0xfe) == 18) /* 198.18/15 benchmarking */
		return 0;
	return 1;
}

int hook_address_public(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		return v4_public(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		const uint8_t *b = in6->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
						   0, 0, 0, 0, 0xff, 0xff};
		static const uint8_t zero[12] = {0};

		if (memcmp(b, mapped, 12) == 0 || memcmp(b, zero, 12) == 0) {
			/* ::ffff:a.b.c.d, and ::a.b.c.d (with :: and ::1) */
			uint32_t a = ((uint32_t)b[12] << 24) |
				     ((uint32_t)b[13] << 16) |
				     ((uint32_t)b[14] << 8) | b[15];
			return v4_public(a);
		}
		if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 unique local */
			return 0;
		if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 */
			return 0;
		if (b[0] == 0xff) /* multicast */
			return 0;
		return 1;
	}
	return 0;
}

enum core_status hook_url_resolve(const struct hook_policy *p, const char *url,
				  char *resolve, size_t resolvelen, char *why,
				  size_t whylen)
{
	char host[HOOK_HOST_MAX], port_s[16], addr[INET6_ADDRSTRLEN];
	struct addrinfo hints, *res = NULL;
	long port = 0;
	enum core_status st;
	int rc;

	st = hook_url_allowed(p, url, why, whylen);
	if (st)
		return st;
	st = url_split(url, host, sizeof host, &port, why, whylen);
	if (st)
		return st;
	snprintf(port_s, sizeof port_s, "%ld", port);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port_s, &hints, &res);
	if (rc != 0 || !res) {
		core_errf(why, whylen, "cannot resolve '%s': %s", host,
			  gai_strerror(rc));
		return CORE_ERR_UNAVAILABLE;
	}
	/* every address must pass, not just the first: curl could use any */
	for (struct addrinfo *a = res; a; a = a->ai_next)
		if (!p->allow_private && !hook_address_public(a->ai_addr)) {
			void *raw =
			    a->ai_family == AF_INET
				? (void *)&(
				      (struct sockaddr_in *)(void *)a->ai_addr)
				      ->sin_addr
				: (void *)&(
				      (struct sockaddr_in6 *)(void *)a->ai_addr)
				      ->sin6_addr;
			inet_ntop(a->ai_family, raw, addr, sizeof addr);
			core_errf(why, whylen,
				  "'%s' resolves to %s, a loopback, private or "
				  "reserved address (--webhook-allow-private "
				  "is off)",
				  host, addr);
			freeaddrinfo(res);
			return CORE_ERR_INVALID;
		}
	{
		struct addrinfo *a = res;
		void *raw =
		    a->ai_family == AF_INET
			? (void *)&((struct sockaddr_in *)(void *)a->ai_addr)
			      ->sin_addr
			: (void *)&((struct sockaddr_in6 *)(void *)a->ai_addr)
			      ->sin6_addr;
		inet_ntop(a->ai_family, raw, addr, sizeof addr);
		/* curl wants an IPv6 host name and address in brackets */
		rc = snprintf(resolve, resolvelen, "%s%s%s:%ld:%s%s%s",
			      strchr(host, ':') ? "[" : "", host,
			      strchr(host, ':') ? "]" : "", port,
			      a->ai_family == AF_INET6 ? "[" : "", addr,
			      a->ai_family == AF_INET6 ? "]" : "");
	}
	freeaddrinfo(res);
	if (rc < 0 || (size_t)rc >= resolvelen) {
		core_errf(why, whylen, "host name too long");
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

/* ---- signature and secret ------------------------------------------------ */

enum core_status hook_sign(const char *secret, const char *body, size_t len,
			   char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	hex[0] = '\0';
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret),
		  (const unsigned char *)body, len, md, &mdlen) ||
	    mdlen != 32)
		return CORE_ERR_INTERNAL;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	explicit_bzero(md, sizeof md);
	return CORE_OK;
}

enum core_status hook_team_secret_rotate(struct store_pool *p, const char *team,
					 char hex[65], char *err, size_t errlen)
{
	unsigned char raw[HOOK_SECRET_HEX / 2];
	const char *params[2];
	PGresult *r = NULL;
	enum core_status st;

	hex[0] = '\0';
	if (RAND_bytes(raw, (int)sizeof raw) != 1) {
		core_errf(err, errlen, "no random bytes from the OS");
		return CORE_ERR_INTERNAL;
	}
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof raw);
	params[0] = team;
	params[1] = hex;
	st = store_exec_pooled(p, &stmt_secret_set, params, &r, err, errlen);
	if (!st && PQntuples(r) != 1) {
		core_errf(err, errlen, "no team named '%s'", team);
		st = CORE_ERR_NOT_FOUND;
	}
	PQclear(r);
	if (st)
		explicit_bzero(hex, 65);
	return st;
}
