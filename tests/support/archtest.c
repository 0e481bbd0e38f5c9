/* SPDX-License-Identifier: Apache-2.0 */
/* archtest.c - test-only helpers for the arch and space tests (see
 * archtest.h). */
#include "archtest.h"

#include <stdio.h>
#include <string.h>

const char archtest_example[] =
    "{\"format\": \"lmnas-arch/1\", \"name\": \"optional label\", "
    "\"input\": {\"resolution\": 160, \"channels\": 3}, \"stem\": null,\n"
    " \"stages\": [\n"
    "  {\"block\": \"dwsep\",  \"out\": 16, \"layers\": 2, \"kernel\": 3, "
    "\"stride\": 2, \"expand\": 3, \"se\": 0,    \"skip\": \"none\",     "
    "\"act\": \"relu6\"},\n"
    "  {\"block\": \"mbconv\", \"out\": 48, \"layers\": 2, \"kernel\": 5, "
    "\"stride\": 2, \"expand\": 3, \"se\": 0.25, \"skip\": \"residual\", "
    "\"act\": \"leakyrelu\"}],\n"
    " \"head\": {\"dropout\": 0.05, \"classes\": 100}}";

const char *archtest_q(const char *s)
{
	static char buf[8192];
	size_t n = strlen(s);

	if (n >= sizeof buf)
		n = sizeof buf - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = s[i] == '\'' ? '"' : s[i];
	buf[n] = '\0';
	return buf;
}

const char *archtest_reason(const struct core_field_errors *fe,
			    const char *field)
{
	for (int i = 0; i < fe->n; i++)
		if (strcmp(fe->e[i].field, field) == 0)
			return fe->e[i].reason;
	return NULL;
}

void archtest_dump(const struct core_field_errors *fe)
{
	for (int i = 0; i < fe->n; i++)
		fprintf(stderr, "  # %s: %s\n", fe->e[i].field,
			fe->e[i].reason);
	if (fe->dropped)
		fprintf(stderr, "  # (and %d more)\n", fe->dropped);
}
