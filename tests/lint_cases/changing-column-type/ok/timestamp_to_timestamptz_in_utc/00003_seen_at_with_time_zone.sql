-- lock_timeout: 5s
SET LOCAL TimeZone = 'UTC';
ALTER TABLE profiles ALTER COLUMN seen_at TYPE timestamptz;
