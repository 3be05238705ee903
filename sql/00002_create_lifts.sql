-- The movements a program prescribes (squat, bench press, paused squat, ...).

CREATE TABLE lifts (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name varchar(100) NOT NULL,
    slug varchar(100) NOT NULL,
    is_competition_lift boolean NOT NULL DEFAULT false,
    parent_lift_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lifts_pkey PRIMARY KEY (id),
    CONSTRAINT lifts_slug_key UNIQUE (slug),
    CONSTRAINT lifts_parent_lift_id_fkey
        FOREIGN KEY (parent_lift_id) REFERENCES lifts (id) ON DELETE SET NULL,
    CONSTRAINT lifts_name_check CHECK (name ~ '\S'),
    CONSTRAINT lifts_slug_check CHECK (slug ~ '^[a-z0-9-]+$'),
    CONSTRAINT lifts_parent_lift_id_check CHECK (parent_lift_id <> id)
);

CREATE INDEX lifts_parent_lift_id_idx ON lifts (parent_lift_id);

CREATE TRIGGER lifts_set_updated_at
    BEFORE UPDATE ON lifts
    FOR EACH ROW
    EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE lifts IS
    'A movement that programs prescribe and training maxes are kept for.';
COMMENT ON COLUMN lifts.slug IS
    'Stable identifier used in URLs and program definitions: lowercase letters, digits and hyphens.';
COMMENT ON COLUMN lifts.is_competition_lift IS
    'True for the powerlifting competition lifts (squat, bench press, deadlift).';
COMMENT ON COLUMN lifts.parent_lift_id IS
    'The lift this one is a variation of (paused squat -> squat); set to NULL if the parent is deleted.';
