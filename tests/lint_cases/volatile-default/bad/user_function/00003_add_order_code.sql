-- lock_timeout: 5s
ALTER TABLE orders ADD COLUMN code text DEFAULT new_code();
