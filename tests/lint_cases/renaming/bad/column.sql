-- lock_timeout: 5s
ALTER TABLE accounts RENAME COLUMN nickname TO display_name;
