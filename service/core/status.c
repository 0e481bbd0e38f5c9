/* SPDX-License-Identifier: Apache-2.0 */
/* status.c - names of core_status values and the error-text helper. */
#include "core.h"

#include <stdio.h>

const char *core_status_name(enum core_status st)
{
	switch (st) {
	case CORE_OK: return "ok";
	case CORE_ERR_INVALID: return "invalid";
	case CORE_ERR_NOMEM: return "nomem";
	case CORE_ERR_IO: return "io";
	case CORE_ERR_NOT_FOUND: return "not_found";
	case CORE_ERR_DB: return "db";
	case CORE_ERR_UNAVAILABLE: return "unavailable";
	case CORE_ERR_CONFLICT: return "conflict";
	case CORE_ERR_CANCELLED: return "cancelled";
	case CORE_ERR_INTERNAL: return "internal";
	}
	return "unknown";
}

void core_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void core_field_errors_clear(struct core_field_errors *fe)
{
	fe->n = 0;
	fe->dropped = 0;
}

void core_field_errorf(struct core_field_errors *fe, const char *field,
		       const char *fmt, ...)
{
	va_list ap;

	if (fe->n >= CORE_FIELD_ERRORS_MAX) {
		fe->dropped++;
		return;
	}
	snprintf(fe->e[fe->n].field, sizeof fe->e[fe->n].field, "%s", field);
	va_start(ap, fmt);
	vsnprintf(fe->e[fe->n].reason, sizeof fe->e[fe->n].reason, fmt, ap);
	va_end(ap);
	fe->n++;
}

void core_field_errors_join(const struct core_field_errors *fe, char *out,
			    size_t outlen)
{
	size_t used = 0;

	if (!outlen)
		return;
	out[0] = '\0';
	for (int i = 0; i < fe->n && used + 1 < outlen; i++) {
		int w =
		    snprintf(out + used, outlen - used, "%s%s: %s",
			     i ? "; " : "", fe->e[i].field, fe->e[i].reason);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (fe->dropped && used + 1 < outlen)
		snprintf(out + used, outlen - used, " (and %d more)",
			 fe->dropped);
}
