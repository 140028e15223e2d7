-- Events the relay gave up on (see enneo_common::outbox): one that no queue took after the
-- relay's attempts (back-off over about 25 minutes) leaves the outbox for this table, so it
-- is never claimed again and never holds up the relay. Kept for a retention period (30 days)
-- for an operator to look at; to send one again, move it back:
--   WITH back AS (DELETE FROM quality.outbox_parked WHERE id = <id> RETURNING id, event_id,
--       event_type, routing_key, aggregate_id, aggregate_version, actor, payload,
--       traceparent, occurred_at)
--   INSERT INTO quality.outbox (id, event_id, event_type, routing_key, aggregate_id,
--       aggregate_version, actor, payload, traceparent, occurred_at) SELECT * FROM back;
CREATE TABLE quality.outbox_parked (
    id                bigint      PRIMARY KEY,
    event_id          uuid        NOT NULL,
    event_type        text        NOT NULL,
    routing_key       text        NOT NULL,
    aggregate_id      text        NOT NULL,
    aggregate_version bigint      NOT NULL,
    actor             text        NOT NULL,
    payload           jsonb       NOT NULL,
    traceparent       text,
    occurred_at       timestamptz NOT NULL,
    -- Failed attempts, the last one included.
    attempts          integer     NOT NULL,
    parked_at         timestamptz NOT NULL DEFAULT now(),
    reason            text        NOT NULL
);
CREATE INDEX outbox_parked_at_idx ON quality.outbox_parked (parked_at);
