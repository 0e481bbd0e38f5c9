/* SPDX-License-Identifier: Apache-2.0 */
/* errors.c - the one registry of the API's error codes: each code with its
 * HTTP status and title (GNU Taler's TALER_EC_* table). Every problem body the
 * server sends carries a code from here; api/openapi.yaml lists the same
 * table (a unit test keeps the two in step). */
#include "http.h"

#include <string.h>

/* Indexed by enum http_error; keep the order of the enum. */
static const struct http_error_info registry[HTTP_E_COUNT] = {
    [HTTP_E_NOT_FOUND] = {"not_found", 404, "Not Found"},
    [HTTP_E_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405,
				   "Method Not Allowed"},
    [HTTP_E_BODY_TOO_LARGE] = {"body_too_large", 413, "Request body too large"},
    [HTTP_E_UNSUPPORTED_MEDIA_TYPE] = {"unsupported_media_type", 415,
				       "Unsupported Media Type"},
    [HTTP_E_INVALID_JSON] = {"invalid_json", 400, "Body is not valid JSON"},
    [HTTP_E_INVALID_PATH] = {"invalid_path", 400, "Path is not UTF-8"},
    [HTTP_E_INVALID_QUERY] = {"invalid_query", 400, "Query is not UTF-8"},
    [HTTP_E_TOO_MANY_QUERY_ARGS] = {"too_many_query_args", 414,
				    "Too many query arguments"},
    [HTTP_E_URI_TOO_LONG] = {"uri_too_long", 414, "URI Too Long"},
    [HTTP_E_INVALID_PARAMETER] = {"invalid_parameter", 400,
				  "Invalid query or path parameter"},
    [HTTP_E_DATABASE_UNAVAILABLE] = {"database_unavailable", 503,
				     "Database unavailable"},
    [HTTP_E_MIGRATIONS_PENDING] = {"migrations_pending", 503,
				   "Database migrations pending"},
    [HTTP_E_MIGRATIONS_NEWER] = {"migrations_newer", 503,
				 "Database newer than this binary"},
    [HTTP_E_INTERNAL_ERROR] = {"internal_error", 500, "Internal Server Error"},
    [HTTP_E_OUT_OF_MEMORY] = {"out_of_memory", 500, "Out of memory"},
    [HTTP_E_UNAUTHENTICATED] = {"unauthenticated", 401,
				"Authentication required"},
    [HTTP_E_TOKEN_MALFORMED] = {"token_malformed", 401,
				"Malformed bearer token"},
    [HTTP_E_TOKEN_INVALID] = {"token_invalid", 401, "Unknown bearer token"},
    [HTTP_E_TOKEN_REVOKED] = {"token_revoked", 401, "Token revoked"},
    [HTTP_E_TOKEN_EXPIRED] = {"token_expired", 401, "Token expired"},
    [HTTP_E_AUTH_RATE_LIMITED] = {"auth_rate_limited", 429,
				  "Too many failed authentications"},
    [HTTP_E_VALIDATION_FAILED] = {"validation_failed", 422,
				  "Request failed validation"},
    [HTTP_E_JOB_NOT_FOUND] = {"job_not_found", 404, "Job not found"},
    [HTTP_E_JOB_ENDED] = {"job_ended", 409, "Job already ended"},
    [HTTP_E_JOB_NOT_FINISHED] = {"job_not_finished", 409,
				 "Job has not finished"},
    [HTTP_E_IDEMPOTENCY_KEY_INVALID] = {"idempotency_key_invalid", 400,
					"Invalid Idempotency-Key"},
    [HTTP_E_IDEMPOTENCY_KEY_REUSED] = {"idempotency_key_reused", 422,
				       "Idempotency-Key used with another "
				       "body"},
    [HTTP_E_TEAM_QUEUE_FULL] = {"team_queue_full", 429,
				"Team has too many queued jobs"},
    [HTTP_E_MODEL_NOT_FOUND] = {"model_not_found", 404, "Model not found"},
    [HTTP_E_ARTIFACT_NOT_FOUND] = {"artifact_not_found", 404,
				   "Model has no such artifact"},
    [HTTP_E_RANGE_NOT_SATISFIABLE] = {"range_not_satisfiable", 416,
				      "Range Not Satisfiable"},
    [HTTP_E_CANDIDATE_NOT_FOUND] = {"candidate_not_found", 404,
				    "Candidate not found"},
    [HTTP_E_LLM_CHECKS_BUSY] = {"llm_checks_busy", 429,
				"Too many LLM checks running"},
    [HTTP_E_DATASET_NOT_FOUND] = {"dataset_not_found", 404,
				  "Dataset not found"},
    [HTTP_E_DATASET_NAME_TAKEN] = {"dataset_name_taken", 409,
				   "Team already has a dataset of that name"},
    [HTTP_E_DATASET_IN_USE] = {"dataset_in_use", 409,
			       "Dataset in use or still importing"},
    [HTTP_E_DATASET_NOT_READY] = {"dataset_not_ready", 409,
				  "Dataset not ready"},
};

const struct http_error_info *http_error_info(enum http_error e)
{
	if ((unsigned)e >= HTTP_E_COUNT)
		return &registry[HTTP_E_INTERNAL_ERROR];
	return &registry[e];
}

const struct http_error_info *http_error_find(const char *code)
{
	for (int i = 0; code && i < HTTP_E_COUNT; i++)
		if (registry[i].code && strcmp(registry[i].code, code) == 0)
			return &registry[i];
	return NULL;
}

json_t *http_error_new(enum http_error e, const char *detail,
		       const struct core_field_errors *fe)
{
	const struct http_error_info *i = http_error_info(e);

	return http_problem_new(i->status, i->code, i->title, detail, fe);
}

void http_reply_error(struct http_response *res, enum http_error e,
		      const char *detail, const struct core_field_errors *fe)
{
	http_reply_problem_json(res, http_error_new(e, detail, fe));
}
