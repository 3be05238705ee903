-- Ticket 003: which progressions a program uses, program-wide or per lift.
--
-- Deviations from the ticket (see README, "Deviations from the tickets"):
-- * The unique key is NULLS NOT DISTINCT: with a plain UNIQUE, NULL lift_id
--   values are distinct and a program could hold the same program-wide
--   progression twice.
-- * No separate index on program_id: the unique key and the
--   (program_id, lift_id) index both lead with it and serve that lookup; a
--   third index would only cost writes.
-- * created_at and updated_at are timestamptz.

CREATE TABLE program_progressions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    program_id uuid NOT NULL,
    progression_id uuid NOT NULL,
    lift_id uuid,
    priority integer NOT NULL DEFAULT 0,
    enabled boolean NOT NULL DEFAULT true,
    override_increment numeric(8, 2),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT program_progressions_pkey PRIMARY KEY (id),
    CONSTRAINT program_progressions_program_id_progression_id_lift_id_key
        UNIQUE NULLS NOT DISTINCT (program_id, progression_id, lift_id),
    CONSTRAINT program_progressions_program_id_fkey
        FOREIGN KEY (program_id) REFERENCES programs (id) ON DELETE CASCADE,
    CONSTRAINT program_progressions_progression_id_fkey
        FOREIGN KEY (progression_id) REFERENCES progressions (id) ON DELETE CASCADE,
    CONSTRAINT program_progressions_lift_id_fkey
        FOREIGN KEY (lift_id) REFERENCES lifts (id) ON DELETE CASCADE
);

-- A program's progressions for one lift: WHERE program_id AND (lift_id = $2 OR lift_id IS NULL).
CREATE INDEX program_progressions_program_id_lift_id_idx
    ON program_progressions (program_id, lift_id);

CREATE INDEX program_progressions_progression_id_idx ON program_progressions (progression_id);

CREATE INDEX program_progressions_lift_id_idx ON program_progressions (lift_id);

CREATE TRIGGER program_progressions_set_updated_at
    BEFORE UPDATE ON program_progressions
    FOR EACH ROW
    EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE program_progressions IS
    'Links a progression to a program, for one lift or (lift_id NULL) for all of them.';
COMMENT ON COLUMN program_progressions.lift_id IS
    'The lift this row configures; NULL means program-wide. A lift-specific row overrides the program-wide one.';
COMMENT ON COLUMN program_progressions.priority IS
    'Order of evaluation when several progressions apply; lower first.';
COMMENT ON COLUMN program_progressions.enabled IS
    'False switches the progression off without deleting it (e.g. Sheiko: no auto-progression).';
COMMENT ON COLUMN program_progressions.override_increment IS
    'Replaces the progression''s increment for this lift (5/3/1: +5 lb upper body, +10 lb lower body); NULL keeps it.';
