-- transactional: false
-- lock_timeout: 5s
-- The second statement finds the index built and builds nothing.
CREATE INDEX CONCURRENTLY orders_total_idx ON orders (total);
CREATE INDEX IF NOT EXISTS orders_total_idx ON orders (total);
