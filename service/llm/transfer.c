/* SPDX-License-Identifier: Apache-2.0 */
/* transfer.c - one HTTP POST through libcurl for the llm client: timeouts,
 * a capped reply body, prompt cancellation, and the classification of what
 * went wrong. Owns the curl easy and multi handles of a client. */
#include "llm_impl.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init_once(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

enum core_status llm_global_init(char *err, size_t errlen)
{
	pthread_once(&global_once, global_init_once);
	if (global_rc != CURLE_OK) {
		core_errf(err, errlen, "curl_global_init failed: %s",
			  curl_easy_strerror(global_rc));
		return CORE_ERR_INTERNAL;
	}
	return CORE_OK;
}

enum core_status llm_http_open(struct llm_http *h, char *err, size_t errlen)
{
	enum core_status rc;

	memset(h, 0, sizeof *h);
	rc = llm_global_init(err, errlen);
	if (rc)
		return rc;
	h->multi = curl_multi_init();
	h->easy = curl_easy_init();
	if (!h->multi || !h->easy) {
		llm_http_close(h);
		core_errf(err, errlen, "out of memory creating curl handles");
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

void llm_http_close(struct llm_http *h)
{
	if (h->easy)
		curl_easy_cleanup(h->easy);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	h->easy = NULL;
	h->multi = NULL;
}

struct xfer {
	struct core_buf *reply;
	volatile int *cancel;
	int too_large;
	int nomem;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb; /* curl guarantees no overflow here */

	/* The cap is checked on what arrives, never on Content-Length. */
	if (n > x->reply->max - x->reply->len) {
		x->too_large = 1;
		return 0;
	}
	if (core_buf_append(x->reply, data, n)) {
		x->nomem = 1;
		return 0;
	}
	return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = ud;

	return x->cancel && *x->cancel; /* non-zero aborts the transfer */
}

/* Frees a header list after wiping its strings: one of them may carry the
 * API key. */
static void headers_free(struct curl_slist *l)
{
	for (struct curl_slist *i = l; i; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

static enum core_status headers_build(const char *bearer,
				      struct curl_slist **out)
{
	static const char *fixed[] = {
	    "Content-Type: application/json", "Accept: application/json",
	    "Expect:" /* no 100-continue round trip */
	};
	struct curl_slist *l = NULL, *n;
	char auth[1024];
	int len;

	*out = NULL;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		n = curl_slist_append(l, fixed[i]);
		if (!n)
			goto nomem;
		l = n;
	}
	if (bearer) {
		len = snprintf(auth, sizeof auth, "Authorization: Bearer %s",
			       bearer);
		if (len < 0 || (size_t)len >= sizeof auth) {
			explicit_bzero(auth, sizeof auth);
			headers_free(l);
			return CORE_ERR_INVALID;
		}
		n = curl_slist_append(l, auth);
		explicit_bzero(auth, sizeof auth);
		if (!n)
			goto nomem;
		l = n;
	}
	*out = l;
	return CORE_OK;
nomem:
	headers_free(l);
	return CORE_ERR_NOMEM;
}

/* Whether the request went out on a live connection (so a timeout is the
 * server being slow, not unreachable). */
static int request_was_sent(CURL *e)
{
	long sent = 0;

	if (curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &sent) != CURLE_OK)
		return 0;
	return sent > 0;
}

static void classify(CURL *e, CURLcode code, const char *curl_err,
		     struct llm_http_result *res)
{
	const char *why = curl_err[0] ? curl_err : curl_easy_strerror(code);

	snprintf(res->detail, sizeof res->detail, "%s", why);
	switch (code) {
	case CURLE_OPERATION_TIMEDOUT:
		res->end =
		    request_was_sent(e) ? LLM_HTTP_TIMEOUT : LLM_HTTP_CONNECT;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT: res->end = LLM_HTTP_CONNECT; break;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM: res->end = LLM_HTTP_LOST; break;
	case CURLE_OUT_OF_MEMORY: res->end = LLM_HTTP_NOMEM; break;
	default: /* TLS verification, bad URL, unsupported protocol ... */
		res->end = LLM_HTTP_FATAL;
		break;
	}
}

static enum core_status setup(CURL *e, const struct llm_http_post *p,
			      struct curl_slist *headers, struct xfer *x,
			      char *curl_err)
{
	CURLcode c = CURLE_OK;

	curl_easy_reset(e);
#define SET(opt, val)                                                          \
	do {                                                                   \
		if (c == CURLE_OK)                                             \
			c = curl_easy_setopt(e, opt, val);                     \
	} while (0)
	SET(CURLOPT_URL, p->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	if (p->body) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDS, p->body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->body_len);
	} else {
		SET(CURLOPT_HTTPGET, 1L); /* a probe of the server (GET) */
	}
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, p->timeout_ms);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_XFERINFODATA, x);
	SET(CURLOPT_ERRORBUFFER, curl_err);
	SET(CURLOPT_ACCEPT_ENCODING, ""); /* the cap applies after decoding */
	SET(CURLOPT_USERAGENT, "lmnas/" LMNAS_VERSION);
#undef SET
	if (c == CURLE_OUT_OF_MEMORY)
		return CORE_ERR_NOMEM;
	return c == CURLE_OK ? CORE_OK : CORE_ERR_INTERNAL;
}

enum core_status llm_http_post(struct llm_http *h,
			       const struct llm_http_post *p,
			       struct core_buf *reply,
			       struct llm_http_result *res, char *err,
			       size_t errlen)
{
	struct curl_slist *headers = NULL;
	struct xfer x = {reply, p->cancel, 0, 0};
	char curl_err[CURL_ERROR_SIZE];
	CURLcode code = CURLE_OK;
	CURLMcode mc;
	CURLMsg *msg;
	int running = 1, left, cancelled = 0, added = 0;
	curl_off_t retry_after = 0;
	enum core_status rc;

	memset(res, 0, sizeof *res);
	res->retry_after_ms = -1;
	curl_err[0] = '\0';
	core_buf_free(reply);
	rc = headers_build(p->bearer, &headers);
	if (rc == CORE_ERR_INVALID) {
		core_errf(err, errlen, "the API key is too long");
		return rc;
	}
	if (rc)
		goto nomem;
	rc = setup(h->easy, p, headers, &x, curl_err);
	if (rc == CORE_ERR_NOMEM)
		goto nomem;
	if (rc) {
		core_errf(err, errlen, "libcurl refused an option: %s",
			  curl_err[0] ? curl_err : "unknown");
		goto out;
	}
	mc = curl_multi_add_handle(h->multi, h->easy);
	if (mc != CURLM_OK) {
		core_errf(err, errlen, "curl_multi_add_handle: %s",
			  curl_multi_strerror(mc));
		rc = mc == CURLM_OUT_OF_MEMORY ? CORE_ERR_NOMEM
					       : CORE_ERR_INTERNAL;
		goto out;
	}
	added = 1;
	/* Drive the transfer in slices: curl_easy_perform would call the
	 * progress callback only about once a second while a server hangs. */
	while (running) {
		mc = curl_multi_perform(h->multi, &running);
		if (mc != CURLM_OK)
			break;
		if (!running)
			break;
		if (p->cancel && *p->cancel) {
			cancelled = 1;
			break;
		}
		mc =
		    curl_multi_poll(h->multi, NULL, 0, LLM_HTTP_SLICE_MS, NULL);
		if (mc != CURLM_OK)
			break;
	}
	if (mc != CURLM_OK) {
		core_errf(err, errlen, "libcurl multi error: %s",
			  curl_multi_strerror(mc));
		rc = mc == CURLM_OUT_OF_MEMORY ? CORE_ERR_NOMEM
					       : CORE_ERR_INTERNAL;
		goto out;
	}
	if (!cancelled) {
		msg = curl_multi_info_read(h->multi, &left);
		while (msg && msg->msg != CURLMSG_DONE)
			msg = curl_multi_info_read(h->multi, &left);
		code = msg ? msg->data.result : CURLE_FAILED_INIT;
	}
	if (cancelled || code == CURLE_ABORTED_BY_CALLBACK) {
		res->end = LLM_HTTP_CANCELLED;
		snprintf(res->detail, sizeof res->detail, "cancelled");
	} else if (x.too_large) {
		res->end = LLM_HTTP_TOO_LARGE;
		snprintf(res->detail, sizeof res->detail,
			 "the reply body is longer than %zu bytes", reply->max);
	} else if (x.nomem) {
		res->end = LLM_HTTP_NOMEM;
		snprintf(res->detail, sizeof res->detail,
			 "out of memory reading the reply");
	} else if (code != CURLE_OK) {
		classify(h->easy, code, curl_err, res);
	} else {
		res->end = LLM_HTTP_DONE;
		curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE,
				  &res->status);
		/* curl parses both forms (seconds, HTTP date); 0 = none. */
		if (curl_easy_getinfo(h->easy, CURLINFO_RETRY_AFTER,
				      &retry_after) == CURLE_OK &&
		    retry_after > 0)
			res->retry_after_ms = retry_after > 86400
						  ? 86400000L
						  : (long)retry_after * 1000;
	}
	if (res->end != LLM_HTTP_DONE)
		core_buf_free(reply); /* a partial body is not a reply */
	rc = CORE_OK;
	goto out;
nomem:
	core_errf(err, errlen, "out of memory preparing the request");
	rc = CORE_ERR_NOMEM;
out:
	if (added)
		curl_multi_remove_handle(h->multi, h->easy);
	/* The header list is referenced by the handle until the next setup;
	 * drop the reference before freeing it. */
	curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, NULL);
	headers_free(headers);
	return rc;
}
