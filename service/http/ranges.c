/* SPDX-License-Identifier: Apache-2.0 */
/* ranges.c - the conditional and partial request headers of the downloads
 * (downloads.c): one `Range: bytes=...` against a representation's size
 * (RFC 9110 14.1.2) and an `If-None-Match` list against an entity tag.
 * Pure functions of outside text: unit tested and fuzzed
 * (tests/fuzz/fuzz_http_range.c). */
#include "http.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

/* Decimal digits at *p into *out, saturating (a huge position is still a
 * position: past the end, not malformed). 0 when there are none. */
static int range_number(const char **p, long long *out)
{
	const char *s = *p;
	long long v = 0;

	if (*s < '0' || *s > '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v > (LLONG_MAX - 9) / 10 ? LLONG_MAX : v * 10 + (*s - '0');
	*p = s;
	*out = v;
	return 1;
}

/* One `bytes=a-b`, `bytes=a-` or `bytes=-n` against an artifact of size
 * bytes (RFC 9110 14.1.2). Anything else, several ranges included, is
 * ignored (HTTP_RANGE_NONE): a server may always answer a Range with the
 * whole representation, and one range covers every download client. */
enum http_range http_range_parse(const char *h, long long size,
				 long long *first, long long *last)
{
	long long a = 0, b = -1, n = 0;
	const char *p = h;
	int suffix;

	if (!h)
		return HTTP_RANGE_NONE;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "bytes=", 6) != 0)
		return HTTP_RANGE_NONE;
	p += 6;
	suffix = *p == '-';
	if (suffix) {
		p++;
		if (!range_number(&p, &n))
			return HTTP_RANGE_NONE;
	} else {
		if (!range_number(&p, &a) || *p++ != '-')
			return HTTP_RANGE_NONE;
		if (*p >= '0' && *p <= '9' && !range_number(&p, &b))
			return HTTP_RANGE_NONE;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p) /* a second range, or junk */
		return HTTP_RANGE_NONE;
	if (b >= 0 && b < a)
		return HTTP_RANGE_NONE; /* invalid: ignored, not unsatisfiable
					 */
	if (suffix) {
		/* a suffix: the last n bytes; none of a zero-length one */
		if (n == 0 || size == 0)
			return HTTP_RANGE_UNSATISFIABLE;
		*first = n >= size ? 0 : size - n;
		*last = size - 1;
		return HTTP_RANGE_PARTIAL;
	}
	if (a >= size)
		return HTTP_RANGE_UNSATISFIABLE;
	*first = a;
	*last = (b < 0 || b >= size) ? size - 1 : b;
	return HTTP_RANGE_PARTIAL;
}

/* If-None-Match: "*" or a list of entity tags compared weakly (a W/
 * prefix does not matter) against etag ("\"hex\""). */
int http_etag_match_any(const char *header, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = header;

	while (*p) {
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		n = strcspn(p, ",");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == elen && strncmp(p, etag, n) == 0)
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}
