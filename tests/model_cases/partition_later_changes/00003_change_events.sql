-- Changes to the parent reach every partition; ATTACH gives the attached table
-- the parent's keys and indexes (and needs its NOT NULLs and CHECKs already).
ALTER TABLE events ADD COLUMN note text DEFAULT 'none';
ALTER TABLE events ADD CONSTRAINT events_note_check CHECK (note <> '');
ALTER TABLE events ALTER COLUMN note SET NOT NULL;
ALTER TABLE events_2025
    ADD COLUMN note text NOT NULL DEFAULT 'x' CONSTRAINT events_note_check CHECK (note <> '');
CREATE INDEX events_note_idx ON events (note);
ALTER TABLE events ATTACH PARTITION events_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
ALTER TABLE events ALTER COLUMN note SET DEFAULT 'empty';
