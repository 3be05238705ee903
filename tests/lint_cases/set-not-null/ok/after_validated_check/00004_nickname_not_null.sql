-- lock_timeout: 5s
ALTER TABLE accounts ALTER COLUMN nickname SET NOT NULL;
