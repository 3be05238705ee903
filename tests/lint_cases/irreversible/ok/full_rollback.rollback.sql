-- lock_timeout: 5s
COMMENT ON COLUMN accounts.nickname IS NULL;
ALTER TABLE accounts ALTER COLUMN nickname DROP DEFAULT;
