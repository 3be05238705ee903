CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE DOMAIN email_address AS text CHECK (VALUE LIKE '%@%');
CREATE TABLE feelings (
    id uuid NOT NULL,
    mood mood NOT NULL DEFAULT 'ok',
    moods mood[],
    contact email_address,
    CONSTRAINT feelings_pkey PRIMARY KEY (id)
);
ALTER TYPE mood ADD VALUE 'happy' AFTER 'ok';
ALTER TYPE mood ADD VALUE 'angry' BEFORE 'sad';
ALTER TYPE mood RENAME VALUE 'ok' TO 'fine';
ALTER TYPE mood RENAME TO feeling;
ALTER DOMAIN email_address RENAME TO email;
CREATE TYPE colour AS ENUM ('red');
ALTER TABLE accounts ADD COLUMN favourite colour;
DROP TYPE colour CASCADE;
