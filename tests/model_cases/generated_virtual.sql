-- PostgreSQL 18: VIRTUAL, and the default kind when none is written.
ALTER TABLE orders ADD COLUMN with_tax numeric GENERATED ALWAYS AS (total * 1.2) VIRTUAL;
ALTER TABLE orders ADD COLUMN cents numeric GENERATED ALWAYS AS (total * 100);
