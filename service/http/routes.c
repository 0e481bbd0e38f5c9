/* SPDX-License-Identifier: Apache-2.0 */
/* routes.c - the API's resource table: every resource file registers its
 * routes here, so `lmnas serve` and the tests mount the same API. */
#include "http.h"

typedef enum core_status (*routes_add_fn)(struct http_router *r, char *err,
					  size_t errlen);

static const routes_add_fn resources[] = {
    /* one per line, so that a new resource is a one-line change */
    /* clang-format off */
    http_health_routes_add,
    http_openapi_routes_add,
    http_metrics_routes_add,
    http_jobs_routes_add,
    http_events_routes_add,
    http_rounds_routes_add,
    http_models_routes_add,
    http_spaces_routes_add,
    http_downloads_routes_add,
    http_cost_routes_add,
    http_candidates_routes_add,
    http_llm_calls_routes_add,
    http_llm_check_routes_add,
    http_datasets_routes_add,
    http_dataset_samples_routes_add,
    http_dataset_events_routes_add,
    /* clang-format on */
};

enum core_status http_api_routes_add(struct http_router *r, char *err,
				     size_t errlen)
{
	for (size_t i = 0; i < sizeof resources / sizeof resources[0]; i++) {
		enum core_status st = resources[i](r, err, errlen);
		if (st)
			return st;
	}
	return CORE_OK;
}
