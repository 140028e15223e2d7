-- quality-svc keeps the ticket events it consumed: the inbox makes consumption idempotent,
-- and ticket_event is the history AI quality checks replay tickets from.

CREATE TABLE quality.inbox (
    event_id    uuid        PRIMARY KEY,
    event_type  text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE quality.ticket_event (
    event_id          uuid        PRIMARY KEY,
    ticket_id         bigint      NOT NULL,
    event_type        text        NOT NULL,
    aggregate_version bigint      NOT NULL,
    occurred_at       timestamptz NOT NULL,
    actor             text        NOT NULL,
    payload           jsonb       NOT NULL
);
CREATE INDEX ticket_event_ticket_idx ON quality.ticket_event (ticket_id, aggregate_version);
