-- lock_timeout: 5s
ALTER TABLE accounts DROP CONSTRAINT accounts_email_key;
