-- Full text treats a ticket as one document: subject, summary, body and its conversation
-- history (contract §10), so a query's terms may be spread over the ticket and its messages.
-- The history's vector lives on the ticket, kept current by a trigger on every conversation
-- write, and one GIN index covers both vectors together.

-- Clients often send only the HTML `body`; without `bodyPlain` the body is searched (the
-- text search parser skips HTML tags and entities itself).
DROP INDEX ticket.ticket_search_idx;
ALTER TABLE ticket.ticket DROP COLUMN search;
ALTER TABLE ticket.ticket ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple'::regconfig,
        coalesce(subject, '') || ' ' || coalesce(summary, '') || ' '
        || coalesce(body_plain, body, ''))
) STORED;

ALTER TABLE ticket.ticket ADD COLUMN history_search tsvector NOT NULL DEFAULT ''::tsvector;

CREATE FUNCTION ticket.history_search_of(ticket bigint) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT to_tsvector('simple'::regconfig, coalesce(string_agg(
        coalesce(c.body_plain, '') || ' ' || coalesce(c.subject, ''), ' ' ORDER BY c.id), ''))
    FROM ticket.conversation c WHERE c.ticket_id = ticket
$$;

CREATE FUNCTION ticket.refresh_history_search() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE ticket.ticket SET history_search = ticket.history_search_of(OLD.ticket_id)
        WHERE id = OLD.ticket_id;
    ELSE
        UPDATE ticket.ticket SET history_search = ticket.history_search_of(NEW.ticket_id)
        WHERE id = NEW.ticket_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER conversation_history_search
    AFTER INSERT OR DELETE OR UPDATE OF subject, body_plain ON ticket.conversation
    FOR EACH ROW EXECUTE FUNCTION ticket.refresh_history_search();

UPDATE ticket.ticket t SET history_search = ticket.history_search_of(t.id)
WHERE EXISTS (SELECT 1 FROM ticket.conversation c WHERE c.ticket_id = t.id);

-- The search query uses exactly this expression.
CREATE INDEX ticket_full_text_idx ON ticket.ticket USING gin ((search || history_search));
DROP INDEX ticket.conversation_search_idx;
