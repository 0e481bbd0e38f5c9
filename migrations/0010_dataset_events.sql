-- SPDX-License-Identifier: Apache-2.0
-- 0010_dataset_events: what a dataset's import did, as events a client reads
-- (GET /v1/datasets/{id}/events): the upload received (state importing),
-- progress at each tenth of the import, and the end (state ready or failed,
-- with the error). Written by triggers in the transaction that changes the
-- row, whoever changes it (the serve thread importing an upload, or
-- `lmnas dataset import`), so no import path can forget one.
CREATE TABLE dataset_events (
    id         bigserial PRIMARY KEY,
    dataset_id bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    ts         timestamptz NOT NULL DEFAULT now(),
    level      text NOT NULL CHECK (level IN ('info', 'warn', 'error')),
    kind       text NOT NULL,
    message    text NOT NULL,
    data       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX dataset_events_dataset ON dataset_events (dataset_id, id);

CREATE FUNCTION datasets_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO dataset_events (dataset_id, level, kind, message, data)
        VALUES (NEW.id, 'info', 'state',
                'dataset ' || NEW.name || ' importing (' || NEW.format || ', '
                    || NEW.upload_bytes || ' bytes)',
                jsonb_build_object('status', NEW.status, 'previous', NULL));
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO dataset_events (dataset_id, level, kind, message, data)
        VALUES (NEW.id, CASE WHEN NEW.status = 'failed' THEN 'error' ELSE 'info' END,
                'state',
                'dataset ' || NEW.name || ' ' || NEW.status
                    || CASE WHEN NEW.error IS NOT NULL THEN ': ' || NEW.error ELSE '' END,
                jsonb_build_object('status', NEW.status, 'previous', OLD.status,
                                   'error', NEW.error));
    ELSIF floor(NEW.progress * 10) > floor(OLD.progress * 10) THEN
        INSERT INTO dataset_events (dataset_id, level, kind, message, data)
        VALUES (NEW.id, 'info', 'progress',
                'import ' || floor(NEW.progress * 100) || '%',
                jsonb_build_object('progress', NEW.progress));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER datasets_event_insert AFTER INSERT ON datasets
    FOR EACH ROW EXECUTE FUNCTION datasets_event();
CREATE TRIGGER datasets_event_update AFTER UPDATE OF status, progress ON datasets
    FOR EACH ROW EXECUTE FUNCTION datasets_event();
