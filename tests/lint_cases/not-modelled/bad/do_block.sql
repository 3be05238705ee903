-- A DO block that changes the schema: the lint cannot see what it does.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE accounts ADD COLUMN referrer uuid';
END
$$;
CREATE TABLE copies AS SELECT id, email || '!' AS shout FROM accounts;
CREATE FUNCTION add_month_partition() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'CREATE TABLE orders_next (LIKE orders)';
END
$$;
SELECT add_month_partition();
