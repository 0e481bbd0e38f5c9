-- SPDX-License-Identifier: Apache-2.0
-- 0002_search: search jobs and everything they produce. The job queue lives in
-- the jobs table: workers lease a job with FOR UPDATE SKIP LOCKED and renew the
-- lease while they work; an expired lease makes the job claimable again.
CREATE TABLE jobs (
    id               bigserial PRIMARY KEY,
    name             text NOT NULL,
    spec             jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    cancel_requested boolean NOT NULL DEFAULT false,
    lease_owner      text,
    lease_expires_at timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    progress         jsonb NOT NULL DEFAULT '{}'::jsonb,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_claimable ON jobs (created_at, id) WHERE status IN ('queued', 'running');

CREATE TABLE rounds (
    job_id      bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    round       integer NOT NULL,
    proposer    text NOT NULL,
    front       jsonb NOT NULL DEFAULT '[]'::jsonb,
    hypervolume double precision,
    summary     text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    PRIMARY KEY (job_id, round)
);

CREATE TABLE candidates (
    id               bigserial PRIMARY KEY,
    job_id           bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    round            integer NOT NULL,
    source           text NOT NULL CHECK (source IN ('llm', 'evolution', 'random', 'user')),
    arch             jsonb NOT NULL,
    arch_hash        text NOT NULL,
    status           text NOT NULL
                     CHECK (status IN ('proposed', 'rejected', 'training', 'trained', 'failed',
                                       'final_training', 'final_done')),
    rationale        text,
    rejection_reason text,
    macs             bigint,
    params           bigint,
    flash_bytes      bigint,
    sram_bytes       bigint,
    val_top1         double precision,
    val_top5         double precision,
    val_loss         double precision,
    test_top1        double precision,
    epochs_done      integer NOT NULL DEFAULT 0,
    checkpoint       bytea,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- a network is trained once per job; rejected proposals may repeat
CREATE UNIQUE INDEX candidates_job_hash ON candidates (job_id, arch_hash) WHERE status <> 'rejected';
CREATE INDEX candidates_job ON candidates (job_id, id);

CREATE TABLE candidate_epochs (
    candidate_id bigint NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    phase        text NOT NULL CHECK (phase IN ('proxy', 'final')),
    epoch        integer NOT NULL,
    train_loss   double precision,
    val_top1     double precision,
    val_top5     double precision,
    val_loss     double precision,
    lr           double precision,
    seconds      double precision,
    PRIMARY KEY (candidate_id, phase, epoch)
);

CREATE TABLE llm_calls (
    id                bigserial PRIMARY KEY,
    job_id            bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    round             integer NOT NULL,
    attempt           integer NOT NULL,
    model             text,
    messages          jsonb NOT NULL,
    reply             text,
    http_status       integer,
    prompt_tokens     integer,
    completion_tokens integer,
    latency_ms        integer,
    outcome           text NOT NULL,
    error             text,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX llm_calls_job ON llm_calls (job_id, id);

CREATE TABLE models (
    id                bigserial PRIMARY KEY,
    job_id            bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    candidate_id      bigint NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    checkpoint        bytea,
    checkpoint_sha256 text,
    checkpoint_size   bigint,
    zip               bytea,
    zip_sha256        text,
    zip_size          bigint,
    report            jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX models_job ON models (job_id);

CREATE TABLE events (
    id         bigserial PRIMARY KEY,
    job_id     bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    ts         timestamptz NOT NULL DEFAULT now(),
    level      text NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
    kind       text NOT NULL,
    message    text NOT NULL,
    data       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX events_job ON events (job_id, id);
