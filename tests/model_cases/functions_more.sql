CREATE FUNCTION price(amount numeric(10, 2), VARIADIC extras numeric[]) RETURNS numeric
    LANGUAGE sql IMMUTABLE AS $$ SELECT amount $$;
CREATE FUNCTION greet(who text DEFAULT 'you', OUT greeting text)
    LANGUAGE sql AS $$ SELECT 'hello ' || who $$;
CREATE FUNCTION price(amount integer) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT amount $$;
COMMENT ON FUNCTION price(numeric, numeric[]) IS 'With extras.';
DROP FUNCTION price(integer);
CREATE TYPE level AS ENUM ('low', 'high');
CREATE FUNCTION level_of(n integer) RETURNS level LANGUAGE sql AS $$ SELECT 'low'::level $$;
CREATE FUNCTION describe(l level) RETURNS text LANGUAGE sql AS $$ SELECT l::text $$;
ALTER TYPE level RENAME TO tier;
