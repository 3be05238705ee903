-- lock_timeout: 5s
ALTER TABLE orders ADD COLUMN total_cents numeric GENERATED ALWAYS AS (total * 100) VIRTUAL;
