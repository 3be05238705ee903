CREATE TABLE notes (
    id uuid NOT NULL,
    CONSTRAINT notes_pkey PRIMARY KEY (id)
);
