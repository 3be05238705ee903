-- A DO block that changes the schema: the lint cannot see what it does.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE accounts ADD COLUMN referrer uuid';
END
$$;
CREATE TABLE copies AS SELECT id, email || '!' AS shout FROM accounts;
