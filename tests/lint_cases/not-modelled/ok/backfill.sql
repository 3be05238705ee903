-- A DO block that only moves rows changes no schema; CREATE TABLE AS of plain columns
-- and casts is modelled.
DO $$
BEGIN
    UPDATE accounts SET nickname = email WHERE nickname IS NULL;
END
$$;
CREATE TABLE copies AS SELECT id, (email || '!')::text AS shout FROM accounts;
CREATE FUNCTION refresh_nicknames() RETURNS void LANGUAGE sql AS $$
    UPDATE accounts SET nickname = lower(email) WHERE nickname IS NULL
$$;
SELECT refresh_nicknames();
