/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.c - GET /metrics in the Prometheus text exposition format
 * (version 0.0.4), no authentication (scrapers reach it on the service's
 * address; it shows counts, never ids of teams or secrets):
 *
 *   lmnas_http_requests_total{route,method,status}       counter
 *   lmnas_http_request_duration_seconds{route,method,status} histogram
 *   lmnas_jobs{status}, lmnas_queue_depth                 gauges
 *   lmnas_candidates_trained                              gauge (stored)
 *   lmnas_llm_calls{outcome}, lmnas_llm_call_duration_seconds (histogram)
 *   lmnas_worker_leases, lmnas_worker_heartbeat_age_seconds{worker,job}
 *   lmnas_training_images_per_second                      gauge
 *   lmnas_database_up                                     gauge
 *
 * The HTTP series are this process's, kept in memory from the server's
 * completion callback; everything else comes from the database in one
 * snapshot, so it covers the workers of every machine. route is the
 * matched pattern ("/v1/jobs/{id}"), never the raw path, so the number of
 * series stays bounded; "static" and "unmatched" take the rest. */
#include "http.h"
#include "store/store.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const double http_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				      0.5,   1,	   2.5,	  5,	10};
#define HTTP_NB (sizeof http_buckets / sizeof http_buckets[0])
static const double llm_buckets[] = {0.1, 0.25, 0.5, 1,	 2.5,
				     5,	  10,	30,  60, 120};
#define LLM_NB (sizeof llm_buckets / sizeof llm_buckets[0])

/* Series beyond this are counted in lmnas_http_series_dropped_total: a
 * route table of a few dozen patterns x methods x statuses fits well. */
#define SERIES_MAX  512
#define METRICS_MAX (8 << 20)

struct series {
	char route[128];
	char method[8];
	int status;
	unsigned long long count;
	double sum;
	unsigned long long le[HTTP_NB]; /* not cumulative: one bucket each */
};

/* The process's HTTP series; zero-initialised (static storage). */
static struct {
	pthread_mutex_t lock;
	struct series s[SERIES_MAX];
	int n;
	unsigned long long dropped;
} reg;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

static void reg_init(void)
{
	pthread_mutex_init(&reg.lock, NULL);
}

/* Methods as sent may be anything: a fixed set of label values. */
static const char *method_label(const char *m)
{
	static const char *known[] = {"GET",   "HEAD",	 "POST",   "PUT",
				      "PATCH", "DELETE", "OPTIONS"};

	for (size_t i = 0; m && i < sizeof known / sizeof known[0]; i++)
		if (strcmp(m, known[i]) == 0)
			return known[i];
	return "other";
}

void http_metrics_observe(const char *route, const char *method, int status,
			  double seconds)
{
	const char *ml = method_label(method);
	struct series *x = NULL;
	size_t b = 0;

	if (!route)
		route = "unmatched";
	pthread_once(&reg_once, reg_init);
	pthread_mutex_lock(&reg.lock);
	for (int i = 0; i < reg.n && !x; i++)
		if (reg.s[i].status == status &&
		    strcmp(reg.s[i].method, ml) == 0 &&
		    strcmp(reg.s[i].route, route) == 0)
			x = &reg.s[i];
	if (!x && reg.n < SERIES_MAX) {
		x = &reg.s[reg.n++];
		memset(x, 0, sizeof *x);
		snprintf(x->route, sizeof x->route, "%s", route);
		snprintf(x->method, sizeof x->method, "%s", ml);
		x->status = status;
	}
	if (!x) {
		reg.dropped++;
		pthread_mutex_unlock(&reg.lock);
		return;
	}
	x->count++;
	x->sum += seconds;
	while (b < HTTP_NB && seconds > http_buckets[b])
		b++;
	if (b < HTTP_NB)
		x->le[b]++;
	pthread_mutex_unlock(&reg.lock);
}

void http_metrics_reset(void)
{
	pthread_once(&reg_once, reg_init);
	pthread_mutex_lock(&reg.lock);
	reg.n = 0;
	reg.dropped = 0;
	pthread_mutex_unlock(&reg.lock);
}

/* The exposition text being built; the first failure (out of memory, or
 * the cap) sticks, so that a short text is never served as whole. */
struct mout {
	struct core_buf b;
	int failed;
};

static void mappend(struct mout *o, const char *p, size_t n)
{
	if (!o->failed && core_buf_append(&o->b, p, n))
		o->failed = 1;
}

static void mprintf(struct mout *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void mprintf(struct mout *o, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line) {
		o->failed = 1; /* lines are short: a bug, not data */
		return;
	}
	mappend(o, line, (size_t)n);
}

/* A label value with \, " and newline escaped, as the format wants. */
static void label(struct mout *o, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			mprintf(o, "\\%c", *v);
		else if (*v == '\n')
			mprintf(o, "\\n");
		else
			mappend(o, v, 1);
	}
}

static void http_labels(struct mout *o, const struct series *x)
{
	mprintf(o, "route=\"");
	label(o, x->route);
	mprintf(o, "\",method=\"%s\",status=\"%d\"", x->method, x->status);
}

static void render_http(struct mout *o)
{
	pthread_once(&reg_once, reg_init);
	pthread_mutex_lock(&reg.lock);
	mprintf(o, "# HELP lmnas_http_requests_total HTTP requests "
		   "answered, by route pattern, method and status.\n"
		   "# TYPE lmnas_http_requests_total counter\n");
	for (int i = 0; i < reg.n; i++) {
		mprintf(o, "lmnas_http_requests_total{");
		http_labels(o, &reg.s[i]);
		mprintf(o, "} %llu\n", reg.s[i].count);
	}
	mprintf(o, "# HELP lmnas_http_request_duration_seconds Time from a "
		   "request's headers to its completion.\n"
		   "# TYPE lmnas_http_request_duration_seconds histogram\n");
	for (int i = 0; i < reg.n; i++) {
		const struct series *x = &reg.s[i];
		unsigned long long cum = 0;

		for (size_t b = 0; b < HTTP_NB; b++) {
			cum += x->le[b];
			mprintf(o,
				"lmnas_http_request_duration_seconds_bucket{");
			http_labels(o, x);
			mprintf(o, ",le=\"%g\"} %llu\n", http_buckets[b], cum);
		}
		mprintf(o, "lmnas_http_request_duration_seconds_bucket{");
		http_labels(o, x);
		mprintf(o, ",le=\"+Inf\"} %llu\n", x->count);
		mprintf(o, "lmnas_http_request_duration_seconds_sum{");
		http_labels(o, x);
		mprintf(o, "} %.6f\n", x->sum);
		mprintf(o, "lmnas_http_request_duration_seconds_count{");
		http_labels(o, x);
		mprintf(o, "} %llu\n", x->count);
	}
	mprintf(o,
		"# HELP lmnas_http_series_dropped_total Requests not "
		"counted by route: the series table was full.\n"
		"# TYPE lmnas_http_series_dropped_total counter\n"
		"lmnas_http_series_dropped_total %llu\n",
		reg.dropped);
	pthread_mutex_unlock(&reg.lock);
}

static double num(const json_t *v)
{
	return json_is_number(v) ? json_number_value(v) : 0;
}

/* A gauge family over an object {label value: n}. */
static void by_label(struct mout *o, const char *name, const char *help,
		     const char *type, const char *lname, const json_t *obj)
{
	const char *k;
	json_t *v;

	mprintf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	json_object_foreach((json_t *)obj, k, v)
	{
		mprintf(o, "%s{%s=\"", name, lname);
		label(o, k);
		mprintf(o, "\"} %.0f\n", num(v));
	}
}

static void render_db(struct mout *o, const json_t *d)
{
	const json_t *lat = json_object_get(d, "llm_latency");
	const json_t *bk = json_object_get(d, "llm_buckets");
	const json_t *leases = json_object_get(d, "leases");
	size_t i;
	json_t *v;

	by_label(o, "lmnas_jobs", "Jobs by status.", "gauge", "status",
		 json_object_get(d, "jobs"));
	mprintf(
	    o,
	    "# HELP lmnas_queue_depth Jobs waiting for a worker (queued, or "
	    "running with an expired lease).\n"
	    "# TYPE lmnas_queue_depth gauge\nlmnas_queue_depth %.0f\n"
	    "# HELP lmnas_candidates_trained Candidates trained, all jobs "
	    "(stored; falls when jobs are deleted).\n"
	    "# TYPE lmnas_candidates_trained gauge\n"
	    "lmnas_candidates_trained %.0f\n",
	    num(json_object_get(d, "queue_depth")),
	    num(json_object_get(d, "candidates_trained")));
	by_label(o, "lmnas_llm_calls",
		 "LLM calls stored, by outcome (all jobs).", "gauge", "outcome",
		 json_object_get(d, "llm_calls"));
	mprintf(o, "# HELP lmnas_llm_call_duration_seconds LLM call "
		   "latency (stored calls, all jobs).\n"
		   "# TYPE lmnas_llm_call_duration_seconds histogram\n");
	json_array_foreach((json_t *)bk, i, v)
	{
		if (i >= LLM_NB)
			break;
		mprintf(o,
			"lmnas_llm_call_duration_seconds_bucket{le=\"%g\"} "
			"%.0f\n",
			llm_buckets[i], num(v));
	}
	mprintf(o,
		"lmnas_llm_call_duration_seconds_bucket{le=\"+Inf\"} %.0f\n"
		"lmnas_llm_call_duration_seconds_sum %.3f\n"
		"lmnas_llm_call_duration_seconds_count %.0f\n",
		num(json_object_get(lat, "count")),
		num(json_object_get(lat, "sum_s")),
		num(json_object_get(lat, "count")));
	mprintf(o,
		"# HELP lmnas_worker_leases Jobs held by a worker with "
		"a live lease.\n# TYPE lmnas_worker_leases gauge\n"
		"lmnas_worker_leases %zu\n"
		"# HELP lmnas_worker_heartbeat_age_seconds Seconds "
		"since a worker last renewed its job's lease.\n"
		"# TYPE lmnas_worker_heartbeat_age_seconds gauge\n",
		json_array_size(leases));
	json_array_foreach((json_t *)leases, i, v)
	{
		const char *w = json_string_value(json_object_get(v, "worker"));
		mprintf(o, "lmnas_worker_heartbeat_age_seconds{worker=\"");
		label(o, w ? w : "");
		mprintf(o, "\",job=\"%.0f\"} %.3f\n",
			num(json_object_get(v, "job")),
			num(json_object_get(v, "age_s")));
	}
	mprintf(o,
		"# HELP lmnas_training_images_per_second Training "
		"images per second, summed over running jobs.\n"
		"# TYPE lmnas_training_images_per_second gauge\n"
		"lmnas_training_images_per_second %.1f\n",
		num(json_object_get(d, "img_per_s")));
}

enum core_status http_metrics_render(struct store_pool *pool, char **text,
				     size_t *len, char *err, size_t errlen)
{
	char *dbtext = NULL, why[CORE_ERR_LEN] = "";
	struct mout out = {{0}, 0};
	json_t *doc = NULL;
	int up = 0;

	*text = NULL;
	*len = 0;
	core_buf_init(&out.b, METRICS_MAX);
	render_http(&out);
	if (pool && store_metrics_json(pool, llm_buckets, (int)LLM_NB, &dbtext,
				       why, sizeof why) == CORE_OK)
		doc = json_loads(dbtext, 0, NULL);
	core_free(dbtext);
	if (doc) {
		render_db(&out, doc);
		up = 1;
		json_decref(doc);
	} else if (pool) {
		LOG_WARN("metrics: database part left out: %s", why);
	}
	mprintf(&out,
		"# HELP lmnas_database_up 1 when the database part of "
		"these metrics could be read.\n"
		"# TYPE lmnas_database_up gauge\nlmnas_database_up %d\n",
		up);
	if (out.failed) {
		core_buf_free(&out.b);
		core_errf(err, errlen,
			  "metrics: out of memory or over %d bytes",
			  METRICS_MAX);
		return CORE_ERR_NOMEM;
	}
	*text = core_buf_steal(&out.b, len);
	return CORE_OK;
}

static void metrics_get(struct http_request *req, struct http_response *res)
{
	char err[CORE_ERR_LEN], *text = NULL;
	size_t len = 0;

	if (http_metrics_render(req->app ? req->app->pool : NULL, &text, &len,
				err, sizeof err)) {
		http_reply_problem(res, 500, "out_of_memory", NULL, err, NULL);
		return;
	}
	http_response_clear(res);
	res->status = 200;
	res->content_type = "text/plain; version=0.0.4; charset=utf-8";
	res->body = text;
	res->len = len;
}

enum core_status http_metrics_routes_add(struct http_router *r, char *err,
					 size_t errlen)
{
	return http_router_add(r, HTTP_GET, "/metrics", metrics_get, 0, err,
			       errlen);
}
