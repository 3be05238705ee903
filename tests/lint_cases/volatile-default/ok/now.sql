-- lock_timeout: 5s
ALTER TABLE orders ADD COLUMN seen_at timestamptz DEFAULT now();
