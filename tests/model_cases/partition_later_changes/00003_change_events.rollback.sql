-- A detached partition keeps what it took from the parent: drop that too.
ALTER TABLE events DETACH PARTITION events_2025;
DROP INDEX events_note_idx;
DROP INDEX events_2025_note_idx;
ALTER TABLE events_2025 DROP CONSTRAINT events_2025_pkey;
ALTER TABLE events DROP COLUMN note;
ALTER TABLE events_2025 DROP COLUMN note;
