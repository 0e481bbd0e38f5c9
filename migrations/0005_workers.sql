-- SPDX-License-Identifier: Apache-2.0
-- 0005_workers: artifact retention and cancel notifications. A finished
-- job's proxy checkpoints of candidates outside its front (and without a
-- model) are dropped a set time after it ends; artifacts_pruned_at records that it was done, so the
-- periodic pass of the workers looks at each job once.
ALTER TABLE jobs ADD COLUMN artifacts_pruned_at timestamptz;
CREATE INDEX jobs_prunable ON jobs (finished_at)
    WHERE finished_at IS NOT NULL AND artifacts_pruned_at IS NULL;

-- Cancel reaches a running job within a moment on any machine: the request
-- (from the API, the CLI or psql) notifies channel lmnas_cancel with the job
-- id, and the job's heartbeat thread LISTENs on it.
CREATE FUNCTION jobs_cancel_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lmnas_cancel', NEW.id::text);
    RETURN NEW;
END
$$;
CREATE TRIGGER jobs_cancel_notify AFTER UPDATE OF cancel_requested ON jobs
    FOR EACH ROW WHEN (NEW.cancel_requested AND NOT OLD.cancel_requested)
    EXECUTE FUNCTION jobs_cancel_notify();
