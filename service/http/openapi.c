/* SPDX-License-Identifier: Apache-2.0 */
/* openapi.c - the API description resources: GET /openapi.yaml and
 * GET /schemas/{file}, served from the copy of api/ built into the binary.
 *
 * Embedded rather than read from a configured path: the document describes
 * this binary's routes, so it must change with the binary (as the migrations
 * do); a deployment cannot serve a stale or missing copy, and there is no
 * path to configure. /schemas/ sits beside /openapi.yaml so that the relative
 * $refs of the document ("schemas/arch.yaml#/...") resolve over HTTP as they
 * do in the source tree. */
#include "http.h"

#include <stdio.h>
#include <string.h>

const struct http_asset *http_asset_find(const char *path)
{
	for (size_t i = 0; i < http_api_assets_count; i++)
		if (strcmp(http_api_assets[i].path, path) == 0)
			return &http_api_assets[i];
	return NULL;
}

static void reply_asset(struct http_response *res, const char *path)
{
	const struct http_asset *a = http_asset_find(path);
	char detail[HTTP_PATH_MAX + 64];

	if (!a) {
		snprintf(detail, sizeof detail, "no API document %s", path);
		http_reply_error(res, HTTP_E_NOT_FOUND, detail, NULL);
		return;
	}
	http_reply_static(res, 200, http_content_type_for(a->path), a->data,
			  a->len);
}

static void openapi_get(struct http_request *req, struct http_response *res)
{
	reply_asset(res, "openapi.yaml");
}

static void schema_get(struct http_request *req, struct http_response *res)
{
	char path[HTTP_PATH_MAX + 16];

	/* the router guarantees one segment without '/': no traversal */
	snprintf(path, sizeof path, "schemas/%s",
		 http_request_param(req, "file"));
	reply_asset(res, path);
}

enum core_status http_openapi_routes_add(struct http_router *r, char *err,
					 size_t errlen)
{
	enum core_status st;

	st = http_router_add(r, HTTP_GET, "/openapi.yaml", openapi_get, 0, err,
			     errlen);
	if (st)
		return st;
	return http_router_add(r, HTTP_GET, "/schemas/{file}", schema_get, 0,
			       err, errlen);
}
