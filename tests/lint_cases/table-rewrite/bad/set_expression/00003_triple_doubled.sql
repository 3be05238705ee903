-- lock_timeout: 5s
ALTER TABLE orders ALTER COLUMN doubled SET EXPRESSION AS (total * 3);
