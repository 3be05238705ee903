CREATE TABLE notes (
    id uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id),
    body text CHECK (body <> '')
);
CREATE INDEX ON notes (account_id);
CREATE INDEX note_body ON notes (body);
COMMENT ON TABLE notes IS 'A note.';
