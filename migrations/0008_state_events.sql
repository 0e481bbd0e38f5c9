-- SPDX-License-Identifier: Apache-2.0
-- 0008_state_events: a job's every change of status is one of its events
-- (kind 'state', data {status, previous, attempt, error}), written by the
-- same transaction that changes the status, whoever changes it (a worker's
-- claim, hand-back or end, the API cancelling a queued job). So a follower
-- of the job's events (the JSON list or the Server-Sent Events stream) sees
-- the states in order among the other events, and a stream that ends at
-- the job's end has the final state as its last word.
CREATE FUNCTION jobs_state_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous text := CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END;
BEGIN
    INSERT INTO events (job_id, level, kind, message, data)
    VALUES (NEW.id,
            CASE NEW.status WHEN 'failed' THEN 'error'
                            WHEN 'cancelled' THEN 'warn' ELSE 'info' END,
            'state',
            'job ' || NEW.status
                || CASE WHEN NEW.status = 'running'
                        THEN ' (attempt ' || NEW.attempts || ')' ELSE '' END
                || CASE WHEN NEW.status = 'failed' AND NEW.error IS NOT NULL
                        THEN ': ' || NEW.error ELSE '' END,
            jsonb_build_object('status', NEW.status, 'previous', previous,
                               'attempt', NEW.attempts, 'error', NEW.error));
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_state_event_insert AFTER INSERT ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_state_event();
CREATE TRIGGER jobs_state_event_update AFTER UPDATE OF status ON jobs
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status)
    EXECUTE FUNCTION jobs_state_event();
