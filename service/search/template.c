/* SPDX-License-Identifier: Apache-2.0 */
/* template.c - the `{{placeholder}}` renderer for the prompt templates and
 * the lookup of the templates embedded at build time. */
#include "search_internal.h"

#include <string.h>

#define NAME_MAX_LEN 48

long search_tokens_estimate(size_t bytes)
{
	return (long)((bytes + 3) / 4);
}

long search_prompt_reserve(long budget)
{
	long r = budget / 4;

	return r < 1024 ? r : 1024;
}

const char *search_prompt_template(const char *name, size_t *len)
{
	for (size_t i = 0; i < search_prompt_files_count; i++) {
		if (strcmp(search_prompt_files[i].name, name) == 0) {
			if (len)
				*len = search_prompt_files[i].len;
			return search_prompt_files[i].text;
		}
	}
	return NULL;
}

static const char *lookup(const struct search_template_var *vars, int nvars,
			  const char *name, size_t n)
{
	for (int i = 0; i < nvars; i++)
		if (strlen(vars[i].name) == n &&
		    memcmp(vars[i].name, name, n) == 0)
			return vars[i].value ? vars[i].value : "";
	return NULL;
}

enum core_status search_template_render(const char *tpl, size_t len,
					const struct search_template_var *vars,
					int nvars, size_t max_out, char **out,
					size_t *out_len, char *err,
					size_t errlen)
{
	struct core_buf b;
	size_t i = 0, lit = 0;
	enum core_status rc = CORE_OK;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	core_buf_init(&b, max_out);
	while (i < len) {
		const char *value;
		size_t start, n;

		if (!(tpl[i] == '{' && i + 1 < len && tpl[i + 1] == '{')) {
			i++;
			continue;
		}
		rc = core_buf_append(&b, tpl + lit, i - lit);
		if (rc)
			goto nomem;
		start = i + 2;
		n = 0;
		while (start + n < len && n <= NAME_MAX_LEN &&
		       ((tpl[start + n] >= 'a' && tpl[start + n] <= 'z') ||
			tpl[start + n] == '_'))
			n++;
		if (n == 0 || n > NAME_MAX_LEN || start + n + 1 >= len ||
		    tpl[start + n] != '}' || tpl[start + n + 1] != '}') {
			core_errf(err, errlen,
				  "template: malformed placeholder at byte "
				  "%zu (expected {{name}} with name [a-z_]+)",
				  i);
			rc = CORE_ERR_INVALID;
			goto fail;
		}
		value = lookup(vars, nvars, tpl + start, n);
		if (!value) {
			core_errf(err, errlen,
				  "template: unknown placeholder {{%.*s}} at "
				  "byte %zu",
				  (int)n, tpl + start, i);
			rc = CORE_ERR_INVALID;
			goto fail;
		}
		rc = core_buf_append(&b, value, strlen(value));
		if (rc)
			goto nomem;
		i = start + n + 2;
		lit = i;
	}
	rc = core_buf_append(&b, tpl + lit, len - lit);
	if (rc)
		goto nomem;
	if (!b.data) { /* an empty template: still a string */
		rc = core_buf_append(&b, "", 0);
		if (rc || !b.data)
			goto nomem;
	}
	*out = core_buf_steal(&b, out_len);
	return CORE_OK;
nomem:
	core_errf(err, errlen,
		  "template: out of memory or output over %zu bytes", max_out);
	rc = CORE_ERR_NOMEM;
fail:
	core_buf_free(&b);
	return rc;
}
