/* SPDX-License-Identifier: Apache-2.0 */
/* downloads.c - GET (and HEAD) /v1/models/{mid}/stm32.zip and
 * /v1/models/{mid}/checkpoint: a stored model's artifacts, from the models
 * row's bytea, with Content-Length, an ETag (the stored sha256),
 * If-None-Match (304), one byte range (206, 416) and a file name. Team
 * scoped through the model's job: another team's model is a 404
 * model_not_found, exactly like a missing one.
 *
 * Only the bytes a request asks for leave the database (substring in SQL),
 * but they are held in memory for the one response: the server has no
 * streaming body yet (server.c sends a buffer), so a download costs its
 * size in memory (twice while libpq's hex text is decoded) until it is
 * sent. HEAD reads the bytes too, for libmicrohttpd to count them. */
#include "http.h"

#include "queue/queue.h"

#include <stdio.h>
#include <string.h>

struct artifact_route {
	enum queue_artifact kind;
	const char *content_type;
	const char *file_suffix; /* after lmnas-jobJ-modelM */
};

static const struct artifact_route route_zip = {QUEUE_ARTIFACT_ZIP,
						"application/zip", ".zip"};
static const struct artifact_route route_checkpoint = {
    QUEUE_ARTIFACT_CHECKPOINT, "application/octet-stream", "-checkpoint.lmnas"};

/* 1 when the stored digest can be an entity tag as is (hex, no quotes). */
static int etag_usable(const char *sha)
{
	size_t n = strlen(sha);

	return n > 0 && n <= 64 && strspn(sha, "0123456789abcdef") == n;
}

/* Hands data (core_malloc'ed, stolen) to res as the body. */
static void reply_bytes(struct http_response *res, int status,
			const char *content_type, unsigned char *data,
			size_t len)
{
	http_response_clear(res);
	res->status = status;
	res->content_type = content_type;
	res->body = (char *)data;
	res->len = len;
}

/* A store failure as a problem (not found is the caller's). */
static void reply_store_error(struct http_response *res, long long id,
			      enum core_status st, const char *err)
{
	if (st == CORE_ERR_NOMEM) {
		http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
		return;
	}
	LOG_ERROR("model %lld download: %s", id, err);
	http_reply_error(res,
			 st == CORE_ERR_UNAVAILABLE
			     ? HTTP_E_DATABASE_UNAVAILABLE
			     : HTTP_E_INTERNAL_ERROR,
			 "database error", NULL);
}

static void artifact_get(struct http_request *req, struct http_response *res,
			 const struct artifact_route *rt)
{
	long long id = http_param_id(req, "mid"), first = 0, last = -1;
	char err[CORE_ERR_LEN], detail[96], etag[80] = "", value[160];
	struct queue_artifact_info info;
	enum core_status st = CORE_ERR_NOT_FOUND;
	enum http_range range;
	const char *inm, *ifr;
	unsigned char *data = NULL;
	size_t len = 0;

	if (!req->app || !req->app->pool) {
		http_reply_error(res, HTTP_E_DATABASE_UNAVAILABLE,
				 "no database is configured", NULL);
		return;
	}
	if (id > 0)
		st = queue_model_artifact_info(
		    req->app->pool, id, http_caller_team(&req->caller),
		    rt->kind, &info, err, sizeof err);
	if (st == CORE_ERR_NOT_FOUND) {
		snprintf(detail, sizeof detail, "no model %lld", id);
		http_reply_error(res, HTTP_E_MODEL_NOT_FOUND, detail, NULL);
		return;
	}
	if (st) {
		reply_store_error(res, id, st, err);
		return;
	}
	if (!info.present) {
		snprintf(detail, sizeof detail, "model %lld has no stored %s",
			 id, queue_artifact_name(rt->kind));
		http_reply_error(res, HTTP_E_ARTIFACT_NOT_FOUND, detail, NULL);
		return;
	}
	if (etag_usable(info.sha256))
		snprintf(etag, sizeof etag, "\"%s\"", info.sha256);
	inm = http_request_header(req, "If-None-Match");
	if (etag[0] && inm && http_etag_match_any(inm, etag)) {
		reply_bytes(res, 304, NULL, NULL, 0);
		http_reply_header(res, "ETag", etag);
		return;
	}
	range = http_range_parse(http_request_header(req, "Range"), info.size,
				 &first, &last);
	/* If-Range: the range holds only for the representation the client
	 * has (a strong match); else the whole artifact */
	ifr = http_request_header(req, "If-Range");
	if (range != HTTP_RANGE_NONE && ifr &&
	    (!etag[0] || strcmp(ifr, etag) != 0))
		range = HTTP_RANGE_NONE;
	if (range == HTTP_RANGE_UNSATISFIABLE) {
		snprintf(detail, sizeof detail,
			 "the %s has %lld bytes: no byte of the range is in it",
			 queue_artifact_name(rt->kind), info.size);
		http_reply_error(res, HTTP_E_RANGE_NOT_SATISFIABLE, detail,
				 NULL);
		snprintf(value, sizeof value, "bytes */%lld", info.size);
		http_reply_header(res, "Content-Range", value);
		http_reply_header(res, "Accept-Ranges", "bytes");
		return;
	}
	if (range == HTTP_RANGE_NONE) {
		first = 0;
		last = info.size - 1;
	}
	st = queue_model_artifact_read(
	    req->app->pool, id, http_caller_team(&req->caller), rt->kind, first,
	    last - first + 1, &data, &len, err, sizeof err);
	if (st == CORE_ERR_NOT_FOUND) { /* deleted since the first read */
		snprintf(detail, sizeof detail, "no model %lld", id);
		http_reply_error(res, HTTP_E_MODEL_NOT_FOUND, detail, NULL);
		return;
	}
	if (st) {
		reply_store_error(res, id, st, err);
		return;
	}
	reply_bytes(res, range == HTTP_RANGE_PARTIAL ? 206 : 200,
		    rt->content_type, data, len);
	if (range == HTTP_RANGE_PARTIAL) {
		snprintf(value, sizeof value, "bytes %lld-%lld/%lld", first,
			 first + (long long)len - 1, info.size);
		http_reply_header(res, "Content-Range", value);
	}
	http_reply_header(res, "Accept-Ranges", "bytes");
	if (etag[0])
		http_reply_header(res, "ETag", etag);
	/* digits and fixed text only: nothing to quote or escape */
	snprintf(value, sizeof value,
		 "attachment; filename=\"lmnas-job%lld-model%lld%s\"",
		 info.job_id, id, rt->file_suffix);
	http_reply_header(res, "Content-Disposition", value);
}

static void zip_get(struct http_request *req, struct http_response *res)
{
	artifact_get(req, res, &route_zip);
}

static void checkpoint_get(struct http_request *req, struct http_response *res)
{
	artifact_get(req, res, &route_checkpoint);
}

enum core_status http_downloads_routes_add(struct http_router *r, char *err,
					   size_t errlen)
{
	enum core_status st =
	    http_router_add(r, HTTP_GET, "/v1/models/{mid}/stm32.zip", zip_get,
			    HTTP_ROUTE_TEAM_SCOPED, err, errlen);

	if (st)
		return st;
	return http_router_add(r, HTTP_GET, "/v1/models/{mid}/checkpoint",
			       checkpoint_get, HTTP_ROUTE_TEAM_SCOPED, err,
			       errlen);
}
