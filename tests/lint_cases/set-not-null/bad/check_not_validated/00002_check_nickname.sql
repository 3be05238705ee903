-- lock_timeout: 5s
ALTER TABLE accounts
    ADD CONSTRAINT accounts_nickname_check CHECK (nickname IS NOT NULL) NOT VALID;
