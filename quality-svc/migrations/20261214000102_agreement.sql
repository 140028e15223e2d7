-- Live agreement: per ticket and AI agent, whether the people handling the ticket agreed
-- with the AI's detection, from agent-svc's TicketIntentsChanged and ticket-svc's closes.

CREATE TABLE quality.agreement (
    ticket_id   bigint      NOT NULL,
    ai_agent_id bigint      NOT NULL,
    -- The AI detected the agent on the ticket (false: a person added it).
    detected    boolean     NOT NULL,
    -- Among the ticket's active intents now.
    present     boolean     NOT NULL,
    -- agreed | falsePositive | miss; null while undecided.
    verdict     text,
    decided_at  timestamptz,
    -- The user whose action decided it.
    decided_by  text,
    -- The last event that changed the row.
    event_id    uuid        NOT NULL,
    CONSTRAINT agreement_pkey PRIMARY KEY (ticket_id, ai_agent_id),
    CONSTRAINT agreement_verdict_check
        CHECK (verdict IN ('agreed', 'falsePositive', 'miss')),
    CONSTRAINT agreement_decided_check CHECK ((verdict IS NULL) = (decided_at IS NULL))
);
CREATE INDEX agreement_decided_idx ON quality.agreement (decided_at, ai_agent_id)
    WHERE verdict IS NOT NULL;

-- The newest TicketIntentsChanged applied per ticket: each carries the whole set, so an
-- older one arriving late is dropped.
CREATE TABLE quality.agreement_ticket (
    ticket_id       bigint PRIMARY KEY,
    intents_version bigint NOT NULL
);
