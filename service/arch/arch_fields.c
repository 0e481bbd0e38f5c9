/* SPDX-License-Identifier: Apache-2.0 */
/* arch_fields.c - the field readers shared by the JSON parsers that report
 * errors by field path (arch_parse.c, the search job spec): members,
 * type errors, bounded integers, enumerations and objects. */
#include "arch/arch.h"

#include <stdio.h>
#include <string.h>

void arch_reader_path(const struct arch_reader *r, const char *key, char *p,
		      size_t n)
{
	snprintf(p, n, "%s%s%s", r->prefix, *r->prefix ? "." : "", key);
}

const json_t *arch_reader_member(const struct arch_reader *r, const json_t *obj,
				 const char *key, int required)
{
	const json_t *v = json_object_get(obj, key);
	char p[128];

	if (!v && required) {
		arch_reader_path(r, key, p, sizeof p);
		core_field_errorf(r->fe, p, "required");
	}
	return v;
}

void arch_reader_type_error(const struct arch_reader *r, const char *key,
			    const char *expected, const json_t *v)
{
	char p[128];

	arch_reader_path(r, key, p, sizeof p);
	core_field_errorf(r->fe, p, "expected %s, got %s", expected,
			  arch_json_kind(v));
}

/* json_int_t is 64-bit, so values beyond the caller's type are caught here
 * before any narrowing. */
int arch_reader_int(const struct arch_reader *r, const json_t *obj,
		    const char *key, int required, long long lo, long long hi,
		    long long *out)
{
	const json_t *v = arch_reader_member(r, obj, key, required);
	json_int_t x;
	char p[128];

	if (!v)
		return 0;
	if (!json_is_integer(v)) {
		arch_reader_type_error(r, key, "an integer", v);
		return 0;
	}
	x = json_integer_value(v);
	if (x < lo || x > hi) {
		arch_reader_path(r, key, p, sizeof p);
		core_field_errorf(
		    r->fe, p, "%" JSON_INTEGER_FORMAT " is outside %lld..%lld",
		    x, lo, hi);
		return 0;
	}
	*out = x;
	return 1;
}

int arch_reader_enum(const struct arch_reader *r, const json_t *obj,
		     const char *key, int required, const char *const *names,
		     int count, int *out)
{
	const json_t *v = arch_reader_member(r, obj, key, required);
	char p[128], shown[48], list[160];
	size_t used = 0;

	if (!v)
		return 0;
	if (!json_is_string(v)) {
		arch_reader_type_error(r, key, "a string", v);
		return 0;
	}
	for (int i = 0; i < count; i++) {
		if (strcmp(json_string_value(v), names[i]) == 0) {
			*out = i;
			return 1;
		}
	}
	list[0] = '\0';
	for (int i = 0; i < count && used < sizeof list; i++)
		used += (size_t)snprintf(list + used, sizeof list - used,
					 "%s%s", i ? ", " : "", names[i]);
	arch_json_printable(json_string_value(v), shown, sizeof shown);
	arch_reader_path(r, key, p, sizeof p);
	core_field_errorf(r->fe, p, "'%s' is not one of %s", shown, list);
	return 0;
}

const json_t *arch_reader_object(const struct arch_reader *r, const json_t *obj,
				 const char *key, int required,
				 const char *const *keys)
{
	const json_t *v = arch_reader_member(r, obj, key, required);
	char p[128];

	if (!v)
		return NULL;
	if (!json_is_object(v)) {
		arch_reader_type_error(r, key, "an object", v);
		return NULL;
	}
	if (keys) {
		arch_reader_path(r, key, p, sizeof p);
		arch_json_check_keys(v, p, keys, r->fe);
	}
	return v;
}
