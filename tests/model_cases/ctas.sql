-- CREATE TABLE AS and SELECT INTO make tables too: plain columns, nullable,
-- typed from what they select.
CREATE TABLE account_emails AS SELECT id, email, created_at FROM accounts;
CREATE TABLE order_totals (order_id, amount) AS
    SELECT o.id, o.total FROM orders o WITH NO DATA;
SELECT a.*, 1 AS one, 'x'::varchar(3) AS code, now() AS copied_at, true AS flag,
       count(*) OVER () AS n
    INTO account_copies FROM accounts a;
CREATE INDEX account_emails_email_idx ON account_emails (email);
