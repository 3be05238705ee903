CREATE TABLE notes (body text);
COMMENT ON TABLE notes IS 'A note.';
