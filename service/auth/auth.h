/* SPDX-License-Identifier: Apache-2.0 */
/* auth.h - teams and their API tokens, kept in PostgreSQL (migrations/
 * 0004_teams.sql). A token's text is "lmnas_<id>_<64 hex>": the id finds the
 * row, and the SHA-256 of the whole text is compared with the stored one in
 * constant time; the text itself is shown once, at creation, and never
 * stored.
 *
 * Layer: auth (beside queue, above store, below http). Includes core and
 * store. */
#ifndef LMNAS_AUTH_H
#define LMNAS_AUTH_H

#include "core/core.h"
#include "store/store.h"

#define AUTH_TOKEN_MAX	   96 /* "lmnas_" + id + "_" + 64 hex + NUL */
#define AUTH_TEAM_NAME_MAX 65 /* 1..64 of [A-Za-z0-9._-] + NUL */

/* 1 when name is 1..64 characters of [A-Za-z0-9._-]. */
int auth_team_name_valid(const char *name);

/* The id of team name, created when absent. CORE_ERR_INVALID for a bad
 * name. */
enum core_status auth_team_ensure(struct store_pool *p, const char *name,
				  long long *id, char *err, size_t errlen);

/* Creates a token for team (created when absent); expires_s 0: never.
 * token receives its text (shown once), *id its id. */
enum core_status auth_token_create(struct store_pool *p, const char *team,
				   int admin, long long expires_s,
				   char token[AUTH_TOKEN_MAX], long long *id,
				   char *err, size_t errlen);

/* Marks token id revoked (now). CORE_ERR_NOT_FOUND for an unknown id,
 * CORE_ERR_CONFLICT when it was already revoked. */
enum core_status auth_token_revoke(struct store_pool *p, long long id,
				   char *err, size_t errlen);

/* Every token as a JSON array of {id, team, admin, created_at, expires_at,
 * revoked_at, last_used_at, active} (never the hash). *json owned by the
 * caller (core_free). */
enum core_status auth_tokens_json(struct store_pool *p, char **json, char *err,
				  size_t errlen);

/* How many tokens can authenticate now (not revoked, not expired). */
enum core_status auth_tokens_active(struct store_pool *p, long long *n,
				    char *err, size_t errlen);

enum auth_result {
	AUTH_OK = 0,
	AUTH_MALFORMED, /* not "lmnas_<id>_<64 hex>" */
	AUTH_UNKNOWN,	/* no such token, or the secret does not match */
	AUTH_REVOKED,
	AUTH_EXPIRED
};

struct auth_identity {
	long long token_id;
	long long team_id;
	int admin;
};

/* Checks a token's text. *result says why it does not authenticate;
 * revoked and expired are only told to a caller who knows the secret. The
 * return value is for database failures only. */
enum core_status auth_token_verify(struct store_pool *p, const char *token,
				   enum auth_result *result,
				   struct auth_identity *who, char *err,
				   size_t errlen);

/* Parses "90d", "12h", "30m", "3600s" or "3600" (seconds) into *seconds
 * (1 second .. 100 years). CORE_ERR_INVALID otherwise. */
enum core_status auth_duration_parse(const char *text, long long *seconds);

#endif
