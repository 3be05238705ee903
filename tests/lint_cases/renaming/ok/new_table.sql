CREATE TABLE tmp_notes (
    id uuid NOT NULL,
    CONSTRAINT tmp_notes_pkey PRIMARY KEY (id)
);
ALTER TABLE tmp_notes RENAME TO notes;
COMMENT ON TABLE notes IS 'A note.';
