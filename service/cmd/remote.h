/* SPDX-License-Identifier: Apache-2.0 */
/* remote.h - the HTTP client behind `lmnas remote` (private to cmd): one
 * libcurl handle, bearer token, timeouts, capped and validated replies.
 *
 * The token is kept in this struct only: it goes into one header per
 * request (wiped afterwards) and never into a message. */
#ifndef LMNAS_CMD_REMOTE_H
#define LMNAS_CMD_REMOTE_H

#include "core/core.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>

#define REMOTE_URL_MAX	 1024
#define REMOTE_TOKEN_MAX 512
/* a JSON reply larger than this is refused (jobs, events and model lists
 * are a few KiB) */
#define REMOTE_JSON_MAX (8L * 1024 * 1024)

struct remote {
	char base[REMOTE_URL_MAX]; /* no trailing '/' */
	char token[REMOTE_TOKEN_MAX];
	long connect_timeout_ms;
	long timeout_ms; /* a whole JSON request */
	CURL *easy;
};

/* How a call ended, before looking at the HTTP status. */
enum remote_end {
	REMOTE_END_OK = 0,   /* a response came back (any status) */
	REMOTE_END_NETWORK,  /* unreachable, refused, timed out, cut off */
	REMOTE_END_BAD_REPLY /* too large, not JSON where JSON is due */
};

struct remote_reply {
	long status;
	json_t *json; /* the parsed body (NULL on a 204); caller decrefs */
};

/* Validates url (http:// or https://, no credentials) and token (printable
 * ASCII; may be empty: no Authorization header) and opens the handle. */
enum core_status remote_open(struct remote *r, const char *url,
			     const char *token, char *err, size_t errlen);
/* Wipes the token and frees the handle; safe twice. */
void remote_close(struct remote *r);

/* Sends method path (starting with "/") with an optional JSON body (NULL:
 * none) and parses the JSON reply into out. On REMOTE_END_NETWORK or
 * REMOTE_END_BAD_REPLY err says why (never with the token). */
enum remote_end remote_call(struct remote *r, const char *method,
			    const char *path, const char *body,
			    struct remote_reply *out, char *err, size_t errlen);

/* Streams GET path into f, at most max_bytes, computing the SHA-256 of
 * what was written (hex, 65 bytes) and the byte count. *status receives
 * the HTTP status; on a status other than 200 the body is not written and
 * *problem (if not NULL) receives the parsed problem, if any. */
enum remote_end remote_download(struct remote *r, const char *path, FILE *f,
				long long max_bytes, long *status,
				long long *bytes, char sha256_hex[65],
				json_t **problem, char *err, size_t errlen);

/* Prints a problem body to stderr as "what: STATUS code: detail" and one
 * line per field error ("  field: reason"). Text from the server is
 * sanitised (no control characters reach the terminal). */
void remote_problem_print(const char *what, long status, json_t *problem);

/* Copies s into out with control characters replaced by '?' (for text
 * from the server printed on a terminal). */
void remote_text_clean(char *out, size_t outlen, const char *s);

#endif
