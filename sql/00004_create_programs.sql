-- Training programs (5/3/1, Starting Strength, Sheiko, ...).

CREATE TABLE programs (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name varchar(100) NOT NULL,
    slug varchar(100) NOT NULL,
    description text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT programs_pkey PRIMARY KEY (id),
    CONSTRAINT programs_slug_key UNIQUE (slug),
    CONSTRAINT programs_name_check CHECK (name ~ '\S'),
    CONSTRAINT programs_slug_check CHECK (slug ~ '^[a-z0-9-]+$')
);

CREATE TRIGGER programs_set_updated_at
    BEFORE UPDATE ON programs
    FOR EACH ROW
    EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE programs IS
    'A training program; its progressions and lookup tables hang off it.';
COMMENT ON COLUMN programs.slug IS
    'Stable identifier used in URLs: lowercase letters, digits and hyphens.';
