CREATE TABLE notes (
    id uuid NOT NULL,
    written_at timestamp NOT NULL,
    CONSTRAINT notes_pkey PRIMARY KEY (id)
);
COMMENT ON TABLE notes IS 'A note.';
