CREATE FUNCTION new_code() RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$ SELECT 'none'::text $$;
