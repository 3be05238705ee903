-- Ticket 002: the audit trail of every progression applied, and the guard
-- that makes applying one idempotent.
--
-- Deviations from the ticket (see README, "Deviations from the tickets"):
-- * The idempotency key includes lift_id. One event can apply one progression
--   to several lifts (5/3/1's end of cycle: bench, press, squat, deadlift);
--   without lift_id the second lift's row would be rejected as a duplicate.
-- * applied_at is the trigger event's time, supplied by the application, and
--   has no now() default: a retry at a later wall-clock time must carry the
--   same applied_at, or the key would not recognise it as a duplicate.
-- * progression_id and lift_id are ON DELETE RESTRICT, not CASCADE: deleting a
--   rule or a lift must not erase the audit rows that point at it. Deleting a
--   user erases their history (CASCADE).
-- * TIMESTAMP is timestamptz: the log records instants.
-- * Every foreign key is served by an index, so deleting a parent row does not
--   scan this table.
-- * trigger_context is checked against the README's shapes, per trigger_type:
--   sessionId a uuid, weekNumber, cycleIteration and totalWeeks integers.

-- The trigger_context shapes need "an integer" in JSON, which jsonb_typeof()
-- alone cannot say (it calls 2.5 a number too).
CREATE FUNCTION is_json_integer(value jsonb)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE jsonb_typeof(value)
        WHEN 'number' THEN value::numeric = trunc(value::numeric)
        ELSE false
    END;
$$;

COMMENT ON FUNCTION is_json_integer(jsonb) IS
    'True when value is a JSON number without a fractional part (2 or 2.0); false for anything else, NULL included.';

CREATE TABLE progression_logs (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    progression_id uuid NOT NULL,
    lift_id uuid NOT NULL,
    previous_value numeric(8, 2) NOT NULL,
    new_value numeric(8, 2) NOT NULL,
    delta numeric(8, 2) NOT NULL,
    trigger_type varchar(50) NOT NULL,
    trigger_context jsonb NOT NULL,
    applied_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT progression_logs_pkey PRIMARY KEY (id),
    -- Also serves the idempotency probe and the user_id foreign key.
    CONSTRAINT progression_logs_idempotency_key
        UNIQUE (user_id, progression_id, lift_id, trigger_type, applied_at),
    CONSTRAINT progression_logs_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT progression_logs_progression_id_fkey
        FOREIGN KEY (progression_id) REFERENCES progressions (id) ON DELETE RESTRICT,
    CONSTRAINT progression_logs_lift_id_fkey
        FOREIGN KEY (lift_id) REFERENCES lifts (id) ON DELETE RESTRICT,
    CONSTRAINT progression_logs_previous_value_check CHECK (previous_value >= 0),
    CONSTRAINT progression_logs_new_value_check CHECK (new_value >= 0),
    CONSTRAINT progression_logs_delta_check CHECK (delta = new_value - previous_value),
    CONSTRAINT progression_logs_trigger_type_check
        CHECK (trigger_type IN ('AFTER_SESSION', 'AFTER_WEEK', 'AFTER_CYCLE')),
    -- coalesce: a missing key makes jsonb_typeof() NULL, and a NULL check passes.
    -- An unknown trigger_type passes here: progression_logs_trigger_type_check
    -- refuses it, so the error names the constraint about the actual mistake.
    CONSTRAINT progression_logs_trigger_context_check CHECK (
        coalesce(
            jsonb_typeof(trigger_context) = 'object'
            AND CASE trigger_type
                WHEN 'AFTER_SESSION' THEN
                    jsonb_typeof(trigger_context -> 'sessionId') = 'string'
                    AND (trigger_context ->> 'sessionId')
                        ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                    AND jsonb_typeof(trigger_context -> 'daySlug') = 'string'
                    AND is_json_integer(trigger_context -> 'weekNumber')
                WHEN 'AFTER_WEEK' THEN
                    is_json_integer(trigger_context -> 'weekNumber')
                    AND is_json_integer(trigger_context -> 'cycleIteration')
                WHEN 'AFTER_CYCLE' THEN
                    is_json_integer(trigger_context -> 'cycleIteration')
                    AND is_json_integer(trigger_context -> 'totalWeeks')
                ELSE true
            END,
            false
        )
    )
);

-- History of one lift, newest first: WHERE user_id AND lift_id ORDER BY applied_at DESC.
CREATE INDEX progression_logs_user_id_lift_id_applied_at_idx
    ON progression_logs (user_id, lift_id, applied_at DESC);

-- History of all lifts, newest first, optionally within a date range.
CREATE INDEX progression_logs_user_id_applied_at_idx
    ON progression_logs (user_id, applied_at DESC);

-- The ticket's date-range index, for range queries across users (audits, support).
CREATE INDEX progression_logs_applied_at_idx ON progression_logs (applied_at);

CREATE INDEX progression_logs_progression_id_idx ON progression_logs (progression_id);

CREATE INDEX progression_logs_lift_id_idx ON progression_logs (lift_id);

COMMENT ON TABLE progression_logs IS
    'Append-only audit of every progression applied to a max; its unique key makes applying idempotent.';
COMMENT ON COLUMN progression_logs.previous_value IS
    'The lift_maxes value before the progression was applied.';
COMMENT ON COLUMN progression_logs.new_value IS
    'The lift_maxes value after the progression was applied.';
COMMENT ON COLUMN progression_logs.delta IS
    'The increment applied; always new_value - previous_value.';
COMMENT ON COLUMN progression_logs.trigger_type IS
    'What fired the progression: AFTER_SESSION, AFTER_WEEK or AFTER_CYCLE.';
COMMENT ON COLUMN progression_logs.trigger_context IS
    'The trigger event as a JSON object; its required keys depend on trigger_type (see progression_logs_trigger_context_check).';
COMMENT ON COLUMN progression_logs.applied_at IS
    'The trigger event''s time, supplied by the application (no default). A retry of the same event carries the same value, which is what makes it a duplicate under progression_logs_idempotency_key.';
COMMENT ON COLUMN progression_logs.created_at IS
    'When this row was written; unlike applied_at, a wall-clock time.';
