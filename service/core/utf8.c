/* SPDX-License-Identifier: Apache-2.0 */
/* utf8.c - making outside text valid UTF-8: replacing bad sequences with
 * U+FFFD and cutting on character boundaries, before text is stored in
 * PostgreSQL, put in JSON or echoed to a user. */
#include "core/core.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one
 * (overlong forms, surrogates and code points above U+10FFFF are invalid,
 * as RFC 3629 says; NUL is treated as invalid too, since neither
 * PostgreSQL text nor C strings can hold it). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	unsigned lo = 0x80, hi = 0xbf;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	/* the second byte's range excludes overlongs and surrogates */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

int core_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq_len(p + i, n - i);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

size_t core_utf8_cut_len(const char *s, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	if (n <= max)
		return n;
	/* step over whole characters (an invalid byte counts as one) */
	while (i < n) {
		k = utf8_seq_len(p + i, n - i);
		if (k == 0)
			k = 1;
		if (i + k > max)
			break;
		i += k;
	}
	return i;
}

char *core_utf8_sanitize(const char *s, size_t n, size_t max, size_t *out_len)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, k, cap;
	char *out;

	/* every input byte becomes at most 3 output bytes */
	cap = max < n * 3 ? max : n * 3;
	out = core_malloc(cap + 1);
	if (!out)
		return NULL;
	while (i < n) {
		k = utf8_seq_len(p + i, n - i);
		if (k == 0) {
			if (o + 3 > cap)
				break;
			memcpy(out + o, repl, 3);
			o += 3;
			i++;
			continue;
		}
		if (o + k > cap)
			break;
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return out;
}

void core_utf8_copy(char *dst, size_t dstlen, const char *s)
{
	char *t;
	size_t n;

	if (dstlen == 0)
		return;
	if (!s) {
		dst[0] = '\0';
		return;
	}
	n = strlen(s);
	t = core_utf8_sanitize(s, n, dstlen - 1, &n);
	if (!t) {
		/* no memory: keep the ASCII bytes only, never a bad sequence */
		size_t i, o = 0;
		for (i = 0; s[i] && o + 1 < dstlen; i++)
			if ((unsigned char)s[i] < 0x80)
				dst[o++] = s[i];
		dst[o] = '\0';
		return;
	}
	memcpy(dst, t, n + 1);
	core_free(t);
}
