-- The routing queue walks open, unassigned tickets in distribution order; these partial
-- indexes serve the two orders that lead with the due date or the priority.
CREATE INDEX ticket_queue_due_idx ON ticket.ticket
    ((coalesce(due_by, '2099-12-31'::timestamptz)), id)
    WHERE status = 'open' AND agent_id IS NULL;
CREATE INDEX ticket_queue_priority_due_idx ON ticket.ticket
    ((CASE priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END) DESC,
     (coalesce(due_by, '2099-12-31'::timestamptz)), id)
    WHERE status = 'open' AND agent_id IS NULL;
