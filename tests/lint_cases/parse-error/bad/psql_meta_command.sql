CREATE TABLE notes (
    id uuid PRIMARY KEY
);
\copy notes from notes.csv csv
