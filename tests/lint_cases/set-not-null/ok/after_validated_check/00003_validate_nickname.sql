-- lock_timeout: 5s
ALTER TABLE accounts VALIDATE CONSTRAINT accounts_nickname_check;
