-- lock_timeout: 5s
ALTER TABLE orders
    ADD COLUMN total_cents numeric NOT NULL GENERATED ALWAYS AS (total * 100) VIRTUAL;
