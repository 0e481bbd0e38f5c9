/* SPDX-License-Identifier: Apache-2.0 */
/* spaces.c - GET /v1/search-spaces/default: the default search space as
 * JSON (what `lmnas space show --json` prints). It holds no team's data, but
 * like every non-operational /v1 route it needs a token
 * (HTTP_ROUTE_TEAM_SCOPED: every team sees the same space). */
#include "http.h"

#include "space/space.h"

static void space_default_get(struct http_request *req,
			      struct http_response *res)
{
	/* on the heap: the space is a few KiB, server threads' stacks small */
	struct space *s = core_calloc(1, sizeof *s);

	(void)req;
	if (!s) {
		http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
		return;
	}
	space_default(s);
	http_reply_json(res, 200, space_to_json(s));
	core_free(s);
}

enum core_status http_spaces_routes_add(struct http_router *r, char *err,
					size_t errlen)
{
	return http_router_add(r, HTTP_GET, "/v1/search-spaces/default",
			       space_default_get, HTTP_ROUTE_TEAM_SCOPED, err,
			       errlen);
}
