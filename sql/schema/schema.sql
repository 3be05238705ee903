-- The schema the migrations in this folder produce, written by `liftdb dump-schema`.
-- Do not edit it: `make lint` fails when it is out of date with the chain.

SET check_function_bodies = false;

-- Name: daily_lookup_entries_are_valid(jsonb); Type: FUNCTION

CREATE FUNCTION public.daily_lookup_entries_are_valid(entries jsonb) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE
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

-- Name: FUNCTION daily_lookup_entries_are_valid(entries jsonb); Type: COMMENT

COMMENT ON FUNCTION public.daily_lookup_entries_are_valid(entries jsonb) IS 'True when entries is a non-empty object mapping a day identifier to {"percentageModifier": number, "intensityLevel": "HEAVY" | "MEDIUM" | "LIGHT"}.';

-- Name: is_json_integer(jsonb); Type: FUNCTION

CREATE FUNCTION public.is_json_integer(value jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE jsonb_typeof(value)
        WHEN 'number' THEN value::numeric = trunc(value::numeric)
        ELSE false
    END;
$$;

-- Name: FUNCTION is_json_integer(value jsonb); Type: COMMENT

COMMENT ON FUNCTION public.is_json_integer(value jsonb) IS 'True when value is a JSON number without a fractional part (2 or 2.0); false for anything else, NULL included.';

-- Name: set_updated_at(); Type: FUNCTION

CREATE FUNCTION public.set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- Name: FUNCTION set_updated_at(); Type: COMMENT

COMMENT ON FUNCTION public.set_updated_at() IS 'Trigger function: sets updated_at to now() on every UPDATE of a row.';

-- Name: weekly_lookup_entries_are_valid(jsonb); Type: FUNCTION

CREATE FUNCTION public.weekly_lookup_entries_are_valid(entries jsonb) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE
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

-- Name: FUNCTION weekly_lookup_entries_are_valid(entries jsonb); Type: COMMENT

COMMENT ON FUNCTION public.weekly_lookup_entries_are_valid(entries jsonb) IS 'True when entries is a non-empty array of {"weekNumber": int >= 1, "percentages": [number], "reps": [int], "percentageModifier"?: number}, week numbers unique, percentages and reps of equal length.';

-- Name: daily_lookups; Type: TABLE

CREATE TABLE public.daily_lookups (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name character varying(100) NOT NULL,
    entries jsonb NOT NULL,
    program_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT daily_lookups_entries_check CHECK (public.daily_lookup_entries_are_valid(entries)),
    CONSTRAINT daily_lookups_name_check CHECK (((name)::text ~ '\S'::text))
);

-- Name: TABLE daily_lookups; Type: COMMENT

COMMENT ON TABLE public.daily_lookups IS 'Per-day parameters of a program (Bill Starr: heavy, light and medium days).';

-- Name: COLUMN daily_lookups.entries; Type: COMMENT

COMMENT ON COLUMN public.daily_lookups.entries IS 'Non-empty JSON object mapping a day identifier to {"percentageModifier", "intensityLevel"}; shape enforced by daily_lookups_entries_check.';

-- Name: COLUMN daily_lookups.program_id; Type: COMMENT

COMMENT ON COLUMN public.daily_lookups.program_id IS 'The program this lookup belongs to; NULL for a lookup shared by programs. Deleted with its program.';

-- Name: lift_maxes; Type: TABLE

CREATE TABLE public.lift_maxes (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    lift_id uuid NOT NULL,
    type character varying(20) NOT NULL,
    value numeric(8,2) NOT NULL,
    effective_date date NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT lift_maxes_type_check CHECK (((type)::text = ANY ((ARRAY['ONE_RM'::character varying, 'TRAINING_MAX'::character varying])::text[]))),
    CONSTRAINT lift_maxes_value_check CHECK ((value > (0)::numeric))
);

-- Name: TABLE lift_maxes; Type: COMMENT

COMMENT ON TABLE public.lift_maxes IS 'History of a user''s maxes per lift; the current max is the newest effective_date per (user, lift, type).';

-- Name: COLUMN lift_maxes.type; Type: COMMENT

COMMENT ON COLUMN public.lift_maxes.type IS 'ONE_RM (tested or estimated one-rep max) or TRAINING_MAX (the working max programs compute from).';

-- Name: COLUMN lift_maxes.value; Type: COMMENT

COMMENT ON COLUMN public.lift_maxes.value IS 'The max, in the user''s weight_unit, to two decimal places.';

-- Name: COLUMN lift_maxes.effective_date; Type: COMMENT

COMMENT ON COLUMN public.lift_maxes.effective_date IS 'The day this max takes effect; at most one row per user, lift, type and day.';

-- Name: lifts; Type: TABLE

CREATE TABLE public.lifts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name character varying(100) NOT NULL,
    slug character varying(100) NOT NULL,
    is_competition_lift boolean DEFAULT false NOT NULL,
    parent_lift_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT lifts_name_check CHECK (((name)::text ~ '\S'::text)),
    CONSTRAINT lifts_parent_lift_id_check CHECK ((parent_lift_id <> id)),
    CONSTRAINT lifts_slug_check CHECK (((slug)::text ~ '^[a-z0-9-]+$'::text))
);

-- Name: TABLE lifts; Type: COMMENT

COMMENT ON TABLE public.lifts IS 'A movement that programs prescribe and training maxes are kept for.';

-- Name: COLUMN lifts.slug; Type: COMMENT

COMMENT ON COLUMN public.lifts.slug IS 'Stable identifier used in URLs and program definitions: lowercase letters, digits and hyphens.';

-- Name: COLUMN lifts.is_competition_lift; Type: COMMENT

COMMENT ON COLUMN public.lifts.is_competition_lift IS 'True for the powerlifting competition lifts (squat, bench press, deadlift).';

-- Name: COLUMN lifts.parent_lift_id; Type: COMMENT

COMMENT ON COLUMN public.lifts.parent_lift_id IS 'The lift this one is a variation of (paused squat -> squat); set to NULL if the parent is deleted.';

-- Name: program_progressions; Type: TABLE

CREATE TABLE public.program_progressions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    program_id uuid NOT NULL,
    progression_id uuid NOT NULL,
    lift_id uuid,
    priority integer DEFAULT 0 NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    override_increment numeric(8,2),
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

-- Name: TABLE program_progressions; Type: COMMENT

COMMENT ON TABLE public.program_progressions IS 'Links a progression to a program, for one lift or (lift_id NULL) for all of them.';

-- Name: COLUMN program_progressions.lift_id; Type: COMMENT

COMMENT ON COLUMN public.program_progressions.lift_id IS 'The lift this row configures; NULL means program-wide. A lift-specific row overrides the program-wide one.';

-- Name: COLUMN program_progressions.priority; Type: COMMENT

COMMENT ON COLUMN public.program_progressions.priority IS 'Order of evaluation when several progressions apply; lower first.';

-- Name: COLUMN program_progressions.enabled; Type: COMMENT

COMMENT ON COLUMN public.program_progressions.enabled IS 'False switches the progression off without deleting it (e.g. Sheiko: no auto-progression).';

-- Name: COLUMN program_progressions.override_increment; Type: COMMENT

COMMENT ON COLUMN public.program_progressions.override_increment IS 'Replaces the progression''s increment for this lift (5/3/1: +5 lb upper body, +10 lb lower body); NULL keeps it.';

-- Name: programs; Type: TABLE

CREATE TABLE public.programs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name character varying(100) NOT NULL,
    slug character varying(100) NOT NULL,
    description text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT programs_name_check CHECK (((name)::text ~ '\S'::text)),
    CONSTRAINT programs_slug_check CHECK (((slug)::text ~ '^[a-z0-9-]+$'::text))
);

-- Name: TABLE programs; Type: COMMENT

COMMENT ON TABLE public.programs IS 'A training program; its progressions and lookup tables hang off it.';

-- Name: COLUMN programs.slug; Type: COMMENT

COMMENT ON COLUMN public.programs.slug IS 'Stable identifier used in URLs: lowercase letters, digits and hyphens.';

-- Name: progression_logs; Type: TABLE

CREATE TABLE public.progression_logs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    progression_id uuid NOT NULL,
    lift_id uuid NOT NULL,
    previous_value numeric(8,2) NOT NULL,
    new_value numeric(8,2) NOT NULL,
    delta numeric(8,2) NOT NULL,
    trigger_type character varying(50) NOT NULL,
    trigger_context jsonb NOT NULL,
    applied_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT progression_logs_delta_check CHECK ((delta = (new_value - previous_value))),
    CONSTRAINT progression_logs_new_value_check CHECK ((new_value >= (0)::numeric)),
    CONSTRAINT progression_logs_previous_value_check CHECK ((previous_value >= (0)::numeric)),
    CONSTRAINT progression_logs_trigger_context_check CHECK (COALESCE(((jsonb_typeof(trigger_context) = 'object'::text) AND
CASE trigger_type
    WHEN 'AFTER_SESSION'::text THEN ((jsonb_typeof((trigger_context -> 'sessionId'::text)) = 'string'::text) AND ((trigger_context ->> 'sessionId'::text) ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'::text) AND (jsonb_typeof((trigger_context -> 'daySlug'::text)) = 'string'::text) AND public.is_json_integer((trigger_context -> 'weekNumber'::text)))
    WHEN 'AFTER_WEEK'::text THEN (public.is_json_integer((trigger_context -> 'weekNumber'::text)) AND public.is_json_integer((trigger_context -> 'cycleIteration'::text)))
    WHEN 'AFTER_CYCLE'::text THEN (public.is_json_integer((trigger_context -> 'cycleIteration'::text)) AND public.is_json_integer((trigger_context -> 'totalWeeks'::text)))
    ELSE true
END), false)),
    CONSTRAINT progression_logs_trigger_type_check CHECK (((trigger_type)::text = ANY ((ARRAY['AFTER_SESSION'::character varying, 'AFTER_WEEK'::character varying, 'AFTER_CYCLE'::character varying])::text[])))
);

-- Name: TABLE progression_logs; Type: COMMENT

COMMENT ON TABLE public.progression_logs IS 'Append-only audit of every progression applied to a max; its unique key makes applying idempotent.';

-- Name: COLUMN progression_logs.previous_value; Type: COMMENT

COMMENT ON COLUMN public.progression_logs.previous_value IS 'The lift_maxes value before the progression was applied.';

-- Name: COLUMN progression_logs.new_value; Type: COMMENT

COMMENT ON COLUMN public.progression_logs.new_value IS 'The lift_maxes value after the progression was applied.';

-- Name: COLUMN progression_logs.delta; Type: COMMENT

COMMENT ON COLUMN public.progression_logs.delta IS 'The increment applied; always new_value - previous_value.';

-- Name: COLUMN progression_logs.trigger_type; Type: COMMENT

COMMENT ON COLUMN public.progression_logs.trigger_type IS 'What fired the progression: AFTER_SESSION, AFTER_WEEK or AFTER_CYCLE.';

-- Name: COLUMN progression_logs.trigger_context; Type: COMMENT

COMMENT ON COLUMN public.progression_logs.trigger_context IS 'The trigger event as a JSON object; its required keys depend on trigger_type (see progression_logs_trigger_context_check).';

-- Name: COLUMN progression_logs.applied_at; Type: COMMENT

COMMENT ON COLUMN public.progression_logs.applied_at IS 'The trigger event''s time, supplied by the application (no default). A retry of the same event carries the same value, which is what makes it a duplicate under progression_logs_idempotency_key.';

-- Name: COLUMN progression_logs.created_at; Type: COMMENT

COMMENT ON COLUMN public.progression_logs.created_at IS 'When this row was written; unlike applied_at, a wall-clock time.';

-- Name: progressions; Type: TABLE

CREATE TABLE public.progressions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name character varying(100) NOT NULL,
    type character varying(50) NOT NULL,
    parameters jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT progressions_name_check CHECK (((name)::text ~ '\S'::text)),
    CONSTRAINT progressions_parameters_check CHECK ((jsonb_typeof(parameters) = 'object'::text)),
    CONSTRAINT progressions_type_check CHECK (((type)::text = ANY ((ARRAY['LINEAR_PROGRESSION'::character varying, 'CYCLE_PROGRESSION'::character varying])::text[])))
);

-- Name: TABLE progressions; Type: COMMENT

COMMENT ON TABLE public.progressions IS 'A rule that raises a max: linear (every trigger) or cycle (at the end of each cycle).';

-- Name: COLUMN progressions.type; Type: COMMENT

COMMENT ON COLUMN public.progressions.type IS 'LINEAR_PROGRESSION or CYCLE_PROGRESSION; decides how parameters are read.';

-- Name: COLUMN progressions.parameters; Type: COMMENT

COMMENT ON COLUMN public.progressions.parameters IS 'Rule settings as a JSON object, e.g. {"increment": 5.0, "maxType": "TRAINING_MAX", "triggerType": "AFTER_SESSION"}.';

-- Name: users; Type: TABLE

CREATE TABLE public.users (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    email text NOT NULL,
    name character varying(100) NOT NULL,
    weight_unit character varying(2) DEFAULT 'lb'::character varying NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT users_email_check CHECK ((POSITION(('@'::text) IN (email)) > 1)),
    CONSTRAINT users_name_check CHECK (((name)::text ~ '\S'::text)),
    CONSTRAINT users_weight_unit_check CHECK (((weight_unit)::text = ANY ((ARRAY['lb'::character varying, 'kg'::character varying])::text[])))
);

-- Name: TABLE users; Type: COMMENT

COMMENT ON TABLE public.users IS 'A person who trains; owns training maxes and the log of progressions applied to them.';

-- Name: COLUMN users.email; Type: COMMENT

COMMENT ON COLUMN public.users.email IS 'Login address; unique regardless of case (users_email_key is on lower(email)).';

-- Name: COLUMN users.weight_unit; Type: COMMENT

COMMENT ON COLUMN public.users.weight_unit IS 'Unit the user enters and reads weights in: lb or kg.';

-- Name: weekly_lookups; Type: TABLE

CREATE TABLE public.weekly_lookups (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name character varying(100) NOT NULL,
    entries jsonb NOT NULL,
    program_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT weekly_lookups_entries_check CHECK (public.weekly_lookup_entries_are_valid(entries)),
    CONSTRAINT weekly_lookups_name_check CHECK (((name)::text ~ '\S'::text))
);

-- Name: TABLE weekly_lookups; Type: COMMENT

COMMENT ON TABLE public.weekly_lookups IS 'Per-week parameters of a program (5/3/1: week 1 at 65/75/85%, week 2 at 70/80/90%, ...).';

-- Name: COLUMN weekly_lookups.entries; Type: COMMENT

COMMENT ON COLUMN public.weekly_lookups.entries IS 'Non-empty JSON array of {"weekNumber", "percentages", "reps", "percentageModifier"?}; shape enforced by weekly_lookups_entries_check.';

-- Name: COLUMN weekly_lookups.program_id; Type: COMMENT

COMMENT ON COLUMN public.weekly_lookups.program_id IS 'The program this lookup belongs to; NULL for a lookup shared by programs. Deleted with its program.';

-- Name: daily_lookups daily_lookups_pkey; Type: CONSTRAINT

ALTER TABLE ONLY public.daily_lookups
    ADD CONSTRAINT daily_lookups_pkey PRIMARY KEY (id);

-- Name: lift_maxes lift_maxes_pkey; Type: CONSTRAINT

ALTER TABLE ONLY public.lift_maxes
    ADD CONSTRAINT lift_maxes_pkey PRIMARY KEY (id);

-- Name: lift_maxes lift_maxes_user_id_lift_id_type_effective_date_key; Type: CONSTRAINT

ALTER TABLE ONLY public.lift_maxes
    ADD CONSTRAINT lift_maxes_user_id_lift_id_type_effective_date_key UNIQUE (user_id, lift_id, type, effective_date);

-- Name: lifts lifts_pkey; Type: CONSTRAINT

ALTER TABLE ONLY public.lifts
    ADD CONSTRAINT lifts_pkey PRIMARY KEY (id);

-- Name: lifts lifts_slug_key; Type: CONSTRAINT

ALTER TABLE ONLY public.lifts
    ADD CONSTRAINT lifts_slug_key UNIQUE (slug);

-- Name: program_progressions program_progressions_pkey; Type: CONSTRAINT

ALTER TABLE ONLY public.program_progressions
    ADD CONSTRAINT program_progressions_pkey PRIMARY KEY (id);

-- Name: program_progressions program_progressions_program_id_progression_id_lift_id_key; Type: CONSTRAINT

ALTER TABLE ONLY public.program_progressions
    ADD CONSTRAINT program_progressions_program_id_progression_id_lift_id_key UNIQUE NULLS NOT DISTINCT (program_id, progression_id, lift_id);

-- Name: programs programs_pkey; Type: CONSTRAINT

ALTER TABLE ONLY public.programs
    ADD CONSTRAINT programs_pkey PRIMARY KEY (id);

-- Name: programs programs_slug_key; Type: CONSTRAINT

ALTER TABLE ONLY public.programs
    ADD CONSTRAINT programs_slug_key UNIQUE (slug);

-- Name: progression_logs progression_logs_idempotency_key; Type: CONSTRAINT

ALTER TABLE ONLY public.progression_logs
    ADD CONSTRAINT progression_logs_idempotency_key UNIQUE (user_id, progression_id, lift_id, trigger_type, applied_at);

-- Name: progression_logs progression_logs_pkey; Type: CONSTRAINT

ALTER TABLE ONLY public.progression_logs
    ADD CONSTRAINT progression_logs_pkey PRIMARY KEY (id);

-- Name: progressions progressions_pkey; Type: CONSTRAINT

ALTER TABLE ONLY public.progressions
    ADD CONSTRAINT progressions_pkey PRIMARY KEY (id);

-- Name: users users_pkey; Type: CONSTRAINT

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

-- Name: weekly_lookups weekly_lookups_pkey; Type: CONSTRAINT

ALTER TABLE ONLY public.weekly_lookups
    ADD CONSTRAINT weekly_lookups_pkey PRIMARY KEY (id);

-- Name: daily_lookups_name_idx; Type: INDEX

CREATE INDEX daily_lookups_name_idx ON public.daily_lookups USING btree (name);

-- Name: daily_lookups_program_id_idx; Type: INDEX

CREATE INDEX daily_lookups_program_id_idx ON public.daily_lookups USING btree (program_id);

-- Name: lift_maxes_lift_id_idx; Type: INDEX

CREATE INDEX lift_maxes_lift_id_idx ON public.lift_maxes USING btree (lift_id);

-- Name: lifts_parent_lift_id_idx; Type: INDEX

CREATE INDEX lifts_parent_lift_id_idx ON public.lifts USING btree (parent_lift_id);

-- Name: program_progressions_lift_id_idx; Type: INDEX

CREATE INDEX program_progressions_lift_id_idx ON public.program_progressions USING btree (lift_id);

-- Name: program_progressions_program_id_lift_id_idx; Type: INDEX

CREATE INDEX program_progressions_program_id_lift_id_idx ON public.program_progressions USING btree (program_id, lift_id);

-- Name: program_progressions_progression_id_idx; Type: INDEX

CREATE INDEX program_progressions_progression_id_idx ON public.program_progressions USING btree (progression_id);

-- Name: progression_logs_applied_at_idx; Type: INDEX

CREATE INDEX progression_logs_applied_at_idx ON public.progression_logs USING btree (applied_at);

-- Name: progression_logs_lift_id_idx; Type: INDEX

CREATE INDEX progression_logs_lift_id_idx ON public.progression_logs USING btree (lift_id);

-- Name: progression_logs_progression_id_idx; Type: INDEX

CREATE INDEX progression_logs_progression_id_idx ON public.progression_logs USING btree (progression_id);

-- Name: progression_logs_user_id_applied_at_idx; Type: INDEX

CREATE INDEX progression_logs_user_id_applied_at_idx ON public.progression_logs USING btree (user_id, applied_at DESC);

-- Name: progression_logs_user_id_lift_id_applied_at_idx; Type: INDEX

CREATE INDEX progression_logs_user_id_lift_id_applied_at_idx ON public.progression_logs USING btree (user_id, lift_id, applied_at DESC);

-- Name: progressions_type_idx; Type: INDEX

CREATE INDEX progressions_type_idx ON public.progressions USING btree (type);

-- Name: users_email_key; Type: INDEX

CREATE UNIQUE INDEX users_email_key ON public.users USING btree (lower(email));

-- Name: weekly_lookups_name_idx; Type: INDEX

CREATE INDEX weekly_lookups_name_idx ON public.weekly_lookups USING btree (name);

-- Name: weekly_lookups_program_id_idx; Type: INDEX

CREATE INDEX weekly_lookups_program_id_idx ON public.weekly_lookups USING btree (program_id);

-- Name: daily_lookups daily_lookups_set_updated_at; Type: TRIGGER

CREATE TRIGGER daily_lookups_set_updated_at BEFORE UPDATE ON public.daily_lookups FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Name: lift_maxes lift_maxes_set_updated_at; Type: TRIGGER

CREATE TRIGGER lift_maxes_set_updated_at BEFORE UPDATE ON public.lift_maxes FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Name: lifts lifts_set_updated_at; Type: TRIGGER

CREATE TRIGGER lifts_set_updated_at BEFORE UPDATE ON public.lifts FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Name: program_progressions program_progressions_set_updated_at; Type: TRIGGER

CREATE TRIGGER program_progressions_set_updated_at BEFORE UPDATE ON public.program_progressions FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Name: programs programs_set_updated_at; Type: TRIGGER

CREATE TRIGGER programs_set_updated_at BEFORE UPDATE ON public.programs FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Name: progressions progressions_set_updated_at; Type: TRIGGER

CREATE TRIGGER progressions_set_updated_at BEFORE UPDATE ON public.progressions FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Name: users users_set_updated_at; Type: TRIGGER

CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Name: weekly_lookups weekly_lookups_set_updated_at; Type: TRIGGER

CREATE TRIGGER weekly_lookups_set_updated_at BEFORE UPDATE ON public.weekly_lookups FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Name: daily_lookups daily_lookups_program_id_fkey; Type: FK CONSTRAINT

ALTER TABLE ONLY public.daily_lookups
    ADD CONSTRAINT daily_lookups_program_id_fkey FOREIGN KEY (program_id) REFERENCES public.programs(id) ON DELETE CASCADE;

-- Name: lift_maxes lift_maxes_lift_id_fkey; Type: FK CONSTRAINT

ALTER TABLE ONLY public.lift_maxes
    ADD CONSTRAINT lift_maxes_lift_id_fkey FOREIGN KEY (lift_id) REFERENCES public.lifts(id) ON DELETE RESTRICT;

-- Name: lift_maxes lift_maxes_user_id_fkey; Type: FK CONSTRAINT

ALTER TABLE ONLY public.lift_maxes
    ADD CONSTRAINT lift_maxes_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

-- Name: lifts lifts_parent_lift_id_fkey; Type: FK CONSTRAINT

ALTER TABLE ONLY public.lifts
    ADD CONSTRAINT lifts_parent_lift_id_fkey FOREIGN KEY (parent_lift_id) REFERENCES public.lifts(id) ON DELETE SET NULL;

-- Name: program_progressions program_progressions_lift_id_fkey; Type: FK CONSTRAINT

ALTER TABLE ONLY public.program_progressions
    ADD CONSTRAINT program_progressions_lift_id_fkey FOREIGN KEY (lift_id) REFERENCES public.lifts(id) ON DELETE CASCADE;

-- Name: program_progressions program_progressions_program_id_fkey; Type: FK CONSTRAINT

ALTER TABLE ONLY public.program_progressions
    ADD CONSTRAINT program_progressions_program_id_fkey FOREIGN KEY (program_id) REFERENCES public.programs(id) ON DELETE CASCADE;

-- Name: program_progressions program_progressions_progression_id_fkey; Type: FK CONSTRAINT

ALTER TABLE ONLY public.program_progressions
    ADD CONSTRAINT program_progressions_progression_id_fkey FOREIGN KEY (progression_id) REFERENCES public.progressions(id) ON DELETE CASCADE;

-- Name: progression_logs progression_logs_lift_id_fkey; Type: FK CONSTRAINT

ALTER TABLE ONLY public.progression_logs
    ADD CONSTRAINT progression_logs_lift_id_fkey FOREIGN KEY (lift_id) REFERENCES public.lifts(id) ON DELETE RESTRICT;

-- Name: progression_logs progression_logs_progression_id_fkey; Type: FK CONSTRAINT

ALTER TABLE ONLY public.progression_logs
    ADD CONSTRAINT progression_logs_progression_id_fkey FOREIGN KEY (progression_id) REFERENCES public.progressions(id) ON DELETE RESTRICT;

-- Name: progression_logs progression_logs_user_id_fkey; Type: FK CONSTRAINT

ALTER TABLE ONLY public.progression_logs
    ADD CONSTRAINT progression_logs_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

-- Name: weekly_lookups weekly_lookups_program_id_fkey; Type: FK CONSTRAINT

ALTER TABLE ONLY public.weekly_lookups
    ADD CONSTRAINT weekly_lookups_program_id_fkey FOREIGN KEY (program_id) REFERENCES public.programs(id) ON DELETE CASCADE;
