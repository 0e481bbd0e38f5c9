/* SPDX-License-Identifier: Apache-2.0 */
/* cost.c - POST /v1/cost: an architecture -> its validity, hash, totals and
 * per-op memory plan, the document `lmnas cost --json` prints (one builder,
 * cost_arch_json). The body is either the lmnas-arch/1 document itself or
 * {"arch": ARCH, "space": SPACE} to check membership of a search space too.
 * It holds no team's data, but like every non-operational /v1 route it
 * needs a token (HTTP_ROUTE_TEAM_SCOPED, as spaces.c: every team gets the
 * same answer). An invalid architecture or space is a 422 naming its
 * fields; an architecture outside the space is a 200 with space.member
 * false, as the CLI prints it. */
#include "http.h"

#include "cost/cost.h"
#include "space/space.h"

#include <stdio.h>
#include <string.h>

/* Everything one request needs, on the heap: field error lists are 12 KiB
 * each and server threads' stacks small. */
struct cost_work {
	struct arch arch;
	struct space space;
	struct core_field_errors fe, space_fe, out;
};

/* Copies fe into out with every field under prefix ("arch", "space"; NULL
 * or "" keeps them as they are). */
static void errors_prefixed(const struct core_field_errors *fe,
			    const char *prefix, struct core_field_errors *out)
{
	char path[sizeof fe->e[0].field];

	core_field_errors_clear(out);
	for (int i = 0; i < fe->n; i++) {
		const char *f = fe->e[i].field;

		if (!prefix || !*prefix)
			snprintf(path, sizeof path, "%s", f);
		else if (!*f || strcmp(f, "$") == 0)
			snprintf(path, sizeof path, "%s", prefix);
		else
			snprintf(path, sizeof path, "%s%s%s", prefix,
				 f[0] == '[' ? "" : ".", f);
		core_field_errorf(out, path, "%s", fe->e[i].reason);
	}
	out->dropped += fe->dropped;
}

static void cost_post(struct http_request *req, struct http_response *res)
{
	struct cost_work *w = core_calloc(1, sizeof *w);
	struct cost_space_check sc;
	struct cost_report r;
	const json_t *arch_j = req->body, *space_j = NULL;
	const char *prefix = NULL, *key;
	char err[CORE_ERR_LEN], hash[65];
	enum core_status st;
	json_t *v;

	if (!w) {
		http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
		return;
	}
	core_field_errors_clear(&w->out);
	if (!json_is_object(req->body)) {
		core_field_errorf(&w->out, "$",
				  "must be an %s object or {\"arch\", "
				  "\"space\"}",
				  ARCH_FORMAT);
		goto invalid;
	}
	if (json_object_get(req->body, "arch")) {
		/* the wrapper: {"arch": ..., "space": ...}, nothing else */
		prefix = "arch";
		arch_j = json_object_get(req->body, "arch");
		space_j = json_object_get(req->body, "space");
		json_object_foreach((json_t *)req->body, key, v)
		{
			(void)v;
			if (strcmp(key, "arch") && strcmp(key, "space"))
				core_field_errorf(&w->out, key,
						  "unknown field (expected "
						  "arch, space)");
		}
		if (json_is_null(space_j))
			space_j = NULL;
		if (w->out.n)
			goto invalid;
	}
	st = arch_from_json(arch_j, &w->arch, &w->fe);
	if (st == CORE_ERR_INVALID) {
		errors_prefixed(&w->fe, prefix, &w->out);
		goto invalid;
	}
	if (st)
		goto nomem;
	if (space_j) {
		st = space_from_json(space_j, &w->space, &w->fe);
		if (st == CORE_ERR_INVALID) {
			errors_prefixed(&w->fe, "space", &w->out);
			goto invalid;
		}
		if (st)
			goto nomem;
		st = space_check(&w->space, &w->arch, &w->space_fe);
		if (st && st != CORE_ERR_INVALID)
			goto nomem;
		sc.path = NULL;
		sc.member = st == CORE_OK;
		sc.errors = &w->space_fe;
	}
	if (arch_hash(&w->arch, hash))
		goto nomem;
	st = cost_report_build(&w->arch, &r, err, sizeof err);
	if (st && st != CORE_ERR_INVALID)
		goto nomem;
	if (st) {
		/* arch_from_json validated it: a graph the coster refuses
		 * is still the request's, named as a whole */
		core_field_errorf(&w->out, prefix ? prefix : "$", "%s", err);
		goto invalid;
	}
	http_reply_json(
	    res, 200, cost_arch_json(&w->arch, hash, space_j ? &sc : NULL, &r));
	cost_report_free(&r);
	core_free(w);
	return;
invalid:
	http_reply_error(res, HTTP_E_VALIDATION_FAILED,
			 "the architecture or space is not valid", &w->out);
	core_free(w);
	return;
nomem:
	http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
	core_free(w);
}

enum core_status http_cost_routes_add(struct http_router *r, char *err,
				      size_t errlen)
{
	return http_router_add(r, HTTP_POST, "/v1/cost", cost_post,
			       HTTP_ROUTE_BODY | HTTP_ROUTE_TEAM_SCOPED, err,
			       errlen);
}
