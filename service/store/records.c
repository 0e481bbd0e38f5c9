/* records.c - the search job's records: candidates (with their epoch
 * checkpoints), per-epoch metrics, rounds, LLM calls, events and final
 * models. Every statement is a named, parameterised one. */
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text forms of numbers for parameters; NULL for "absent". */
struct num {
	char buf[40];
};

static const char *ll_or_null(struct num *n, long long v)
{
	if (v < 0)
		return NULL;
	snprintf(n->buf, sizeof n->buf, "%lld", v);
	return n->buf;
}

static const char *dbl_or_null(struct num *n, double v)
{
	if (isnan(v))
		return NULL;
	snprintf(n->buf, sizeof n->buf, "%.17g", v);
	return n->buf;
}

static const char *int_text(struct num *n, long long v)
{
	snprintf(n->buf, sizeof n->buf, "%lld", v);
	return n->buf;
}

/* One statement on a pooled connection; *res when wanted. */
static enum core_status run(struct store_pool *p, const struct store_stmt *s,
			    const char *const *params, const int *lengths,
			    const int *formats, PGresult **res, char *err,
			    size_t errlen)
{
	struct store_conn *c = NULL;
	enum core_status st = store_conn_acquire(p, 10.0, &c, err, errlen);

	if (st)
		return st;
	st = store_exec(c, s, params, lengths, formats, res, err, errlen);
	if (st == CORE_ERR_DB && strcmp(store_conn_sqlstate(c), "23505") == 0)
		st = CORE_ERR_CONFLICT;
	store_conn_release(p, c);
	return st;
}

static const struct store_stmt stmt_cand_insert = {
    "cand_insert",
    "INSERT INTO candidates (job_id, round, source, arch, arch_hash,"
    " status, rationale, rejection_reason, macs, params, flash_bytes,"
    " sram_bytes, val_top1, val_top5, val_loss, test_top1, epochs_done)"
    " VALUES ($1::bigint, $2::int, $3, $4::jsonb, $5, $6, $7, $8,"
    " $9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::float8,"
    " $14::float8, $15::float8, $16::float8, $17::int) RETURNING id",
    17};

enum core_status store_candidate_insert(struct store_pool *p,
					const struct store_candidate *c,
					long long *id, char *err, size_t errlen)
{
	struct num n[11] = {0};
	const char *params[17] = {
	    int_text(&n[0], c->job_id),
	    int_text(&n[1], c->round),
	    c->source,
	    c->arch_json,
	    c->arch_hash,
	    c->status,
	    c->rationale,
	    c->rejection_reason,
	    ll_or_null(&n[2], c->macs),
	    ll_or_null(&n[3], c->params),
	    ll_or_null(&n[4], c->flash_bytes),
	    ll_or_null(&n[5], c->sram_bytes),
	    dbl_or_null(&n[6], c->val_top1),
	    dbl_or_null(&n[7], c->val_top5),
	    dbl_or_null(&n[8], c->val_loss),
	    dbl_or_null(&n[9], c->test_top1),
	    int_text(&n[10], c->epochs_done),
	};
	PGresult *r = NULL;
	enum core_status st =
	    run(p, &stmt_cand_insert, params, NULL, NULL, &r, err, errlen);

	if (st)
		return st;
	*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return CORE_OK;
}

static const struct store_stmt stmt_cand_status = {
    "cand_status",
    "UPDATE candidates SET status = $2, rejection_reason = coalesce($3,"
    " rejection_reason), updated_at = now() WHERE id = $1::bigint",
    3};

static enum core_status expect_one_row(PGresult *r, long long id, char *err,
				       size_t errlen)
{
	int n = atoi(PQcmdTuples(r));

	PQclear(r);
	if (n != 1) {
		core_errf(err, errlen, "candidate %lld not found", id);
		return CORE_ERR_NOT_FOUND;
	}
	return CORE_OK;
}

enum core_status store_candidate_set_status(struct store_pool *p, long long id,
					    const char *status,
					    const char *reason, char *err,
					    size_t errlen)
{
	struct num n = {0};
	const char *params[3] = {int_text(&n, id), status, reason};
	PGresult *r = NULL;
	enum core_status st =
	    run(p, &stmt_cand_status, params, NULL, NULL, &r, err, errlen);

	return st ? st : expect_one_row(r, id, err, errlen);
}

static const struct store_stmt stmt_cand_metrics = {
    "cand_metrics",
    "UPDATE candidates SET val_top1 = coalesce($2::float8, val_top1),"
    " val_top5 = coalesce($3::float8, val_top5),"
    " val_loss = coalesce($4::float8, val_loss),"
    " test_top1 = coalesce($5::float8, test_top1),"
    " epochs_done = $6::int, updated_at = now() WHERE id = $1::bigint",
    6};

enum core_status store_candidate_set_metrics(struct store_pool *p, long long id,
					     double val_top1, double val_top5,
					     double val_loss, double test_top1,
					     int epochs_done, char *err,
					     size_t errlen)
{
	struct num n[6] = {0};
	const char *params[6] = {
	    int_text(&n[0], id),	   dbl_or_null(&n[1], val_top1),
	    dbl_or_null(&n[2], val_top5),  dbl_or_null(&n[3], val_loss),
	    dbl_or_null(&n[4], test_top1), int_text(&n[5], epochs_done),
	};
	PGresult *r = NULL;
	enum core_status st =
	    run(p, &stmt_cand_metrics, params, NULL, NULL, &r, err, errlen);

	return st ? st : expect_one_row(r, id, err, errlen);
}

static const struct store_stmt stmt_cand_ckpt_save = {
    "cand_ckpt_save",
    "UPDATE candidates SET checkpoint = $2::bytea, epochs_done = $3::int,"
    " updated_at = now() WHERE id = $1::bigint",
    3};

enum core_status store_candidate_save_checkpoint(struct store_pool *p,
						 long long id, const void *blob,
						 size_t len, int epochs_done,
						 char *err, size_t errlen)
{
	struct num n[2] = {0};
	const char *params[3] = {int_text(&n[0], id), blob,
				 int_text(&n[1], epochs_done)};
	int lengths[3] = {0, (int)len, 0};
	int formats[3] = {0, 1, 0};
	PGresult *r = NULL;
	enum core_status st;

	if (len > (size_t)1 << 30) {
		core_errf(err, errlen, "checkpoint of %zu bytes is too large",
			  len);
		return CORE_ERR_INVALID;
	}
	st = run(p, &stmt_cand_ckpt_save, params, lengths, formats, &r, err,
		 errlen);
	return st ? st : expect_one_row(r, id, err, errlen);
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
	struct num n = {0};
	const char *params[1] = {int_text(&n, id)};
	PGresult *r = NULL;
	enum core_status st;

	*blob = NULL;
	*len = 0;
	st = run(p, &stmt_cand_ckpt_load, params, NULL, NULL, &r, err, errlen);
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

static const struct store_stmt stmt_cand_list = {
    "cand_list",
    "SELECT id, job_id, round, source, arch::text, arch_hash, status,"
    " rationale, rejection_reason, coalesce(macs, -1),"
    " coalesce(params, -1), coalesce(flash_bytes, -1),"
    " coalesce(sram_bytes, -1), val_top1, val_top5, val_loss, test_top1,"
    " epochs_done FROM candidates WHERE job_id = $1::bigint ORDER BY id",
    1};

static double dbl_col(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NAN
					: strtod(PQgetvalue(r, row, col), NULL);
}

enum core_status store_candidates_list(struct store_pool *p, long long job_id,
				       struct store_candidate **out, int *n,
				       char *err, size_t errlen)
{
	static const int text_cols[] = {3, 4, 5, 6, 7, 8};
	struct num num = {0};
	const char *params[1] = {int_text(&num, job_id)};
	PGresult *r = NULL;
	struct store_candidate *c;
	size_t bytes, rows;
	char *strings;
	enum core_status st;

	*out = NULL;
	*n = 0;
	st = run(p, &stmt_cand_list, params, NULL, NULL, &r, err, errlen);
	if (st)
		return st;
	rows = (size_t)PQntuples(r);
	bytes = rows * sizeof *c;
	for (size_t i = 0; i < rows; i++)
		for (size_t k = 0; k < sizeof text_cols / sizeof *text_cols;
		     k++)
			bytes +=
			    (size_t)PQgetlength(r, (int)i, text_cols[k]) + 1;
	c = core_calloc(1, bytes ? bytes : 1);
	if (!c) {
		PQclear(r);
		core_errf(err, errlen, "out of memory listing candidates");
		return CORE_ERR_NOMEM;
	}
	strings = (char *)(c + rows);
	for (size_t i = 0; i < rows; i++) {
		int row = (int)i;
		const char **dst[] = {&c[i].source,    &c[i].arch_json,
				      &c[i].arch_hash, &c[i].status,
				      &c[i].rationale, &c[i].rejection_reason};
		c[i].id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
		c[i].job_id = strtoll(PQgetvalue(r, row, 1), NULL, 10);
		c[i].round = atoi(PQgetvalue(r, row, 2));
		for (size_t k = 0; k < sizeof text_cols / sizeof *text_cols;
		     k++) {
			int col = text_cols[k];
			size_t l = (size_t)PQgetlength(r, row, col);
			if (PQgetisnull(r, row, col)) {
				*dst[k] = NULL;
				continue;
			}
			memcpy(strings, PQgetvalue(r, row, col), l + 1);
			*dst[k] = strings;
			strings += l + 1;
		}
		c[i].macs = strtoll(PQgetvalue(r, row, 9), NULL, 10);
		c[i].params = strtoll(PQgetvalue(r, row, 10), NULL, 10);
		c[i].flash_bytes = strtoll(PQgetvalue(r, row, 11), NULL, 10);
		c[i].sram_bytes = strtoll(PQgetvalue(r, row, 12), NULL, 10);
		c[i].val_top1 = dbl_col(r, row, 13);
		c[i].val_top5 = dbl_col(r, row, 14);
		c[i].val_loss = dbl_col(r, row, 15);
		c[i].test_top1 = dbl_col(r, row, 16);
		c[i].epochs_done = atoi(PQgetvalue(r, row, 17));
	}
	PQclear(r);
	*out = c;
	*n = (int)rows;
	return CORE_OK;
}

static const struct store_stmt stmt_epoch_put = {
    "epoch_put",
    "INSERT INTO candidate_epochs (candidate_id, phase, epoch, train_loss,"
    " val_top1, val_top5, val_loss, lr, seconds) VALUES ($1::bigint, $2,"
    " $3::int, $4::float8, $5::float8, $6::float8, $7::float8, $8::float8,"
    " $9::float8) ON CONFLICT (candidate_id, phase, epoch) DO UPDATE SET"
    " train_loss = EXCLUDED.train_loss, val_top1 = EXCLUDED.val_top1,"
    " val_top5 = EXCLUDED.val_top5, val_loss = EXCLUDED.val_loss,"
    " lr = EXCLUDED.lr, seconds = EXCLUDED.seconds",
    9};

enum core_status store_epoch_put(struct store_pool *p, long long candidate_id,
				 const char *phase, int epoch,
				 double train_loss, double val_top1,
				 double val_top5, double val_loss, double lr,
				 double seconds, char *err, size_t errlen)
{
	struct num n[8] = {0};
	const char *params[9] = {
	    int_text(&n[0], candidate_id), phase,
	    int_text(&n[1], epoch),	   dbl_or_null(&n[2], train_loss),
	    dbl_or_null(&n[3], val_top1),  dbl_or_null(&n[4], val_top5),
	    dbl_or_null(&n[5], val_loss),  dbl_or_null(&n[6], lr),
	    dbl_or_null(&n[7], seconds),
	};

	return run(p, &stmt_epoch_put, params, NULL, NULL, NULL, err, errlen);
}

static const struct store_stmt stmt_round_put = {
    "round_put",
    "INSERT INTO rounds (job_id, round, proposer, front, hypervolume,"
    " summary, finished_at) VALUES ($1::bigint, $2::int, $3, $4::jsonb,"
    " $5::float8, $6, CASE WHEN $7::bool THEN now() END)"
    " ON CONFLICT (job_id, round) DO UPDATE SET proposer ="
    " EXCLUDED.proposer, front = EXCLUDED.front, hypervolume ="
    " EXCLUDED.hypervolume, summary = EXCLUDED.summary, finished_at ="
    " EXCLUDED.finished_at",
    7};

enum core_status store_round_put(struct store_pool *p, long long job_id,
				 int round, const char *proposer,
				 const char *front_json, double hypervolume,
				 const char *summary, int finished, char *err,
				 size_t errlen)
{
	struct num n[3] = {0};
	const char *params[7] = {
	    int_text(&n[0], job_id),
	    int_text(&n[1], round),
	    proposer,
	    front_json ? front_json : "[]",
	    dbl_or_null(&n[2], hypervolume),
	    summary,
	    finished ? "true" : "false",
	};

	return run(p, &stmt_round_put, params, NULL, NULL, NULL, err, errlen);
}

static const struct store_stmt stmt_round_last = {
    "round_last_finished",
    "SELECT coalesce(max(round), -1) FROM rounds WHERE job_id = $1::bigint"
    " AND finished_at IS NOT NULL",
    1};

enum core_status store_round_last_finished(struct store_pool *p,
					   long long job_id, int *round,
					   char *err, size_t errlen)
{
	struct num n = {0};
	const char *params[1] = {int_text(&n, job_id)};
	PGresult *r = NULL;
	enum core_status st =
	    run(p, &stmt_round_last, params, NULL, NULL, &r, err, errlen);

	if (st)
		return st;
	*round = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return CORE_OK;
}

static const struct store_stmt stmt_llm_call = {
    "llm_call_insert",
    "INSERT INTO llm_calls (job_id, round, attempt, model, messages, reply,"
    " http_status, prompt_tokens, completion_tokens, latency_ms, outcome,"
    " error) VALUES ($1::bigint, $2::int, $3::int, $4, $5::jsonb, $6,"
    " $7::int, $8::int, $9::int, $10::int, $11, $12)",
    12};

enum core_status store_llm_call_insert(struct store_pool *p,
				       const struct store_llm_call *c,
				       char *err, size_t errlen)
{
	struct num n[7] = {0};
	const char *params[12] = {
	    int_text(&n[0], c->job_id),
	    int_text(&n[1], c->round),
	    int_text(&n[2], c->attempt),
	    c->model,
	    c->messages_json ? c->messages_json : "[]",
	    c->reply,
	    ll_or_null(&n[3], c->http_status),
	    ll_or_null(&n[4], c->prompt_tokens),
	    ll_or_null(&n[5], c->completion_tokens),
	    ll_or_null(&n[6], c->latency_ms),
	    c->outcome,
	    c->error,
	};

	return run(p, &stmt_llm_call, params, NULL, NULL, NULL, err, errlen);
}

static const struct store_stmt stmt_event = {
    "event_insert",
    "INSERT INTO events (job_id, level, kind, message, data) VALUES"
    " ($1::bigint, $2, $3, $4, coalesce($5::jsonb, '{}'::jsonb))",
    5};

enum core_status store_event_insert(struct store_pool *p, long long job_id,
				    const char *level, const char *kind,
				    const char *message, const char *data_json,
				    char *err, size_t errlen)
{
	struct num n = {0};
	const char *params[5] = {int_text(&n, job_id), level, kind, message,
				 data_json};

	return run(p, &stmt_event, params, NULL, NULL, NULL, err, errlen);
}

static const struct store_stmt stmt_model_insert = {
    "model_insert",
    "INSERT INTO models (job_id, candidate_id, checkpoint,"
    " checkpoint_sha256, checkpoint_size, zip, zip_sha256, zip_size,"
    " report) VALUES ($1::bigint, $2::bigint, $3::bytea, $4, $5::bigint,"
    " $6::bytea, $7, $8::bigint, coalesce($9::jsonb, '{}'::jsonb))"
    " RETURNING id",
    9};

enum core_status store_model_insert(struct store_pool *p, long long job_id,
				    long long candidate_id, const void *ckpt,
				    size_t ckpt_len, const void *zip,
				    size_t zip_len, const char *report_json,
				    long long *id, char *err, size_t errlen)
{
	struct num n[4] = {0};
	char h1[65], h2[65];
	const char *params[9];
	int lengths[9] = {0}, formats[9] = {0};
	PGresult *r = NULL;
	enum core_status st;

	if (ckpt_len > (size_t)1 << 30 || zip_len > (size_t)1 << 30) {
		core_errf(err, errlen, "model files too large to store");
		return CORE_ERR_INVALID;
	}
	core_sha256_hex(ckpt, ckpt_len, h1);
	core_sha256_hex(zip, zip_len, h2);
	params[0] = int_text(&n[0], job_id);
	params[1] = int_text(&n[1], candidate_id);
	params[2] = ckpt;
	params[3] = ckpt ? h1 : NULL;
	params[4] = ckpt ? int_text(&n[2], (long long)ckpt_len) : NULL;
	params[5] = zip;
	params[6] = zip ? h2 : NULL;
	params[7] = zip ? int_text(&n[3], (long long)zip_len) : NULL;
	params[8] = report_json;
	lengths[2] = (int)ckpt_len;
	lengths[5] = (int)zip_len;
	formats[2] = formats[5] = 1;
	st = run(p, &stmt_model_insert, params, lengths, formats, &r, err,
		 errlen);
	if (st)
		return st;
	*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return CORE_OK;
}

static const struct store_stmt stmt_model_zip = {
    "model_zip", "SELECT zip FROM models WHERE id = $1::bigint", 1};

enum core_status store_model_zip(struct store_pool *p, long long model_id,
				 void **zip, size_t *len, char *err,
				 size_t errlen)
{
	struct num n = {0};
	const char *params[1] = {int_text(&n, model_id)};
	PGresult *r = NULL;
	enum core_status st;

	*zip = NULL;
	*len = 0;
	st = run(p, &stmt_model_zip, params, NULL, NULL, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		PQclear(r);
		core_errf(err, errlen, "model %lld has no zip", model_id);
		return CORE_ERR_NOT_FOUND;
	}
	st = bytea_copy(PQgetvalue(r, 0, 0), zip, len, err, errlen);
	PQclear(r);
	return st;
}

static const struct store_stmt stmt_job_json = {
    "job_json",
    "SELECT json_build_object("
    " 'job', (SELECT row_to_json(x) FROM (SELECT id, name, status,"
    "   cancel_requested, attempts, progress, error, spec, created_at,"
    "   started_at, finished_at FROM jobs WHERE id = $1::bigint) x),"
    " 'rounds', (SELECT coalesce(json_agg(x ORDER BY round), '[]') FROM"
    "   (SELECT round, proposer, front, hypervolume, summary, finished_at"
    "    FROM rounds WHERE job_id = $1::bigint) x),"
    " 'candidates', (SELECT coalesce(json_agg(x ORDER BY id), '[]') FROM"
    "   (SELECT id, round, source, status, arch_hash, rationale,"
    "    rejection_reason, macs, params, flash_bytes, sram_bytes, val_top1,"
    "    val_top5, val_loss, test_top1, epochs_done FROM candidates"
    "    WHERE job_id = $1::bigint) x),"
    " 'models', (SELECT coalesce(json_agg(x ORDER BY id), '[]') FROM"
    "   (SELECT id, candidate_id, zip_size, zip_sha256, checkpoint_size,"
    "    report, created_at FROM models WHERE job_id = $1::bigint) x),"
    " 'events', (SELECT coalesce(json_agg(x ORDER BY id), '[]') FROM"
    "   (SELECT id, ts, level, kind, message FROM events WHERE job_id ="
    "    $1::bigint ORDER BY id DESC LIMIT 50) x))"
    " WHERE EXISTS (SELECT 1 FROM jobs WHERE id = $1::bigint)",
    1};

static enum core_status json_result(PGresult *r, char **json, char *err,
				    size_t errlen)
{
	if (PQntuples(r) != 1) {
		PQclear(r);
		core_errf(err, errlen, "not found");
		return CORE_ERR_NOT_FOUND;
	}
	*json = core_strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*json) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

enum core_status store_job_json(struct store_pool *p, long long job_id,
				char **json, char *err, size_t errlen)
{
	struct num n = {0};
	const char *params[1] = {int_text(&n, job_id)};
	PGresult *r = NULL;
	enum core_status st;

	*json = NULL;
	st = run(p, &stmt_job_json, params, NULL, NULL, &r, err, errlen);
	if (st)
		return st;
	st = json_result(r, json, err, errlen);
	if (st == CORE_ERR_NOT_FOUND)
		core_errf(err, errlen, "job %lld not found", job_id);
	return st;
}

static const struct store_stmt stmt_llm_call_counts = {
    "llm_call_counts",
    "SELECT coalesce(json_object_agg(outcome, n), '{}') FROM (SELECT"
    " outcome, count(*) AS n FROM llm_calls WHERE job_id = $1::bigint"
    " GROUP BY outcome) x",
    1};

enum core_status store_llm_call_counts(struct store_pool *p, long long job_id,
				       char **json, char *err, size_t errlen)
{
	struct num n = {0};
	const char *params[1] = {int_text(&n, job_id)};
	PGresult *r = NULL;
	enum core_status st;

	*json = NULL;
	st = run(p, &stmt_llm_call_counts, params, NULL, NULL, &r, err, errlen);
	if (st)
		return st;
	return json_result(r, json, err, errlen);
}

static const struct store_stmt stmt_jobs_json = {
    "jobs_json",
    "SELECT coalesce(json_agg(x ORDER BY id DESC), '[]') FROM (SELECT id,"
    " name, status, attempts, progress, created_at, finished_at,"
    " (SELECT count(*) FROM candidates c WHERE c.job_id = j.id AND"
    "  c.status <> 'rejected') AS candidates,"
    " (SELECT count(*) FROM models m WHERE m.job_id = j.id) AS models"
    " FROM jobs j ORDER BY id DESC LIMIT $1::int) x",
    1};

enum core_status store_jobs_json(struct store_pool *p, int limit, char **json,
				 char *err, size_t errlen)
{
	struct num n = {0};
	const char *params[1] = {int_text(&n, limit)};
	PGresult *r = NULL;
	enum core_status st;

	*json = NULL;
	st = run(p, &stmt_jobs_json, params, NULL, NULL, &r, err, errlen);
	return st ? st : json_result(r, json, err, errlen);
}
