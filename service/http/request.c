/* SPDX-License-Identifier: Apache-2.0 */
/* request.c - what handlers read from a request: path parameters, query
 * arguments, headers, and the request id rules. */
#include "http.h"

#include <microhttpd.h>
#include <string.h>

const char *http_request_param(const struct http_request *req, const char *name)
{
	const struct http_match *m = req->match;

	for (int i = 0; m && i < m->nparams; i++)
		if (strcmp(m->names[i], name) == 0)
			return m->values[i];
	return NULL;
}

const char *http_request_query(const struct http_request *req, const char *key)
{
	if (!req->conn)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
					   key);
}

const char *http_request_header(const struct http_request *req,
				const char *name)
{
	if (!req->conn)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

int http_request_id_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= HTTP_REQUEST_ID_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return n > 0;
}

void http_request_id_choose(const char *client_id,
			    char out[HTTP_REQUEST_ID_MAX + 1])
{
	if (http_request_id_valid(client_id)) {
		memcpy(out, client_id, strlen(client_id) + 1);
		return;
	}
	core_random_hex(out, 16);
}

long long http_parse_count(const char *s)
{
	long long v = 0;

	if (!s || !*s || strlen(s) > 18)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

long long http_parse_positive(const char *s)
{
	long long v = http_parse_count(s);

	return v > 0 ? v : 0;
}

long long http_param_id(const struct http_request *req, const char *name)
{
	return http_parse_positive(http_request_param(req, name));
}

void http_page_query(const struct http_request *req, const char *what,
		     long long limit_max, long long *after, long long *limit,
		     struct core_field_errors *fe)
{
	const char *after_s = http_request_query(req, "after");
	const char *limit_s = http_request_query(req, "limit");

	if (after_s) {
		*after = http_parse_count(after_s);
		if (*after < 0)
			core_field_errorf(fe, "after",
					  "not %s (a whole number)", what);
	}
	if (limit_s) {
		*limit = http_parse_count(limit_s);
		if (*limit < 1)
			core_field_errorf(fe, "limit",
					  "not a whole number from 1");
		else if (*limit > limit_max)
			*limit = limit_max;
	}
}
