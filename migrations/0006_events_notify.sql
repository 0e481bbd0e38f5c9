-- SPDX-License-Identifier: Apache-2.0
-- 0006_events_notify: live events. Every stored event notifies channel
-- lmnas_events with its job id, so that `serve` wakes the Server-Sent
-- Events streams of that job at once, whichever process or machine wrote
-- the event (a worker elsewhere). The notification carries no event data:
-- a woken stream re-reads the events after the last id it sent, so a
-- notification lost (a listener reconnecting) loses nothing. PostgreSQL
-- sends it at commit and folds identical ones within a transaction.
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lmnas_events', NEW.job_id::text);
    RETURN NEW;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_notify();

-- A stream ends once its job has: the job's change of status (and its
-- deletion) notifies the same channel, so a follower does not wait for its
-- next keep-alive to learn that the last event was the last.
CREATE FUNCTION jobs_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lmnas_events', OLD.id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_status_notify AFTER UPDATE OF status ON jobs
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status)
    EXECUTE FUNCTION jobs_events_notify();
CREATE TRIGGER jobs_delete_notify AFTER DELETE ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_events_notify();
