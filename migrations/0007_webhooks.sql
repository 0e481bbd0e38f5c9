-- SPDX-License-Identifier: Apache-2.0
-- 0007_webhooks: job webhooks. A job submitted through the API may name
-- `webhook.url` in its spec; every change of the job's status (from any
-- process: submit, claim, cancel, hand-back, end) queues one delivery, in
-- the same transaction as the change, so none is lost to a crash. Any lmnas
-- process sends them (FOR UPDATE SKIP LOCKED and a lease, as for jobs),
-- signed with the team's secret, retried with backoff, in order per job.
--
-- The secret is stored as is (HMAC needs it, unlike a token); it starts as
-- 256 random bits (gen_random_uuid draws from the server's strong random
-- source) and `lmnas team webhook-secret --team NAME` rotates and prints it.
ALTER TABLE teams
    ADD COLUMN webhook_secret text NOT NULL
        DEFAULT encode(sha256(convert_to(gen_random_uuid()::text
            || gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex')
        CHECK (webhook_secret ~ '^[0-9a-f]{64}$');

CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    job_id           bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    team_id          bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    url              text NOT NULL,
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_at          timestamptz NOT NULL DEFAULT now(),
    lease_owner      text,
    lease_expires_at timestamptz,
    last_http_status integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at, id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id, id);

-- The body is fixed when the change happens (what the receiver learns is
-- the state at that instant, whenever the delivery succeeds). The counts
-- are those of GET /v1/jobs/{id}, sent once the job has ended.
CREATE FUNCTION jobs_webhook_enqueue() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    target text := NEW.spec #>> '{webhook,url}';
    prev   text := NULL;
    did    bigint;
    body   jsonb;
BEGIN
    IF target IS NULL OR NEW.team_id IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF OLD.status = NEW.status THEN
            RETURN NULL;
        END IF;
        prev := OLD.status;
    END IF;
    did := nextval(pg_get_serial_sequence('webhook_deliveries', 'id'));
    body := jsonb_build_object(
        'delivery', did,
        'event', 'job.status',
        'job_id', NEW.id,
        'name', NEW.name,
        'team', (SELECT name FROM teams WHERE id = NEW.team_id),
        'status', NEW.status,
        'previous_status', prev,
        'final', NEW.status IN ('succeeded', 'failed', 'cancelled'),
        'error', NEW.error,
        'at', to_jsonb(now()));
    IF NEW.status IN ('succeeded', 'failed', 'cancelled') THEN
        body := body || jsonb_build_object('counts', (
            SELECT jsonb_build_object(
                'candidates', count(*),
                'trained', count(*) FILTER (WHERE c.status IN ('trained',
                    'final_training', 'final_done')),
                'rejected', count(*) FILTER (WHERE c.status = 'rejected'),
                'failed', count(*) FILTER (WHERE c.status = 'failed'),
                'rounds', (SELECT count(*) FROM rounds r
                           WHERE r.job_id = NEW.id),
                'models', (SELECT count(*) FROM models m
                           WHERE m.job_id = NEW.id))
            FROM candidates c WHERE c.job_id = NEW.id));
    END IF;
    INSERT INTO webhook_deliveries (id, job_id, team_id, url, body)
        VALUES (did, NEW.id, NEW.team_id, target, body::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_webhook AFTER INSERT OR UPDATE OF status ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_webhook_enqueue();
