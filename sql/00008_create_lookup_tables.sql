-- Ticket 004: per-week and per-day parameters of a program.
--
-- The entries' shapes are enforced by CHECK constraints. A CHECK may not hold
-- a subquery, so each shape is a small IMMUTABLE function that returns false
-- (never raises) for anything malformed, so a bad row fails with SQLSTATE
-- 23514 naming the constraint.
--
-- Deviations from the ticket (see README, "Deviations from the tickets"):
-- * name is varchar(100) and non-empty; entries is NOT NULL; timestamps are
--   timestamptz.

CREATE FUNCTION weekly_lookup_entries_are_valid(entries jsonb)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
AS $$
DECLARE
    entry jsonb;
    week jsonb;
    seen_weeks numeric[] := '{}';
    item jsonb;
BEGIN
    IF jsonb_typeof(entries) IS DISTINCT FROM 'array' THEN
        RETURN false;
    END IF;
    IF jsonb_array_length(entries) = 0 THEN
        RETURN false;
    END IF;
    FOR entry IN SELECT value FROM jsonb_array_elements(entries) LOOP
        IF jsonb_typeof(entry) <> 'object' THEN
            RETURN false;
        END IF;
        week := entry -> 'weekNumber';
        IF jsonb_typeof(week) IS DISTINCT FROM 'number' THEN
            RETURN false;
        END IF;
        IF week::numeric < 1 OR week::numeric <> trunc(week::numeric) THEN
            RETURN false;
        END IF;
        IF week::numeric = ANY (seen_weeks) THEN
            RETURN false;
        END IF;
        seen_weeks := seen_weeks || week::numeric;
        IF jsonb_typeof(entry -> 'percentages') IS DISTINCT FROM 'array'
            OR jsonb_typeof(entry -> 'reps') IS DISTINCT FROM 'array' THEN
            RETURN false;
        END IF;
        IF jsonb_array_length(entry -> 'percentages') <> jsonb_array_length(entry -> 'reps') THEN
            RETURN false;
        END IF;
        FOR item IN SELECT value FROM jsonb_array_elements(entry -> 'percentages') LOOP
            IF jsonb_typeof(item) <> 'number' THEN
                RETURN false;
            END IF;
        END LOOP;
        FOR item IN SELECT value FROM jsonb_array_elements(entry -> 'reps') LOOP
            IF jsonb_typeof(item) <> 'number' THEN
                RETURN false;
            END IF;
            IF item::numeric <> trunc(item::numeric) THEN
                RETURN false;
            END IF;
        END LOOP;
        IF entry ? 'percentageModifier'
            AND jsonb_typeof(entry -> 'percentageModifier') <> 'number' THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END;
$$;

COMMENT ON FUNCTION weekly_lookup_entries_are_valid(jsonb) IS
    'True when entries is a non-empty array of {"weekNumber": int >= 1, "percentages": [number], "reps": [int], "percentageModifier"?: number}, week numbers unique, percentages and reps of equal length.';

CREATE FUNCTION daily_lookup_entries_are_valid(entries jsonb)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
AS $$
DECLARE
    day_identifier text;
    entry jsonb;
BEGIN
    IF jsonb_typeof(entries) IS DISTINCT FROM 'object' THEN
        RETURN false;
    END IF;
    IF entries = '{}'::jsonb THEN
        RETURN false;
    END IF;
    FOR day_identifier, entry IN SELECT key, value FROM jsonb_each(entries) LOOP
        IF day_identifier !~ '\S' THEN
            RETURN false;
        END IF;
        IF jsonb_typeof(entry) <> 'object' THEN
            RETURN false;
        END IF;
        IF jsonb_typeof(entry -> 'percentageModifier') IS DISTINCT FROM 'number' THEN
            RETURN false;
        END IF;
        -- coalesce: a missing intensityLevel makes IN yield NULL, not false.
        IF NOT coalesce(entry -> 'intensityLevel' IN ('"HEAVY"', '"MEDIUM"', '"LIGHT"'), false) THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END;
$$;

COMMENT ON FUNCTION daily_lookup_entries_are_valid(jsonb) IS
    'True when entries is a non-empty object mapping a day identifier to {"percentageModifier": number, "intensityLevel": "HEAVY" | "MEDIUM" | "LIGHT"}.';

CREATE TABLE weekly_lookups (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name varchar(100) NOT NULL,
    entries jsonb NOT NULL,
    program_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT weekly_lookups_pkey PRIMARY KEY (id),
    CONSTRAINT weekly_lookups_program_id_fkey
        FOREIGN KEY (program_id) REFERENCES programs (id) ON DELETE CASCADE,
    CONSTRAINT weekly_lookups_name_check CHECK (name ~ '\S'),
    CONSTRAINT weekly_lookups_entries_check CHECK (weekly_lookup_entries_are_valid(entries))
);

CREATE INDEX weekly_lookups_program_id_idx ON weekly_lookups (program_id);

CREATE INDEX weekly_lookups_name_idx ON weekly_lookups (name);

CREATE TRIGGER weekly_lookups_set_updated_at
    BEFORE UPDATE ON weekly_lookups
    FOR EACH ROW
    EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE weekly_lookups IS
    'Per-week parameters of a program (5/3/1: week 1 at 65/75/85%, week 2 at 70/80/90%, ...).';
COMMENT ON COLUMN weekly_lookups.entries IS
    'Non-empty JSON array of {"weekNumber", "percentages", "reps", "percentageModifier"?}; shape enforced by weekly_lookups_entries_check.';
COMMENT ON COLUMN weekly_lookups.program_id IS
    'The program this lookup belongs to; NULL for a lookup shared by programs. Deleted with its program.';

CREATE TABLE daily_lookups (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name varchar(100) NOT NULL,
    entries jsonb NOT NULL,
    program_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT daily_lookups_pkey PRIMARY KEY (id),
    CONSTRAINT daily_lookups_program_id_fkey
        FOREIGN KEY (program_id) REFERENCES programs (id) ON DELETE CASCADE,
    CONSTRAINT daily_lookups_name_check CHECK (name ~ '\S'),
    CONSTRAINT daily_lookups_entries_check CHECK (daily_lookup_entries_are_valid(entries))
);

CREATE INDEX daily_lookups_program_id_idx ON daily_lookups (program_id);

CREATE INDEX daily_lookups_name_idx ON daily_lookups (name);

CREATE TRIGGER daily_lookups_set_updated_at
    BEFORE UPDATE ON daily_lookups
    FOR EACH ROW
    EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE daily_lookups IS
    'Per-day parameters of a program (Bill Starr: heavy, light and medium days).';
COMMENT ON COLUMN daily_lookups.entries IS
    'Non-empty JSON object mapping a day identifier to {"percentageModifier", "intensityLevel"}; shape enforced by daily_lookups_entries_check.';
COMMENT ON COLUMN daily_lookups.program_id IS
    'The program this lookup belongs to; NULL for a lookup shared by programs. Deleted with its program.';
