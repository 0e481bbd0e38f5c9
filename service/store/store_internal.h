/* SPDX-License-Identifier: Apache-2.0 */
/* store_internal.h - private to service/store: parameter text helpers, the
 * one-statement runners with their SQLSTATE mapping, and the lease guard
 * shared by the search records (records.c, records_job.c). */
#ifndef LMNAS_STORE_INTERNAL_H
#define LMNAS_STORE_INTERNAL_H

#include "store.h"

/* Text forms of numbers for parameters; NULL for "absent". */
struct store_num {
	char buf[40];
};
const char *store_ll_or_null(struct store_num *n, long long v);
const char *store_dbl_or_null(struct store_num *n, double v);
const char *store_int_text(struct store_num *n, long long v);
double store_dbl_col(PGresult *r, int row, int col);

/* Valid UTF-8 forms of text parameters: store_text returns s itself when
 * it is valid, else a sanitized copy (U+FFFD for bad bytes) that lives
 * until store_text_free. NULL stays NULL. */
#define STORE_TEXT_MAX 16
struct store_text {
	char *owned[STORE_TEXT_MAX];
	int n;
};
const char *store_text(struct store_text *t, const char *s);
void store_text_free(struct store_text *t);

/* store_exec with the records' status mapping: unique violation (23505) is
 * CORE_ERR_CONFLICT, a data exception (class 22) or a CHECK violation
 * (23514) CORE_ERR_INVALID. */
enum core_status store_run_on(struct store_conn *c, const struct store_stmt *s,
			      const char *const *params, const int *lengths,
			      const int *formats, PGresult **res, char *err,
			      size_t errlen);
/* The same on a pooled connection. */
enum core_status store_run(struct store_pool *p, const struct store_stmt *s,
			   const char *const *params, const int *lengths,
			   const int *formats, PGresult **res, char *err,
			   size_t errlen);

/* The lease guard, as an SQL condition: true when parameter $n (the owner)
 * is NULL or holds the lease of job `job` (an SQL expression). It locks
 * the job row FOR SHARE, so a takeover waits for the write, and a write
 * that waited re-reads the row and sees the takeover. */
#define STORE_LEASE_GUARD(job, n)                                              \
	"($" n "::text IS NULL OR EXISTS (SELECT 1 FROM jobs WHERE id = " job  \
	" AND lease_owner = $" n " AND status = 'running' FOR SHARE))"

/* Why a guarded write of job job_id changed nothing: CORE_ERR_CONFLICT
 * when owner does not hold the lease, CORE_ERR_NOT_FOUND when there is no
 * such job, CORE_OK when the lease is held (the write's own condition did
 * not match). c may be NULL (a pooled connection is used). */
enum core_status store_lease_why(struct store_pool *p, struct store_conn *c,
				 long long job_id, const char *owner, char *err,
				 size_t errlen);

/* A bytea value (hex text) copied into a new allocation (core_free). */
enum core_status store_bytea_copy(const char *text, void **out, size_t *len,
				  char *err, size_t errlen);
/* store_candidate_insert on conn (NULL: a pooled connection). */
enum core_status
store_candidate_insert_on(struct store_pool *p, struct store_conn *conn,
			  const char *owner, const struct store_candidate *c,
			  long long *id, char *err, size_t errlen);
/* store_candidate_set_status on c (inside a transaction). */
enum core_status store_candidate_status_on(struct store_conn *c,
					   const char *owner, long long id,
					   enum store_candidate_status status,
					   char *err, size_t errlen);

#endif
