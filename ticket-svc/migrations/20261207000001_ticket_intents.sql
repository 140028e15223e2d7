-- The AI agents of each ticket's active intents (owned by agent-svc), kept from
-- agent.TicketIntentsChanged for the `i.aiAgentId` search filter and the per-agent stats.
-- One row per ticket and agent; a ticket without intents has none.
CREATE TABLE ticket.ticket_intent (
    ticket_id   bigint NOT NULL,
    ai_agent_id bigint NOT NULL,
    PRIMARY KEY (ticket_id, ai_agent_id)
);
CREATE INDEX ticket_intent_agent_idx ON ticket.ticket_intent (ai_agent_id, ticket_id);

-- The version of the last event applied per ticket, kept apart because an empty set has no
-- rows above but must still stop an older, non-empty event from coming back.
CREATE TABLE ticket.ticket_intent_version (
    ticket_id  bigint      PRIMARY KEY,
    version    bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
