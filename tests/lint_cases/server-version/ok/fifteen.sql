-- What PostgreSQL 15 has: STORED generated columns, gen_random_uuid(), aliased subqueries,
-- NULLS NOT DISTINCT, MERGE without RETURNING, JSON operators on jsonb.
ALTER TABLE orders ADD COLUMN gross numeric GENERATED ALWAYS AS (total * 1.2) STORED;
ALTER TABLE orders ADD COLUMN data jsonb;
ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE NULLS NOT DISTINCT (email);
INSERT INTO orders (id, account_id, total)
    SELECT gen_random_uuid(), a.id, 1000 FROM (SELECT id FROM accounts) AS a;
MERGE INTO orders o USING accounts a ON o.account_id = a.id
    WHEN MATCHED THEN UPDATE SET data = jsonb_build_object('email', a.email);
