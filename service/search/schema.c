/* SPDX-License-Identifier: Apache-2.0 */
/* schema.c - the JSON Schema of an LLM reply, with the architecture fields
 * restricted to the values of the job's space (for response_format
 * json_schema, so that grammar-constrained servers cannot leave the space).
 */
#include "search_internal.h"

#include <string.h>

typedef const char *(*enum_name_fn)(int);

static const char *block_name(int v)
{
	return arch_block_name((enum arch_block)v);
}
static const char *skip_name(int v)
{
	return arch_skip_name((enum arch_skip)v);
}
static const char *act_name(int v)
{
	return arch_act_name((enum arch_act)v);
}

/* Appends x to the array a unless an equal value is there (steals x). */
static int add_unique(json_t *a, json_t *x)
{
	size_t i;
	json_t *v;

	if (!x)
		return -1;
	json_array_foreach(a, i, v)
	{
		if (json_equal(v, x)) {
			json_decref(x);
			return 0;
		}
	}
	return json_array_append_new(a, x);
}

static int add_ints(json_t *a, const struct space_ints *l, enum_name_fn name)
{
	for (int i = 0; i < l->n; i++)
		if (add_unique(a, name ? json_string(name(l->v[i]))
				       : json_integer(l->v[i])))
			return -1;
	return 0;
}

static int add_reals(json_t *a, const struct space_reals *l)
{
	for (int i = 0; i < l->n; i++)
		if (add_unique(a, json_real(l->v[i])))
			return -1;
	return 0;
}

/* {"type": type, "enum": values} (steals values). */
static json_t *enum_of(const char *type, json_t *values)
{
	json_t *o = json_object();
	int bad;

	if (!o || !values) {
		json_decref(o);
		json_decref(values);
		return NULL;
	}
	/* json_object_set_new steals its value even when it fails */
	bad = json_object_set_new(o, "type", json_string(type)) != 0;
	if (bad)
		json_decref(values);
	else
		bad = json_object_set_new(o, "enum", values) != 0;
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* {"type": "object", "properties": props, "required": [every key],
 * "additionalProperties": false} (steals props). */
static json_t *closed_object(json_t *props)
{
	json_t *o = json_object(), *req = json_array();
	const char *k;
	json_t *v;
	int bad = !o || !req || !props;

	if (bad) {
		json_decref(o);
		json_decref(req);
		json_decref(props);
		return NULL;
	}
	json_object_foreach(props, k, v)
	{
		bad |= json_array_append_new(req, json_string(k)) != 0;
	}
	/* json_object_set_new steals its value even when it fails */
	bad |= json_object_set_new(o, "type", json_string("object")) != 0;
	bad |= json_object_set_new(o, "properties", props) != 0;
	bad |= json_object_set_new(o, "required", req) != 0;
	bad |= json_object_set(o, "additionalProperties", json_false()) != 0;
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int allows_dwsep(const struct space *s)
{
	for (int i = 0; i < s->stages_max; i++)
		for (int j = 0; j < s->stage[i].block.n; j++)
			if (s->stage[i].block.v[j] == ARCH_BLOCK_DWSEP)
				return 1;
	return 0;
}

/* Property key -> enum over the union of the stage lists at offset off. */
static int stage_prop(json_t *props, const struct space *s, const char *key,
		      const char *type, size_t off, enum_name_fn name, int real)
{
	json_t *vals = json_array();

	if (!vals)
		return -1;
	/* a dwsep stage writes expand 1 (it ignores it) */
	if (strcmp(key, "expand") == 0 && allows_dwsep(s) &&
	    add_unique(vals, json_integer(1))) {
		json_decref(vals);
		return -1;
	}
	for (int i = 0; i < s->stages_max; i++) {
		const char *base = (const char *)&s->stage[i] + off;
		int bad =
		    real
			? add_reals(vals, (const struct space_reals *)base)
			: add_ints(vals, (const struct space_ints *)base, name);
		if (bad) {
			json_decref(vals);
			return -1;
		}
	}
	return json_object_set_new(props, key, enum_of(type, vals));
}

static json_t *stage_schema(const struct space *s)
{
	json_t *p = json_object();
	int bad = !p;

#define PROP(key, type, field, name, real)                                     \
	bad =                                                                  \
	    bad || stage_prop(p, s, key, type,                                 \
			      offsetof(struct space_stage, field), name, real)
	PROP("block", "string", block, block_name, 0);
	PROP("out", "integer", out, NULL, 0);
	PROP("layers", "integer", layers, NULL, 0);
	PROP("kernel", "integer", kernel, NULL, 0);
	PROP("stride", "integer", stride, NULL, 0);
	PROP("expand", "integer", expand, NULL, 0);
	PROP("se", "number", se, NULL, 1);
	PROP("skip", "string", skip, skip_name, 0);
	PROP("act", "string", act, act_name, 0);
#undef PROP
	if (bad) {
		json_decref(p);
		return NULL;
	}
	return closed_object(p);
}

static json_t *ints_enum(const struct space_ints *l, enum_name_fn name)
{
	json_t *a = json_array();

	if (!a || add_ints(a, l, name)) {
		json_decref(a);
		return NULL;
	}
	return enum_of(name ? "string" : "integer", a);
}

static json_t *stem_schema(const struct space *s)
{
	const struct space_stem *st = &s->stem;
	json_t *obj, *any;

	if (st->mode == SPACE_STEM_NONE)
		return json_pack("{s:s}", "type", "null");
	obj = closed_object(json_pack("{s:o,s:o,s:o,s:o}", "out",
				      ints_enum(&st->out, NULL), "kernel",
				      ints_enum(&st->kernel, NULL), "stride",
				      ints_enum(&st->stride, NULL), "act",
				      ints_enum(&st->act, act_name)));
	if (!obj || st->mode == SPACE_STEM_REQUIRED)
		return obj;
	any = json_pack("{s:[{s:s},o]}", "anyOf", "type", "null", obj);
	return any;
}

static json_t *arch_schema(const struct search_spec *spec)
{
	const struct space *s = &spec->space;
	json_t *dropout = json_array(), *three = json_pack("[i]", 3);
	json_t *stages;

	if (!dropout || add_reals(dropout, &s->dropout)) {
		json_decref(dropout);
		json_decref(three);
		return NULL;
	}
	stages = json_pack("{s:s,s:i,s:i,s:o}", "type", "array", "minItems",
			   s->stages_min, "maxItems", s->stages_max, "items",
			   stage_schema(s));
	return closed_object(json_pack(
	    "{s:o,s:o,s:o,s:o,s:o}", "format",
	    enum_of("string", json_pack("[s]", ARCH_FORMAT)), "input",
	    closed_object(json_pack("{s:o,s:o}", "resolution",
				    ints_enum(&s->resolution, NULL), "channels",
				    enum_of("integer", three))),
	    "stem", stem_schema(s), "stages", stages, "head",
	    closed_object(json_pack(
		"{s:o,s:o}", "dropout", enum_of("number", dropout), "classes",
		enum_of("integer",
			json_pack("[i]", search_spec_classes(spec)))))));
}

enum core_status search_reply_schema(const struct search_spec *spec, int k,
				     char **out, size_t *out_len, char *err,
				     size_t errlen)
{
	json_t *entry, *root;
	enum core_status rc;

	*out = NULL;
	entry = closed_object(json_pack("{s:{s:s},s:o}", "rationale", "type",
					"string", "arch", arch_schema(spec)));
	root = closed_object(json_pack(
	    "{s:{s:s,s:i,s:i,s:o}}", "candidates", "type", "array", "minItems",
	    1, "maxItems", k < 1 ? 1 : k, "items", entry));
	if (!root) {
		core_errf(err, errlen, "out of memory building the schema");
		return CORE_ERR_NOMEM;
	}
	rc = arch_json_dump(root, 0, out, out_len);
	json_decref(root);
	if (rc)
		core_errf(err, errlen, "out of memory building the schema");
	return rc;
}
