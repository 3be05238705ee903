CREATE TABLE notes (
    id serial NOT NULL,
    CONSTRAINT notes_pkey PRIMARY KEY (id)
);
COMMENT ON TABLE notes IS 'A note.';
