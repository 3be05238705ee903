-- lock_timeout: 5s
ALTER TABLE profiles ALTER COLUMN seen_at TYPE timestamptz;
