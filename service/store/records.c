/* SPDX-License-Identifier: Apache-2.0 */
/* records.c - a search job's candidates (with their epoch checkpoints) and
 * per-epoch metrics, the state names, and the helpers every record
 * statement shares (text parameters, status mapping, the lease guard).
 * Every statement is a named, parameterised one. */
#include "store_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ---- */

static const char *const cand_status_names[] = {
    "proposed", "rejected",	  "training",  "trained",
    "failed",	"final_training", "final_done"};
static const char *const cand_source_names[] = {"llm", "evolution", "random",
						"user"};
static const char *const event_level_names[] = {"debug", "info", "warn",
						"error"};
static const char *const phase_names[] = {"proxy", "final"};

#define NAMES(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : "unknown";
}

static int parse_name(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *store_candidate_status_name(enum store_candidate_status s)
{
	return name_of(cand_status_names, NAMES(cand_status_names),
		       (unsigned)s);
}

enum core_status store_candidate_status_parse(const char *s,
					      enum store_candidate_status *out)
{
	int v = parse_name(cand_status_names, NAMES(cand_status_names), s);

	if (v < 0)
		return CORE_ERR_INVALID;
	*out = (enum store_candidate_status)v;
	return CORE_OK;
}

const char *store_candidate_source_name(enum store_candidate_source s)
{
	return name_of(cand_source_names, NAMES(cand_source_names),
		       (unsigned)s);
}

enum core_status store_candidate_source_parse(const char *s,
					      enum store_candidate_source *out)
{
	int v = parse_name(cand_source_names, NAMES(cand_source_names), s);

	if (v < 0)
		return CORE_ERR_INVALID;
	*out = (enum store_candidate_source)v;
	return CORE_OK;
}

const char *store_event_level_name(enum store_event_level l)
{
	return name_of(event_level_names, NAMES(event_level_names),
		       (unsigned)l);
}

const char *store_phase_name(enum store_phase ph)
{
	return name_of(phase_names, NAMES(phase_names), (unsigned)ph);
}

/* ---- shared helpers ---- */

const char *store_ll_or_null(struct store_num *n, long long v)
{
	if (v < 0)
		return NULL;
	snprintf(n->buf, sizeof n->buf, "%lld", v);
	return n->buf;
}

const char *store_dbl_or_null(struct store_num *n, double v)
{
	if (isnan(v))
		return NULL;
	snprintf(n->buf, sizeof n->buf, "%.17g", v);
	return n->buf;
}

const char *store_int_text(struct store_num *n, long long v)
{
	snprintf(n->buf, sizeof n->buf, "%lld", v);
	return n->buf;
}

double store_dbl_col(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NAN
					: strtod(PQgetvalue(r, row, col), NULL);
}

const char *store_text(struct store_text *t, const char *s)
{
	size_t n;
	char *copy;

	if (!s)
		return NULL;
	n = strlen(s);
	if (core_utf8_valid(s, n))
		return s;
	/* the sanitized copy never exceeds 3 bytes per input byte */
	copy = t->n < STORE_TEXT_MAX ? core_utf8_sanitize(s, n, 3 * n + 1, NULL)
				     : NULL;
	if (!copy)
		return "(text not stored: out of memory)";
	t->owned[t->n++] = copy;
	return copy;
}

void store_text_free(struct store_text *t)
{
	for (int i = 0; i < t->n; i++)
		core_free(t->owned[i]);
	t->n = 0;
}

enum core_status store_run_on(struct store_conn *c, const struct store_stmt *s,
			      const char *const *params, const int *lengths,
			      const int *formats, PGresult **res, char *err,
			      size_t errlen)
{
	enum core_status st =
	    store_exec(c, s, params, lengths, formats, res, err, errlen);
	const char *state = store_conn_sqlstate(c);

	if (st == CORE_ERR_DB && strcmp(state, "23505") == 0)
		st = CORE_ERR_CONFLICT;
	else if (st == CORE_ERR_DB &&
		 (strncmp(state, "22", 2) == 0 || strcmp(state, "23514") == 0))
		st = CORE_ERR_INVALID; /* the value itself is refused */
	return st;
}

enum core_status store_run(struct store_pool *p, const struct store_stmt *s,
			   const char *const *params, const int *lengths,
			   const int *formats, PGresult **res, char *err,
			   size_t errlen)
{
	struct store_conn *c = NULL;
	enum core_status st = store_conn_acquire(p, 10.0, &c, err, errlen);

	if (st)
		return st;
	st = store_run_on(c, s, params, lengths, formats, res, err, errlen);
	store_conn_release(p, c);
	return st;
}

static const struct store_stmt stmt_lease_why = {
    "lease_why",
    "SELECT $2::text IS NULL OR (lease_owner IS NOT DISTINCT FROM $2 AND"
    " status = 'running') FROM jobs WHERE id = $1::bigint",
    2};

enum core_status store_lease_why(struct store_pool *p, struct store_conn *c,
				 long long job_id, const char *owner, char *err,
				 size_t errlen)
{
	struct store_num n = {0};
	const char *params[2] = {store_int_text(&n, job_id), owner};
	PGresult *r = NULL;
	enum core_status st = c ? store_run_on(c, &stmt_lease_why, params, NULL,
					       NULL, &r, err, errlen)
				: store_run(p, &stmt_lease_why, params, NULL,
					    NULL, &r, err, errlen);

	if (st)
		return st;
	if (PQntuples(r) != 1) {
		core_errf(err, errlen, "job %lld not found", job_id);
		st = CORE_ERR_NOT_FOUND;
	} else if (PQgetvalue(r, 0, 0)[0] != 't') {
		core_errf(err, errlen,
			  "job %lld: lease lost (another worker holds it)",
			  job_id);
		st = CORE_ERR_CONFLICT;
	}
	PQclear(r);
	return st;
}

/* After a guarded candidate update matched no row: why. */
static const struct store_stmt stmt_cand_job = {
    "cand_job", "SELECT job_id FROM candidates WHERE id = $1::bigint", 1};

static enum core_status cand_missed(struct store_pool *p, struct store_conn *c,
				    long long id, const char *owner, char *err,
				    size_t errlen)
{
	struct store_num n = {0};
	const char *params[1] = {store_int_text(&n, id)};
	PGresult *r = NULL;
	long long job;
	enum core_status st = c ? store_run_on(c, &stmt_cand_job, params, NULL,
					       NULL, &r, err, errlen)
				: store_run(p, &stmt_cand_job, params, NULL,
					    NULL, &r, err, errlen);

	if (st)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "candidate %lld not found", id);
		return CORE_ERR_NOT_FOUND;
	}
	job = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	st = store_lease_why(p, c, job, owner, err, errlen);
	if (st == CORE_OK) {
		core_errf(err, errlen, "candidate %lld not found", id);
		st = CORE_ERR_NOT_FOUND;
	}
	return st;
}

/* The result of a guarded candidate update: one row, or why not. */
static enum core_status cand_updated(struct store_pool *p, struct store_conn *c,
				     PGresult *r, long long id,
				     const char *owner, char *err,
				     size_t errlen)
{
	int n = atoi(PQcmdTuples(r));

	PQclear(r);
	return n == 1 ? CORE_OK : cand_missed(p, c, id, owner, err, errlen);
}

/* ---- candidates ---- */

static const struct store_stmt stmt_cand_insert = {
    "cand_insert",
    "INSERT INTO candidates (job_id, round, source, arch, arch_hash,"
    " status, rationale, rejection_reason, macs, params, flash_bytes,"
    " sram_bytes, val_top1, val_top5, val_loss, test_top1, epochs_done)"
    " SELECT $1::bigint, $2::int, $3, $4::jsonb, $5, $6, $7, $8,"
    " $9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::float8,"
    " $14::float8, $15::float8, $16::float8, $17::int"
    " WHERE " STORE_LEASE_GUARD("$1::bigint",
				"18") " ON CONFLICT (job_id, arch_hash) WHERE "
				      "status <> 'rejected' DO NOTHING"
				      " RETURNING id",
    18};

enum core_status
store_candidate_insert_on(struct store_pool *p, struct store_conn *conn,
			  const char *owner, const struct store_candidate *c,
			  long long *id, char *err, size_t errlen)
{
	struct store_num n[11] = {0};
	struct store_text t = {0};
	const char *params[18] = {
	    store_int_text(&n[0], c->job_id),
	    store_int_text(&n[1], c->round),
	    store_candidate_source_name(c->source),
	    store_text(&t, c->arch_json),
	    store_text(&t, c->arch_hash),
	    store_candidate_status_name(c->status),
	    store_text(&t, c->rationale),
	    store_text(&t, c->rejection_reason),
	    store_ll_or_null(&n[2], c->macs),
	    store_ll_or_null(&n[3], c->params),
	    store_ll_or_null(&n[4], c->flash_bytes),
	    store_ll_or_null(&n[5], c->sram_bytes),
	    store_dbl_or_null(&n[6], c->val_top1),
	    store_dbl_or_null(&n[7], c->val_top5),
	    store_dbl_or_null(&n[8], c->val_loss),
	    store_dbl_or_null(&n[9], c->test_top1),
	    store_int_text(&n[10], c->epochs_done),
	    owner,
	};
	PGresult *r = NULL;
	enum core_status st =
	    conn ? store_run_on(conn, &stmt_cand_insert, params, NULL, NULL, &r,
				err, errlen)
		 : store_run(p, &stmt_cand_insert, params, NULL, NULL, &r, err,
			     errlen);

	store_text_free(&t);
	*id = 0;
	if (st)
		return st;
	if (PQntuples(r) == 1) {
		*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		return CORE_OK;
	}
	PQclear(r);
	/* nothing inserted: the lease is gone, or a duplicate */
	return store_lease_why(p, conn, c->job_id, owner, err, errlen);
}

enum core_status store_candidate_insert(struct store_pool *p, const char *owner,
					const struct store_candidate *c,
					long long *id, char *err, size_t errlen)
{
	return store_candidate_insert_on(p, NULL, owner, c, id, err, errlen);
}

static const struct store_stmt stmt_cand_final_start = {
    "cand_final_start",
    "UPDATE candidates SET status = 'final_training', checkpoint = NULL,"
    " epochs_done = 0, updated_at = now() WHERE id = $1::bigint "
    "AND " STORE_LEASE_GUARD("candidates.job_id", "2"),
    2};

enum core_status store_candidate_final_start(struct store_pool *p,
					     const char *owner, long long id,
					     char *err, size_t errlen)
{
	struct store_num n = {0};
	const char *params[2] = {store_int_text(&n, id), owner};
	PGresult *r = NULL;
	enum core_status st = store_run(p, &stmt_cand_final_start, params, NULL,
					NULL, &r, err, errlen);

	return st ? st : cand_updated(p, NULL, r, id, owner, err, errlen);
}

static const struct store_stmt stmt_cand_status = {
    "cand_status",
    "UPDATE candidates SET status = $2, rejection_reason = coalesce($3,"
    " rejection_reason), updated_at = now() WHERE id = $1::bigint "
    "AND " STORE_LEASE_GUARD("candidates.job_id", "4"),
    4};

static enum core_status cand_set_status_on(struct store_pool *p,
					   struct store_conn *c,
					   const char *owner, long long id,
					   enum store_candidate_status status,
					   const char *reason, char *err,
					   size_t errlen)
{
	struct store_num n = {0};
	struct store_text t = {0};
	const char *params[4] = {store_int_text(&n, id),
				 store_candidate_status_name(status),
				 store_text(&t, reason), owner};
	PGresult *r = NULL;
	enum core_status st = c ? store_run_on(c, &stmt_cand_status, params,
					       NULL, NULL, &r, err, errlen)
				: store_run(p, &stmt_cand_status, params, NULL,
					    NULL, &r, err, errlen);

	store_text_free(&t);
	return st ? st : cand_updated(p, c, r, id, owner, err, errlen);
}

enum core_status store_candidate_set_status(struct store_pool *p,
					    const char *owner, long long id,
					    enum store_candidate_status status,
					    const char *reason, char *err,
					    size_t errlen)
{
	return cand_set_status_on(p, NULL, owner, id, status, reason, err,
				  errlen);
}

/* $7 picks the columns: proxy metrics never overwrite final ones and the
 * other way round. */
static const struct store_stmt stmt_cand_metrics = {
    "cand_metrics",
    "UPDATE candidates SET"
    " val_top1 = CASE WHEN $7 = 'proxy' THEN coalesce($2::float8, val_top1)"
    "  ELSE val_top1 END,"
    " val_top5 = CASE WHEN $7 = 'proxy' THEN coalesce($3::float8, val_top5)"
    "  ELSE val_top5 END,"
    " val_loss = CASE WHEN $7 = 'proxy' THEN coalesce($4::float8, val_loss)"
    "  ELSE val_loss END,"
    " final_val_top1 = CASE WHEN $7 = 'final' THEN coalesce($2::float8,"
    "  final_val_top1) ELSE final_val_top1 END,"
    " final_val_top5 = CASE WHEN $7 = 'final' THEN coalesce($3::float8,"
    "  final_val_top5) ELSE final_val_top5 END,"
    " final_val_loss = CASE WHEN $7 = 'final' THEN coalesce($4::float8,"
    "  final_val_loss) ELSE final_val_loss END,"
    " test_top1 = CASE WHEN $7 = 'final' THEN coalesce($5::float8,"
    "  test_top1) ELSE test_top1 END,"
    " epochs_done = $6::int, updated_at = now() WHERE id = $1::bigint "
    "AND " STORE_LEASE_GUARD("candidates.job_id", "8"),
    8};

static enum core_status cand_metrics_on(struct store_pool *p,
					struct store_conn *c, const char *owner,
					long long id, enum store_phase phase,
					double top1, double top5, double loss,
					double test_top1, int epochs_done,
					char *err, size_t errlen)
{
	struct store_num n[6] = {0};
	const char *params[8] = {
	    store_int_text(&n[0], id),
	    store_dbl_or_null(&n[1], top1),
	    store_dbl_or_null(&n[2], top5),
	    store_dbl_or_null(&n[3], loss),
	    store_dbl_or_null(&n[4], test_top1),
	    store_int_text(&n[5], epochs_done),
	    store_phase_name(phase),
	    owner,
	};
	PGresult *r = NULL;
	enum core_status st = c ? store_run_on(c, &stmt_cand_metrics, params,
					       NULL, NULL, &r, err, errlen)
				: store_run(p, &stmt_cand_metrics, params, NULL,
					    NULL, &r, err, errlen);

	return st ? st : cand_updated(p, c, r, id, owner, err, errlen);
}

enum core_status store_candidate_set_metrics(
    struct store_pool *p, const char *owner, long long id,
    enum store_phase phase, double val_top1, double val_top5, double val_loss,
    double test_top1, int epochs_done, char *err, size_t errlen)
{
	return cand_metrics_on(p, NULL, owner, id, phase, val_top1, val_top5,
			       val_loss, test_top1, epochs_done, err, errlen);
}

static const struct store_stmt stmt_cand_ckpt_save = {
    "cand_ckpt_save",
    "UPDATE candidates SET checkpoint = $2::bytea, epochs_done = $3::int,"
    " updated_at = now() WHERE id = $1::bigint AND " STORE_LEASE_GUARD(
	"candidates.job_id", "4"),
    4};

enum core_status store_candidate_save_checkpoint(struct store_pool *p,
						 const char *owner,
						 long long id, const void *blob,
						 size_t len, int epochs_done,
						 char *err, size_t errlen)
{
	struct store_num n[2] = {0};
	const char *params[4] = {store_int_text(&n[0], id), blob,
				 store_int_text(&n[1], epochs_done), owner};
	int lengths[4] = {0, (int)len, 0, 0};
	int formats[4] = {0, 1, 0, 0};
	PGresult *r = NULL;
	enum core_status st;

	if (len > (size_t)1 << 30) {
		core_errf(err, errlen, "checkpoint of %zu bytes is too large",
			  len);
		return CORE_ERR_INVALID;
	}
	st = store_run(p, &stmt_cand_ckpt_save, params, lengths, formats, &r,
		       err, errlen);
	return st ? st : cand_updated(p, NULL, r, id, owner, err, errlen);
}

/* Copies a bytea value (text, hex-escaped) into a new allocation. */
static enum core_status bytea_copy(const char *text, void **out, size_t *len,
				   char *err, size_t errlen)
{
	size_t n = 0;
	unsigned char *raw = PQunescapeBytea((const unsigned char *)text, &n);
	void *copy;

	if (!raw) {
		core_errf(err, errlen, "out of memory reading a blob");
		return CORE_ERR_NOMEM;
	}
	copy = core_malloc(n ? n : 1);
	if (!copy) {
		PQfreemem(raw);
		core_errf(err, errlen, "out of memory reading a blob");
		return CORE_ERR_NOMEM;
	}
	memcpy(copy, raw, n);
	PQfreemem(raw);
	*out = copy;
	*len = n;
	return CORE_OK;
}

static const struct store_stmt stmt_cand_ckpt_load = {
    "cand_ckpt_load",
    "SELECT checkpoint, epochs_done FROM candidates WHERE id = $1::bigint", 1};

enum core_status store_candidate_load_checkpoint(struct store_pool *p,
						 long long id, void **blob,
						 size_t *len, int *epochs_done,
						 char *err, size_t errlen)
{
	struct store_num n = {0};
	const char *params[1] = {store_int_text(&n, id)};
	PGresult *r = NULL;
	enum core_status st;

	*blob = NULL;
	*len = 0;
	st = store_run(p, &stmt_cand_ckpt_load, params, NULL, NULL, &r, err,
		       errlen);
	if (st)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "candidate %lld not found", id);
		return CORE_ERR_NOT_FOUND;
	}
	*epochs_done = atoi(PQgetvalue(r, 0, 1));
	if (!PQgetisnull(r, 0, 0))
		st = bytea_copy(PQgetvalue(r, 0, 0), blob, len, err, errlen);
	PQclear(r);
	return st;
}

enum core_status store_bytea_copy(const char *text, void **out, size_t *len,
				  char *err, size_t errlen)
{
	return bytea_copy(text, out, len, err, errlen);
}

static const struct store_stmt stmt_cand_list = {
    "cand_list",
    "SELECT id, job_id, round, source, arch::text, arch_hash, status,"
    " rationale, rejection_reason, coalesce(macs, -1),"
    " coalesce(params, -1), coalesce(flash_bytes, -1),"
    " coalesce(sram_bytes, -1), val_top1, val_top5, val_loss, test_top1,"
    " epochs_done, final_val_top1, final_val_top5, final_val_loss"
    " FROM candidates WHERE job_id = $1::bigint ORDER BY id",
    1};

/* Fills c from row (strings copied to *strings, advanced). */
static enum core_status cand_from_row(PGresult *r, int row,
				      struct store_candidate *c, char **strings,
				      char *err, size_t errlen)
{
	static const int text_cols[] = {4, 5, 7, 8};
	const char **dst[] = {&c->arch_json, &c->arch_hash, &c->rationale,
			      &c->rejection_reason};

	c->id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
	c->job_id = strtoll(PQgetvalue(r, row, 1), NULL, 10);
	c->round = atoi(PQgetvalue(r, row, 2));
	if (store_candidate_source_parse(PQgetvalue(r, row, 3), &c->source) ||
	    store_candidate_status_parse(PQgetvalue(r, row, 6), &c->status)) {
		core_errf(err, errlen,
			  "candidate %lld: unknown source or status", c->id);
		return CORE_ERR_INVALID;
	}
	for (size_t k = 0; k < sizeof text_cols / sizeof *text_cols; k++) {
		int col = text_cols[k];
		size_t l = (size_t)PQgetlength(r, row, col);
		if (PQgetisnull(r, row, col)) {
			*dst[k] = NULL;
			continue;
		}
		memcpy(*strings, PQgetvalue(r, row, col), l + 1);
		*dst[k] = *strings;
		*strings += l + 1;
	}
	c->macs = strtoll(PQgetvalue(r, row, 9), NULL, 10);
	c->params = strtoll(PQgetvalue(r, row, 10), NULL, 10);
	c->flash_bytes = strtoll(PQgetvalue(r, row, 11), NULL, 10);
	c->sram_bytes = strtoll(PQgetvalue(r, row, 12), NULL, 10);
	c->val_top1 = store_dbl_col(r, row, 13);
	c->val_top5 = store_dbl_col(r, row, 14);
	c->val_loss = store_dbl_col(r, row, 15);
	c->test_top1 = store_dbl_col(r, row, 16);
	c->epochs_done = atoi(PQgetvalue(r, row, 17));
	c->final_val_top1 = store_dbl_col(r, row, 18);
	c->final_val_top5 = store_dbl_col(r, row, 19);
	c->final_val_loss = store_dbl_col(r, row, 20);
	return CORE_OK;
}

enum core_status store_candidates_list(struct store_pool *p, long long job_id,
				       struct store_candidate **out, int *n,
				       char *err, size_t errlen)
{
	struct store_num num = {0};
	const char *params[1] = {store_int_text(&num, job_id)};
	PGresult *r = NULL;
	struct store_candidate *c;
	size_t bytes, rows;
	char *strings;
	enum core_status st;

	*out = NULL;
	*n = 0;
	st = store_run(p, &stmt_cand_list, params, NULL, NULL, &r, err, errlen);
	if (st)
		return st;
	rows = (size_t)PQntuples(r);
	bytes = rows * sizeof *c;
	for (size_t i = 0; i < rows; i++)
		for (int col = 4; col <= 8; col++)
			bytes += (size_t)PQgetlength(r, (int)i, col) + 1;
	c = core_calloc(1, bytes ? bytes : 1);
	if (!c) {
		PQclear(r);
		core_errf(err, errlen, "out of memory listing candidates");
		return CORE_ERR_NOMEM;
	}
	strings = (char *)(c + rows);
	for (size_t i = 0; i < rows && !st; i++)
		st = cand_from_row(r, (int)i, &c[i], &strings, err, errlen);
	PQclear(r);
	if (st) {
		core_free(c);
		return st;
	}
	*out = c;
	*n = (int)rows;
	return CORE_OK;
}

/* ---- epochs ---- */

static const struct store_stmt stmt_epoch_put = {
    "epoch_put",
    "INSERT INTO candidate_epochs (candidate_id, phase, epoch, train_loss,"
    " val_top1, val_top5, val_loss, lr, seconds) SELECT $1::bigint, $2,"
    " $3::int, $4::float8, $5::float8, $6::float8, $7::float8, $8::float8,"
    " $9::float8 FROM candidates WHERE id = $1::bigint AND " STORE_LEASE_GUARD(
	"candidates.job_id",
	"10") " ON CONFLICT (candidate_id, phase, epoch) DO UPDATE SET"
	      " train_loss = EXCLUDED.train_loss, val_top1 = EXCLUDED.val_top1,"
	      " val_top5 = EXCLUDED.val_top5, val_loss = EXCLUDED.val_loss,"
	      " lr = EXCLUDED.lr, seconds = EXCLUDED.seconds",
    10};

static enum core_status epoch_put_on(struct store_pool *p, struct store_conn *c,
				     const char *owner,
				     const struct store_epoch *e, char *err,
				     size_t errlen)
{
	struct store_num n[8] = {0};
	const char *params[10] = {
	    store_int_text(&n[0], e->candidate_id),
	    store_phase_name(e->phase),
	    store_int_text(&n[1], e->epoch),
	    store_dbl_or_null(&n[2], e->train_loss),
	    store_dbl_or_null(&n[3], e->val_top1),
	    store_dbl_or_null(&n[4], e->val_top5),
	    store_dbl_or_null(&n[5], e->val_loss),
	    store_dbl_or_null(&n[6], e->lr),
	    store_dbl_or_null(&n[7], e->seconds),
	    owner,
	};
	PGresult *r = NULL;
	enum core_status st = c ? store_run_on(c, &stmt_epoch_put, params, NULL,
					       NULL, &r, err, errlen)
				: store_run(p, &stmt_epoch_put, params, NULL,
					    NULL, &r, err, errlen);

	return st ? st
		  : cand_updated(p, c, r, e->candidate_id, owner, err, errlen);
}

enum core_status store_epoch_put(struct store_pool *p, const char *owner,
				 const struct store_epoch *e, char *err,
				 size_t errlen)
{
	if ((unsigned)e->phase > STORE_PHASE_FINAL) {
		core_errf(err, errlen, "epoch: unknown phase %d",
			  (int)e->phase);
		return CORE_ERR_INVALID;
	}
	return epoch_put_on(p, NULL, owner, e, err, errlen);
}

struct epoch_tx {
	struct store_pool *p;
	const char *owner;
	const struct store_epoch *e;
};

static enum core_status epoch_tx_body(struct store_conn *c, void *argp,
				      char *err, size_t errlen)
{
	struct epoch_tx *a = argp;
	enum core_status st =
	    epoch_put_on(a->p, c, a->owner, a->e, err, errlen);

	if (!st)
		st = cand_metrics_on(a->p, c, a->owner, a->e->candidate_id,
				     a->e->phase, a->e->val_top1,
				     a->e->val_top5, a->e->val_loss, NAN,
				     a->e->epoch, err, errlen);
	return st;
}

enum core_status store_epoch_finish(struct store_pool *p, const char *owner,
				    const struct store_epoch *e, char *err,
				    size_t errlen)
{
	struct epoch_tx a = {p, owner, e};

	if ((unsigned)e->phase > STORE_PHASE_FINAL) {
		core_errf(err, errlen, "epoch: unknown phase %d",
			  (int)e->phase);
		return CORE_ERR_INVALID;
	}
	return store_tx_run(p, STORE_READ_COMMITTED, epoch_tx_body, &a, err,
			    errlen);
}

enum core_status store_candidate_status_on(struct store_conn *c,
					   const char *owner, long long id,
					   enum store_candidate_status status,
					   char *err, size_t errlen)
{
	return cand_set_status_on(NULL, c, owner, id, status, NULL, err,
				  errlen);
}
