/* SPDX-License-Identifier: Apache-2.0 */
/* problem.c - RFC 9457 problem objects (type, title, status, detail, code,
 * errors) and the reason phrases of HTTP status codes. */
#include "http.h"

#include <stdio.h>

const char *http_status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	}
	return "Unknown";
}

/* Sets key to a new string; 0 when out of memory. */
static int set_str(json_t *obj, const char *key, const char *val)
{
	return json_object_set_new(obj, key, json_string(val)) == 0;
}

json_t *http_problem_new(int status, const char *code, const char *title,
			 const char *detail, const struct core_field_errors *fe)
{
	char type[160];
	json_t *p = json_object();
	json_t *errors = NULL;

	if (!p)
		return NULL;
	if (!code || !*code)
		code = "error";
	snprintf(type, sizeof type, "urn:lmnas:problem:%s", code);
	if (!set_str(p, "type", type) ||
	    !set_str(p, "title", title ? title : http_status_reason(status)) ||
	    json_object_set_new(p, "status", json_integer(status)) != 0)
		goto nomem;
	if (detail && !set_str(p, "detail", detail))
		goto nomem;
	if (!set_str(p, "code", code))
		goto nomem;
	if (!fe || (fe->n == 0 && fe->dropped == 0))
		return p;
	errors = json_array();
	if (!errors)
		goto nomem;
	for (int i = 0; i < fe->n && i < CORE_FIELD_ERRORS_MAX; i++) {
		json_t *e = json_pack("{s:s, s:s}", "field", fe->e[i].field,
				      "reason", fe->e[i].reason);
		if (!e || json_array_append_new(errors, e) != 0)
			goto nomem;
	}
	if (json_object_set_new(p, "errors", errors) != 0) {
		errors = NULL; /* set_new released it */
		goto nomem;
	}
	errors = NULL;
	if (fe->dropped && json_object_set_new(p, "errors_dropped",
					       json_integer(fe->dropped)) != 0)
		goto nomem;
	return p;
nomem:
	json_decref(errors);
	json_decref(p);
	return NULL;
}
