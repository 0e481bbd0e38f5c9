/* SPDX-License-Identifier: Apache-2.0 */
/* arch_parse.c - `lmnas-arch/1` JSON -> struct arch: structure and type
 * checks with field paths, defaults, then arch_validate for the limits.
 *
 * A field that is missing or of the wrong type is reported once and replaced
 * by a valid placeholder, so that validation does not report it a second time
 * (the cross-field checks do not run when anything was reported). */
#include "arch_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const root_keys[] = {"format", "name", "input", "stem",
					"stages", "head", NULL};
static const char *const input_keys[] = {"resolution", "channels", NULL};
static const char *const stem_keys[] = {"out", "kernel", "stride", "act", NULL};
static const char *const stage_keys[] = {"block",  "out",    "layers", "kernel",
					 "stride", "expand", "se",     "skip",
					 "act",	   NULL};
static const char *const head_keys[] = {"dropout", "classes", NULL};

/* Placeholders for fields that are required but missing or invalid. */
#define PH_RESOLUTION 32
#define PH_CLASSES    10
#define PH_OUT	      16
#define PH_KERNEL     3
#define PH_LAYERS     1

/* An int member within lo..hi, dflt unless one is read. */
static void read_int(const struct arch_reader *r, const json_t *obj,
		     const char *key, int required, int dflt, int lo, int hi,
		     int *out)
{
	long long x;

	*out = dflt;
	if (arch_reader_int(r, obj, key, required, lo, hi, &x))
		*out = (int)x;
}

/* A number in [0, 1] (or [0, 1) when hi_open), kept canonical. */
static void read_unit(const struct arch_reader *r, const json_t *obj,
		      const char *key, int hi_open, double *out)
{
	const json_t *v = arch_reader_member(r, obj, key, 0);
	double x, c;
	char p[128];

	*out = 0.0;
	if (!v)
		return;
	if (!json_is_number(v)) {
		arch_reader_type_error(r, key, "a number", v);
		return;
	}
	x = json_number_value(v);
	c = arch_real_canonical(x);
	if (!(c >= 0.0 && (hi_open ? c < 1.0 : c <= 1.0))) {
		arch_reader_path(r, key, p, sizeof p);
		core_field_errorf(r->fe, p, "%.10g%s is outside [0, 1%c", x,
				  c != x ? " (to 6 decimals)" : "",
				  hi_open ? ')' : ']');
		return;
	}
	*out = c;
}

typedef const char *(*name_fn)(int);
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

/* A string naming one of count values (at most 16); returns 1 when read. */
static int read_enum(const struct arch_reader *r, const json_t *obj,
		     const char *key, int required, int dflt, int count,
		     name_fn name, int *out)
{
	const char *names[16];

	for (int i = 0; i < count && i < 16; i++)
		names[i] = name(i);
	*out = dflt;
	return arch_reader_enum(r, obj, key, required, names,
				count < 16 ? count : 16, out);
}

static void read_format(const struct arch_reader *r, const json_t *root)
{
	const json_t *v = arch_reader_member(r, root, "format", 1);
	char shown[48];

	if (!v)
		return;
	if (!json_is_string(v)) {
		arch_reader_type_error(r, "format", "a string", v);
		return;
	}
	if (strcmp(json_string_value(v), ARCH_FORMAT) != 0) {
		arch_json_printable(json_string_value(v), shown, sizeof shown);
		core_field_errorf(r->fe, "format", "'%s' is not %s", shown,
				  ARCH_FORMAT);
	}
}

static void read_name(const struct arch_reader *r, const json_t *root,
		      struct arch *a)
{
	const json_t *v = arch_reader_member(r, root, "name", 0);
	size_t n;

	if (!v)
		return;
	if (!json_is_string(v)) {
		arch_reader_type_error(r, "name", "a string", v);
		return;
	}
	n = json_string_length(v);
	if (n >= sizeof a->name) {
		core_field_errorf(r->fe, "name", "%zu bytes, at most %d", n,
				  ARCH_MAX_NAME - 1);
		return;
	}
	if (memchr(json_string_value(v), '\0', n)) {
		core_field_errorf(r->fe, "name", "contains a NUL byte");
		return;
	}
	/* Control characters and UTF-8 are arch_validate's business. */
	memcpy(a->name, json_string_value(v), n);
	a->name[n] = '\0';
}

static void read_stem(const struct arch_reader *root, const json_t *j,
		      struct arch *a)
{
	const json_t *v = json_object_get(j, "stem");
	struct arch_reader r = {root->fe, "stem"};
	int act = ARCH_ACT_RELU6;

	if (!v || json_is_null(v))
		return;
	if (!json_is_object(v)) {
		arch_reader_type_error(root, "stem", "an object or null", v);
		return;
	}
	a->stem.present = 1;
	arch_json_check_keys(v, "stem", stem_keys, r.fe);
	read_int(&r, v, "out", 1, PH_OUT, 1, ARCH_MAX_CHANNELS, &a->stem.out);
	read_int(&r, v, "kernel", 0, 3, 1, ARCH_MAX_KERNEL, &a->stem.kernel);
	read_int(&r, v, "stride", 0, 2, 1, 2, &a->stem.stride);
	read_enum(&r, v, "act", 0, ARCH_ACT_RELU6, ARCH_ACT_COUNT, act_name,
		  &act);
	a->stem.act = (enum arch_act)act;
}

/* A stage that passes every check. */
static void stage_placeholder(struct arch_stage *st)
{
	*st = (struct arch_stage){
	    ARCH_BLOCK_DWSEP, PH_OUT,	     PH_LAYERS, PH_KERNEL, 1, 1, 0.0,
	    ARCH_SKIP_NONE,   ARCH_ACT_RELU6};
}

static void read_stage(const json_t *v, int i, struct core_field_errors *fe,
		       struct arch_stage *st)
{
	char prefix[32];
	struct arch_reader r = {fe, prefix};
	int block = ARCH_BLOCK_DWSEP, skip = ARCH_SKIP_NONE;
	int act = ARCH_ACT_RELU6, have_block;

	snprintf(prefix, sizeof prefix, "stages[%d]", i);
	stage_placeholder(st);
	if (!json_is_object(v)) {
		core_field_errorf(fe, prefix, "expected an object, got %s",
				  arch_json_kind(v));
		return;
	}
	arch_json_check_keys(v, prefix, stage_keys, fe);
	have_block = read_enum(&r, v, "block", 1, ARCH_BLOCK_DWSEP, 2,
			       block_name, &block);
	st->block = (enum arch_block)block;
	read_int(&r, v, "out", 1, PH_OUT, 1, ARCH_MAX_CHANNELS, &st->out);
	read_int(&r, v, "layers", 1, PH_LAYERS, 1, ARCH_MAX_LAYERS,
		 &st->layers);
	read_int(&r, v, "kernel", 1, PH_KERNEL, 1, ARCH_MAX_KERNEL,
		 &st->kernel);
	read_int(&r, v, "stride", 0, 1, 1, 2, &st->stride);
	/* expand is required for mbconv only; with an unknown block nothing
	 * is said about it. */
	read_int(&r, v, "expand", have_block && st->block == ARCH_BLOCK_MBCONV,
		 1, 1, ARCH_MAX_EXPAND, &st->expand);
	read_unit(&r, v, "se", 0, &st->se);
	read_enum(&r, v, "skip", 0, ARCH_SKIP_NONE, 2, skip_name, &skip);
	st->skip = (enum arch_skip)skip;
	read_enum(&r, v, "act", 0, ARCH_ACT_RELU6, ARCH_ACT_COUNT, act_name,
		  &act);
	st->act = (enum arch_act)act;
}

static void read_stages(const struct arch_reader *r, const json_t *root,
			struct arch *a)
{
	const json_t *v = arch_reader_member(r, root, "stages", 1);
	size_t n;

	/* One placeholder stage unless real ones are read, so that the stage
	 * count is not reported a second time. */
	a->nstages = 1;
	stage_placeholder(&a->stages[0]);
	if (!v)
		return;
	if (!json_is_array(v)) {
		arch_reader_type_error(r, "stages", "an array", v);
		return;
	}
	n = json_array_size(v);
	if (n == 0) {
		core_field_errorf(r->fe, "stages", "must not be empty");
		return;
	}
	if (n > ARCH_MAX_STAGES) {
		/* The first ARCH_MAX_STAGES are still checked. */
		core_field_errorf(r->fe, "stages", "%zu entries, at most %d", n,
				  ARCH_MAX_STAGES);
		n = ARCH_MAX_STAGES;
	}
	a->nstages = (int)n;
	for (size_t i = 0; i < n; i++)
		read_stage(json_array_get(v, i), (int)i, r->fe, &a->stages[i]);
}

enum core_status arch_from_json(const json_t *j, struct arch *out,
				struct core_field_errors *fe)
{
	struct arch_reader root = {fe, ""};
	struct arch_reader in = {fe, "input"}, hd = {fe, "head"};
	const json_t *v;
	struct arch a;
	enum core_status rc;

	core_field_errors_clear(fe);
	memset(&a, 0, sizeof a);
	a.resolution = PH_RESOLUTION;
	a.channels = 3;
	a.classes = PH_CLASSES;
	if (!j || !json_is_object(j)) {
		core_field_errorf(fe, "$", "expected an object, got %s",
				  j ? arch_json_kind(j) : "nothing");
		return CORE_ERR_INVALID;
	}
	arch_json_check_keys(j, "", root_keys, fe);
	read_format(&root, j);
	read_name(&root, j, &a);
	v = arch_reader_object(&root, j, "input", 1, NULL);
	if (v) {
		arch_json_check_keys(v, "input", input_keys, fe);
		read_int(&in, v, "resolution", 1, PH_RESOLUTION,
			 ARCH_MIN_RESOLUTION, ARCH_MAX_RESOLUTION,
			 &a.resolution);
		read_int(&in, v, "channels", 0, 3, 1, ARCH_MAX_INPUT_CHANNELS,
			 &a.channels);
	}
	read_stem(&root, j, &a);
	read_stages(&root, j, &a);
	v = arch_reader_object(&root, j, "head", 1, NULL);
	if (v) {
		arch_json_check_keys(v, "head", head_keys, fe);
		read_unit(&hd, v, "dropout", 1, &a.dropout);
		read_int(&hd, v, "classes", 1, PH_CLASSES, ARCH_MIN_CLASSES,
			 ARCH_MAX_CLASSES, &a.classes);
	}
	rc = arch_validate_into(&a, fe);
	if (rc == CORE_OK)
		*out = a;
	return rc;
}

enum core_status arch_parse(const char *text, size_t len, struct arch *out,
			    struct core_field_errors *fe)
{
	json_t *j = NULL;
	enum core_status rc;

	core_field_errors_clear(fe);
	rc = arch_json_load(text, len, ARCH_MAX_JSON_BYTES, &j, fe);
	if (rc)
		return rc;
	rc = arch_from_json(j, out, fe);
	json_decref(j);
	return rc;
}
