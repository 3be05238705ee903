CREATE SCHEMA util;
CREATE FUNCTION util.clamp(value integer, low integer DEFAULT 0) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT greatest(value, low) $$;
CREATE FUNCTION util.clamp(value numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE AS $$ SELECT greatest(value, 0) $$;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE PROCEDURE tidy(days integer) LANGUAGE sql AS $$ SELECT 1 $$;
CREATE FUNCTION pairs(OUT a integer, INOUT b text) LANGUAGE sql AS $$ SELECT 1, 'x' $$;
CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NEW;
END
$$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TRIGGER accounts_touch BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION touch();
CREATE OR REPLACE TRIGGER orders_touch BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION touch();
DROP TRIGGER accounts_touch ON accounts;
COMMENT ON FUNCTION util.clamp(numeric) IS 'Never below zero.';
COMMENT ON PROCEDURE tidy(integer) IS 'Tidies.';
ALTER FUNCTION util.clamp(numeric) SET SCHEMA public;
ALTER PROCEDURE tidy(integer) RENAME TO tidy_up;
DROP FUNCTION util.clamp;
