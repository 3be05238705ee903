-- lock_timeout: 5s
ALTER TABLE accounts ADD COLUMN country text NOT NULL;
