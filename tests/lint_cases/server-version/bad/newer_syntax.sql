-- The chain must run on PostgreSQL 15 (no pyproject.toml above a case: the default).
ALTER TABLE orders ADD COLUMN gross numeric GENERATED ALWAYS AS (total * 1.2) VIRTUAL;
ALTER TABLE accounts ALTER COLUMN id SET DEFAULT uuidv7();
INSERT INTO orders (id, account_id, total)
    SELECT gen_random_uuid(), id, 1_000 FROM (SELECT id FROM accounts);
