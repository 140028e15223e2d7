-- AI agents (with their append-only history), the intents detected on tickets, the durable
-- detection queue fed by ticket events, and the outbox/inbox around RabbitMQ.

-- An agent is the vendor's AiAgent document (contract §2.3), stored whole in `definition`
-- (without id, version and timestamps, which are columns). Deleting is soft.
CREATE TABLE agent.agent (
    id          bigserial   PRIMARY KEY,
    slug        text        NOT NULL,
    definition  jsonb       NOT NULL,
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    modified_at timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    CONSTRAINT agent_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9_.-]*$')
);
-- A slug names one live agent; a deleted agent's slug may be taken again.
CREATE UNIQUE INDEX agent_slug_live_key ON agent.agent (slug) WHERE deleted_at IS NULL;

-- Every write of an agent is a version; restoring writes an old definition as a new version.
CREATE TABLE agent.agent_version (
    agent_id   bigint      NOT NULL REFERENCES agent.agent (id),
    version    bigint      NOT NULL,
    definition jsonb       NOT NULL,
    action     text        NOT NULL,
    created_by bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_id, version)
);

-- An intent: one agent's reading of one ticket (contract §3.3). `data` holds the parameter
-- values detection extracted, `corrections` what a human changed since.
CREATE TABLE agent.intent (
    id          bigserial   PRIMARY KEY,
    ticket_id   bigint      NOT NULL,
    agent_id    bigint      NOT NULL REFERENCES agent.agent (id),
    -- '' when the ticket has no contract, so that uniqueness below holds for it too.
    contract_id text        NOT NULL DEFAULT '',
    status      text        NOT NULL DEFAULT 'ready',
    confidence  real        NOT NULL,
    verified    boolean     NOT NULL DEFAULT false,
    -- The sentence that carried the intent (or why it was assigned).
    evidence    text        NOT NULL DEFAULT '',
    data        jsonb       NOT NULL DEFAULT '{}',
    corrections jsonb       NOT NULL DEFAULT '{}',
    -- The engine's phase-1 answer for data + corrections: infos, options, autoExecutable.
    decision    jsonb       NOT NULL DEFAULT '{}',
    outcome     jsonb,
    executed_at timestamptz,
    executed_by bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    modified_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT intent_status_known CHECK (status IN
        ('preview', 'ready', 'executed', 'invalidated', 'deleted', 'archived')),
    CONSTRAINT intent_confidence_range CHECK (confidence >= 0 AND confidence <= 1)
);
-- One active intent per ticket, agent and contract.
CREATE UNIQUE INDEX intent_active_key ON agent.intent (ticket_id, agent_id, contract_id)
    WHERE status IN ('preview', 'ready', 'executed');
CREATE INDEX intent_ticket_idx ON agent.intent (ticket_id);
CREATE INDEX intent_agent_idx ON agent.intent (agent_id, status);

-- What an execution did, once per intent and action: a retried execute request finds its
-- first answer here instead of replying or closing a second time.
CREATE TABLE agent.execution (
    intent_id  bigint      NOT NULL REFERENCES agent.intent (id),
    action     text        NOT NULL,
    outcome    jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (intent_id, action)
);

-- The result of detection per ticket: intents, or an explicit noDetection, never nothing.
CREATE TABLE agent.ticket_detection (
    ticket_id   bigint      PRIMARY KEY,
    outcome     text        NOT NULL,
    language    text,
    detected_at timestamptz NOT NULL DEFAULT now(),
    -- What detection could not use (e.g. the embeddings server was down), for the activity trail.
    note        text,
    CONSTRAINT ticket_detection_outcome_known CHECK (outcome IN ('intents', 'noDetection'))
);

-- Tickets waiting for detection (see enneo_common::jobs): written in the same transaction as
-- the inbox row of the event that asked for it, deleted when detection has been stored.
CREATE TABLE agent.detection_job (
    id           bigserial   PRIMARY KEY,
    ticket_id    bigint      NOT NULL,
    trigger      text        NOT NULL,
    -- The inbound message to read (TicketResponse); none: the ticket's own message.
    conversation_id bigint,
    attempts     integer     NOT NULL DEFAULT 0,
    available_at timestamptz NOT NULL DEFAULT now(),
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX detection_job_due_idx ON agent.detection_job (available_at, id);
ALTER TABLE agent.detection_job SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 500
);

-- Events waiting for publication (AiAgentChanged); see enneo_common::outbox.
CREATE TABLE agent.outbox (
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
    attempts          integer     NOT NULL DEFAULT 0,
    available_at      timestamptz NOT NULL DEFAULT now(),
    last_error        text,
    CONSTRAINT outbox_event_id_key UNIQUE (event_id)
);
ALTER TABLE agent.outbox SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 500,
    autovacuum_vacuum_cost_delay = 0
);
CREATE TABLE agent.outbox_published (
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
CREATE INDEX outbox_published_at_idx ON agent.outbox_published (published_at);

-- Ticket events this service consumed; a redelivery finds its id here.
CREATE TABLE agent.inbox (
    event_id    uuid        PRIMARY KEY,
    event_type  text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_received_at_idx ON agent.inbox (received_at);

-- A ticket's message as one vector (the mean of its sentence vectors, unit length), for
-- GET /aiAgent/{id}/similarTickets. Brute force over real[]: no vector extension needed.
CREATE TABLE agent.ticket_vector (
    ticket_id  bigint      PRIMARY KEY,
    model      text        NOT NULL,
    vector     real[]      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Orders the TicketIntentsChanged events of a ticket (their aggregateVersion).
CREATE SEQUENCE agent.intent_change_seq;
