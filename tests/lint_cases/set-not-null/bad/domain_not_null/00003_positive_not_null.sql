-- lock_timeout: 5s
ALTER DOMAIN positive SET NOT NULL;
