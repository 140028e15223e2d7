-- Entries services add themselves (not projected from an event) say what happened in words.
ALTER TABLE ticket.activity ADD COLUMN note text;
