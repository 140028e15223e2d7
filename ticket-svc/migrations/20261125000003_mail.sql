-- Mail waiting to be sent (forwards, replies). A row commits with the write that asked for it;
-- the mailer sends it and retries with back-off while the mail server is unreachable.
CREATE TABLE ticket.mail_outbox (
    id           bigserial   PRIMARY KEY,
    ticket_id    bigint      NOT NULL REFERENCES ticket.ticket (id) ON DELETE CASCADE,
    purpose      text        NOT NULL,
    sender       text        NOT NULL,
    recipients   text[]      NOT NULL,
    cc           text[]      NOT NULL DEFAULT '{}',
    bcc          text[]      NOT NULL DEFAULT '{}',
    subject      text        NOT NULL,
    body_html    text        NOT NULL,
    body_text    text        NOT NULL,
    attempts     integer     NOT NULL DEFAULT 0,
    available_at timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    -- Set when the server refused the mail for good (e.g. unknown recipient domain).
    failed_at    timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mail_outbox_recipients_present CHECK (cardinality(recipients) > 0)
);
CREATE INDEX mail_outbox_pending_idx ON ticket.mail_outbox (available_at, id)
    WHERE sent_at IS NULL AND failed_at IS NULL;
