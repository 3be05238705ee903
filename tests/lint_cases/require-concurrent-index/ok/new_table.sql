CREATE TABLE notes (
    id uuid NOT NULL,
    body text NOT NULL,
    CONSTRAINT notes_pkey PRIMARY KEY (id)
);
CREATE INDEX notes_body_idx ON notes (body);
COMMENT ON TABLE notes IS 'A note.';
