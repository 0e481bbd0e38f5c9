-- SPDX-License-Identifier: Apache-2.0
-- 0004_teams: teams and their API tokens, and jobs owned by a team. A token
-- is stored only as the SHA-256 of its text; the id in the token's text finds
-- the row, the hash is compared in constant time by the server. Jobs created
-- before this migration (and by `lmnas search` on the command line) have no
-- team: only admin tokens see them.
CREATE TABLE teams (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tokens (
    id           bigserial PRIMARY KEY,
    team_id      bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    admin        boolean NOT NULL DEFAULT false,
    hash         text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- idempotency_key: a retried POST /v1/jobs with the same key (per team)
-- returns the job it created; request_hash (SHA-256 of the canonical body)
-- tells a retry from another request that reuses the key.
ALTER TABLE jobs
    ADD COLUMN team_id bigint REFERENCES teams (id),
    ADD COLUMN idempotency_key text,
    ADD COLUMN request_hash text;
CREATE UNIQUE INDEX jobs_team_idempotency ON jobs (team_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_team ON jobs (team_id, id);
