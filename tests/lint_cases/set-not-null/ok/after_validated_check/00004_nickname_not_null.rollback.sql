-- lock_timeout: 5s
ALTER TABLE accounts ALTER COLUMN nickname DROP NOT NULL;
