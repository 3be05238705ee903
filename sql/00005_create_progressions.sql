-- Progression rules (ticket 001 of the same sprint): how a max grows.

CREATE TABLE progressions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name varchar(100) NOT NULL,
    type varchar(50) NOT NULL,
    parameters jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT progressions_pkey PRIMARY KEY (id),
    CONSTRAINT progressions_name_check CHECK (name ~ '\S'),
    CONSTRAINT progressions_type_check
        CHECK (type IN ('LINEAR_PROGRESSION', 'CYCLE_PROGRESSION')),
    CONSTRAINT progressions_parameters_check CHECK (jsonb_typeof(parameters) = 'object')
);

CREATE INDEX progressions_type_idx ON progressions (type);

CREATE TRIGGER progressions_set_updated_at
    BEFORE UPDATE ON progressions
    FOR EACH ROW
    EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE progressions IS
    'A rule that raises a max: linear (every trigger) or cycle (at the end of each cycle).';
COMMENT ON COLUMN progressions.type IS
    'LINEAR_PROGRESSION or CYCLE_PROGRESSION; decides how parameters are read.';
COMMENT ON COLUMN progressions.parameters IS
    'Rule settings as a JSON object, e.g. {"increment": 5.0, "maxType": "TRAINING_MAX", "triggerType": "AFTER_SESSION"}.';
