CREATE FUNCTION new_code() RETURNS text
LANGUAGE sql
AS $$ SELECT md5(random()::text) $$;
