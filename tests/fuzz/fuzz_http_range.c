/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_http_range.c - libFuzzer harness for the download headers' parsers
 * (service/http/ranges.c): a Range header against a size, and an
 * If-None-Match list against an entity tag. The first 8 bytes give the size
 * (any non-negative 63-bit value), the rest is the header text. Built and
 * run by tests/fuzz/run.sh, or:
 *
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Iservice tests/fuzz/fuzz_http_range.c service/http/ranges.c \
 *     -o build/fuzz_http_range
 *   build/fuzz_http_range -max_total_time=60 tests/fuzz/corpus/http_range
 */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long long u = 0;
	long long n, first = -1, last = -1;
	char *h;
	enum http_range r;

	if (size < 8)
		return 0;
	memcpy(&u, data, 8);
	n = (long long)(u >> 1);
	h = malloc(size - 8 + 1);
	if (!h)
		return 0;
	memcpy(h, data + 8, size - 8);
	h[size - 8] = '\0';
	r = http_range_parse(h, n, &first, &last);
	/* what downloads.c relies on */
	if (r == HTTP_RANGE_PARTIAL &&
	    (first < 0 || first > last || last >= n))
		abort();
	if (r != HTTP_RANGE_NONE && r != HTTP_RANGE_PARTIAL &&
	    r != HTTP_RANGE_UNSATISFIABLE)
		abort();
	(void)http_etag_match_any(h, "\"0123abc\"");
	free(h);
	return 0;
}
