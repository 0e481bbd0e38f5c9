/* SPDX-License-Identifier: Apache-2.0 */
/* llm_check.c - POST /v1/llm/check: tries a job spec's `llm` object (the
 * dashboard's "test connection"): reachable, model present, structured
 * output honoured, context length (llm_check_run). A server that fails is
 * a 200 with ok false checks; an invalid body is a 422 naming the field.
 *
 * The server must not become a probe of the networks it sits in (SSRF):
 * only base URLs whose host is in the operator's allow list
 * (`--llm-allow`, default the loopback names) are asked, at the port the
 * entry allows, with short timeouts and no redirects (llm.h). */
#include "http.h"

#include "search/search.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALLOW_ENTRY_MAX 256

/* A check holds an HTTP thread up to LLM_CHECK_TOTAL_MS (45 s) when the
 * endpoint hangs: more than this many at once are refused (429) so checks
 * cannot starve the API. */
#define CHECKS_AT_ONCE 2
static atomic_int checks_running;

/* One entry of the list into host (lower case, IPv6 without brackets) and
 * port (0: any). Forms: host, host:port, [v6], [v6]:port, or a bare IPv6
 * literal (two colons or more: no port). Returns 0, or -1 with why. */
static int allow_entry(const char *e, size_t n, char *host, long *port,
		       const char **why)
{
	const char *colon = NULL, *hend = e + n;
	size_t colons = 0;
	char *end = NULL, num[8];

	*port = 0;
	if (n == 0 || n >= ALLOW_ENTRY_MAX) {
		*why = "an empty or overlong entry";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (e[i] == ':') {
			colons++;
			colon = e + i;
		}
		if (isspace((unsigned char)e[i]) || e[i] == '/' ||
		    e[i] == '@' || e[i] == '*') {
			*why = "an entry holds a space, '/', '@' or '*' (name "
			       "hosts, not URLs or patterns)";
			return -1;
		}
	}
	if (e[0] == '[') {
		const char *rb = memchr(e, ']', n);
		if (!rb || rb == e + 1) {
			*why = "an IPv6 entry without its ']'";
			return -1;
		}
		colon = rb + 1 < hend && rb[1] == ':' ? rb + 1 : NULL;
		if (rb + 1 < hend && !colon) {
			*why = "text after ']' that is not :PORT";
			return -1;
		}
		memcpy(host, e + 1, (size_t)(rb - e - 1));
		host[rb - e - 1] = '\0';
	} else if (colons == 1) {
		memcpy(host, e, (size_t)(colon - e));
		host[colon - e] = '\0';
	} else {
		colon = NULL; /* a bare IPv6 literal, or a name */
		memcpy(host, e, n);
		host[n] = '\0';
	}
	if (!host[0]) {
		*why = "an entry without a host";
		return -1;
	}
	if (colon) {
		size_t pl = (size_t)(hend - colon - 1);
		if (pl == 0 || pl >= sizeof num) {
			*why = "a port that is not 1..65535";
			return -1;
		}
		memcpy(num, colon + 1, pl);
		num[pl] = '\0';
		*port = strtol(num, &end, 10);
		if (*end || *port < 1 || *port > 65535) {
			*why = "a port that is not 1..65535";
			return -1;
		}
	}
	for (char *p = host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

/* Calls fn for each entry of list (comma separated, spaces around entries
 * ignored); stops at the first non-zero return. -1 with why on a bad
 * entry. */
static int allow_each(const char *list, const char *host, long port,
		      int *allowed, const char **why)
{
	const char *p = list;

	*allowed = 0;
	while (*p) {
		const char *start, *end;
		char h[ALLOW_ENTRY_MAX];
		long eport;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && end[-1] == ' ')
			end--;
		if (allow_entry(start, (size_t)(end - start), h, &eport, why))
			return -1;
		if (host && strcmp(h, host) == 0 && (!eport || eport == port))
			*allowed = 1;
	}
	return 0;
}

const char *http_llm_allow_list(const struct http_app *app)
{
	return app && app->llm_allow && app->llm_allow[0]
		   ? app->llm_allow
		   : HTTP_LLM_ALLOW_DEFAULT;
}

enum core_status http_llm_allow_validate(const char *list, char *err,
					 size_t errlen)
{
	const char *why = NULL;
	int allowed;

	if (allow_each(list ? list : "", NULL, 0, &allowed, &why)) {
		core_errf(err, errlen, "%s", why);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

/* The spec's field errors of the llm object, with the "llm." prefix taken
 * off: the body is the llm object itself. */
static void fields_unprefix(const struct core_field_errors *in,
			    struct core_field_errors *out)
{
	core_field_errors_clear(out);
	for (int i = 0; i < in->n; i++) {
		const char *f = in->e[i].field;
		if (strncmp(f, "llm.", 4) == 0)
			f += 4;
		else if (strcmp(f, "llm") == 0)
			f = "";
		core_field_errorf(out, f, "%s", in->e[i].reason);
	}
}

/* The body as a job spec (a stand-in name and dataset around it) into
 * *s; 0 when valid, else fe names the fields of the body. */
static int body_spec(const json_t *body, struct search_spec *s,
		     struct core_field_errors *fe)
{
	struct core_field_errors *raw = core_calloc(1, sizeof *raw);
	json_t *spec = NULL;
	int ok = 0;

	core_field_errors_clear(fe);
	if (!json_is_object(body)) {
		core_field_errorf(fe, "",
				  "must be a JSON object (a job "
				  "spec's llm object)");
		goto out;
	}
	spec = json_pack("{s:s, s:{s:s}, s:s, s:O}", "name", "llm-check",
			 "dataset", "path", "llm-check", "proposer", "llm",
			 "llm", body);
	if (!raw || !spec) {
		core_field_errorf(fe, "", "out of memory");
		goto out;
	}
	if (search_spec_from_json(spec, s, raw)) {
		fields_unprefix(raw, fe);
		goto out;
	}
	/* the key is read from the server's environment, as for jobs.c */
	if (s->llm.api_key_env[0] &&
	    strncmp(s->llm.api_key_env, "LMNAS_LLM_KEY", 13) != 0) {
		core_field_errorf(fe, "api_key_env",
				  "must name a variable starting with "
				  "LMNAS_LLM_KEY");
		goto out;
	}
	ok = 1;
out:
	json_decref(spec);
	core_free(raw);
	return ok;
}

static json_t *report_json(const struct search_spec *s,
			   const struct llm_check_report *r)
{
	json_t *checks = json_array(), *o;
	int all = r->n > 0;

	for (int i = 0; checks && i < r->n; i++) {
		all = all && r->item[i].ok;
		if (json_array_append_new(
			checks, json_pack("{s:s, s:b, s:s, s:I}", "check",
					  r->item[i].check, "ok", r->item[i].ok,
					  "detail", r->item[i].detail, "ms",
					  (json_int_t)r->item[i].ms))) {
			json_decref(checks);
			return NULL;
		}
	}
	o = json_pack(
	    "{s:s, s:s, s:b, s:o, s:o}", "base_url", s->llm.base_url, "model",
	    s->llm.model, "ok", all, "checks", checks, "context_tokens",
	    r->context_tokens ? json_integer((json_int_t)r->context_tokens)
			      : json_null());
	return o;
}

enum core_status http_llm_url_allowed(const struct http_app *app,
				      const char *url, char *why, size_t whylen)
{
	char host[ALLOW_ENTRY_MAX], err[CORE_ERR_LEN];
	const char *reason = NULL;
	long port = 0;
	int allowed = 0;

	if (llm_url_host(url, host, sizeof host, &port, err, sizeof err)) {
		snprintf(why, whylen, "%s", err);
		return CORE_ERR_INVALID;
	}
	if (allow_each(http_llm_allow_list(app), host, port, &allowed,
		       &reason) ||
	    !allowed) {
		snprintf(why, whylen,
			 "host %s port %ld is not in the server's --llm-allow "
			 "list",
			 host, port);
		return CORE_ERR_INVALID;
	}
	return CORE_OK;
}

static void llm_check(struct http_request *req, struct http_response *res)
{
	struct search_spec *s = core_calloc(1, sizeof *s);
	struct core_field_errors fe;
	struct llm_settings set;
	struct llm_check_report rep;
	char err[CORE_ERR_LEN], host[ALLOW_ENTRY_MAX] = "";
	const char *key = NULL;
	long port = 0;
	enum core_status st;
	json_t *out;

	if (!s) {
		http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
		return;
	}
	if (!body_spec(req->body, s, &fe))
		goto invalid;
	if (http_llm_url_allowed(req->app, s->llm.base_url, err, sizeof err)) {
		core_field_errorf(&fe, "base_url", "%s", err);
		goto invalid;
	}
	/* for the log line: the host only, never the URL's user or query */
	(void)llm_url_host(s->llm.base_url, host, sizeof host, &port, err,
			   sizeof err);
	if (s->llm.api_key_env[0])
		key = getenv(s->llm.api_key_env);
	search_spec_llm_settings(s, key, &set);
	if (atomic_fetch_add(&checks_running, 1) >= CHECKS_AT_ONCE) {
		atomic_fetch_sub(&checks_running, 1);
		core_free(s);
		http_reply_header(res, "Retry-After", "10");
		http_reply_error(res, HTTP_E_LLM_CHECKS_BUSY, NULL, NULL);
		return;
	}
	st = llm_check_run(&set,
			   (long)s->llm.prompt_token_budget + s->llm.max_tokens,
			   LLM_CHECK_TOTAL_MS, &rep, err, sizeof err);
	atomic_fetch_sub(&checks_running, 1);
	if (st) {
		core_field_errorf(&fe, "", "%s", err);
		goto invalid;
	}
	LOG_INFO("llm check of %s (%s) by team %lld: %s %s %s %s", host,
		 s->llm.model, req->caller.team_id,
		 rep.n > 0 && rep.item[0].ok ? "reachable" : "unreachable",
		 rep.n > 1 && rep.item[1].ok ? "model" : "-",
		 rep.n > 2 && rep.item[2].ok ? "structured" : "-",
		 rep.n > 3 && rep.item[3].ok ? "context" : "-");
	out = report_json(s, &rep);
	core_free(s);
	if (!out)
		http_reply_error(res, HTTP_E_OUT_OF_MEMORY, NULL, NULL);
	else
		http_reply_json(res, 200, out);
	return;
invalid:
	core_free(s);
	http_reply_error(res, HTTP_E_VALIDATION_FAILED,
			 "the body is not a valid llm object", &fe);
}

enum core_status http_llm_check_routes_add(struct http_router *r, char *err,
					   size_t errlen)
{
	return http_router_add(r, HTTP_POST, "/v1/llm/check", llm_check,
			       HTTP_ROUTE_BODY | HTTP_ROUTE_TEAM_SCOPED, err,
			       errlen);
}
