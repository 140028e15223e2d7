-- Inbox rows past retention are pruned by received_at.
CREATE INDEX inbox_received_at_idx ON quality.inbox (received_at);
