-- lock_timeout: 5s
SET LOCAL TimeZone = 'Europe/Paris';
ALTER TABLE profiles ALTER COLUMN seen_at TYPE timestamptz;
