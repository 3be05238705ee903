CREATE TABLE notes (
    id uuid NOT NULL,
    account_id uuid NOT NULL,
    CONSTRAINT notes_pkey PRIMARY KEY (id),
    CONSTRAINT notes_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
);
COMMENT ON TABLE notes IS 'A note.';
