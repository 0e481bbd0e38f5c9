/* SPDX-License-Identifier: Apache-2.0 */
/* queue_candidates.c - what a job produced as the HTTP API sees it: its
 * candidates (a page sorted by one objective, filtered, with a keyset
 * cursor), one candidate in detail (arch, per-layer cost, epochs, nearest
 * earlier candidate) and its LLM calls. Team scoped like queue_api.c. */
#include "queue.h"

#include "cost/cost.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $n::bigint = 0: every team (an admin); else only that team's jobs */
#define TEAM_SCOPE(n) "($" n "::bigint = 0 OR j.team_id = $" n "::bigint)"

static const struct store_stmt stmt_visible = {
    "queue_cand_job_visible",
    "SELECT 1 FROM jobs j WHERE j.id = $1::bigint AND " TEAM_SCOPE("2"), 2};

/* ---- the list ------------------------------------------------------------
 * The sort key is a float8 expression (every objective fits one exactly:
 * the integers are far below 2^53); NULLs (a candidate not trained yet)
 * come last in either direction, ties go by id in the sort's direction.
 * The keyset condition resumes strictly after the cursor's (null flag,
 * value, id), so a page boundary never repeats or skips a row whatever is
 * inserted meanwhile. Params: 1 job, 2 status, 3 source, 4 on_front
 * (NULL: either), 5 cursor null flag (NULL: first page), 6 cursor value,
 * 7 cursor id, 8 limit. */
#define CAND_ITEM                                                              \
	"json_build_object('id', c.id, 'round', c.round, 'source', c.source,"  \
	" 'status', c.status, 'arch_hash', c.arch_hash, 'macs', c.macs,"       \
	" 'params', c.params, 'flash_bytes', c.flash_bytes, 'sram_bytes',"     \
	" c.sram_bytes, 'proxy', json_build_object('val_top1', c.val_top1,"    \
	" 'val_top5', c.val_top5, 'val_loss', c.val_loss), 'final',"           \
	" json_build_object('val_top1', c.final_val_top1, 'val_top5',"         \
	" c.final_val_top5, 'val_loss', c.final_val_loss, 'test_top1',"        \
	" c.test_top1), 'epochs_done', c.epochs_done, 'on_front',"             \
	" c.id IN (SELECT id FROM front), 'created_at', c.created_at)"

/* the members of the front of the job's last finished round */
#define FRONT_CTE(job)                                                         \
	"WITH front AS (SELECT (f->>'id')::bigint AS id FROM (SELECT front"    \
	" FROM rounds WHERE job_id = " job " AND finished_at IS NOT NULL"      \
	" AND jsonb_typeof(front) = 'array' ORDER BY round DESC LIMIT 1) lr,"  \
	" jsonb_array_elements(lr.front) f) "

/* The page's rows are chosen (filtered, sorted, limited) in a subquery of
 * the plain columns, and only those become JSON: building the object for
 * every candidate of the job before the sort cost twice the time (1.4 ms
 * against 0.8 ms for a page of 50 out of 200, EXPLAIN ANALYZE). */
#define CAND_COLUMNS                                                           \
	"c.id, c.round, c.source, c.status, c.arch_hash, c.macs, c.params,"    \
	" c.flash_bytes, c.sram_bytes, c.val_top1, c.val_top5, c.val_loss,"    \
	" c.final_val_top1, c.final_val_top5, c.final_val_loss, c.test_top1,"  \
	" c.epochs_done, c.created_at"

#define CAND_PAGE(name, col, dir, cmp)                                         \
	{                                                                      \
		"queue_cands_" name,                                           \
		    FRONT_CTE(                                                 \
			"$1::bigint") "SELECT " CAND_ITEM "::text, (" col      \
				      ") IS NULL, (" col ")::text, c.id"       \
				      " FROM (SELECT " CAND_COLUMNS            \
				      " FROM candidates c WHERE c.job_id ="    \
				      " $1::bigint"                            \
				      " AND ($2::text IS NULL OR c.status = "  \
				      "$2)"                                    \
				      " AND ($3::text IS NULL OR c.source = "  \
				      "$3)"                                    \
				      " AND ($4::boolean IS NULL OR"           \
				      "  (c.id IN (SELECT id FROM front)) ="   \
				      " $4::boolean)"                          \
				      " AND ($5::boolean IS NULL"              \
				      "  OR (NOT $5::boolean AND ((" col       \
				      ") IS NULL OR (" col ") " cmp            \
				      " $6::float8"                            \
				      "   OR ((" col                           \
				      ") = $6::float8 AND c.id " cmp           \
				      " $7::bigint)))"                         \
				      "  OR ($5::boolean AND (" col            \
				      ") IS NULL AND c.id " cmp                \
				      " $7::bigint))"                          \
				      " ORDER BY (" col ") IS NULL, (" col     \
				      ") " dir ", c.id " dir                   \
				      " LIMIT $8::int) c"                      \
				      " ORDER BY (" col ") IS NULL, (" col     \
				      ") " dir ", c.id " dir,                  \
		    8                                                          \
	}

#define CAND_SORT(name, col)                                                   \
	CAND_PAGE(name "_asc", col, "ASC", ">"),                               \
	    CAND_PAGE(name "_desc", col, "DESC", "<")

/* Indexed by enum queue_cand_sort * 2 + desc; the only SQL the sort
 * parameter can choose (never interpolated). */
static const struct store_stmt stmt_pages[QUEUE_CAND_SORT_COUNT * 2] = {
    CAND_SORT("val_top1", "c.val_top1"),
    CAND_SORT("macs", "c.macs::float8"),
    CAND_SORT("flash", "c.flash_bytes::float8"),
    CAND_SORT("sram", "c.sram_bytes::float8"),
    CAND_SORT("params", "c.params::float8"),
    CAND_SORT("created", "c.id::float8"),
};

static const char *const sort_names[QUEUE_CAND_SORT_COUNT] = {
    "val_top1", "macs", "flash_bytes", "sram_bytes", "params", "created"};

enum core_status queue_cand_sort_parse(const char *s, enum queue_cand_sort *key,
				       int *desc)
{
	int d = s && s[0] == '-';

	for (int i = 0; s && i < QUEUE_CAND_SORT_COUNT; i++)
		if (strcmp(s + d, sort_names[i]) == 0) {
			*key = (enum queue_cand_sort)i;
			*desc = d;
			return CORE_OK;
		}
	return CORE_ERR_INVALID;
}

/* A cursor is "<value>_<id>" or "null_<id>": the sort value and id of the
 * last row shown (see CAND_PAGE). */
enum core_status queue_cand_cursor_parse(const char *s,
					 struct queue_cand_query *q)
{
	const char *us = s ? strrchr(s, '_') : NULL;
	char val[64], *end = NULL;
	long long id = 0;
	double v;

	if (!us || us == s || (size_t)(us - s) >= sizeof val || !us[1] ||
	    strlen(us + 1) > 18)
		return CORE_ERR_INVALID;
	for (const char *p = us + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return CORE_ERR_INVALID;
		id = id * 10 + (*p - '0');
	}
	memcpy(val, s, (size_t)(us - s));
	val[us - s] = '\0';
	q->after_id = id;
	if (strcmp(val, "null") == 0) {
		q->after_null = 1;
		q->after_value = 0;
		q->has_after = 1;
		return CORE_OK;
	}
	/* only what the server writes: a plain finite decimal */
	for (const char *p = val; *p; p++)
		if (!strchr("0123456789.-+eE", *p))
			return CORE_ERR_INVALID;
	v = strtod(val, &end);
	if (!end || *end || !isfinite(v))
		return CORE_ERR_INVALID;
	q->after_null = 0;
	q->after_value = v;
	q->has_after = 1;
	return CORE_OK;
}

/* The cursor's value part for a row's sort value (PostgreSQL's float8
 * text): "null", or %.17g (exact for a double) without '+', which a query
 * string would turn into a space; strtod reads "1e15" as well. */
static void cursor_value(int null, const char *pgtext, char *out, size_t outlen)
{
	char tmp[64];
	size_t k = 0;

	if (null) {
		snprintf(out, outlen, "null");
		return;
	}
	snprintf(tmp, sizeof tmp, "%.17g", strtod(pgtext, NULL));
	for (size_t i = 0; tmp[i] && k + 1 < outlen; i++)
		if (tmp[i] != '+')
			out[k++] = tmp[i];
	out[k] = '\0';
}

static enum core_status job_visible(struct store_pool *p, long long id,
				    long long team, char *err, size_t errlen)
{
	char ids[32], teams[32];
	const char *params[2] = {ids, teams};
	PGresult *r = NULL;
	enum core_status st;
	int n;

	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(teams, sizeof teams, "%lld", team);
	st = store_exec_pooled(p, &stmt_visible, params, &r, err, errlen);
	if (st)
		return st;
	n = PQntuples(r);
	PQclear(r);
	if (n == 0) {
		core_errf(err, errlen, "job %lld not found", id);
		return CORE_ERR_NOT_FOUND;
	}
	return CORE_OK;
}

enum core_status queue_job_candidates_json(struct store_pool *p, long long id,
					   long long team,
					   const struct queue_cand_query *q,
					   char **json, char *err,
					   size_t errlen)
{
	char ids[32], vals[64], aids[32], limits[16];
	const char *front = q->front < 0 ? NULL : q->front ? "true" : "false";
	const char *params[8] = {
	    ids,
	    q->has_status ? store_candidate_status_name(q->status) : NULL,
	    q->has_source ? store_candidate_source_name(q->source) : NULL,
	    front,
	    q->has_after ? (q->after_null ? "true" : "false") : NULL,
	    vals,
	    aids,
	    limits};
	const struct store_stmt *s;
	struct core_buf b;
	PGresult *r = NULL;
	enum core_status st;
	int n, shown;

	*json = NULL;
	if ((unsigned)q->sort >= QUEUE_CAND_SORT_COUNT || q->limit < 1) {
		core_errf(err, errlen, "bad candidate query");
		return CORE_ERR_INVALID;
	}
	s = &stmt_pages[q->sort * 2 + (q->desc ? 1 : 0)];
	st = job_visible(p, id, team, err, errlen);
	if (st)
		return st;
	snprintf(ids, sizeof ids, "%lld", id);
	/* %.17g round-trips a double exactly */
	snprintf(vals, sizeof vals, "%.17g", q->after_value);
	snprintf(aids, sizeof aids, "%lld", q->after_id);
	/* one more than asked: whether a next page exists */
	snprintf(limits, sizeof limits, "%d", q->limit + 1);
	st = store_exec_pooled(p, s, params, &r, err, errlen);
	if (st)
		return st;
	n = PQntuples(r);
	shown = n > q->limit ? q->limit : n;
	core_buf_init(&b, 64u << 20);
	st = core_buf_append(&b, "{\"candidates\":[", 15);
	for (int i = 0; !st && i < shown; i++) {
		if (i)
			st = core_buf_append(&b, ",", 1);
		if (!st)
			st = core_buf_append(&b, PQgetvalue(r, i, 0),
					     strlen(PQgetvalue(r, i, 0)));
	}
	if (!st && n > q->limit) {
		int k = q->limit - 1;
		char cur[64];
		cursor_value(PQgetvalue(r, k, 1)[0] == 't', PQgetvalue(r, k, 2),
			     cur, sizeof cur);
		st = core_buf_printf(&b, "],\"next_cursor\":\"%s_%s\"}", cur,
				     PQgetvalue(r, k, 3));
	} else if (!st) {
		st = core_buf_printf(&b, "],\"next_cursor\":null}");
	}
	PQclear(r);
	if (st) {
		core_buf_free(&b);
		core_errf(err, errlen, "out of memory listing candidates");
		return CORE_ERR_NOMEM;
	}
	*json = core_buf_steal(&b, NULL);
	return CORE_OK;
}

/* ---- one candidate ------------------------------------------------------ */

#define EPOCHS_OF(phase)                                                       \
	"(SELECT coalesce(json_agg(json_build_object('epoch', e.epoch,"        \
	" 'train_loss', e.train_loss, 'val_top1', e.val_top1, 'val_top5',"     \
	" e.val_top5, 'val_loss', e.val_loss, 'lr', e.lr, 'seconds',"          \
	" e.seconds) ORDER BY e.epoch), '[]') FROM candidate_epochs e"         \
	" WHERE e.candidate_id = c.id AND e.phase = '" phase "')"

/* The candidate (scoped through its job and the team) with its stored
 * arch as text for the cost and the distance. */
static const struct store_stmt stmt_candidate = {
    "queue_candidate",
    FRONT_CTE(
	"$1::bigint") "SELECT " CAND_ITEM "::text, c.arch::text,"
		      " json_build_object('arch', c.arch, 'rationale',"
		      " c.rationale, 'rejection_reason', "
		      "c.rejection_reason,"
		      " 'updated_at', c.updated_at, 'epochs',"
		      " json_build_object('proxy', " EPOCHS_OF(
			  "proxy") ", 'final', " EPOCHS_OF("final") "))"
								    "::text"
								    " FROM "
								    "candidates"
								    " c JOIN "
								    "jobs j ON "
								    "j.id = "
								    "c.job_id"
								    " WHERE "
								    "c.job_id "
								    "= "
								    "$1::"
								    "bigint "
								    "AND "
								    "c.id = "
								    "$2::bigint"
								    " AND"
								    " " TEAM_SCOPE(
									"3"),
    3};

/* The nearest earlier candidate is looked for among this many
 * predecessors of the job (the most recent ones): bounded work per
 * request whatever the job's size. */
#define NEAREST_WINDOW 1000

static const struct store_stmt stmt_earlier = {
    "queue_candidate_earlier",
    "SELECT c.id, c.round, c.arch::text FROM candidates c"
    " WHERE c.job_id = $1::bigint AND c.id < $2::bigint"
    " ORDER BY c.id DESC LIMIT $3::int",
    3};

/* Architecture distance: the number of the architectures' fields that
 * differ, stages aligned by index. Counted fields: resolution, input
 * channels, classes, dropout; the stem's presence and, when both have one,
 * its out, kernel, stride, act; per stage block, out, layers, kernel,
 * stride, expand, se, skip, act. A stage only one of the two has counts as
 * all of its 9 fields. 0 means the same network (the hash also agrees).
 * A Hamming distance over the genome a mutation edits, one field per
 * step, so "nearest" reads as "fewest edits away". */
#define STAGE_FIELDS 9

long queue_arch_distance(const struct arch *a, const struct arch *b)
{
	long d = 0;
	int n = a->nstages > b->nstages ? a->nstages : b->nstages;

	d += a->resolution != b->resolution;
	d += a->channels != b->channels;
	d += a->classes != b->classes;
	d += a->dropout != b->dropout;
	d += a->stem.present != b->stem.present;
	if (a->stem.present && b->stem.present) {
		d += a->stem.out != b->stem.out;
		d += a->stem.kernel != b->stem.kernel;
		d += a->stem.stride != b->stem.stride;
		d += a->stem.act != b->stem.act;
	}
	for (int i = 0; i < n; i++) {
		const struct arch_stage *x = &a->stages[i], *y = &b->stages[i];
		if (i >= a->nstages || i >= b->nstages) {
			d += STAGE_FIELDS;
			continue;
		}
		d += x->block != y->block;
		d += x->out != y->out;
		d += x->layers != y->layers;
		d += x->kernel != y->kernel;
		d += x->stride != y->stride;
		d += x->expand != y->expand;
		d += x->se != y->se;
		d += x->skip != y->skip;
		d += x->act != y->act;
	}
	return d;
}

/* Parses a stored arch; 0 when it is one, -1 when not (a rejected
 * proposal may hold anything, "null" included). */
static int arch_of(const char *text, struct arch *a)
{
	struct core_field_errors fe;

	if (!text || strcmp(text, "null") == 0)
		return -1;
	return arch_parse(text, strlen(text), a, &fe) ? -1 : 0;
}

/* {"id", "round", "distance"} of the nearest earlier candidate of job to
 * a (ties: the most recent), or JSON null when there is none. */
static enum core_status nearest_earlier(struct store_pool *p, long long job,
					long long cid, const struct arch *a,
					json_t **out, char *err, size_t errlen)
{
	char jobs[32], cids[32], lim[16];
	const char *params[3] = {jobs, cids, lim};
	PGresult *r = NULL;
	enum core_status st;
	struct arch *b = core_malloc(sizeof *b);
	long best = -1;
	int bi = -1;

	*out = NULL;
	if (!b) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	snprintf(jobs, sizeof jobs, "%lld", job);
	snprintf(cids, sizeof cids, "%lld", cid);
	snprintf(lim, sizeof lim, "%d", NEAREST_WINDOW);
	st = store_exec_pooled(p, &stmt_earlier, params, &r, err, errlen);
	if (st) {
		core_free(b);
		return st;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		long d;
		if (arch_of(PQgetvalue(r, i, 2), b))
			continue;
		d = queue_arch_distance(a, b);
		if (best < 0 || d < best) {
			best = d;
			bi = i;
		}
	}
	if (bi < 0)
		*out = json_null();
	else
		*out = json_pack(
		    "{s:I, s:i, s:I}", "id",
		    (json_int_t)strtoll(PQgetvalue(r, bi, 0), NULL, 10),
		    "round", atoi(PQgetvalue(r, bi, 1)), "distance",
		    (json_int_t)best);
	PQclear(r);
	core_free(b);
	if (!*out) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

/* The cost of a as `lmnas cost --json` reports it (totals and the per-op
 * table), or JSON null with *why set when it cannot be built. */
static json_t *cost_of(const struct arch *a, char *why, size_t whylen)
{
	struct cost_report rep;
	json_t *j;

	if (cost_report_build(a, &rep, why, whylen))
		return json_null();
	j = cost_report_to_json(&rep);
	cost_report_free(&rep);
	return j;
}

/* Frees what json_dumps returned, with jansson's own allocator. */
static void json_text_free(char *t)
{
	json_free_t f = NULL;

	json_get_alloc_funcs(NULL, &f);
	if (t)
		(f ? f : free)(t);
}

enum core_status queue_candidate_json(struct store_pool *p, long long job,
				      long long cid, long long team,
				      char **json, char *err, size_t errlen)
{
	char jobs[32], cids[32], teams[32], why[CORE_ERR_LEN] = "";
	const char *params[3] = {jobs, cids, teams};
	PGresult *r = NULL;
	json_t *o = NULL, *more = NULL, *cost = NULL, *near = NULL;
	struct arch *a = NULL;
	char *text = NULL;
	enum core_status st;
	int have_arch;

	*json = NULL;
	snprintf(jobs, sizeof jobs, "%lld", job);
	snprintf(cids, sizeof cids, "%lld", cid);
	snprintf(teams, sizeof teams, "%lld", team);
	st = store_exec_pooled(p, &stmt_candidate, params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "candidate %lld of job %lld not found",
			  cid, job);
		return CORE_ERR_NOT_FOUND;
	}
	a = core_malloc(sizeof *a);
	o = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
	more = json_loads(PQgetvalue(r, 0, 2), 0, NULL);
	st = CORE_ERR_NOMEM;
	if (!a || !o || !more || json_object_update(o, more))
		goto out;
	have_arch = arch_of(PQgetvalue(r, 0, 1), a) == 0;
	if (have_arch) {
		cost = cost_of(a, why, sizeof why);
		st = nearest_earlier(p, job, cid, a, &near, err, errlen);
		if (st)
			goto out;
	} else {
		cost = json_null();
		near = json_null();
		snprintf(why, sizeof why,
			 "no valid architecture stored (a rejected proposal)");
	}
	st = CORE_ERR_NOMEM;
	/* json_object_set_new takes the reference even when it fails */
	if (!cost || !near ||
	    json_object_set_new(o, "cost", json_incref(cost)) ||
	    json_object_set_new(o, "cost_error",
				why[0] ? json_string(why) : json_null()) ||
	    json_object_set_new(o, "nearest_earlier", json_incref(near)))
		goto out;
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	*json = text ? core_strdup(text) : NULL;
	if (*json)
		st = CORE_OK;
out:
	if (st == CORE_ERR_NOMEM)
		core_errf(err, errlen, "out of memory reading candidate %lld",
			  cid);
	json_text_free(text);
	PQclear(r);
	json_decref(cost);
	json_decref(near);
	json_decref(more);
	json_decref(o);
	core_free(a);
	return st;
}

/* ---- LLM calls ----------------------------------------------------------- */

/* messages is the request's messages array exactly as sent (the key never
 * is part of it: llm.h keeps it to the Authorization header). A call holds
 * up to a whole prompt and a 4 MiB reply, so a page also stops once the
 * calls before one hold QUEUE_LLM_CALLS_PAGE_BYTES of messages and replies
 * (at least one call is always shown; next_after continues). $4: that
 * budget. */
static const struct store_stmt stmt_llm_calls = {
    "queue_llm_calls",
    "SELECT json_build_object('llm_calls', coalesce(json_agg("
    "json_build_object('id', l.id, 'round', l.round, 'attempt', l.attempt,"
    " 'model', l.model, 'messages', l.messages, 'reply', l.reply,"
    " 'outcome', l.outcome, 'error', l.error, 'http_status',"
    " l.http_status, 'latency_ms', l.latency_ms, 'prompt_tokens',"
    " l.prompt_tokens, 'completion_tokens', l.completion_tokens,"
    " 'created_at', l.created_at) ORDER BY l.id), '[]'), 'next_after',"
    " coalesce(max(l.id), $2::bigint))::text"
    " FROM (SELECT * FROM (SELECT x.*, sum(x.bytes) OVER (ORDER BY x.id)"
    "   - x.bytes AS before FROM (SELECT c.*, octet_length(c.messages::text)"
    "   + coalesce(octet_length(c.reply), 0) AS bytes FROM llm_calls c"
    "   WHERE c.job_id = $1::bigint AND c.id > $2::bigint ORDER BY c.id"
    "   LIMIT $3::int) x) y WHERE y.before < $4::bigint) l",
    4};

enum core_status queue_job_llm_calls_json(struct store_pool *p, long long id,
					  long long team, long long after,
					  int limit, char **json, char *err,
					  size_t errlen)
{
	char ids[32], afters[32], limits[16], budget[32];
	const char *params[4] = {ids, afters, limits, budget};
	PGresult *r = NULL;
	enum core_status st;

	*json = NULL;
	snprintf(budget, sizeof budget, "%lld",
		 (long long)QUEUE_LLM_CALLS_PAGE_BYTES);
	st = job_visible(p, id, team, err, errlen);
	if (st)
		return st;
	snprintf(ids, sizeof ids, "%lld", id);
	snprintf(afters, sizeof afters, "%lld", after > 0 ? after : 0);
	snprintf(limits, sizeof limits, "%d", limit);
	st = store_exec_pooled(p, &stmt_llm_calls, params, &r, err, errlen);
	if (st)
		return st;
	*json = core_strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*json) {
		core_errf(err, errlen, "out of memory reading job %lld", id);
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}
