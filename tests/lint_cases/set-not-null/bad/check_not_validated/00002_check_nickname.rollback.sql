-- lock_timeout: 5s
ALTER TABLE accounts DROP CONSTRAINT accounts_nickname_check;
