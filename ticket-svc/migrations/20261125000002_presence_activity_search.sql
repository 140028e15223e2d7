-- Presence (who has a ticket open), the activity trail, idempotency keys and full-text search.

-- A row per agent with the ticket open; alive while expires_at is in the future.
CREATE TABLE ticket.presence (
    ticket_id  bigint      NOT NULL REFERENCES ticket.ticket (id) ON DELETE CASCADE,
    user_id    bigint      NOT NULL,
    last_seen  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);

-- The audit trail, projected from the ticket's own events (so it is exactly what happened).
CREATE TABLE ticket.activity (
    id             bigserial   PRIMARY KEY,
    event_id       uuid        NOT NULL,
    ticket_id      bigint      NOT NULL,
    type           text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    actor          text        NOT NULL,
    changed_fields text[]      NOT NULL DEFAULT '{}',
    version        bigint      NOT NULL,
    traceparent    text,
    CONSTRAINT activity_event_id_key UNIQUE (event_id)
);
CREATE INDEX activity_ticket_idx ON ticket.activity (ticket_id, id);

-- The first result of a request sent with an Idempotency-Key, per caller and operation.
CREATE TABLE ticket.idempotency_key (
    user_id      bigint      NOT NULL,
    operation    text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, operation, key)
);

ALTER TABLE ticket.stats_ticket ADD COLUMN tag_ids bigint[] NOT NULL DEFAULT '{}';

-- 'simple': tickets arrive in many languages, so no stemming that favours one of them.
ALTER TABLE ticket.ticket ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple'::regconfig,
        coalesce(subject, '') || ' ' || coalesce(summary, '') || ' ' || coalesce(body_plain, ''))
) STORED;
CREATE INDEX ticket_search_idx ON ticket.ticket USING gin (search);
