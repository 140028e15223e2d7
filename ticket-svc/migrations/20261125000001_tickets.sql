-- Tickets, their transactional outbox, and the event-fed stats read model.
-- Everything lives in schema "ticket", owned by the role enneo_ticket.

CREATE TABLE ticket.ticket (
    id                       bigserial PRIMARY KEY,
    version                  bigint      NOT NULL DEFAULT 1,
    direction                text        NOT NULL DEFAULT 'in',
    from_addr                text,
    from_name                text,
    to_addrs                 text[]      NOT NULL DEFAULT '{}',
    cc_emails                text[]      NOT NULL DEFAULT '{}',
    bcc_emails               text[]      NOT NULL DEFAULT '{}',
    reply_cc_emails          text[]      NOT NULL DEFAULT '{}',
    subchannel_id            bigint,
    external_ticket_id       text,
    sentiment                text,
    language                 text,
    language_code            text,
    auto_execute_at          timestamptz,
    ai_support_level         text        NOT NULL DEFAULT 'unprocessed',
    spam_status              text,
    is_customer_active       boolean     NOT NULL DEFAULT false,
    interface                text        NOT NULL DEFAULT 'internal',
    priority                 text        NOT NULL DEFAULT 'low',
    channel                  text        NOT NULL,
    channel_id               text,
    status                   text        NOT NULL DEFAULT 'open',
    summary                  text,
    subject                  text,
    body                     text,
    body_plain               text,
    body_clean               text,
    is_escalated             boolean     NOT NULL DEFAULT false,
    created_at               timestamptz NOT NULL DEFAULT now(),
    modified_at              timestamptz,
    first_response_due_by    timestamptz,
    due_by                   timestamptz,
    closed_at                timestamptz,
    last_message_at          timestamptz,
    last_customer_message_at timestamptz,
    model_run_at             timestamptz,
    customer_id              text,
    contract_id              text,
    partner_id               bigint,
    customer_legitimation    integer,
    responder_id             bigint,
    agent_id                 bigint,
    assigned_agent_ids       bigint[]    NOT NULL DEFAULT '{}',
    tag_ids                  bigint[]    NOT NULL DEFAULT '{}',
    template                 text,
    cortex_request_id        text,
    call_duration_seconds    integer,
    customer                 jsonb,
    attachments              jsonb       NOT NULL DEFAULT '[]',
    tags                     jsonb       NOT NULL DEFAULT '[]',
    additional_data          jsonb,
    raw_data                 jsonb,
    process                  text,
    CONSTRAINT ticket_external_ticket_id_key UNIQUE (external_ticket_id),
    CONSTRAINT ticket_direction_check CHECK (direction IN ('in', 'out', 'internal')),
    CONSTRAINT ticket_status_check CHECK (status IN ('open', 'pending', 'closed')),
    CONSTRAINT ticket_priority_check CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    CONSTRAINT ticket_channel_check
        CHECK (channel IN ('email', 'portal', 'phone', 'letter', 'system', 'chat', 'walkIn')),
    CONSTRAINT ticket_ai_support_level_check
        CHECK (ai_support_level IN ('unprocessed', 'human', 'bot', 'automated')),
    CONSTRAINT ticket_spam_status_check CHECK (spam_status IN
        ('auto_spam', 'auto_programmatic', 'manual_spam', 'auto_clean', 'manual_clean')),
    CONSTRAINT ticket_version_positive CHECK (version > 0)
);

CREATE INDEX ticket_status_idx ON ticket.ticket (status, id);
CREATE INDEX ticket_channel_idx ON ticket.ticket (channel, id);
CREATE INDEX ticket_agent_id_idx ON ticket.ticket (agent_id);
CREATE INDEX ticket_customer_id_idx ON ticket.ticket (customer_id);
CREATE INDEX ticket_contract_id_idx ON ticket.ticket (contract_id);
CREATE INDEX ticket_created_at_idx ON ticket.ticket (created_at);
CREATE INDEX ticket_due_by_idx ON ticket.ticket (due_by);
CREATE INDEX ticket_tag_ids_idx ON ticket.ticket USING gin (tag_ids);

-- Events waiting for (or done with) publication; see enneo_common::outbox.
CREATE TABLE ticket.outbox (
    id                bigserial   PRIMARY KEY,
    event_id          uuid        NOT NULL,
    event_type        text        NOT NULL,
    routing_key       text        NOT NULL,
    aggregate_id      text        NOT NULL,
    aggregate_version bigint      NOT NULL,
    actor             text        NOT NULL,
    payload           jsonb       NOT NULL,
    traceparent       text,
    occurred_at       timestamptz NOT NULL,
    published_at      timestamptz,
    -- Back-off for events the broker could not route yet, so they never block newer ones.
    attempts          integer     NOT NULL DEFAULT 0,
    available_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT outbox_event_id_key UNIQUE (event_id)
);
CREATE INDEX outbox_unpublished_idx ON ticket.outbox (available_at, id) WHERE published_at IS NULL;

-- Events this service consumed (the stats projection); a redelivery finds its id here.
CREATE TABLE ticket.inbox (
    event_id    uuid        PRIMARY KEY,
    event_type  text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Read model behind GET /ticket/stats: the latest state of each ticket as events told it.
CREATE TABLE ticket.stats_ticket (
    ticket_id bigint      PRIMARY KEY,
    version   bigint      NOT NULL,
    status    text        NOT NULL,
    channel   text        NOT NULL,
    priority  text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stats_ticket_status_idx ON ticket.stats_ticket (status);
