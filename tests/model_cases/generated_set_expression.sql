-- PostgreSQL 17: a stored generated column's expression can change.
ALTER TABLE orders ADD COLUMN doubled numeric GENERATED ALWAYS AS (total * 2) STORED;
ALTER TABLE orders ALTER COLUMN doubled SET EXPRESSION AS (total * 3);
