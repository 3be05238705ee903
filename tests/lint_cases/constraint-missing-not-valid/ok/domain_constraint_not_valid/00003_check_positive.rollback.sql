-- lock_timeout: 5s
ALTER DOMAIN positive DROP CONSTRAINT positive_check;
