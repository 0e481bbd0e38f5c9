/* SPDX-License-Identifier: Apache-2.0 */
/* space_fields.c - the list-valued fields of a search space: their table
 * (bounds, names, where they live) and reading, printing and searching one
 * list. */
#include "space_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *block_name(int i)
{
	return arch_block_name((enum arch_block)i);
}
static const char *skip_name(int i)
{
	return arch_skip_name((enum arch_skip)i);
}
static const char *act_name(int i)
{
	return arch_act_name((enum arch_act)i);
}

#define INT_LIST(k, l, h, o, base, f, b)                                       \
	{                                                                      \
		k, SPACE_KIND_INT, l, h, o, 0, 0, NULL, offsetof(base, f), b   \
	}
#define ENUM_LIST(k, n, fn, base, f, b)                                        \
	{                                                                      \
		k, SPACE_KIND_ENUM, 0, (n)-1, 0, 0, n, fn, offsetof(base, f),  \
		    b                                                          \
	}
#define REAL_LIST(k, open, base, f, b)                                         \
	{                                                                      \
		k, SPACE_KIND_REAL, 0, 1, 0, open, 0, NULL, offsetof(base, f), \
		    b                                                          \
	}

const struct space_list_spec space_stage_lists[SPACE_STAGE_LISTS] = {
    ENUM_LIST("block", 2, block_name, struct space_stage, block,
	      SPACE_FIELD_BLOCK),
    INT_LIST("out", 1, ARCH_MAX_CHANNELS, 0, struct space_stage, out,
	     SPACE_FIELD_OUT),
    INT_LIST("layers", 1, ARCH_MAX_LAYERS, 0, struct space_stage, layers,
	     SPACE_FIELD_LAYERS),
    INT_LIST("kernel", 1, ARCH_MAX_KERNEL, 1, struct space_stage, kernel,
	     SPACE_FIELD_KERNEL),
    INT_LIST("stride", 1, 2, 0, struct space_stage, stride, SPACE_FIELD_STRIDE),
    INT_LIST("expand", 1, ARCH_MAX_EXPAND, 0, struct space_stage, expand,
	     SPACE_FIELD_EXPAND),
    REAL_LIST("se", 0, struct space_stage, se, SPACE_FIELD_SE),
    ENUM_LIST("skip", 2, skip_name, struct space_stage, skip, SPACE_FIELD_SKIP),
    ENUM_LIST("act", ARCH_ACT_COUNT, act_name, struct space_stage, act,
	      SPACE_FIELD_ACT),
};

const struct space_list_spec space_stem_lists[SPACE_STEM_LISTS] = {
    INT_LIST("out", 1, ARCH_MAX_CHANNELS, 0, struct space_stem, out, 0),
    INT_LIST("kernel", 1, ARCH_MAX_KERNEL, 1, struct space_stem, kernel, 0),
    INT_LIST("stride", 1, 2, 0, struct space_stem, stride, 0),
    ENUM_LIST("act", ARCH_ACT_COUNT, act_name, struct space_stem, act, 0),
};

const struct space_list_spec space_resolution_list =
    INT_LIST("resolution", ARCH_MIN_RESOLUTION, ARCH_MAX_RESOLUTION, 0,
	     struct space, resolution, 0);
const struct space_list_spec space_channels_list = INT_LIST(
    "channels", 1, ARCH_MAX_INPUT_CHANNELS, 0, struct space, channels, 0);
const struct space_list_spec space_dropout_list =
    REAL_LIST("dropout", 1, struct space, dropout, 0);

/* ---- reading ----------------------------------------------------------- */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int cmp_real(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One element; returns 0 and stores it, or reports and returns -1. */
static int read_value(const struct space_list_spec *sp, const json_t *e,
		      const char *path, int *iv, double *rv,
		      struct core_field_errors *fe)
{
	char shown[48], list[128];
	size_t used = 0;

	switch (sp->kind) {
	case SPACE_KIND_INT: {
		json_int_t x;

		if (!json_is_integer(e)) {
			core_field_errorf(fe, path,
					  "expected an integer, got %s",
					  arch_json_kind(e));
			return -1;
		}
		x = json_integer_value(e);
		if (x < sp->lo || x > sp->hi) {
			core_field_errorf(fe, path,
					  "%" JSON_INTEGER_FORMAT
					  " is outside %d..%d",
					  x, sp->lo, sp->hi);
			return -1;
		}
		if (sp->odd && x % 2 == 0) {
			core_field_errorf(
			    fe, path, "%" JSON_INTEGER_FORMAT " is not odd", x);
			return -1;
		}
		*iv = (int)x;
		return 0;
	}
	case SPACE_KIND_ENUM:
		if (!json_is_string(e)) {
			core_field_errorf(fe, path, "expected a string, got %s",
					  arch_json_kind(e));
			return -1;
		}
		for (int i = 0; i < sp->count; i++) {
			if (strcmp(json_string_value(e), sp->name(i)) == 0) {
				*iv = i;
				return 0;
			}
		}
		for (int i = 0; i < sp->count && used < sizeof list; i++)
			used += (size_t)snprintf(list + used,
						 sizeof list - used, "%s%s",
						 i ? ", " : "", sp->name(i));
		arch_json_printable(json_string_value(e), shown, sizeof shown);
		core_field_errorf(fe, path, "'%s' is not one of %s", shown,
				  list);
		return -1;
	case SPACE_KIND_REAL: {
		double x, c;

		if (!json_is_number(e)) {
			core_field_errorf(fe, path, "expected a number, got %s",
					  arch_json_kind(e));
			return -1;
		}
		x = json_number_value(e);
		c = arch_real_canonical(x);
		if (!(c >= 0.0 && (sp->hi_open ? c < 1.0 : c <= 1.0))) {
			core_field_errorf(fe, path, "%.10g is outside [0, 1%c",
					  x, sp->hi_open ? ')' : ']');
			return -1;
		}
		*rv = c;
		return 0;
	}
	}
	return -1;
}

int space_list_read(const struct space_list_spec *sp, const json_t *v,
		    const char *path, void *dst, struct core_field_errors *fe)
{
	struct space_ints ints = {0};
	struct space_reals reals = {0};
	size_t n;
	int bad = 0, k = 0;
	char p[128];

	if (!json_is_array(v)) {
		core_field_errorf(fe, path, "expected an array, got %s",
				  arch_json_kind(v));
		return -1;
	}
	n = json_array_size(v);
	if (n == 0) {
		core_field_errorf(fe, path, "must not be empty");
		return -1;
	}
	if (n > SPACE_MAX_VALUES) {
		core_field_errorf(fe, path, "%zu values, at most %d", n,
				  SPACE_MAX_VALUES);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int iv = 0;
		double rv = 0.0;

		snprintf(p, sizeof p, "%s[%zu]", path, i);
		if (read_value(sp, json_array_get(v, i), p, &iv, &rv, fe)) {
			bad = 1;
			continue;
		}
		ints.v[k] = iv;
		reals.v[k] = rv;
		k++;
	}
	if (bad)
		return -1;
	ints.n = reals.n = k;
	if (sp->kind == SPACE_KIND_REAL) {
		qsort(reals.v, (size_t)k, sizeof reals.v[0], cmp_real);
		for (int i = 1; i < k; i++) {
			if (reals.v[i] == reals.v[i - 1]) {
				core_field_errorf(fe, path,
						  "%.15g appears twice",
						  reals.v[i]);
				return -1;
			}
		}
		*(struct space_reals *)dst = reals;
		return 0;
	}
	qsort(ints.v, (size_t)k, sizeof ints.v[0], cmp_int);
	for (int i = 1; i < k; i++) {
		if (ints.v[i] == ints.v[i - 1]) {
			if (sp->kind == SPACE_KIND_ENUM)
				core_field_errorf(fe, path,
						  "'%s' appears twice",
						  sp->name(ints.v[i]));
			else
				core_field_errorf(fe, path, "%d appears twice",
						  ints.v[i]);
			return -1;
		}
	}
	*(struct space_ints *)dst = ints;
	return 0;
}

/* ---- writing ----------------------------------------------------------- */

json_t *space_list_to_json(const struct space_list_spec *sp, const void *list)
{
	json_t *a = json_array();
	int bad = 0;

	if (sp->kind == SPACE_KIND_REAL) {
		const struct space_reals *l = list;

		for (int i = 0; i < l->n; i++)
			bad |= json_array_append_new(
			    a, json_real(arch_real_canonical(l->v[i])));
	} else {
		const struct space_ints *l = list;

		for (int i = 0; i < l->n; i++)
			bad |= json_array_append_new(
			    a, sp->kind == SPACE_KIND_ENUM
				   ? json_string(sp->name(l->v[i]))
				   : json_integer(l->v[i]));
	}
	if (bad || !a) {
		json_decref(a);
		return NULL;
	}
	return a;
}

void space_list_format(const struct space_list_spec *sp, const void *list,
		       char *out, size_t outlen)
{
	const struct space_ints *li = list;
	const struct space_reals *lr = list;
	int n = sp->kind == SPACE_KIND_REAL ? lr->n : li->n;
	size_t used = 0;
	char item[32];

	if (outlen < 6) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	out[used++] = '{';
	for (int i = 0; i < n; i++) {
		size_t w;

		if (sp->kind == SPACE_KIND_REAL)
			snprintf(item, sizeof item, "%s%.15g", i ? "," : "",
				 lr->v[i]);
		else if (sp->kind == SPACE_KIND_ENUM)
			snprintf(item, sizeof item, "%s%s", i ? "," : "",
				 sp->name(li->v[i]));
		else
			snprintf(item, sizeof item, "%s%d", i ? "," : "",
				 li->v[i]);
		w = strlen(item);
		/* Keep room for "...}" and the NUL. */
		if (used + w + 5 > outlen) {
			memcpy(out + used, "...", 3);
			used += 3;
			break;
		}
		memcpy(out + used, item, w);
		used += w;
	}
	out[used++] = '}';
	out[used] = '\0';
}

int space_ints_has(const struct space_ints *l, int v)
{
	for (int i = 0; i < l->n; i++)
		if (l->v[i] == v)
			return 1;
	return 0;
}

int space_reals_has(const struct space_reals *l, double v)
{
	double c = arch_real_canonical(v);

	for (int i = 0; i < l->n; i++)
		if (l->v[i] == c)
			return 1;
	return 0;
}
