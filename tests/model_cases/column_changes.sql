ALTER TABLE accounts ALTER COLUMN email TYPE varchar(200);
ALTER TABLE accounts ALTER COLUMN nickname SET DATA TYPE varchar(40) USING left(nickname, 40);
ALTER TABLE orders ALTER COLUMN total TYPE numeric(12, 2), ALTER COLUMN total SET DEFAULT 0;
ALTER TABLE accounts ALTER COLUMN created_at DROP DEFAULT, ALTER COLUMN created_at DROP NOT NULL;
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS email text;
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS age integer CHECK (age > 0) DEFAULT 18;
ALTER TABLE IF EXISTS no_such_table ADD COLUMN x integer;
ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email),
    ADD CONSTRAINT accounts_age_check1 CHECK (age < 200) NOT VALID;
ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total > 0) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_total_check;
ALTER TABLE orders ALTER CONSTRAINT orders_account_id_fkey DEFERRABLE;
ALTER TABLE orders ADD CONSTRAINT orders_account_id_total_key UNIQUE NULLS NOT DISTINCT (account_id, total);
COMMENT ON CONSTRAINT orders_total_check ON orders IS 'Never free.';
COMMENT ON INDEX orders_account_id_idx IS 'Who ordered.';
COMMENT ON COLUMN accounts.age IS 'In years.';
COMMENT ON TABLE orders IS NULL;
