-- lock_timeout: 5s
ALTER TABLE accounts ALTER COLUMN nickname SET DEFAULT 'anonymous';
COMMENT ON COLUMN accounts.nickname IS 'Shown to others.';
