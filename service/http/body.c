/* SPDX-License-Identifier: Apache-2.0 */
/* body.c - request bodies: the JSON media-type check and JSON parsing with a
 * nesting limit and line/column on errors. */
#include "http.h"

#include <string.h>
#include <strings.h>

int http_content_type_is_json(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof want - 1;

	if (!ct)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Jansson's own limit is a compile-time 2048 levels of recursion; this scan
 * enforces the server's (much lower) limit before Jansson sees the text. It
 * only needs to know what is inside a string: brackets there do not count. */
static int depth_exceeded(const char *data, size_t len, int max_depth,
			  int *line, int *column)
{
	int depth = 0, in_string = 0, escaped = 0, l = 1, c = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = data[i];
		c++;
		if (ch == '\n') {
			l++;
			c = 0;
			continue;
		}
		if (in_string) {
			if (escaped)
				escaped = 0;
			else if (ch == '\\')
				escaped = 1;
			else if (ch == '"')
				in_string = 0;
			continue;
		}
		if (ch == '"') {
			in_string = 1;
		} else if (ch == '{' || ch == '[') {
			if (++depth > max_depth) {
				*line = l;
				*column = c;
				return 1;
			}
		} else if ((ch == '}' || ch == ']') && depth > 0) {
			depth--;
		}
	}
	return 0;
}

enum core_status http_json_parse(const char *data, size_t len, int max_depth,
				 json_t **out, int *line, int *column,
				 char *err, size_t errlen)
{
	json_error_t jerr;

	*out = NULL;
	*line = 0;
	*column = 0;
	if (depth_exceeded(data, len, max_depth, line, column)) {
		core_errf(err, errlen, "nested deeper than %d levels",
			  max_depth);
		return CORE_ERR_INVALID;
	}
	*out = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			  &jerr);
	if (*out)
		return CORE_OK;
	*line = jerr.line > 0 ? jerr.line : 1;
	*column = jerr.column > 0 ? jerr.column : 1;
	core_errf(err, errlen, "%s", jerr.text);
	if (json_error_code(&jerr) == json_error_out_of_memory)
		return CORE_ERR_NOMEM;
	return CORE_ERR_INVALID;
}
