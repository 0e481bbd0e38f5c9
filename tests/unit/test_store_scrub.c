/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_scrub.c - store_secrets_scrub: passwords in URLs, conninfo
 * strings and libpq messages are masked, everything else is kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store.h"

#include <string.h>

static void masks_passwords(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"postgresql://u:hunter2@[::1", "postgresql://u:***@[::1"},
	    /* libpq's parse error quotes the URL */
	    {"missing \"]\" in URI: \"postgresql://u:hunter2@[::1\"",
	     "missing \"]\" in URI: \"postgresql://u:***@[::1\""},
	    {"postgresql://lmnas:s3cret@/lmnas?host=/tmp/x",
	     "postgresql://lmnas:***@/lmnas?host=/tmp/x"},
	    /* a password with '/' and '@' (not percent-encoded) */
	    {"postgres://u:pa/s@s@db.example:5432/x",
	     "postgres://u:***@db.example:5432/x"},
	    {"postgresql:///lmnas?host=/tmp&password=hunter2&user=u",
	     "postgresql:///lmnas?host=/tmp&password=***&user=u"},
	    {"host=/tmp user=u password=hunter2 dbname=x",
	     "host=/tmp user=u password=*** dbname=x"},
	    {"host=/tmp password = 'hun ter\\'2' dbname=x",
	     "host=/tmp password=*** dbname=x"},
	    {"sslpassword=hunter2", "sslpassword=***"},
	    {"PASSWORD=hunter2", "password=***"},
	    /* nothing secret: unchanged */
	    {"postgresql://lmnas@/lmnas?host=/tmp/x",
	     "postgresql://lmnas@/lmnas?host=/tmp/x"},
	    {"FATAL:  password authentication failed for user \"u\"",
	     "FATAL:  password authentication failed for user \"u\""},
	    {"", ""},
	};
	char out[256];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		store_secrets_scrub(cases[i].in, out, sizeof out);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: '%s' -> '%s', want '%s'", i,
				 cases[i].in, out, cases[i].want);
		assert_null(strstr(out, "hunter2"));
	}
}

/* A short buffer truncates the copy; the secret never appears in part. */
static void short_buffer_never_leaks(void **state)
{
	const char *in = "postgresql://u:hunter2@host/db";
	char out[64];

	for (size_t cap = 1; cap <= sizeof out; cap++) {
		store_secrets_scrub(in, out, cap);
		assert_true(strlen(out) < cap);
		assert_null(strstr(out, "hun"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(masks_passwords),
	    cmocka_unit_test(short_buffer_never_leaks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
