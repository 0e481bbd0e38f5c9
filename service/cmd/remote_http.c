/* SPDX-License-Identifier: Apache-2.0 */
/* remote_http.c - the libcurl client of `lmnas remote`: JSON calls with a
 * capped reply, streamed downloads with their SHA-256, timeouts, no
 * redirects, and the token only ever in one request header. */
#include "remote.h"

#include <openssl/evp.h>
#include <string.h>

enum core_status remote_open(struct remote *r, const char *url,
			     const char *token, char *err, size_t errlen)
{
	size_t n = url ? strlen(url) : 0;

	memset(r, 0, sizeof *r);
	/* user:password@ would end up in messages; a token is the way in
	 * (checked first: no message below may show such a URL) */
	if (url && strchr(url, '@')) {
		core_errf(err, errlen,
			  "LMNAS_URL (--url): credentials in the URL are not "
			  "accepted; set LMNAS_TOKEN");
		return CORE_ERR_INVALID;
	}
	if (n == 0 || n >= sizeof r->base ||
	    (strncmp(url, "http://", 7) != 0 &&
	     strncmp(url, "https://", 8) != 0)) {
		core_errf(err, errlen,
			  "LMNAS_URL (--url): '%.200s' is not an http:// or "
			  "https:// URL",
			  url ? url : "");
		return CORE_ERR_INVALID;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f) {
			core_errf(err, errlen,
				  "LMNAS_URL (--url): contains a space or "
				  "control character");
			return CORE_ERR_INVALID;
		}
	memcpy(r->base, url, n + 1);
	while (n > 0 && r->base[n - 1] == '/')
		r->base[--n] = '\0';
	n = token ? strlen(token) : 0;
	if (n >= sizeof r->token) {
		core_errf(err, errlen,
			  "LMNAS_TOKEN: longer than %zu characters",
			  sizeof r->token - 1);
		return CORE_ERR_INVALID;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)token[i] <= 0x20 ||
		    (unsigned char)token[i] >= 0x7f) {
			core_errf(err, errlen,
				  "LMNAS_TOKEN: contains a space or control "
				  "character (the value is not shown)");
			return CORE_ERR_INVALID;
		}
	if (n)
		memcpy(r->token, token, n + 1);
	r->connect_timeout_ms = 5000;
	r->timeout_ms = 30000;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		core_errf(err, errlen, "curl_global_init failed");
		return CORE_ERR_INTERNAL;
	}
	r->easy = curl_easy_init();
	if (!r->easy) {
		core_errf(err, errlen, "out of memory creating a curl handle");
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

void remote_close(struct remote *r)
{
	explicit_bzero(r->token, sizeof r->token);
	if (r->easy)
		curl_easy_cleanup(r->easy);
	r->easy = NULL;
}

void remote_text_clean(char *out, size_t outlen, const char *s)
{
	size_t i = 0;

	if (!outlen)
		return;
	for (; s && *s && i + 1 < outlen; s++)
		out[i++] =
		    ((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f ? '?'
									   : *s;
	out[i] = '\0';
}

/* ---- one transfer -------------------------------------------------------- */

struct sink {
	struct core_buf *buf; /* JSON replies */
	FILE *f;	      /* downloads (once the status is 200) */
	EVP_MD_CTX *md;
	long long bytes, max;
	long status; /* learnt from the first body byte's response */
	CURL *easy;
	int too_large, io_error;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb; /* curl guarantees no overflow */

	if (s->f && !s->status)
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
	/* a download's error reply (a problem body) goes to the buffer */
	if (s->f && s->status == 200) {
		/* the cap is on what arrives, never on Content-Length */
		if ((long long)n > s->max - s->bytes) {
			s->too_large = 1;
			return 0;
		}
		if (fwrite(data, 1, n, s->f) != n ||
		    EVP_DigestUpdate(s->md, data, n) != 1) {
			s->io_error = 1;
			return 0;
		}
		s->bytes += (long long)n;
		return n;
	}
	if (n > s->buf->max - s->buf->len) {
		s->too_large = 1;
		return 0;
	}
	if (core_buf_append(s->buf, data, n)) {
		s->too_large = 1;
		return 0;
	}
	return n;
}

static void headers_free(struct curl_slist *l)
{
	for (struct curl_slist *i = l; i; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

static struct curl_slist *headers_build(const struct remote *r, int json_body,
					int download)
{
	char auth[REMOTE_TOKEN_MAX + 32];
	struct curl_slist *l = NULL, *n;

	/* a download's errors are problem+json like every other reply */
	n = curl_slist_append(l, download ? "Accept: */*"
					  : "Accept: application/json");
	if (!n)
		return NULL;
	l = n;
	n = curl_slist_append(l, "Expect:");
	if (!n)
		goto nomem;
	l = n;
	if (json_body) {
		n = curl_slist_append(l, "Content-Type: application/json");
		if (!n)
			goto nomem;
		l = n;
	}
	if (r->token[0]) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s",
			 r->token);
		n = curl_slist_append(l, auth);
		explicit_bzero(auth, sizeof auth);
		if (!n)
			goto nomem;
		l = n;
	}
	return l;
nomem:
	headers_free(l);
	return NULL;
}

static enum remote_end perform(struct remote *r, const char *method,
			       const char *path, const char *body,
			       struct sink *s, long timeout_ms, char *err,
			       size_t errlen)
{
	char url[REMOTE_URL_MAX + 2048], cerr[CURL_ERROR_SIZE];
	struct curl_slist *h = NULL;
	CURLcode c = CURLE_OK;
	enum remote_end end = REMOTE_END_OK;

	if (snprintf(url, sizeof url, "%s%s", r->base, path) >=
	    (int)sizeof url) {
		core_errf(err, errlen, "request path too long");
		return REMOTE_END_BAD_REPLY;
	}
	h = headers_build(r, body != NULL, s->f != NULL);
	if (!h) {
		core_errf(err, errlen, "out of memory");
		return REMOTE_END_BAD_REPLY;
	}
	cerr[0] = '\0';
	s->easy = r->easy;
	curl_easy_reset(r->easy);
#define SET(opt, val)                                                          \
	do {                                                                   \
		if (c == CURLE_OK)                                             \
			c = curl_easy_setopt(r->easy, opt, val);               \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L); /* the token stays with the server */
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		SET(CURLOPT_POSTFIELDS, body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	} else if (strcmp(method, "POST") == 0) {
		SET(CURLOPT_POSTFIELDS, "");
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	SET(CURLOPT_HTTPHEADER, h);
	SET(CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms);
	if (timeout_ms > 0)
		SET(CURLOPT_TIMEOUT_MS, timeout_ms);
	/* a download has no whole-transfer deadline; a stall ends it */
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, 30L);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, s);
	SET(CURLOPT_ERRORBUFFER, cerr);
	SET(CURLOPT_USERAGENT, "lmnas-remote/" LMNAS_VERSION);
#undef SET
	if (c == CURLE_OK)
		c = curl_easy_perform(r->easy);
	/* the header list holds the token: wiped before anything else */
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, NULL);
	headers_free(h);
	if (s->too_large) {
		core_errf(err, errlen,
			  "%s %s: the reply is larger than the %lld-byte "
			  "limit",
			  method, path, s->f ? s->max : (long long)s->buf->max);
		end = REMOTE_END_BAD_REPLY;
	} else if (s->io_error) {
		core_errf(err, errlen, "%s %s: writing the file failed", method,
			  path);
		end = REMOTE_END_BAD_REPLY;
	} else if (c != CURLE_OK) {
		core_errf(err, errlen, "%s %s%s: %s", method, r->base, path,
			  cerr[0] ? cerr : curl_easy_strerror(c));
		end = REMOTE_END_NETWORK;
	}
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &s->status);
	return end;
}

/* Parses a reply body as JSON (an object, as every answer of the API is). */
static enum remote_end reply_parse(const char *method, const char *path,
				   long status, const struct core_buf *b,
				   json_t **out, char *err, size_t errlen)
{
	json_error_t je;
	char snippet[81];

	*out = NULL;
	if (b->len == 0 && (status == 204 || status == 202))
		return REMOTE_END_OK;
	if (b->len && core_utf8_valid(b->data, b->len))
		*out = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &je);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		remote_text_clean(snippet, sizeof snippet,
				  b->len && b->data ? b->data : "");
		core_errf(err, errlen,
			  "%s %s: HTTP %ld with a reply that is not a JSON "
			  "object (is LMNAS_URL an lmnas server?): '%s'",
			  method, path, status, snippet);
		return REMOTE_END_BAD_REPLY;
	}
	return REMOTE_END_OK;
}

enum remote_end remote_call(struct remote *r, const char *method,
			    const char *path, const char *body,
			    struct remote_reply *out, char *err, size_t errlen)
{
	struct core_buf b;
	struct sink s;
	enum remote_end end;

	memset(out, 0, sizeof *out);
	memset(&s, 0, sizeof s);
	core_buf_init(&b, REMOTE_JSON_MAX);
	s.buf = &b;
	end = perform(r, method, path, body, &s, r->timeout_ms, err, errlen);
	out->status = s.status;
	if (!end)
		end = reply_parse(method, path, s.status, &b, &out->json, err,
				  errlen);
	core_buf_free(&b);
	return end;
}

enum remote_end remote_download(struct remote *r, const char *path, FILE *f,
				long long max_bytes, long *status,
				long long *bytes, char sha256_hex[65],
				json_t **problem, char *err, size_t errlen)
{
	struct core_buf b;
	struct sink s;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	enum remote_end end;

	memset(&s, 0, sizeof s);
	*bytes = 0;
	*status = 0;
	sha256_hex[0] = '\0';
	if (problem)
		*problem = NULL;
	core_buf_init(&b, 65536);
	s.buf = &b;
	s.f = f;
	s.max = max_bytes;
	s.md = EVP_MD_CTX_new();
	if (!s.md || EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(s.md);
		core_errf(err, errlen, "out of memory");
		return REMOTE_END_BAD_REPLY;
	}
	end = perform(r, "GET", path, NULL, &s, 0, err, errlen);
	*status = s.status;
	*bytes = s.bytes;
	if (!end && s.status == 200) {
		if (EVP_DigestFinal_ex(s.md, md, &mdlen) != 1 || mdlen != 32) {
			core_errf(err, errlen, "SHA-256 failed");
			end = REMOTE_END_BAD_REPLY;
		} else {
			for (unsigned i = 0; i < mdlen; i++)
				snprintf(sha256_hex + 2 * i, 3, "%02x", md[i]);
		}
	} else if (!end && problem) {
		json_error_t je;
		if (b.len && core_utf8_valid(b.data, b.len))
			*problem = json_loadb(b.data, b.len, 0, &je);
	}
	EVP_MD_CTX_free(s.md);
	core_buf_free(&b);
	return end;
}

void remote_problem_print(const char *what, long status, json_t *p)
{
	const char *code = json_string_value(json_object_get(p, "code"));
	const char *detail = json_string_value(json_object_get(p, "detail"));
	const char *title = json_string_value(json_object_get(p, "title"));
	char c[128], d[512];
	json_t *e;
	size_t i;

	remote_text_clean(c, sizeof c, code ? code : "");
	remote_text_clean(d, sizeof d, detail ? detail : title ? title : "");
	fprintf(stderr, "%s: HTTP %ld%s%s%s%s\n", what, status, c[0] ? " " : "",
		c, d[0] ? ": " : "", d);
	json_array_foreach(json_object_get(p, "errors"), i, e)
	{
		const char *fl = json_string_value(json_object_get(e, "field"));
		const char *re =
		    json_string_value(json_object_get(e, "reason"));
		remote_text_clean(c, sizeof c, fl ? fl : "?");
		remote_text_clean(d, sizeof d, re ? re : "");
		fprintf(stderr, "  %s: %s\n", c, d);
		if (i >= 50)
			break;
	}
}
