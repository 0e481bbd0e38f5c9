/* SPDX-License-Identifier: Apache-2.0 */
/* space_parse.c - `lmnas-space/1` JSON <-> struct space: the default (seed
 * paper) space, parsing with field-path errors and the feasibility check,
 * and the canonical JSON form. */
#include "space_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const root_keys[] = {
    "format", "name", "stages", "resolution", "channels",  "stem",
    "block",  "out",  "layers", "kernel",     "stride",	   "expand",
    "se",     "skip", "act",	"dropout",    "overrides", NULL};
static const char *const stages_keys[] = {"min", "max", NULL};
static const char *const stem_keys[] = {"optional", "out", "kernel",
					"stride",   "act", NULL};
static const char *const override_keys[] = {
    "stage",  "block", "out",  "layers", "kernel", "stride",
    "expand", "se",    "skip", "act",	 NULL};

/* ---- the default space ------------------------------------------------- */

static void ints_set(struct space_ints *l, const int *v, int n)
{
	l->n = n;
	memcpy(l->v, v, (size_t)n * sizeof v[0]);
}

static void reals_set(struct space_reals *l, const double *v, int n)
{
	l->n = n;
	for (int i = 0; i < n; i++)
		l->v[i] = arch_real_canonical(v[i]);
}

void space_default(struct space *s)
{
	static const int out[] = {16, 24, 32, 48, 64, 96, 128, 160};
	static const int layers[] = {1, 2, 3, 4, 6};
	static const int kernel[] = {3, 5, 7};
	static const int stride[] = {1, 2};
	static const int expand[] = {2, 3, 4, 6};
	static const double se[] = {0, 0.25, 0.5};
	static const int block[] = {ARCH_BLOCK_DWSEP, ARCH_BLOCK_MBCONV};
	static const int skip[] = {ARCH_SKIP_NONE, ARCH_SKIP_RESIDUAL};
	static const int act[] = {ARCH_ACT_RELU6, ARCH_ACT_LEAKYRELU,
				  ARCH_ACT_SWISH};
	static const int resolution[] = {32, 64, 96, 128, 160};
	static const int channels[] = {3};
	static const double dropout[] = {0, 0.05, 0.1, 0.2};
	/* Used only when a space asks for a stem without naming lists. */
	static const int stem_kernel[] = {3}, stem_stride[] = {2};
	static const int stem_act[] = {ARCH_ACT_RELU6};
	struct space_stage *st = &s->all;

	memset(s, 0, sizeof *s);
	s->stages_min = s->stages_max = 5;
	ints_set(&s->resolution, resolution, 5);
	ints_set(&s->channels, channels, 1);
	s->stem.mode = SPACE_STEM_NONE;
	ints_set(&s->stem.kernel, stem_kernel, 1);
	ints_set(&s->stem.stride, stem_stride, 1);
	ints_set(&s->stem.act, stem_act, 1);
	ints_set(&st->block, block, 2);
	ints_set(&st->out, out, 8);
	ints_set(&st->layers, layers, 5);
	ints_set(&st->kernel, kernel, 3);
	ints_set(&st->stride, stride, 2);
	ints_set(&st->expand, expand, 4);
	reals_set(&st->se, se, 3);
	ints_set(&st->skip, skip, 2);
	ints_set(&st->act, act, 3);
	reals_set(&s->dropout, dropout, 4);
	for (int i = 0; i < ARCH_MAX_STAGES; i++)
		s->stage[i] = s->all;
}

/* ---- parsing ----------------------------------------------------------- */

/* Reads an optional list member of obj into the struct at base; returns 1
 * when the member was present (valid or not). */
static int read_list(const struct space_list_spec *sp, const json_t *obj,
		     const char *prefix, void *base,
		     struct core_field_errors *fe)
{
	const json_t *v = json_object_get(obj, sp->key);
	char p[128];

	if (!v)
		return 0;
	snprintf(p, sizeof p, "%s%s%s", prefix, *prefix ? "." : "", sp->key);
	space_list_read(sp, v, p, space_list_at(sp, base), fe);
	return 1;
}

static void read_int_member(const json_t *obj, const char *key,
			    const char *path, int lo, int hi, int *out,
			    struct core_field_errors *fe)
{
	const json_t *v = json_object_get(obj, key);

	if (!v) {
		core_field_errorf(fe, path, "required");
	} else if (!json_is_integer(v)) {
		core_field_errorf(fe, path, "expected an integer, got %s",
				  arch_json_kind(v));
	} else if (json_integer_value(v) < lo || json_integer_value(v) > hi) {
		core_field_errorf(fe, path,
				  "%" JSON_INTEGER_FORMAT " is outside %d..%d",
				  json_integer_value(v), lo, hi);
	} else {
		*out = (int)json_integer_value(v);
	}
}

static void read_stages(const json_t *j, struct space *s,
			struct core_field_errors *fe)
{
	const json_t *v = json_object_get(j, "stages");
	int before = fe->n + fe->dropped;

	if (!v)
		return;
	if (!json_is_object(v)) {
		core_field_errorf(fe, "stages", "expected an object, got %s",
				  arch_json_kind(v));
		return;
	}
	arch_json_check_keys(v, "stages", stages_keys, fe);
	read_int_member(v, "min", "stages.min", 1, ARCH_MAX_STAGES,
			&s->stages_min, fe);
	read_int_member(v, "max", "stages.max", 1, ARCH_MAX_STAGES,
			&s->stages_max, fe);
	if (fe->n + fe->dropped == before && s->stages_min > s->stages_max)
		core_field_errorf(fe, "stages", "min %d is above max %d",
				  s->stages_min, s->stages_max);
}

static void read_stem(const json_t *j, struct space *s,
		      struct core_field_errors *fe)
{
	const json_t *v = json_object_get(j, "stem"), *opt;

	if (!v || json_is_null(v))
		return;
	if (!json_is_object(v)) {
		core_field_errorf(fe, "stem",
				  "expected an object or null, got %s",
				  arch_json_kind(v));
		return;
	}
	arch_json_check_keys(v, "stem", stem_keys, fe);
	s->stem.mode = SPACE_STEM_REQUIRED;
	opt = json_object_get(v, "optional");
	if (opt && !json_is_boolean(opt))
		core_field_errorf(fe, "stem.optional",
				  "expected a boolean, got %s",
				  arch_json_kind(opt));
	else if (opt && json_is_true(opt))
		s->stem.mode = SPACE_STEM_OPTIONAL;
	if (!json_object_get(v, "out"))
		core_field_errorf(fe, "stem.out", "required");
	for (int i = 0; i < SPACE_STEM_LISTS; i++)
		read_list(&space_stem_lists[i], v, "stem", &s->stem, fe);
}

static void read_overrides(const json_t *j, struct space *s,
			   struct core_field_errors *fe)
{
	const json_t *v = json_object_get(j, "overrides");
	int seen[ARCH_MAX_STAGES];
	char prefix[32], p[64];

	for (int i = 0; i < ARCH_MAX_STAGES; i++)
		seen[i] = -1;
	if (!v)
		return;
	if (!json_is_array(v)) {
		core_field_errorf(fe, "overrides", "expected an array, got %s",
				  arch_json_kind(v));
		return;
	}
	if (json_array_size(v) > ARCH_MAX_STAGES) {
		core_field_errorf(fe, "overrides", "%zu entries, at most %d",
				  json_array_size(v), ARCH_MAX_STAGES);
		return;
	}
	for (size_t k = 0; k < json_array_size(v); k++) {
		const json_t *o = json_array_get(v, k);
		int stage = -1;
		struct space_stage set;
		unsigned bits = 0;

		snprintf(prefix, sizeof prefix, "overrides[%zu]", k);
		if (!json_is_object(o)) {
			core_field_errorf(fe, prefix,
					  "expected an object, got %s",
					  arch_json_kind(o));
			continue;
		}
		arch_json_check_keys(o, prefix, override_keys, fe);
		snprintf(p, sizeof p, "%s.stage", prefix);
		read_int_member(o, "stage", p, 0, ARCH_MAX_STAGES - 1, &stage,
				fe);
		memset(&set, 0, sizeof set);
		for (int i = 0; i < SPACE_STAGE_LISTS; i++)
			if (read_list(&space_stage_lists[i], o, prefix, &set,
				      fe))
				bits |= space_stage_lists[i].bit;
		if (stage < 0)
			continue;
		if (stage >= s->stages_max) {
			core_field_errorf(fe, p,
					  "%d is beyond the last stage (stages."
					  "max is %d)",
					  stage, s->stages_max);
			continue;
		}
		if (seen[stage] >= 0) {
			core_field_errorf(fe, p,
					  "stage %d is already overridden by "
					  "overrides[%d]",
					  stage, seen[stage]);
			continue;
		}
		seen[stage] = (int)k;
		if (!bits)
			core_field_errorf(fe, prefix,
					  "overrides no list (give at least "
					  "one of block, out, layers, ...)");
		s->overridden[stage] = bits;
		for (int i = 0; i < SPACE_STAGE_LISTS; i++) {
			const struct space_list_spec *sp =
			    &space_stage_lists[i];

			if (bits & sp->bit)
				memcpy(space_list_at(sp, &s->stage[stage]),
				       space_list_at(sp, &set),
				       sp->kind == SPACE_KIND_REAL
					   ? sizeof(struct space_reals)
					   : sizeof(struct space_ints));
		}
	}
}

static int ints_min(const struct space_ints *l)
{
	return l->v[0]; /* sorted */
}

static int ints_max(const struct space_ints *l)
{
	return l->v[l->n - 1];
}

/* The narrowest member: if even it fails arch_validate, all do (every limit
 * grows with resolution shrinking, strides, widths, expansions, stages). */
static void check_feasible(const struct space *s, struct core_field_errors *fe)
{
	struct core_field_errors ae;
	struct arch a;

	memset(&a, 0, sizeof a);
	a.resolution = ints_max(&s->resolution);
	a.channels = ints_min(&s->channels);
	if (s->stem.mode == SPACE_STEM_REQUIRED) {
		a.stem.present = 1;
		a.stem.out = ints_min(&s->stem.out);
		a.stem.kernel = ints_min(&s->stem.kernel);
		a.stem.stride = ints_min(&s->stem.stride);
		a.stem.act = (enum arch_act)s->stem.act.v[0];
	}
	a.nstages = s->stages_min;
	for (int i = 0; i < a.nstages; i++) {
		const struct space_stage *l = &s->stage[i];
		struct arch_stage *st = &a.stages[i];

		st->block =
		    (enum arch_block)ints_min(&l->block); /* dwsep 1st */
		st->out = ints_min(&l->out);
		st->layers = ints_min(&l->layers);
		st->kernel = ints_min(&l->kernel);
		st->stride = ints_min(&l->stride);
		st->expand = ints_min(&l->expand);
		st->se = l->se.v[0];
		st->skip = (enum arch_skip)l->skip.v[0];
		st->act = (enum arch_act)l->act.v[0];
	}
	a.dropout = s->dropout.v[0];
	a.classes = ARCH_MIN_CLASSES;
	if (arch_validate(&a, &ae) == CORE_OK)
		return;
	core_field_errorf(fe, "$",
			  "no architecture in this space is valid: even the "
			  "narrowest fails with %s: %s",
			  ae.e[0].field, ae.e[0].reason);
}

enum core_status space_from_json(const json_t *j, struct space *out,
				 struct core_field_errors *fe)
{
	struct space s;
	const json_t *v;
	char shown[48];

	core_field_errors_clear(fe);
	space_default(&s);
	if (!j || !json_is_object(j)) {
		core_field_errorf(fe, "$", "expected an object, got %s",
				  j ? arch_json_kind(j) : "nothing");
		return CORE_ERR_INVALID;
	}
	arch_json_check_keys(j, "", root_keys, fe);
	v = json_object_get(j, "format");
	if (!v)
		core_field_errorf(fe, "format", "required");
	else if (!json_is_string(v))
		core_field_errorf(fe, "format", "expected a string, got %s",
				  arch_json_kind(v));
	else if (strcmp(json_string_value(v), SPACE_FORMAT) != 0) {
		arch_json_printable(json_string_value(v), shown, sizeof shown);
		core_field_errorf(fe, "format", "'%s' is not %s", shown,
				  SPACE_FORMAT);
	}
	v = json_object_get(j, "name");
	if (v && !json_is_string(v))
		core_field_errorf(fe, "name", "expected a string, got %s",
				  arch_json_kind(v));
	else if (v && json_string_length(v) >= sizeof s.name)
		core_field_errorf(fe, "name", "%zu bytes, at most %d",
				  json_string_length(v), ARCH_MAX_NAME - 1);
	else if (v && strlen(json_string_value(v)) != json_string_length(v))
		core_field_errorf(fe, "name", "contains a NUL byte");
	else if (v)
		memcpy(s.name, json_string_value(v), json_string_length(v) + 1);
	read_stages(j, &s, fe);
	read_list(&space_resolution_list, j, "", &s, fe);
	read_list(&space_channels_list, j, "", &s, fe);
	read_stem(j, &s, fe);
	for (int i = 0; i < SPACE_STAGE_LISTS; i++)
		read_list(&space_stage_lists[i], j, "", &s.all, fe);
	read_list(&space_dropout_list, j, "", &s, fe);
	for (int i = 0; i < ARCH_MAX_STAGES; i++)
		s.stage[i] = s.all;
	read_overrides(j, &s, fe);
	if (fe->n == 0 && fe->dropped == 0)
		check_feasible(&s, fe);
	if (fe->n || fe->dropped)
		return CORE_ERR_INVALID;
	*out = s;
	return CORE_OK;
}

enum core_status space_parse(const char *text, size_t len, struct space *out,
			     struct core_field_errors *fe)
{
	json_t *j = NULL;
	enum core_status rc;

	core_field_errors_clear(fe);
	rc = arch_json_load(text, len, SPACE_MAX_JSON_BYTES, &j, fe);
	if (rc)
		return rc;
	rc = space_from_json(j, out, fe);
	json_decref(j);
	return rc;
}

/* ---- canonical JSON ---------------------------------------------------- */

static int put(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new(o, k, v) ? -1 : 0;
}

static int put_list(json_t *o, const struct space_list_spec *sp,
		    const void *base)
{
	return put(o, sp->key, space_list_to_json(sp, space_list_at(sp, base)));
}

static json_t *stem_to_json(const struct space *s)
{
	json_t *o;
	int bad;

	if (s->stem.mode == SPACE_STEM_NONE)
		return json_null();
	o = json_object();
	bad = put(o, "optional",
		  json_boolean(s->stem.mode == SPACE_STEM_OPTIONAL));
	for (int i = 0; i < SPACE_STEM_LISTS; i++)
		bad |= put_list(o, &space_stem_lists[i], &s->stem);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *overrides_to_json(const struct space *s)
{
	json_t *arr = json_array();

	for (int i = 0; i < ARCH_MAX_STAGES; i++) {
		json_t *o;
		int bad;

		if (!s->overridden[i])
			continue;
		o = json_object();
		bad = put(o, "stage", json_integer(i));
		for (int k = 0; k < SPACE_STAGE_LISTS; k++)
			if (s->overridden[i] & space_stage_lists[k].bit)
				bad |= put_list(o, &space_stage_lists[k],
						&s->stage[i]);
		if (bad) {
			json_decref(o);
			o = NULL;
		}
		if (json_array_append_new(arr, o)) { /* steals o */
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

json_t *space_to_json(const struct space *s)
{
	json_t *root = json_object(), *stages = json_object();
	int bad = 0;

	bad |= put(stages, "min", json_integer(s->stages_min));
	bad |= put(stages, "max", json_integer(s->stages_max));
	bad |= put(root, "format", json_string(SPACE_FORMAT));
	bad |= put(root, "name", json_string(s->name));
	bad |= put(root, "stages", stages);
	bad |= put_list(root, &space_resolution_list, s);
	bad |= put_list(root, &space_channels_list, s);
	bad |= put(root, "stem", stem_to_json(s));
	for (int i = 0; i < SPACE_STAGE_LISTS; i++)
		bad |= put_list(root, &space_stage_lists[i], &s->all);
	bad |= put_list(root, &space_dropout_list, s);
	bad |= put(root, "overrides", overrides_to_json(s));
	if (bad) {
		json_decref(root);
		return NULL;
	}
	return root;
}
