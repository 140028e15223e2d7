-- Event hooks (contract §5, §7): which events leave the system and where to, and the durable
-- log of their deliveries. A delivery row is the outbox of one hook for one event: it is
-- written when the event arrives and retried with back-off until it succeeds or gives up.

CREATE TABLE settings.event_hook (
    id                   bigserial   PRIMARY KEY,
    name                 text        NOT NULL,
    events               text[]      NOT NULL,
    description          text,
    executor             jsonb,
    enabled              boolean     NOT NULL DEFAULT true,
    disabled_reason      text,
    consecutive_failures integer     NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    modified_at          timestamptz,
    CONSTRAINT event_hook_events_present CHECK (cardinality(events) > 0)
);
CREATE INDEX event_hook_events_idx ON settings.event_hook USING gin (events);

CREATE TABLE settings.hook_delivery (
    id              bigserial   PRIMARY KEY,
    hook_id         bigint      NOT NULL REFERENCES settings.event_hook (id) ON DELETE CASCADE,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    envelope        jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending',
    attempts        integer     NOT NULL DEFAULT 0,
    available_at    timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    status_code     integer,
    last_error      text,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT hook_delivery_once UNIQUE (hook_id, event_id),
    CONSTRAINT hook_delivery_status_check CHECK (status IN ('pending', 'delivered', 'failed'))
);
CREATE INDEX hook_delivery_due_idx ON settings.hook_delivery (available_at, id)
    WHERE status = 'pending';
CREATE INDEX hook_delivery_log_idx ON settings.hook_delivery (hook_id, id DESC);

-- Events consumed for hooks, so a redelivered event is handled once.
CREATE TABLE settings.inbox (
    event_id    uuid        PRIMARY KEY,
    event_type  text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_received_at_idx ON settings.inbox (received_at);
