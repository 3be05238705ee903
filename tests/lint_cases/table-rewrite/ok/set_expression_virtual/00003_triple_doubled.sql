-- lock_timeout: 5s
-- A virtual column is computed when read: a new expression rewrites nothing.
ALTER TABLE orders ALTER COLUMN doubled SET EXPRESSION AS (total * 3);
