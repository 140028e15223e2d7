-- The messages of a ticket: customer e-mails and chat lines, agents' replies, internal notes
-- and drafts.
CREATE TABLE ticket.conversation (
    id                       bigserial   PRIMARY KEY,
    ticket_id                bigint      NOT NULL REFERENCES ticket.ticket (id) ON DELETE CASCADE,
    type                     text        NOT NULL DEFAULT 'text',
    direction                text        NOT NULL,
    sender                   text,
    sender_id                bigint,
    to_addrs                 text[]      NOT NULL DEFAULT '{}',
    cc                       text[]      NOT NULL DEFAULT '{}',
    bcc                      text[]      NOT NULL DEFAULT '{}',
    subject                  text,
    body                     text        NOT NULL,
    body_plain               text,
    private                  boolean     NOT NULL DEFAULT false,
    is_draft                 boolean     NOT NULL DEFAULT false,
    status                   text,
    external_conversation_id text,
    attachments              jsonb       NOT NULL DEFAULT '[]',
    created_at               timestamptz NOT NULL DEFAULT now(),
    modified_at              timestamptz,
    sent_at                  timestamptz,
    CONSTRAINT conversation_direction_check CHECK (direction IN ('in', 'out', 'internal')),
    CONSTRAINT conversation_external_id_key UNIQUE (ticket_id, external_conversation_id)
);
CREATE INDEX conversation_ticket_idx ON ticket.conversation (ticket_id, id);
