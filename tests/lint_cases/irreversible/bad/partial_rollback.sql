CREATE TABLE notes (
    id uuid NOT NULL,
    CONSTRAINT notes_pkey PRIMARY KEY (id)
);
COMMENT ON TABLE notes IS 'A note.';
CREATE FUNCTION note_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM notes $$;
