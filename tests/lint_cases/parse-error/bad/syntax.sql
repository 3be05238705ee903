CREATE TABLE notes (
    id uuid,
    body text,,
);
