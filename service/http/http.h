/* SPDX-License-Identifier: Apache-2.0 */
/* http.h - the HTTP layer of lmnas: a libmicrohttpd server (epoll thread
 * pool), a router with {param} patterns, JSON request bodies, JSON and
 * problem+json responses, request ids, an access log, static files, graceful
 * shutdown, and the API's resources (one file each: health.c, openapi.c).
 *
 * Layer: http (above store and queue, below main.c and cmd). Includes core;
 * resources may include lower modules (store, queue).
 *
 * A resource in a nutshell:
 *
 *     static void job_get(struct http_request *req, struct http_response *res)
 *     {
 *             const char *id = http_request_param(req, "id");
 *             ...
 *             if (!found) {
 *                     http_reply_problem(res, 404, "job_not_found", NULL,
 *                                        "no job with this id", NULL);
 *                     return;
 *             }
 *             http_reply_json(res, 200, json_pack("{s:s}", "id", id));
 *     }
 *
 *     http_router_add(r, HTTP_GET, "/v1/jobs/{id}", job_get, 0, err, errlen);
 *
 * What the server does before a handler runs: it matches the route (404 with
 * code not_found, 405 with code method_not_allowed and an Allow header), gives
 * the request an id (the client's X-Request-Id when it is sane, else a random
 * one; echoed in the response and set as the thread's log context), and for a
 * route flagged HTTP_ROUTE_BODY requires Content-Type application/json (415),
 * caps the body (413) and parses it (400 invalid_json with line and column).
 * A path or query argument that is not UTF-8 once percent-decoded is a 400
 * (invalid_path, invalid_query); more than HTTP_QUERY_ARGS_MAX query
 * arguments, or a query in a request target longer than HTTP_URI_MAX bytes,
 * a 414 (too_many_query_args, uri_too_long), so handlers only see valid text.
 * Every error is an application/problem+json body with a stable `code`.
 */
#ifndef LMNAS_HTTP_H
#define LMNAS_HTTP_H

#include "core/core.h"

#include <jansson.h>
#include <stddef.h>

struct hook_policy; /* hook/hook.h */

struct store_pool;
struct http_sse;

/* ---- methods ----------------------------------------------------------- */

/* Bits, so that a route can take several and an Allow header can be built. */
enum http_method {
	HTTP_GET = 1u << 0,
	HTTP_HEAD = 1u << 1, /* served by GET routes; never registered alone */
	HTTP_POST = 1u << 2,
	HTTP_PUT = 1u << 3,
	HTTP_PATCH = 1u << 4,
	HTTP_DELETE = 1u << 5,
	HTTP_OPTIONS = 1u << 6
};

/* The bit of an upper-case method name; 0 for anything else. */
unsigned http_method_parse(const char *name);
/* "GET, HEAD, POST" for a set of bits (GET implies HEAD). */
void http_methods_format(unsigned methods, char *out, size_t outlen);

/* Reason phrase of a status ("Not Found"); "Unknown" for others. */
const char *http_status_reason(int status);

/* ---- requests and responses -------------------------------------------- */

struct http_auth_limiter; /* failed authentications per address (auth.c) */
struct http_imports;	  /* background dataset imports (datasets.c) */
struct data_import_opts;
/* data_import_dir's signature (service/data/data.h) */
typedef enum core_status (*http_dataset_import_fn)(
    const char *src_dir, const char *cache_dir,
    const struct data_import_opts *o,
    void (*progress)(double frac, const char *what, void *ctx), void *ctx,
    json_t **report, char *err, size_t errlen);
#define HTTP_UPLOAD_MAX_DEFAULT (2LL << 30)

/* The application state handlers share (owned by whoever starts the server). */
struct http_app {
	struct store_pool *pool; /* NULL: no database (readyz says 503) */
	/* Open mode (loopback without any token, `lmnas serve` decides):
	 * every /v1 request acts as an admin of team open_team_id. */
	int auth_open;
	long long open_team_id;
	/* NULL: failures are not limited */
	struct http_auth_limiter *limiter;
	/* real path of the data root: a job's dataset.path and
	 * teacher_logits must resolve under it (NULL: every path refused) */
	const char *data_root;
	int team_max_queued; /* queued jobs per team; 0: no limit */
	/* hosts a job's webhook.url may name (NULL or none listed: a spec
	 * with a webhook is refused) */
	const struct hook_policy *webhook_policy;
	/* hosts POST /v1/llm/check may ask (--llm-allow; NULL or "": the
	 * loopback names, HTTP_LLM_ALLOW_DEFAULT) */
	const char *llm_allow;
	/* POST /v1/datasets: largest upload in bytes (--dataset-max-bytes;
	 * 0: HTTP_UPLOAD_MAX_DEFAULT), and the image import its background
	 * thread runs (data_import_dir; NULL: imports fail with "no image
	 * import in this build") */
	long long upload_max_bytes;
	http_dataset_import_fn dataset_import;
	/* imports running in the background (datasets.c); the server's
	 * owner waits for them with http_datasets_drain before freeing */
	struct http_imports *imports;
};

#define HTTP_PATH_MAX	    2048 /* longer paths get 414 */
#define HTTP_QUERY_ARGS_MAX 64	 /* more query arguments get 414 */
#define HTTP_URI_MAX	    8192 /* a longer target with a query gets 414 */
#define HTTP_PARAMS_MAX	    8
#define HTTP_REQUEST_ID_MAX 64

/* The result of matching a path against the router. names point into the
 * router (live as long as it); values are NUL-terminated, percent-decoded
 * path segments stored in buf. */
struct http_request;
struct http_response;
typedef void (*http_handler_fn)(struct http_request *req,
				struct http_response *res);

struct http_match {
	http_handler_fn fn;
	unsigned flags;	     /* the route's HTTP_ROUTE_* flags */
	const char *pattern; /* the route's pattern, e.g. "/v1/jobs/{id}" */
	unsigned allow;	     /* every method the path accepts */
	int nparams;
	const char *names[HTTP_PARAMS_MAX];
	const char *values[HTTP_PARAMS_MAX];
	char buf[HTTP_PATH_MAX];
};

/* Who sent an authenticated request (routes under /v1). team_id 0 never
 * names a team: jobs are scoped with http_caller_team(). */
struct http_caller {
	long long token_id; /* 0 in open mode */
	long long team_id;
	int admin; /* sees and touches every team's jobs */
};

/* The team a request's data is limited to: 0 (all teams) for an admin. */
long long http_caller_team(const struct http_caller *c);

/* What a handler sees. Everything is borrowed for the duration of the call. */
struct http_request {
	unsigned method;	 /* one HTTP_* bit (0: not a known method) */
	const char *method_name; /* as sent */
	const char *path;	 /* percent-decoded, without the query */
	const char *id;		 /* the request id (X-Request-Id) */
	json_t *body;		 /* parsed body for HTTP_ROUTE_BODY routes */
	/* HTTP_ROUTE_UPLOAD: the stored body (rename it to keep it) */
	const char *upload_path;
	unsigned long long upload_bytes;
	struct http_upload *upload; /* private (upload.c) */
	struct http_app *app;
	const struct http_match *match;
	const char *client;	   /* numeric client address ("" unknown) */
	struct http_caller caller; /* set before a /v1 handler runs */
	void *conn; /* private: the libmicrohttpd connection (NULL in tests) */
};

struct http_upload;
/* Moves an HTTP_ROUTE_UPLOAD request's stored body to dst (same file
 * system: the data root) and keeps it from being removed at the end of the
 * request. */
enum core_status http_upload_take(struct http_request *req, const char *dst,
				  char *err, size_t errlen);

/* A path parameter by name ("id" for "/v1/jobs/{id}"); NULL if absent. */
const char *http_request_param(const struct http_request *req,
			       const char *name);
/* A query-string argument, percent-decoded; NULL if absent. */
const char *http_request_query(const struct http_request *req, const char *key);
/* A request header (case-insensitive name); NULL if absent. */
const char *http_request_header(const struct http_request *req,
				const char *name);

/* A decimal of 1..18 digits (path ids, counts in queries); -1 for anything
 * else. http_parse_positive: the same with 0 for anything not positive;
 * http_param_id: the path parameter `name` so parsed (0: no such id, a
 * 404 for the caller). */
long long http_parse_count(const char *s);
long long http_parse_positive(const char *s);
long long http_param_id(const struct http_request *req, const char *name);

/* The `after` (an id, "not <what> (a whole number)" otherwise) and `limit`
 * (from 1, capped at limit_max) query arguments of a page; absent ones keep
 * *after and *limit (the defaults); problems are added to fe. */
void http_page_query(const struct http_request *req, const char *what,
		     long long limit_max, long long *after, long long *limit,
		     struct core_field_errors *fe);

/* 1 when s is 1..HTTP_REQUEST_ID_MAX characters of [A-Za-z0-9._-]. */
int http_request_id_valid(const char *s);
/* The client's id when valid, else 32 random hex characters. */
void http_request_id_choose(const char *client_id,
			    char out[HTTP_REQUEST_ID_MAX + 1]);

#define HTTP_HEADERS_MAX 8

/* Filled by a handler through the http_reply_* functions; a handler that
 * fills nothing produces a 500. The body is owned by the response (core_free)
 * unless body_static is set. */
struct http_response {
	int status;
	const char *content_type; /* static string */
	char *body;
	size_t len;
	int body_static;
	struct http_sse *sse; /* private: a live stream instead (sse.c) */
	int nheaders;
	struct {
		char name[64];
		char value[256];
	} headers[HTTP_HEADERS_MAX];
};

/* Each reply replaces whatever body the response held. */

/* Sends json (compact) as application/json, stealing the reference. A NULL
 * json (a failed json_pack) or a failure to serialize becomes a 500 problem
 * with code out_of_memory. */
void http_reply_json(struct http_response *res, int status, json_t *json);

/* Sends an application/problem+json body: type "urn:lmnas:problem:<code>",
 * title (NULL: the status's reason phrase), status, detail (may be NULL),
 * code, and, when fe is not NULL and holds entries,
 * errors: [{field, reason}] (plus errors_dropped when the list overflowed). */
void http_reply_problem(struct http_response *res, int status, const char *code,
			const char *title, const char *detail,
			const struct core_field_errors *fe);

/* Sends a problem object built with http_problem_new (and extended by the
 * caller), stealing the reference; the status is read from it. */
void http_reply_problem_json(struct http_response *res, json_t *problem);

/* Sends data that outlives the response (embedded assets), not copied. */
void http_reply_static(struct http_response *res, int status,
		       const char *content_type, const void *data, size_t len);

/* Adds a response header (copied). CORE_ERR_INVALID for a name or value
 * that is too long or holds CR/LF, CORE_ERR_NOMEM when the table is full. */
enum core_status http_reply_header(struct http_response *res, const char *name,
				   const char *value);

/* A database failure of resource `what`: out of memory 500, unreachable
 * 503, else 500; the reason only in the log (it may name hosts). */
void http_reply_db_error(struct http_response *res, const char *what,
			 enum core_status st, const char *err);
/* Sends JSON text built by PostgreSQL (owned: freed here). */
void http_reply_json_text(struct http_response *res, int status, char *text);

/* Frees the body; leaves res empty (status 0). */
void http_response_clear(struct http_response *res);

/* ---- problems ---------------------------------------------------------- */

/* A new problem object (see http_reply_problem); NULL when out of memory.
 * The caller owns the reference. */
json_t *http_problem_new(int status, const char *code, const char *title,
			 const char *detail,
			 const struct core_field_errors *fe);

/* ---- the error registry (errors.c) --------------------------------------
 * Every error the API sends has one code here, with its status and title;
 * api/openapi.yaml lists the same table. Handlers reply with
 * http_reply_error; http_reply_problem stays for codes built elsewhere. */
enum http_error {
	HTTP_E_NOT_FOUND = 0,
	HTTP_E_METHOD_NOT_ALLOWED,
	HTTP_E_BODY_TOO_LARGE,
	HTTP_E_UNSUPPORTED_MEDIA_TYPE,
	HTTP_E_INVALID_JSON,
	HTTP_E_INVALID_PATH,
	HTTP_E_INVALID_QUERY,
	HTTP_E_TOO_MANY_QUERY_ARGS,
	HTTP_E_URI_TOO_LONG,
	HTTP_E_INVALID_PARAMETER,
	HTTP_E_DATABASE_UNAVAILABLE,
	HTTP_E_MIGRATIONS_PENDING,
	HTTP_E_MIGRATIONS_NEWER,
	HTTP_E_INTERNAL_ERROR,
	HTTP_E_OUT_OF_MEMORY,
	HTTP_E_UNAUTHENTICATED,
	HTTP_E_TOKEN_MALFORMED,
	HTTP_E_TOKEN_INVALID,
	HTTP_E_TOKEN_REVOKED,
	HTTP_E_TOKEN_EXPIRED,
	HTTP_E_AUTH_RATE_LIMITED,
	HTTP_E_VALIDATION_FAILED,
	HTTP_E_JOB_NOT_FOUND,
	HTTP_E_JOB_ENDED,
	HTTP_E_JOB_NOT_FINISHED,
	HTTP_E_IDEMPOTENCY_KEY_INVALID,
	HTTP_E_IDEMPOTENCY_KEY_REUSED,
	HTTP_E_TEAM_QUEUE_FULL,
	HTTP_E_MODEL_NOT_FOUND,
	HTTP_E_ARTIFACT_NOT_FOUND,
	HTTP_E_RANGE_NOT_SATISFIABLE,
	HTTP_E_CANDIDATE_NOT_FOUND,
	HTTP_E_LLM_CHECKS_BUSY,
	HTTP_E_DATASET_NOT_FOUND,
	HTTP_E_DATASET_NAME_TAKEN,
	HTTP_E_DATASET_IN_USE,
	HTTP_E_DATASET_NOT_READY,
	HTTP_E_COUNT
};

struct http_error_info {
	const char *code; /* stable, [a-z_]+ */
	int status;
	const char *title;
};

/* The entry of e (internal_error's for a value out of range). */
const struct http_error_info *http_error_info(enum http_error e);
/* The entry of a code, or NULL when the registry has none. */
const struct http_error_info *http_error_find(const char *code);
/* A problem object for e (see http_problem_new); NULL when out of memory. */
json_t *http_error_new(enum http_error e, const char *detail,
		       const struct core_field_errors *fe);
/* Replies with e's status, code and title. */
void http_reply_error(struct http_response *res, enum http_error e,
		      const char *detail, const struct core_field_errors *fe);

/* ---- request bodies ---------------------------------------------------- */

#define HTTP_JSON_MAX_DEPTH 64

/* 1 for "application/json", with optional parameters (charset=utf-8),
 * case-insensitive. */
int http_content_type_is_json(const char *content_type);

/* Parses a JSON text of len bytes (any top-level value, duplicate object keys
 * rejected) nested at most max_depth arrays/objects deep. On failure *line
 * and *column (1-based) locate the problem and err says what it is. *out is
 * a new reference owned by the caller; NULL on failure. */
enum core_status http_json_parse(const char *data, size_t len, int max_depth,
				 json_t **out, int *line, int *column,
				 char *err, size_t errlen);

/* ---- byte ranges and entity tags (ranges.c) ---------------------------- */

enum http_range {
	HTTP_RANGE_NONE = 0, /* no Range, or one to ignore: the whole */
	HTTP_RANGE_PARTIAL,  /* bytes *first..*last (0 <= first <= last < size)
			      */
	HTTP_RANGE_UNSATISFIABLE /* 416: no byte of it is in the representation
				  */
};

/* One `bytes=a-b`, `bytes=a-` or `bytes=-n` (header may be NULL) against a
 * representation of size bytes. A malformed header, another unit or
 * several ranges are HTTP_RANGE_NONE (a server may always send the whole);
 * a last position past the end is cut to it; a first position at or past
 * the end, or an empty suffix, is unsatisfiable. *first and *last are
 * written only for HTTP_RANGE_PARTIAL. */
enum http_range http_range_parse(const char *header, long long size,
				 long long *first, long long *last);

/* 1 when an If-None-Match header ("*", or a list of entity tags, W/ or
 * not) names etag (quoted, as sent in ETag), compared weakly. */
int http_etag_match_any(const char *header, const char *etag);

/* ---- router ------------------------------------------------------------ */

/* Every route under /v1 carries exactly one of TEAM_SCOPED and PUBLIC (a
 * test walks the route table): a new route cannot forget its scope. */
enum http_route_flags {
	HTTP_ROUTE_BODY = 1u << 0, /* takes a JSON request body */
	/* needs a bearer token; the handler limits what it reads and
	 * writes to http_caller_team(&req->caller) (another team's id is
	 * a 404, never a 403) */
	HTTP_ROUTE_TEAM_SCOPED = 1u << 1,
	HTTP_ROUTE_PUBLIC = 1u << 2, /* under /v1 without a token */
	/* streams its body (a dataset archive: application/zip, gzip or
	 * x-tar) to a fresh file under the data root as it arrives, capped
	 * by the app's upload_max_bytes (413, the partial file removed);
	 * the token is checked before a byte is stored; the handler finds
	 * the file in req->upload_path and takes it (rename) or leaves it
	 * to be removed when the request ends (upload.c) */
	HTTP_ROUTE_UPLOAD = 1u << 3
};

struct http_router; /* opaque */

/* An empty router; *out is owned by the caller (http_router_free). */
enum core_status http_router_new(struct http_router **out, char *err,
				 size_t errlen);
void http_router_free(struct http_router *r);

/* Adds a route. pattern: "/" or "/seg/seg..." where a segment is a literal
 * of [A-Za-z0-9._~-] or a parameter "{name}" ([a-z_][a-z0-9_]*, unique in the
 * pattern, at most HTTP_PARAMS_MAX). methods: HTTP_* bits (not HEAD alone).
 * A method already routed for the same pattern shape is a conflict
 * (CORE_ERR_CONFLICT). The pattern is copied. */
enum core_status http_router_add(struct http_router *r, unsigned methods,
				 const char *pattern, http_handler_fn fn,
				 unsigned flags, char *err, size_t errlen);

/* Calls fn for every route in the order added: its pattern, methods and
 * flags. */
void http_router_each(const struct http_router *r,
		      void (*fn)(void *ctx, const char *pattern,
				 unsigned methods, unsigned flags),
		      void *ctx);

enum http_match_result {
	HTTP_MATCH_FOUND = 0,
	HTTP_MATCH_NO_PATH,   /* 404 */
	HTTP_MATCH_NO_METHOD, /* 405: m->allow lists what the path takes */
	HTTP_MATCH_TOO_LONG   /* 414 */
};

/* Matches method (one bit; HEAD matches GET routes; 0 = unknown method) and
 * a decoded path. Where several patterns match, literal segments win over
 * parameters, leftmost first ("/v1/jobs/stats" before "/v1/jobs/{id}"). */
enum http_match_result http_router_match(const struct http_router *r,
					 unsigned method, const char *path,
					 struct http_match *m);

/* ---- static files ------------------------------------------------------ */

/* Maps a URL path to a regular file under root: "/" and paths ending in "/"
 * mean index.html; segments "." and "..", hidden names (".git"), empty
 * segments, backslashes and control characters are refused
 * (CORE_ERR_INVALID), as is any file whose real path (symlinks resolved)
 * leaves root. CORE_ERR_NOT_FOUND when there is no such regular file. On
 * success out holds the real path and *content_type its media type. */
enum core_status http_static_resolve(const char *root, const char *url_path,
				     char *out, size_t outlen,
				     const char **content_type, char *err,
				     size_t errlen);

/* Media type for a file name by extension (html, js, css, svg, png, json,
 * yaml, txt, ico, woff2); application/octet-stream otherwise. */
const char *http_content_type_for(const char *path);

/* ---- server ------------------------------------------------------------ */

struct http_server_config {
	const char *host;	  /* numeric address or name, e.g. 127.0.0.1 */
	int port;		  /* 0: any free port (see http_server_port) */
	int threads;		  /* epoll worker threads */
	long max_body_bytes;	  /* larger bodies get 413 */
	int json_max_depth;	  /* deeper JSON bodies get 400 */
	int connection_timeout_s; /* idle connections are closed after this */
	/* A connection that has not sent a request's complete headers this
	 * many seconds after it opened (or after its previous response) is
	 * closed, however slowly it trickles bytes; 0 = no deadline. */
	int header_timeout_s;
	int max_connections; /* open connections at once (all clients) */
	int max_per_client;  /* open connections from one address; 0 = any */
	const char *web_dir; /* static files under "/"; NULL or "" = none */
	/* seconds between the keep-alive comments of an idle event stream
	 * (0: 15) */
	double sse_keepalive_s;
	struct http_app *app; /* handed to every handler; may be NULL */
};

/* Defaults: 127.0.0.1, port 8080, 4 threads, 1 MiB bodies, depth
 * HTTP_JSON_MAX_DEPTH, 60 s idle timeout, 10 s header deadline, 1000
 * connections, 64 per client address, no static files, no app. */
void http_server_config_defaults(struct http_server_config *c);

struct http_server; /* opaque */

/* Starts listening and serving with the routes of router (borrowed: it must
 * outlive the server). Strings in cfg are copied. *out is owned by the caller
 * (http_server_stop). CORE_ERR_IO when the address cannot be bound. */
enum core_status http_server_start(const struct http_server_config *cfg,
				   const struct http_router *router,
				   struct http_server **out, char *err,
				   size_t errlen);

/* The port the server listens on (useful with port 0). */
int http_server_port(const struct http_server *s);

/* Requests being handled now (headers received, response not yet sent). */
int http_server_inflight(struct http_server *s);

/* Graceful stop: stops accepting (new connections are refused), lets
 * in-flight requests finish for up to timeout_s (responses now carry
 * Connection: close), then stops the daemon, closing what is left, and frees
 * s. A handler that is running is never interrupted: the stop waits for it to
 * return. Returns how many requests were still in flight at the deadline. */
int http_server_stop(struct http_server *s, double timeout_s);

/* ---- resources --------------------------------------------------------- */

/* GET /healthz (process alive) and GET /readyz (database answers and the
 * schema is current; 503 database_unavailable, migrations_pending or
 * migrations_newer otherwise). */
enum core_status http_health_routes_add(struct http_router *r, char *err,
					size_t errlen);

/* GET /openapi.yaml and GET /schemas/{file}: the API description embedded
 * in the binary from api/ (so it always matches the routes it describes). */
enum core_status http_openapi_routes_add(struct http_router *r, char *err,
					 size_t errlen);

/* GET /metrics: Prometheus text format (metrics.c lists the families). */
enum core_status http_metrics_routes_add(struct http_router *r, char *err,
					 size_t errlen);
/* Counts one answered request: route is the matched pattern ("static",
 * NULL for none: "unmatched"), method as sent (unknown ones become
 * "other"), the status sent and the seconds it took. Thread-safe; called by
 * the server when a request completes. */
void http_metrics_observe(const char *route, const char *method, int status,
			  double seconds);
/* Forgets the HTTP series (tests). */
void http_metrics_reset(void);
/* The whole exposition text: this process's HTTP series, then the
 * database's snapshot (store_metrics_json) when pool is not NULL and
 * answers (lmnas_database_up says whether it did). *text is the caller's
 * (core_free); CORE_ERR_NOMEM when it could not be built whole. */
enum core_status http_metrics_render(struct store_pool *pool, char **text,
				     size_t *len, char *err, size_t errlen);

/* /v1/jobs: submit, list, get, cancel, delete (jobs.c). */
enum core_status http_jobs_routes_add(struct http_router *r, char *err,
				      size_t errlen);

/* GET /v1/jobs/{id}/events: a job's events, `after` an event id, or with
 * Accept: text/event-stream a live Server-Sent Events stream (events.c,
 * sse.c);
 * GET /v1/jobs/{id}/rounds: its rounds (rounds.c). */
enum core_status http_events_routes_add(struct http_router *r, char *err,
					size_t errlen);
enum core_status http_rounds_routes_add(struct http_router *r, char *err,
					size_t errlen);
enum core_status http_models_routes_add(struct http_router *r, char *err,
					size_t errlen);
enum core_status http_spaces_routes_add(struct http_router *r, char *err,
					size_t errlen);
/* GET /v1/models/{mid}/stm32.zip and /checkpoint (downloads.c). */
enum core_status http_downloads_routes_add(struct http_router *r, char *err,
					   size_t errlen);
/* POST /v1/datasets (an archive upload, imported in the background),
 * GET /v1/datasets, GET and DELETE /v1/datasets/{id} (datasets.c). */
enum core_status http_datasets_routes_add(struct http_router *r, char *err,
					  size_t errlen);
/* GET /v1/datasets/{id}/events: the import's events (dataset_events.c). */
enum core_status http_dataset_events_routes_add(struct http_router *r,
						char *err, size_t errlen);
/* GET /v1/datasets/{id}/samples: PNG thumbnails (dataset_samples.c). */
enum core_status http_dataset_samples_routes_add(struct http_router *r,
						 char *err, size_t errlen);
/* The background imports of a server (app->imports): drain waits for the
 * running ones (before the pool closes); free drains first. */
enum core_status http_imports_new(struct http_imports **out, char *err,
				  size_t errlen);
void http_imports_drain(struct http_imports *im);
void http_imports_free(struct http_imports *im);
/* POST /v1/cost (cost.c). */
enum core_status http_cost_routes_add(struct http_router *r, char *err,
				      size_t errlen);
/* GET /v1/jobs/{id}/candidates and /candidates/{cid} (candidates.c), GET
 * /v1/jobs/{id}/llm-calls (llm_calls.c), POST /v1/llm/check
 * (llm_check.c). */
enum core_status http_candidates_routes_add(struct http_router *r, char *err,
					    size_t errlen);
enum core_status http_llm_calls_routes_add(struct http_router *r, char *err,
					   size_t errlen);
enum core_status http_llm_check_routes_add(struct http_router *r, char *err,
					   size_t errlen);
/* The hosts POST /v1/llm/check may ask: comma separated entries host,
 * host:port, [v6] or [v6]:port (no port: any), matched exactly against the
 * base URL's host as libcurl parses it. */
#define HTTP_LLM_ALLOW_DEFAULT "localhost,127.0.0.1,::1"
/* app's list, or the default. */
const char *http_llm_allow_list(const struct http_app *app);
/* CORE_ERR_INVALID with the reason when list has a bad entry. */
/* CORE_OK when url's host and port are in app's list; else
 * CORE_ERR_INVALID with the reason in why (a field error's text). */
enum core_status http_llm_url_allowed(const struct http_app *app,
				      const char *url, char *why,
				      size_t whylen);
enum core_status http_llm_allow_validate(const char *list, char *err,
					 size_t errlen);

/* For the resources under /v1/jobs/{id}: the {id} of the path as a job id
 * (0 when it cannot be one: a 404), and the reply to a job read (json, owned
 * and freed here, on success; job_not_found, 503 or 500 otherwise, the
 * reason logged). */
long long http_job_id_param(const struct http_request *req);
void http_job_read_reply(struct http_response *res, long long id,
			 enum core_status st, const char *err, char *json);

/* ---- authentication (auth.c) -------------------------------------------
 * Before a /v1 route that is not HTTP_ROUTE_PUBLIC runs, the server checks
 * `Authorization: Bearer TOKEN` (auth_token_verify) and fills req->caller;
 * missing, malformed, unknown, revoked and expired tokens are 401 problems.
 * Failed attempts are counted per client address: past the limit within a
 * minute, the address gets 429 auth_rate_limited with Retry-After until the
 * minute is over, whatever it sends. */

/* A limiter allowing per_minute failures per address (0: no limit);
 * NULL when out of memory. Free with http_auth_limiter_free. */
struct http_auth_limiter *http_auth_limiter_new(int per_minute);
void http_auth_limiter_free(struct http_auth_limiter *l);

/* Authenticates req (fills req->caller) and returns 1; or replies with the
 * problem into res and returns 0. */
int http_auth_check(struct http_request *req, struct http_response *res);

/* Every API resource (what `lmnas serve` mounts). */
enum core_status http_api_routes_add(struct http_router *r, char *err,
				     size_t errlen);

/* The files of api/ built into the binary (generated by
 * scripts/embed_files.sh), path relative to api/ ("openapi.yaml"). */
struct http_asset {
	const char *path;
	const unsigned char *data; /* NUL-terminated; len excludes the NUL */
	size_t len;
};
extern const struct http_asset http_api_assets[];
extern const size_t http_api_assets_count;

/* The embedded asset at path, or NULL. */
const struct http_asset *http_asset_find(const char *path);

#endif
