-- lock_timeout: 5s
ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();
