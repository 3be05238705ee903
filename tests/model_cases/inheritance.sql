-- INHERITS: the child takes the parent's columns first (merging same names),
-- their NOT NULLs, defaults and CHECKs; keys and indexes are not inherited.
CREATE TABLE vehicles (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    wheels integer NOT NULL DEFAULT 4,
    CONSTRAINT vehicles_pkey PRIMARY KEY (id),
    CONSTRAINT vehicles_wheels_check CHECK (wheels > 0)
);
CREATE TABLE vans (
    capacity integer,
    wheels integer NOT NULL,
    CONSTRAINT vans_pkey PRIMARY KEY (id)
) INHERITS (vehicles);
CREATE TABLE trailers (load integer) INHERITS (vehicles);
ALTER TABLE vehicles ADD COLUMN colour text DEFAULT 'white';
ALTER TABLE vehicles ADD CONSTRAINT vehicles_colour_check CHECK (colour <> '');
ALTER TABLE vehicles ALTER COLUMN colour SET NOT NULL;
ALTER TABLE ONLY vehicles ALTER COLUMN colour SET DEFAULT 'black';
ALTER TABLE trailers NO INHERIT vehicles;
ALTER TABLE vehicles DROP COLUMN colour;
