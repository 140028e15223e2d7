-- Queue tables stay small so their claim cost does not grow with history.
--
-- The outbox holds only events still to publish: the relay moves each confirmed event into
-- outbox_published (kept for a retention period, then pruned). Dead rows of a queue table
-- make every claim step over them until vacuumed, so autovacuum runs after a fixed number of
-- them rather than a fraction of the table (the default 20 % grows with the table).

CREATE TABLE settings.outbox_published (
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
    published_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_published_at_idx ON settings.outbox_published (published_at);

INSERT INTO settings.outbox_published (id, event_id, event_type, routing_key, aggregate_id,
    aggregate_version, actor, payload, traceparent, occurred_at, published_at)
SELECT id, event_id, event_type, routing_key, aggregate_id, aggregate_version, actor, payload,
       traceparent, occurred_at, published_at
FROM settings.outbox WHERE published_at IS NOT NULL;
DELETE FROM settings.outbox WHERE published_at IS NOT NULL;

-- Every row is unpublished now; the relay claims in id order through the primary key.
DROP INDEX settings.outbox_unpublished_idx;
ALTER TABLE settings.outbox DROP COLUMN published_at, ADD COLUMN last_error text;
ALTER TABLE settings.outbox SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 500,
    autovacuum_vacuum_cost_delay = 0
);

