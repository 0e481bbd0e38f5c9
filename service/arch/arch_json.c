/* SPDX-License-Identifier: Apache-2.0 */
/* arch_json.c - JSON plumbing of the arch module: defensive loading of
 * outside text, serialisation with canonical reals, the canonical form of a
 * struct arch and its identity hash. */
#include "arch.h"

#include <stdio.h>
#include <string.h>

/* ---- loading ----------------------------------------------------------- */

/* 1 when [ and { nest deeper than max outside strings. Jansson itself allows
 * 2048 levels; this runs first so that no deep document reaches it. Invalid
 * JSON that fools the scan is rejected by Jansson anyway. */
static int nests_deeper_than(const char *t, size_t len, int max)
{
	int depth = 0, in_str = 0;

	for (size_t i = 0; i < len; i++) {
		char c = t[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return 1;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return 0;
}

enum core_status arch_json_load(const char *text, size_t len, size_t max_bytes,
				json_t **out, struct core_field_errors *fe)
{
	json_error_t jerr;
	json_t *j;
	char near[48];

	*out = NULL;
	if (!text) {
		core_field_errorf(fe, "$", "no document");
		return CORE_ERR_INVALID;
	}
	if (len > max_bytes) {
		core_field_errorf(fe, "$", "%zu bytes, more than %zu", len,
				  max_bytes);
		return CORE_ERR_INVALID;
	}
	if (nests_deeper_than(text, len, ARCH_MAX_JSON_DEPTH)) {
		core_field_errorf(fe, "$", "nested deeper than %d levels",
				  ARCH_MAX_JSON_DEPTH);
		return CORE_ERR_INVALID;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
		       &jerr);
	if (!j) {
		/* Jansson leaves the text empty when it cannot even set up
		 * its lexer (out of memory before reading anything). */
		if (json_error_code(&jerr) == json_error_out_of_memory ||
		    jerr.text[0] == '\0')
			return CORE_ERR_NOMEM;
		/* Jansson quotes the input near the error: keep it printable.
		 */
		arch_json_printable(jerr.text, near, sizeof near);
		core_field_errorf(fe, "$", "line %d, column %d: %s", jerr.line,
				  jerr.column, near);
		return CORE_ERR_INVALID;
	}
	if (!json_is_object(j)) {
		core_field_errorf(fe, "$", "expected an object, got %s",
				  arch_json_kind(j));
		json_decref(j);
		return CORE_ERR_INVALID;
	}
	*out = j;
	return CORE_OK;
}

/* ---- helpers for error text -------------------------------------------- */

const char *arch_json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "real";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

void arch_json_printable(const char *s, char *out, size_t outlen)
{
	size_t n = 0, i = 0;
	const size_t keep = 40;

	if (outlen == 0)
		return;
	for (; i < keep && s[i] && n + 1 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (s[i] && n + 4 < outlen) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

int arch_json_check_keys(const json_t *obj, const char *path,
			 const char *const *allowed,
			 struct core_field_errors *fe)
{
	const char *key;
	json_t *v;
	int unknown = 0;
	char k[48], p[128];

	/* json_object_foreach takes a non-const object; it only reads. */
	json_object_foreach((json_t *)obj, key, v)
	{
		int known = 0;

		for (int i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0)
				known = 1;
		if (known)
			continue;
		unknown++;
		arch_json_printable(key, k, sizeof k);
		snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", k);
		core_field_errorf(fe, p, "unknown field");
	}
	return unknown;
}

/* ---- serialisation ----------------------------------------------------- */

static int dump_append(const char *buffer, size_t size, void *data)
{
	return core_buf_append(data, buffer, size) == CORE_OK ? 0 : -1;
}

enum core_status arch_json_dump(const json_t *j, int pretty, char **out,
				size_t *len)
{
	struct core_buf b;
	size_t flags = JSON_REAL_PRECISION(ARCH_JSON_REAL_PRECISION) |
		       (pretty ? JSON_INDENT(2) : JSON_COMPACT);

	*out = NULL;
	if (len)
		*len = 0;
	core_buf_init(&b, (size_t)ARCH_MAX_JSON_BYTES * 4);
	if (!j || json_dump_callback(j, dump_append, &b, flags) != 0 ||
	    !b.data) {
		core_buf_free(&b);
		return CORE_ERR_NOMEM;
	}
	*out = core_buf_steal(&b, len);
	return CORE_OK;
}

/* ---- canonical form ---------------------------------------------------- */

/* json_object_set_new steals v even on failure (and fails on a NULL v or a
 * NULL o), so a whole object can be built with one check at the end. */
static int put(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new(o, k, v) ? -1 : 0;
}

static json_t *real(double x)
{
	return json_real(arch_real_canonical(x)); /* NULL for NaN/inf */
}

static json_t *stage_to_json(const struct arch_stage *st)
{
	json_t *o = json_object();
	int bad = 0;

	bad |= put(o, "block", json_string(arch_block_name(st->block)));
	bad |= put(o, "out", json_integer(st->out));
	bad |= put(o, "layers", json_integer(st->layers));
	bad |= put(o, "kernel", json_integer(st->kernel));
	bad |= put(o, "stride", json_integer(st->stride));
	bad |= put(o, "expand", json_integer(st->expand));
	bad |= put(o, "se", real(st->se));
	bad |= put(o, "skip", json_string(arch_skip_name(st->skip)));
	bad |= put(o, "act", json_string(arch_act_name(st->act)));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *arch_to_json(const struct arch *a)
{
	json_t *root = json_object(), *input = json_object();
	json_t *stages = json_array(), *head = json_object(), *stem;
	int bad = 0;

	if (a->stem.present) {
		stem = json_object();
		bad |= put(stem, "out", json_integer(a->stem.out));
		bad |= put(stem, "kernel", json_integer(a->stem.kernel));
		bad |= put(stem, "stride", json_integer(a->stem.stride));
		bad |=
		    put(stem, "act", json_string(arch_act_name(a->stem.act)));
	} else {
		stem = json_null();
	}
	bad |= put(input, "resolution", json_integer(a->resolution));
	bad |= put(input, "channels", json_integer(a->channels));
	/* json_array_append_new steals the value even on failure, also when
	 * stages itself is NULL. */
	for (int i = 0; i < a->nstages && i < ARCH_MAX_STAGES; i++)
		if (json_array_append_new(stages, stage_to_json(&a->stages[i])))
			bad = 1;
	bad |= put(head, "dropout", real(a->dropout));
	bad |= put(head, "classes", json_integer(a->classes));

	bad |= put(root, "format", json_string(ARCH_FORMAT));
	/* The name may hold bytes that are not UTF-8 when a was built in code;
	 * json_string refuses those (NULL), which counts as a failure. */
	bad |= put(root, "name", json_string(a->name));
	bad |= put(root, "input", input);
	bad |= put(root, "stem", stem);
	bad |= put(root, "stages", stages);
	bad |= put(root, "head", head);
	if (bad) {
		json_decref(root);
		return NULL;
	}
	return root;
}

enum core_status arch_to_text(const struct arch *a, int pretty, char **out,
			      size_t *len)
{
	json_t *j = arch_to_json(a);
	enum core_status rc;

	*out = NULL;
	if (!j)
		return CORE_ERR_NOMEM;
	rc = arch_json_dump(j, pretty, out, len);
	json_decref(j);
	return rc;
}

/* ---- identity ---------------------------------------------------------- */

enum core_status arch_hash(const struct arch *a, char hex[65])
{
	struct core_field_errors fe;
	struct arch n;
	json_t *j = NULL;
	char *text = NULL;
	size_t len = 0;
	enum core_status rc;

	hex[0] = '\0';
	rc = arch_validate(a, &fe);
	if (rc)
		goto out;
	/* Normalise what the network does not depend on (see arch.h). */
	n = *a;
	n.name[0] = '\0';
	for (int i = 0; i < n.nstages; i++) {
		struct arch_stage *st = &n.stages[i];

		if (st->block == ARCH_BLOCK_DWSEP)
			st->expand = 1;
		if (st->layers == 1 && st->stride > 1)
			st->skip = ARCH_SKIP_NONE;
	}
	rc = CORE_ERR_NOMEM;
	j = arch_to_json(&n);
	if (!j || json_object_del(j, "name") != 0)
		goto out;
	rc = arch_json_dump(j, 0, &text, &len);
	if (rc)
		goto out;
	core_sha256_hex(text, len, hex);
out:
	core_free(text);
	json_decref(j);
	return rc;
}
