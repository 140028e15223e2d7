-- Full-text search over tickets also looks into their conversations (contract §10).
CREATE INDEX conversation_search_idx ON ticket.conversation
    USING gin (to_tsvector('simple'::regconfig, coalesce(body_plain, '') || ' ' || coalesce(subject, '')));
