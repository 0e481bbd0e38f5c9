/* SPDX-License-Identifier: Apache-2.0 */
/* archtest.h - test-only helpers for the arch and space tests: readable JSON
 * test documents (' for "), assertions on core_field_errors, and the
 * example architecture of issue 3. */
#ifndef LMNAS_ARCHTEST_H
#define LMNAS_ARCHTEST_H

#include "arch/arch.h"
#include "core/core.h"

/* The example of issue 3 (2 stages, a dwsep with expand 3, no stem). */
extern const char archtest_example[];

/* s with every ' turned into ", in a static buffer (the next call
 * overwrites it); at most 8191 characters. */
const char *archtest_q(const char *s);

/* The reason reported for field, or NULL. */
const char *archtest_reason(const struct core_field_errors *fe,
			    const char *field);

/* Prints every entry as a TAP comment (for failing assertions). */
void archtest_dump(const struct core_field_errors *fe);

/* fe holds field with exactly reason text / a reason containing text /
 * exactly that one entry. cmocka must be included before this header's
 * macros are used. */
#define archtest_assert_error(fe, field, text)                                 \
	do {                                                                   \
		const char *r_ = archtest_reason((fe), (field));               \
		if (!r_ || strcmp(r_, (text)) != 0)                            \
			archtest_dump(fe);                                     \
		assert_non_null(r_);                                           \
		assert_string_equal(r_, (text));                               \
	} while (0)

#define archtest_assert_error_contains(fe, field, text)                        \
	do {                                                                   \
		const char *r_ = archtest_reason((fe), (field));               \
		if (!r_ || !strstr(r_, (text)))                                \
			archtest_dump(fe);                                     \
		assert_non_null(r_);                                           \
		assert_non_null(strstr(r_, (text)));                           \
	} while (0)

#define archtest_assert_only_error(fe, field, text)                            \
	do {                                                                   \
		if ((fe)->n != 1)                                              \
			archtest_dump(fe);                                     \
		assert_int_equal((fe)->n, 1);                                  \
		archtest_assert_error((fe), (field), (text));                  \
	} while (0)

#endif
