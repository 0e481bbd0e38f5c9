-- SPDX-License-Identifier: Apache-2.0
-- 0009_datasets: datasets as team-owned resources. A dataset row is created
-- (status 'importing') when an upload or `lmnas dataset import` starts, and
-- ends 'ready' (cache_path and report set) or 'failed' (error set). Datasets
-- made by the CLI without --team have no team: only admin tokens see them
-- (as for jobs). Names are unique per team (no team counting as one).
CREATE TABLE datasets (
    id             bigserial PRIMARY KEY,
    team_id        bigint REFERENCES teams (id) ON DELETE CASCADE,
    name           text NOT NULL CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
    status         text NOT NULL DEFAULT 'importing'
                   CHECK (status IN ('importing', 'ready', 'failed')),
    format         text NOT NULL CHECK (format IN ('zip', 'tar', 'directory')),
    resolution     int CHECK (resolution IS NULL OR resolution BETWEEN 8 AND 1024),
    progress       double precision NOT NULL DEFAULT 0
                   CHECK (progress >= 0 AND progress <= 1),
    cache_path     text,
    report         jsonb,
    upload_bytes   bigint NOT NULL DEFAULT 0 CHECK (upload_bytes >= 0),
    expanded_bytes bigint NOT NULL DEFAULT 0 CHECK (expanded_bytes >= 0),
    error          text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    CHECK (status <> 'ready' OR cache_path IS NOT NULL)
);
CREATE UNIQUE INDEX datasets_team_name ON datasets (coalesce(team_id, 0), name);
CREATE INDEX datasets_team ON datasets (team_id, id);

-- A job's dataset. ON DELETE RESTRICT would keep a finished job's dataset
-- forever; DELETE /v1/datasets/{id} instead locks the dataset row and
-- refuses while a queued or running job uses it (queue_dataset_delete), and
-- a finished job keeps its spec (with the dataset's id) for the record.
ALTER TABLE jobs
    ADD COLUMN dataset_id bigint REFERENCES datasets (id) ON DELETE SET NULL;
CREATE INDEX jobs_dataset ON jobs (dataset_id) WHERE dataset_id IS NOT NULL;
