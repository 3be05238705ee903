-- Two parents, LIKE beside INHERITS, NO INHERIT checks, a child's own column kept
-- when the parent drops it, an inherited CHECK renamed everywhere, DROP ... CASCADE.
CREATE TABLE named (
    name text NOT NULL,
    CONSTRAINT named_name_check CHECK (name <> ''),
    CONSTRAINT named_local_check CHECK (length(name) < 100) NO INHERIT
);
CREATE TABLE dated (
    created_at timestamptz DEFAULT now(),
    name text
);
CREATE TABLE people (
    LIKE orders,
    name text NOT NULL DEFAULT 'anonymous',
    CONSTRAINT people_pkey PRIMARY KEY (id)
) INHERITS (named, dated);
ALTER TABLE named RENAME CONSTRAINT named_name_check TO named_name_not_empty_check;
ALTER TABLE named ADD COLUMN nickname text;
ALTER TABLE people ADD COLUMN age integer;
ALTER TABLE named ADD COLUMN age integer;
ALTER TABLE named DROP COLUMN age;
ALTER TABLE named RENAME COLUMN nickname TO alias;
ALTER TABLE dated ALTER COLUMN created_at TYPE timestamptz(0);
