CREATE TABLE notes (
    id uuid NOT NULL,
    code char(3) NOT NULL,
    CONSTRAINT notes_pkey PRIMARY KEY (id)
);
COMMENT ON TABLE notes IS 'A note.';
