-- A DO block that only moves rows changes no schema; CREATE TABLE AS of plain columns
-- and casts is modelled.
DO $$
BEGIN
    UPDATE accounts SET nickname = email WHERE nickname IS NULL;
END
$$;
CREATE TABLE copies AS SELECT id, (email || '!')::text AS shout FROM accounts;
