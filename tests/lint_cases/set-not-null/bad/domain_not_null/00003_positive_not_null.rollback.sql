-- lock_timeout: 5s
ALTER DOMAIN positive DROP NOT NULL;
