/* SPDX-License-Identifier: Apache-2.0 */
/* cost_json.c - the JSON document of an architecture's cost, as `lmnas cost
 * --json` prints it and POST /v1/cost answers it: one builder, so the CLI
 * and the API cannot drift apart. */
#include "cost.h"

json_t *cost_field_errors_json(const struct core_field_errors *fe)
{
	json_t *arr = json_array();

	for (int i = 0; arr && i < fe->n; i++)
		if (json_array_append_new(
			arr, json_pack("{ssss}", "field", fe->e[i].field,
				       "reason", fe->e[i].reason))) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

json_t *cost_invalid_json(const struct core_field_errors *fe)
{
	return json_pack("{sbso}", "valid", 0, "errors",
			 cost_field_errors_json(fe));
}

json_t *cost_arch_json(const struct arch *a, const char *hash,
		       const struct cost_space_check *space,
		       const struct cost_report *r)
{
	json_t *o =
	    json_pack("{sssssb}", "name", a->name, "hash", hash, "valid", 1);
	json_t *sj = NULL;

	if (!o)
		return NULL;
	if (!space) {
		sj = json_null();
	} else {
		sj = json_object();
		if (sj && space->path &&
		    json_object_set_new(sj, "path", json_string(space->path)))
			goto nomem;
		if (!sj ||
		    json_object_set_new(sj, "member",
					json_boolean(space->member)) ||
		    json_object_set_new(sj, "errors",
					cost_field_errors_json(space->errors)))
			goto nomem;
	}
	if (json_object_set_new(o, "space", sj)) {
		sj = NULL;
		goto nomem;
	}
	sj = NULL;
	if (json_object_set_new(o, "cost", cost_report_to_json(r)))
		goto nomem;
	return o;
nomem:
	json_decref(sj);
	json_decref(o);
	return NULL;
}
