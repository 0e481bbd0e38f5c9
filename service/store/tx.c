/* SPDX-License-Identifier: Apache-2.0 */
/* tx.c - the transaction runner: BEGIN, the body, COMMIT, with bounded
 * retries of serialization failures, deadlocks and broken connections. */
#include "store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *begin_sql[] = {
    "BEGIN ISOLATION LEVEL READ COMMITTED",
    "BEGIN ISOLATION LEVEL REPEATABLE READ",
    "BEGIN ISOLATION LEVEL SERIALIZABLE",
};

static int retryable_state(const char *state)
{
	return strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0;
}

static void backoff(int attempt)
{
	struct timespec ts;
	long ms = (5L << attempt) + (long)(core_now_seconds() * 1e6) % 7;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

enum core_status store_tx_run(struct store_pool *p, enum store_isolation iso,
			      store_tx_fn fn, void *arg, char *err,
			      size_t errlen)
{
	int reconnects = 0;

	for (int attempt = 0;; attempt++) {
		struct store_conn *c = NULL;
		enum core_status st;
		int in_commit = 0, retry;
		char state[6];

		st = store_conn_acquire(p, 10.0, &c, err, errlen);
		if (st)
			return st;
		st = store_exec_sql(c, begin_sql[iso], err, errlen);
		if (!st) {
			st = fn(c, arg, err, errlen);
			if (!st) {
				in_commit = 1;
				st = store_exec_sql(c, "COMMIT", err, errlen);
			}
		}
		/* keep the failure's SQLSTATE: ROLLBACK resets it */
		snprintf(state, sizeof state, "%s", store_conn_sqlstate(c));
		if (st && PQstatus(store_conn_pg(c)) == CONNECTION_OK &&
		    PQtransactionStatus(store_conn_pg(c)) != PQTRANS_IDLE) {
			char ignored[CORE_ERR_LEN];
			store_exec_sql(c, "ROLLBACK", ignored, sizeof ignored);
		}
		retry = 0;
		if (st == CORE_ERR_DB && retryable_state(state) &&
		    attempt < STORE_TX_RETRIES)
			retry = 1;
		/* a broken connection: nothing was committed unless it broke
		 * during COMMIT, whose outcome is unknown */
		if (st == CORE_ERR_UNAVAILABLE && !in_commit &&
		    reconnects < 1) {
			retry = 1;
			reconnects++;
		}
		store_conn_release(p, c);
		if (!retry)
			return st;
		LOG_DEBUG("transaction retry %d after: %s", attempt + 1, err);
		backoff(attempt);
	}
}
