/* SPDX-License-Identifier: Apache-2.0 */
/* auth.c - teams and API tokens: creation, revocation, listing and the
 * constant-time check of a bearer token. */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_PREFIX	 "lmnas_"
#define TOKEN_SECRET_HEX 64 /* 32 random bytes */

static const struct store_stmt stmt_team_ensure = {
    "auth_team_ensure",
    "WITH ins AS (INSERT INTO teams (name) VALUES ($1)"
    " ON CONFLICT (name) DO NOTHING RETURNING id)"
    " SELECT id FROM ins UNION ALL SELECT id FROM teams WHERE name = $1",
    1};

/* The row is inserted with a placeholder hash: the token's text holds its
 * id, so the real hash is known only once the id is. */
static const struct store_stmt stmt_token_insert = {
    "auth_token_insert",
    "INSERT INTO tokens (team_id, admin, hash, expires_at)"
    " VALUES ($1::bigint, $2::boolean, repeat('0', 64),"
    " CASE WHEN $3::bigint > 0 THEN now() + make_interval(secs => $3::bigint)"
    " END) RETURNING id",
    3};

static const struct store_stmt stmt_token_set_hash = {
    "auth_token_set_hash", "UPDATE tokens SET hash = $2 WHERE id = $1::bigint",
    2};

static const struct store_stmt stmt_token_revoke = {
    "auth_token_revoke",
    "UPDATE tokens SET revoked_at = coalesce(revoked_at, now())"
    " WHERE id = $1::bigint RETURNING (revoked_at < now())::int",
    1};

static const struct store_stmt stmt_tokens_json = {
    "auth_tokens_json",
    "SELECT coalesce(json_agg(json_build_object('id', k.id, 'team', t.name,"
    " 'admin', k.admin, 'created_at', k.created_at, 'expires_at',"
    " k.expires_at, 'revoked_at', k.revoked_at, 'last_used_at',"
    " k.last_used_at, 'active', k.revoked_at IS NULL AND (k.expires_at IS"
    " NULL OR k.expires_at > now())) ORDER BY k.id), '[]')::text"
    " FROM tokens k JOIN teams t ON t.id = k.team_id",
    0};

static const struct store_stmt stmt_tokens_active = {
    "auth_tokens_active",
    "SELECT count(*) FROM tokens WHERE revoked_at IS NULL"
    " AND (expires_at IS NULL OR expires_at > now())",
    0};

static const struct store_stmt stmt_token_get = {
    "auth_token_get",
    "SELECT hash, team_id, admin::int, (revoked_at IS NOT NULL)::int,"
    " (expires_at IS NOT NULL AND expires_at <= now())::int"
    " FROM tokens WHERE id = $1::bigint",
    1};

/* last_used_at is a hint for `token list`; a minute of precision is enough
 * and spares a write per request */
static const struct store_stmt stmt_token_used = {
    "auth_token_used",
    "UPDATE tokens SET last_used_at = now() WHERE id = $1::bigint"
    " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 min')",
    1};

int auth_team_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n < 1 || n >= AUTH_TEAM_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '.' &&
		    name[i] != '_' && name[i] != '-')
			return 0;
	return 1;
}

enum core_status auth_team_ensure(struct store_pool *p, const char *name,
				  long long *id, char *err, size_t errlen)
{
	const char *params[1] = {name};
	PGresult *r = NULL;
	enum core_status st;

	if (!auth_team_name_valid(name)) {
		core_errf(err, errlen,
			  "team: must be 1 to 64 characters of A-Z a-z 0-9 . _ "
			  "-");
		return CORE_ERR_INVALID;
	}
	st = store_exec_pooled(p, &stmt_team_ensure, params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) < 1) {
		PQclear(r);
		core_errf(err, errlen, "team %s: not created", name);
		return CORE_ERR_DB;
	}
	*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return CORE_OK;
}

enum core_status auth_token_create(struct store_pool *p, const char *team,
				   int admin, long long expires_s,
				   char token[AUTH_TOKEN_MAX], long long *id,
				   char *err, size_t errlen)
{
	char teams[32], exps[32], ids[32], secret[TOKEN_SECRET_HEX + 1],
	    hash[65];
	const char *params[3] = {teams, admin ? "true" : "false", exps};
	const char *hparams[2] = {ids, hash};
	long long team_id = 0;
	PGresult *r = NULL;
	enum core_status st;

	token[0] = '\0';
	st = auth_team_ensure(p, team, &team_id, err, errlen);
	if (st)
		return st;
	snprintf(teams, sizeof teams, "%lld", team_id);
	snprintf(exps, sizeof exps, "%lld", expires_s > 0 ? expires_s : 0);
	st = store_exec_pooled(p, &stmt_token_insert, params, &r, err, errlen);
	if (st)
		return st;
	*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	/* RAND_bytes underneath: a token must be unguessable */
	core_random_hex(secret, TOKEN_SECRET_HEX / 2);
	snprintf(token, AUTH_TOKEN_MAX, TOKEN_PREFIX "%lld_%s", *id, secret);
	core_sha256_hex(token, strlen(token), hash);
	snprintf(ids, sizeof ids, "%lld", *id);
	st = store_exec_pooled(p, &stmt_token_set_hash, hparams, NULL, err,
			       errlen);
	if (st)
		token[0] = '\0'; /* the row keeps the placeholder: useless */
	return st;
}

enum core_status auth_token_revoke(struct store_pool *p, long long id,
				   char *err, size_t errlen)
{
	char ids[32];
	const char *params[1] = {ids};
	PGresult *r = NULL;
	enum core_status st;
	int before;

	snprintf(ids, sizeof ids, "%lld", id);
	st = store_exec_pooled(p, &stmt_token_revoke, params, &r, err, errlen);
	if (st)
		return st;
	if (PQntuples(r) == 0) {
		PQclear(r);
		core_errf(err, errlen, "token %lld not found", id);
		return CORE_ERR_NOT_FOUND;
	}
	before = PQgetvalue(r, 0, 0)[0] == '1';
	PQclear(r);
	if (before) {
		core_errf(err, errlen, "token %lld was already revoked", id);
		return CORE_ERR_CONFLICT;
	}
	return CORE_OK;
}

enum core_status auth_tokens_json(struct store_pool *p, char **json, char *err,
				  size_t errlen)
{
	PGresult *r = NULL;
	enum core_status st =
	    store_exec_pooled(p, &stmt_tokens_json, NULL, &r, err, errlen);

	*json = NULL;
	if (st)
		return st;
	*json = core_strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*json) {
		core_errf(err, errlen, "out of memory listing tokens");
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

enum core_status auth_tokens_active(struct store_pool *p, long long *n,
				    char *err, size_t errlen)
{
	PGresult *r = NULL;
	enum core_status st =
	    store_exec_pooled(p, &stmt_tokens_active, NULL, &r, err, errlen);

	if (st)
		return st;
	*n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return CORE_OK;
}

/* The id of a well-formed token text, else 0. */
static long long token_parse(const char *t)
{
	size_t pl = strlen(TOKEN_PREFIX), digits = 0;
	long long id = 0;
	const char *s;

	if (strncmp(t, TOKEN_PREFIX, pl) != 0)
		return 0;
	for (s = t + pl; *s >= '0' && *s <= '9'; s++, digits++) {
		if (digits >= 18)
			return 0;
		id = id * 10 + (*s - '0');
	}
	if (digits == 0 || *s != '_')
		return 0;
	s++;
	for (int i = 0; i < TOKEN_SECRET_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[TOKEN_SECRET_HEX] == '\0' ? id : 0;
}

/* Compares n bytes in time independent of where they differ. */
static int equal_ct(const char *a, const char *b, size_t n)
{
	volatile unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return d == 0;
}

enum core_status auth_token_verify(struct store_pool *p, const char *token,
				   enum auth_result *result,
				   struct auth_identity *who, char *err,
				   size_t errlen)
{
	char ids[32], hash[65];
	const char *params[1] = {ids};
	PGresult *r = NULL;
	long long id = token ? token_parse(token) : 0;
	enum core_status st;

	memset(who, 0, sizeof *who);
	*result = AUTH_MALFORMED;
	if (id <= 0)
		return CORE_OK;
	*result = AUTH_UNKNOWN;
	snprintf(ids, sizeof ids, "%lld", id);
	st = store_exec_pooled(p, &stmt_token_get, params, &r, err, errlen);
	if (st)
		return st;
	core_sha256_hex(token, strlen(token), hash);
	if (PQntuples(r) != 1 || strlen(PQgetvalue(r, 0, 0)) != 64 ||
	    !equal_ct(hash, PQgetvalue(r, 0, 0), 64)) {
		PQclear(r);
		return CORE_OK;
	}
	if (PQgetvalue(r, 0, 3)[0] == '1')
		*result = AUTH_REVOKED;
	else if (PQgetvalue(r, 0, 4)[0] == '1')
		*result = AUTH_EXPIRED;
	else {
		*result = AUTH_OK;
		who->token_id = id;
		who->team_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		who->admin = PQgetvalue(r, 0, 2)[0] == '1';
	}
	PQclear(r);
	if (*result == AUTH_OK &&
	    store_exec_pooled(p, &stmt_token_used, params, NULL, err, errlen))
		LOG_WARN("token %lld: last use not recorded: %s", id, err);
	return CORE_OK;
}

enum core_status auth_duration_parse(const char *text, long long *seconds)
{
	char *end = NULL;
	long long v, mul = 1;

	if (!text || !isdigit((unsigned char)text[0]))
		return CORE_ERR_INVALID;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || v <= 0)
		return CORE_ERR_INVALID;
	if (*end == 'd')
		mul = 86400;
	else if (*end == 'h')
		mul = 3600;
	else if (*end == 'm')
		mul = 60;
	else if (*end != 's' && *end != '\0')
		return CORE_ERR_INVALID;
	if (*end && end[1])
		return CORE_ERR_INVALID;
	if (v > 100LL * 366 * 86400 / mul)
		return CORE_ERR_INVALID;
	*seconds = v * mul;
	return CORE_OK;
}
