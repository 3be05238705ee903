-- lock_timeout: 5s
ALTER TABLE orders ADD COLUMN doubled numeric GENERATED ALWAYS AS (total * 2) VIRTUAL;
