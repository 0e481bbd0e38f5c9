/* SPDX-License-Identifier: Apache-2.0 */
/* arch.c - struct arch semantics: enum names, canonical reals, channel and
 * spatial bookkeeping, and arch_validate (per-field limits, then cross-field
 * limits). */
#include "arch_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const block_names[] = {"dwsep", "mbconv"};
static const char *const skip_names[] = {"none", "residual"};
static const char *const act_names[ARCH_ACT_COUNT] = {
    "relu", "relu6", "leakyrelu", "swish", "hswish"};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *arch_block_name(enum arch_block b)
{
	return (int)b >= 0 && (int)b < NELEM(block_names) ? block_names[b]
							  : "unknown";
}

const char *arch_skip_name(enum arch_skip s)
{
	return (int)s >= 0 && (int)s < NELEM(skip_names) ? skip_names[s]
							 : "unknown";
}

const char *arch_act_name(enum arch_act a)
{
	return (int)a >= 0 && (int)a < ARCH_ACT_COUNT ? act_names[a]
						      : "unknown";
}

static enum core_status name_lookup(const char *s, const char *const *names,
				    int n, int *out)
{
	if (!s)
		return CORE_ERR_INVALID;
	for (int i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return CORE_OK;
		}
	}
	return CORE_ERR_INVALID;
}

enum core_status arch_act_parse(const char *s, enum arch_act *out)
{
	int v = 0;
	enum core_status rc = name_lookup(s, act_names, ARCH_ACT_COUNT, &v);

	if (rc == CORE_OK)
		*out = (enum arch_act)v;
	return rc;
}

enum core_status arch_block_parse(const char *s, enum arch_block *out)
{
	int v = 0;
	enum core_status rc =
	    name_lookup(s, block_names, NELEM(block_names), &v);

	if (rc == CORE_OK)
		*out = (enum arch_block)v;
	return rc;
}

enum core_status arch_skip_parse(const char *s, enum arch_skip *out)
{
	int v = 0;
	enum core_status rc = name_lookup(s, skip_names, NELEM(skip_names), &v);

	if (rc == CORE_OK)
		*out = (enum arch_skip)v;
	return rc;
}

double arch_real_canonical(double x)
{
	double r;

	if (!isfinite(x))
		return x;
	/* |x| beyond 1e300 would overflow the scaling; such values are never
	 * valid anyway, keep them as they are. */
	if (fabs(x) > 1e15)
		return x;
	r = round(x * ARCH_REAL_SCALE) / ARCH_REAL_SCALE;
	return r == 0.0 ? 0.0 : r; /* -0 -> 0 */
}

int arch_stage_in_channels(const struct arch *a, int i)
{
	if (i > 0)
		return a->stages[i - 1].out;
	return a->stem.present ? a->stem.out : a->channels;
}

int arch_spatial_sizes(const struct arch *a, int sizes[ARCH_MAX_STAGES + 1])
{
	int size = a->resolution, first = ARCH_NO_COLLAPSE;
	int n = a->nstages < 0		       ? 0
		: a->nstages > ARCH_MAX_STAGES ? ARCH_MAX_STAGES
					       : a->nstages;

	if (a->stem.present && a->stem.stride > 1) {
		if (size <= 1)
			first = -1;
		size = (size - 1) / a->stem.stride + 1;
	}
	sizes[0] = size;
	for (int i = 0; i < n; i++) {
		int s = a->stages[i].stride;

		if (s > 1) {
			if (size <= 1 && first == ARCH_NO_COLLAPSE)
				first = i;
			size = (size - 1) / s + 1;
		}
		sizes[i + 1] = size;
	}
	return first;
}

/* ---- validation -------------------------------------------------------- */

static void check_int(struct core_field_errors *fe, const char *path, int v,
		      int lo, int hi)
{
	if (v < lo || v > hi)
		core_field_errorf(fe, path, "%d is outside %d..%d", v, lo, hi);
}

static void check_kernel(struct core_field_errors *fe, const char *path, int k)
{
	if (k < 1 || k > ARCH_MAX_KERNEL)
		core_field_errorf(fe, path, "%d is outside 1..%d", k,
				  ARCH_MAX_KERNEL);
	else if (k % 2 == 0)
		core_field_errorf(fe, path, "%d is not odd", k);
}

static void check_stride(struct core_field_errors *fe, const char *path, int s)
{
	if (s != 1 && s != 2)
		core_field_errorf(fe, path, "%d is not 1 or 2", s);
}

static void check_act(struct core_field_errors *fe, const char *path,
		      enum arch_act a)
{
	if ((int)a < 0 || (int)a >= ARCH_ACT_COUNT)
		core_field_errorf(fe, path, "%d is not a valid activation",
				  (int)a);
}

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF), the rule
 * Jansson applies to every string it builds. */
static int utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t more;
		unsigned long cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i <= more)
			return 0;
		for (size_t k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += more + 1;
	}
	return 1;
}

static void check_name(const struct arch *a, struct core_field_errors *fe)
{
	size_t n = strnlen(a->name, sizeof a->name);

	if (n == sizeof a->name) {
		core_field_errorf(fe, "name",
				  "is not NUL-terminated within %d "
				  "bytes",
				  ARCH_MAX_NAME);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a->name[i];

		if (c < 0x20 || c == 0x7f) {
			core_field_errorf(fe, "name",
					  "contains a control character at "
					  "byte %zu",
					  i);
			return;
		}
	}
	if (!utf8_valid((const unsigned char *)a->name, n))
		core_field_errorf(fe, "name", "is not valid UTF-8");
}

static void validate_stage(const struct arch_stage *st, int i,
			   struct core_field_errors *fe)
{
	char p[64];

#define P(field) (snprintf(p, sizeof p, "stages[%d]." field, i), p)
	if (st->block != ARCH_BLOCK_DWSEP && st->block != ARCH_BLOCK_MBCONV)
		core_field_errorf(fe, P("block"), "%d is not a valid block",
				  (int)st->block);
	check_int(fe, P("out"), st->out, 1, ARCH_MAX_CHANNELS);
	check_int(fe, P("layers"), st->layers, 1, ARCH_MAX_LAYERS);
	check_kernel(fe, P("kernel"), st->kernel);
	check_stride(fe, P("stride"), st->stride);
	check_int(fe, P("expand"), st->expand, 1, ARCH_MAX_EXPAND);
	if (!(st->se >= 0.0 && st->se <= 1.0)) /* also catches NaN */
		core_field_errorf(fe, P("se"), "%g is outside [0, 1]", st->se);
	if (st->skip != ARCH_SKIP_NONE && st->skip != ARCH_SKIP_RESIDUAL)
		core_field_errorf(fe, P("skip"), "%d is not a valid skip",
				  (int)st->skip);
	check_act(fe, P("act"), st->act);
#undef P
}

/* Per-field limits: each field alone. */
static void validate_fields(const struct arch *a, struct core_field_errors *fe)
{
	check_name(a, fe);
	check_int(fe, "input.resolution", a->resolution, ARCH_MIN_RESOLUTION,
		  ARCH_MAX_RESOLUTION);
	check_int(fe, "input.channels", a->channels, 1,
		  ARCH_MAX_INPUT_CHANNELS);
	if (a->stem.present) {
		check_int(fe, "stem.out", a->stem.out, 1, ARCH_MAX_CHANNELS);
		check_kernel(fe, "stem.kernel", a->stem.kernel);
		check_stride(fe, "stem.stride", a->stem.stride);
		check_act(fe, "stem.act", a->stem.act);
	}
	if (a->nstages < 1 || a->nstages > ARCH_MAX_STAGES)
		core_field_errorf(fe, "stages", "%d stages is outside 1..%d",
				  a->nstages, ARCH_MAX_STAGES);
	for (int i = 0; i < a->nstages && i < ARCH_MAX_STAGES; i++)
		validate_stage(&a->stages[i], i, fe);
	if (!(a->dropout >= 0.0 && a->dropout < 1.0))
		core_field_errorf(fe, "head.dropout", "%g is outside [0, 1)",
				  a->dropout);
	check_int(fe, "head.classes", a->classes, ARCH_MIN_CLASSES,
		  ARCH_MAX_CLASSES);
}

/* Cross-field limits; every field is known to be valid on its own. */
static void validate_shapes(const struct arch *a, struct core_field_errors *fe)
{
	int sizes[ARCH_MAX_STAGES + 1];
	char p[64], trail[160];
	size_t used = 0;

	for (int i = 0; i < a->nstages; i++) {
		const struct arch_stage *st = &a->stages[i];
		int cin = arch_stage_in_channels(a, i);
		int widest = st->layers > 1 && st->out > cin ? st->out : cin;

		/* Bounded: widest <= 2048 and expand <= 8, no overflow. */
		if (st->block == ARCH_BLOCK_MBCONV &&
		    widest * st->expand > ARCH_MAX_CHANNELS) {
			snprintf(p, sizeof p, "stages[%d].expand", i);
			core_field_errorf(fe, p,
					  "%d expands %d channels to %d, more "
					  "than %d",
					  st->expand, widest,
					  widest * st->expand,
					  ARCH_MAX_CHANNELS);
		}
	}
	if (arch_spatial_sizes(a, sizes) == ARCH_NO_COLLAPSE)
		return;
	/* Name every stride-2 layer that receives a 1x1 map, with the trail of
	 * sizes that led there. */
	trail[0] = '\0';
	used = (size_t)snprintf(trail, sizeof trail, "%d", a->resolution);
	if (a->stem.present && a->stem.stride > 1) {
		if (a->resolution <= 1)
			core_field_errorf(fe, "stem.stride",
					  "the input is already 1x1, stride 2 "
					  "has nothing to downsample");
		if (used < sizeof trail)
			used +=
			    (size_t)snprintf(trail + used, sizeof trail - used,
					     " -> %d", sizes[0]);
	}
	for (int i = 0; i < a->nstages; i++) {
		if (a->stages[i].stride > 1 && sizes[i] <= 1) {
			snprintf(p, sizeof p, "stages[%d].stride", i);
			core_field_errorf(fe, p,
					  "the spatial size has collapsed to "
					  "1x1 before this stage (%s), stride "
					  "2 has nothing to downsample",
					  trail);
		}
		if (a->stages[i].stride > 1 && sizes[i] > 1 &&
		    used < sizeof trail)
			used +=
			    (size_t)snprintf(trail + used, sizeof trail - used,
					     " -> %d", sizes[i + 1]);
	}
}

enum core_status arch_validate_into(const struct arch *a,
				    struct core_field_errors *fe)
{
	validate_fields(a, fe);
	if (fe->n == 0 && fe->dropped == 0)
		validate_shapes(a, fe);
	return fe->n || fe->dropped ? CORE_ERR_INVALID : CORE_OK;
}

enum core_status arch_validate(const struct arch *a,
			       struct core_field_errors *fe)
{
	core_field_errors_clear(fe);
	return arch_validate_into(a, fe);
}
