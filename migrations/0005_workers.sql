-- 0005_workers: artifact retention. A finished job's proxy checkpoints of
-- candidates outside its front (and without a model) are dropped a set time
-- after it ends; artifacts_pruned_at records that it was done, so the
-- periodic pass of the workers looks at each job once.
ALTER TABLE jobs ADD COLUMN artifacts_pruned_at timestamptz;
CREATE INDEX jobs_prunable ON jobs (finished_at)
    WHERE finished_at IS NOT NULL AND artifacts_pruned_at IS NULL;
