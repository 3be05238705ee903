-- Training maxes and one-rep maxes: the values progressions change.

CREATE TABLE lift_maxes (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    lift_id uuid NOT NULL,
    type varchar(20) NOT NULL,
    value numeric(8, 2) NOT NULL,
    effective_date date NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lift_maxes_pkey PRIMARY KEY (id),
    -- Also serves the current-max query (user_id, lift_id, type ORDER BY
    -- effective_date DESC LIMIT 1, a backward scan) and the user_id foreign key.
    CONSTRAINT lift_maxes_user_id_lift_id_type_effective_date_key
        UNIQUE (user_id, lift_id, type, effective_date),
    CONSTRAINT lift_maxes_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT lift_maxes_lift_id_fkey
        FOREIGN KEY (lift_id) REFERENCES lifts (id) ON DELETE RESTRICT,
    CONSTRAINT lift_maxes_type_check CHECK (type IN ('ONE_RM', 'TRAINING_MAX')),
    CONSTRAINT lift_maxes_value_check CHECK (value > 0)
);

CREATE INDEX lift_maxes_lift_id_idx ON lift_maxes (lift_id);

CREATE TRIGGER lift_maxes_set_updated_at
    BEFORE UPDATE ON lift_maxes
    FOR EACH ROW
    EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE lift_maxes IS
    'History of a user''s maxes per lift; the current max is the newest effective_date per (user, lift, type).';
COMMENT ON COLUMN lift_maxes.type IS
    'ONE_RM (tested or estimated one-rep max) or TRAINING_MAX (the working max programs compute from).';
COMMENT ON COLUMN lift_maxes.value IS
    'The max, in the user''s weight_unit, to two decimal places.';
COMMENT ON COLUMN lift_maxes.effective_date IS
    'The day this max takes effect; at most one row per user, lift, type and day.';
