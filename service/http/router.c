/* SPDX-License-Identifier: Apache-2.0 */
/* router.c - the route table: method bits plus path patterns with {params},
 * matching with literal-over-parameter precedence, 404 versus 405. */
#include "http.h"

#include <stdio.h>
#include <string.h>

#define ROUTE_SEGS_MAX 32
#define PARAM_NAME_MAX 32

struct route {
	char *pattern; /* as registered */
	char *segbuf;  /* pattern split on '/': seg[] points here */
	int nseg;
	const char *seg[ROUTE_SEGS_MAX]; /* literal text or parameter name */
	unsigned char is_param[ROUTE_SEGS_MAX];
	unsigned methods;
	unsigned flags;
	http_handler_fn fn;
};

struct http_router {
	struct route **routes;
	size_t n, cap;
};

static const struct {
	const char *name;
	unsigned bit;
} method_names[] = {
    {"GET", HTTP_GET},	       {"HEAD", HTTP_HEAD},   {"POST", HTTP_POST},
    {"PUT", HTTP_PUT},	       {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE},
    {"OPTIONS", HTTP_OPTIONS},
};

#define NMETHODS (sizeof method_names / sizeof method_names[0])
#define ALL_METHODS                                                            \
	(HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PUT | HTTP_PATCH |            \
	 HTTP_DELETE | HTTP_OPTIONS)

unsigned http_method_parse(const char *name)
{
	for (size_t i = 0; name && i < NMETHODS; i++)
		if (strcmp(name, method_names[i].name) == 0)
			return method_names[i].bit;
	return 0;
}

void http_methods_format(unsigned methods, char *out, size_t outlen)
{
	size_t used = 0;

	if (!outlen)
		return;
	out[0] = '\0';
	if (methods & HTTP_GET)
		methods |= HTTP_HEAD;
	for (size_t i = 0; i < NMETHODS; i++) {
		int w;
		if (!(methods & method_names[i].bit))
			continue;
		w = snprintf(out + used, outlen - used, "%s%s",
			     used ? ", " : "", method_names[i].name);
		if (w < 0 || (size_t)w >= outlen - used) {
			out[used] = '\0';
			return;
		}
		used += (size_t)w;
	}
}

enum core_status http_router_new(struct http_router **out, char *err,
				 size_t errlen)
{
	*out = core_calloc(1, sizeof **out);
	if (!*out) {
		core_errf(err, errlen, "out of memory creating the router");
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

static void route_free(struct route *rt)
{
	if (!rt)
		return;
	core_free(rt->pattern);
	core_free(rt->segbuf);
	core_free(rt);
}

void http_router_free(struct http_router *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		route_free(r->routes[i]);
	core_free(r->routes);
	core_free(r);
}

static int literal_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '~' ||
	       c == '-';
}

static int param_name_valid(const char *s, size_t len)
{
	if (len == 0 || len >= PARAM_NAME_MAX)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* Splits rt->segbuf (a copy of the pattern) into checked segments. */
static enum core_status route_parse(struct route *rt, char *err, size_t errlen)
{
	const char *pat = rt->pattern;
	char *p;

	if (pat[0] != '/') {
		core_errf(err, errlen, "route '%s': must start with '/'", pat);
		return CORE_ERR_INVALID;
	}
	rt->nseg = 0;
	if (strcmp(pat, "/") == 0)
		return CORE_OK;
	p = rt->segbuf + 1;
	for (;;) {
		char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		int nparams = 0;

		if (slash)
			*slash = '\0';
		if (rt->nseg >= ROUTE_SEGS_MAX) {
			core_errf(err, errlen,
				  "route '%s': more than %d segments", pat,
				  ROUTE_SEGS_MAX);
			return CORE_ERR_INVALID;
		}
		if (len == 0) {
			core_errf(err, errlen, "route '%s': empty segment",
				  pat);
			return CORE_ERR_INVALID;
		}
		if (p[0] == '{') {
			if (p[len - 1] != '}' ||
			    !param_name_valid(p + 1, len - 2)) {
				core_errf(err, errlen,
					  "route '%s': bad parameter '%s' "
					  "(want {name} with name "
					  "[a-z_][a-z0-9_]*)",
					  pat, p);
				return CORE_ERR_INVALID;
			}
			p[len - 1] = '\0';
			p++;
			for (int i = 0; i < rt->nseg; i++) {
				if (rt->is_param[i]) {
					nparams++;
					if (strcmp(rt->seg[i], p) == 0) {
						core_errf(
						    err, errlen,
						    "route '%s': parameter "
						    "'%s' twice",
						    pat, p);
						return CORE_ERR_INVALID;
					}
				}
			}
			if (nparams >= HTTP_PARAMS_MAX) {
				core_errf(err, errlen,
					  "route '%s': more than %d parameters",
					  pat, HTTP_PARAMS_MAX);
				return CORE_ERR_INVALID;
			}
			rt->is_param[rt->nseg] = 1;
		} else {
			for (size_t i = 0; i < len; i++) {
				if (!literal_char(p[i])) {
					core_errf(err, errlen,
						  "route '%s': character '%c' "
						  "not allowed in a segment",
						  pat, p[i]);
					return CORE_ERR_INVALID;
				}
			}
			if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
				core_errf(err, errlen,
					  "route '%s': '.' and '..' are not "
					  "segments",
					  pat);
				return CORE_ERR_INVALID;
			}
			rt->is_param[rt->nseg] = 0;
		}
		rt->seg[rt->nseg++] = p;
		if (!slash)
			return CORE_OK;
		p = slash + 1;
	}
}

/* Same shape: every path one matches, the other matches too. */
static int same_shape(const struct route *a, const struct route *b)
{
	if (a->nseg != b->nseg)
		return 0;
	for (int i = 0; i < a->nseg; i++) {
		if (a->is_param[i] != b->is_param[i])
			return 0;
		if (!a->is_param[i] && strcmp(a->seg[i], b->seg[i]) != 0)
			return 0;
	}
	return 1;
}

enum core_status http_router_add(struct http_router *r, unsigned methods,
				 const char *pattern, http_handler_fn fn,
				 unsigned flags, char *err, size_t errlen)
{
	struct route *rt = NULL;
	enum core_status st;

	if (!fn || !pattern) {
		core_errf(err, errlen, "route: missing pattern or handler");
		return CORE_ERR_INVALID;
	}
	if (!methods || (methods & ~ALL_METHODS) || methods == HTTP_HEAD) {
		core_errf(err, errlen, "route '%s': bad method set 0x%x",
			  pattern, methods);
		return CORE_ERR_INVALID;
	}
	if (strlen(pattern) >= HTTP_PATH_MAX) {
		core_errf(err, errlen, "route: pattern longer than %d",
			  HTTP_PATH_MAX - 1);
		return CORE_ERR_INVALID;
	}
	rt = core_calloc(1, sizeof *rt);
	if (!rt)
		goto nomem;
	rt->pattern = core_strdup(pattern);
	rt->segbuf = core_strdup(pattern);
	if (!rt->pattern || !rt->segbuf)
		goto nomem;
	rt->methods = methods;
	rt->flags = flags;
	rt->fn = fn;
	st = route_parse(rt, err, errlen);
	if (st)
		goto fail;
	for (size_t i = 0; i < r->n; i++) {
		unsigned both = r->routes[i]->methods & methods;
		if (both && same_shape(r->routes[i], rt)) {
			char m[64];
			http_methods_format(both, m, sizeof m);
			core_errf(err, errlen,
				  "route '%s': %s already routed by '%s'",
				  pattern, m, r->routes[i]->pattern);
			st = CORE_ERR_CONFLICT;
			goto fail;
		}
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct route **grown =
		    core_realloc(r->routes, cap * sizeof *grown);
		if (!grown)
			goto nomem;
		r->routes = grown;
		r->cap = cap;
	}
	r->routes[r->n++] = rt;
	return CORE_OK;
nomem:
	core_errf(err, errlen, "route '%s': out of memory", pattern);
	st = CORE_ERR_NOMEM;
fail:
	route_free(rt);
	return st;
}

static int route_matches(const struct route *rt, int nseg, char *const *segs)
{
	if (rt->nseg != nseg)
		return 0;
	for (int i = 0; i < nseg; i++)
		if (!rt->is_param[i] && strcmp(rt->seg[i], segs[i]) != 0)
			return 0;
	return 1;
}

/* 1 when a is more specific than b (both match the same path): at the first
 * segment where they differ in kind, a has the literal. */
static int more_specific(const struct route *a, const struct route *b)
{
	for (int i = 0; i < a->nseg; i++)
		if (a->is_param[i] != b->is_param[i])
			return !a->is_param[i];
	return 0;
}

enum http_match_result http_router_match(const struct http_router *r,
					 unsigned method, const char *path,
					 struct http_match *m)
{
	char *segs[ROUTE_SEGS_MAX];
	const struct route *best = NULL;
	size_t len = strlen(path);
	int nseg = 0, found_path = 0;
	unsigned want = method == HTTP_HEAD ? HTTP_GET : method;
	char *p;

	m->fn = NULL;
	m->flags = 0;
	m->pattern = NULL;
	m->allow = 0;
	m->nparams = 0;
	if (len >= sizeof m->buf)
		return HTTP_MATCH_TOO_LONG;
	if (path[0] != '/')
		return HTTP_MATCH_NO_PATH;
	memcpy(m->buf, path, len + 1);
	if (len > 1) {
		p = m->buf + 1;
		for (;;) {
			char *slash = strchr(p, '/');
			if (slash)
				*slash = '\0';
			if (*p == '\0' || nseg >= ROUTE_SEGS_MAX)
				return HTTP_MATCH_NO_PATH;
			segs[nseg++] = p;
			if (!slash)
				break;
			p = slash + 1;
		}
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct route *rt = r->routes[i];
		if (!route_matches(rt, nseg, segs))
			continue;
		found_path = 1;
		m->allow |= rt->methods;
		if (!(rt->methods & want))
			continue;
		if (!best || more_specific(rt, best))
			best = rt;
	}
	if (m->allow & HTTP_GET)
		m->allow |= HTTP_HEAD;
	if (!found_path)
		return HTTP_MATCH_NO_PATH;
	if (!best)
		return HTTP_MATCH_NO_METHOD;
	m->fn = best->fn;
	m->flags = best->flags;
	m->pattern = best->pattern;
	for (int i = 0; i < nseg; i++) {
		if (!best->is_param[i])
			continue;
		m->names[m->nparams] = best->seg[i];
		m->values[m->nparams] = segs[i];
		m->nparams++;
	}
	return HTTP_MATCH_FOUND;
}

void http_router_each(const struct http_router *r,
		      void (*fn)(void *ctx, const char *pattern,
				 unsigned methods, unsigned flags),
		      void *ctx)
{
	for (size_t i = 0; i < r->n; i++)
		fn(ctx, r->routes[i]->pattern, r->routes[i]->methods,
		   r->routes[i]->flags);
}
