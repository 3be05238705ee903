CREATE TABLE notes (
    id uuid NOT NULL,
    a_column_name_that_goes_on_and_on_well_past_what_postgres_keeps_x text,
    CONSTRAINT notes_pkey PRIMARY KEY (id)
);
COMMENT ON TABLE notes IS 'A note.';
