-- lock_timeout: 5s
ALTER TABLE accounts ADD CONSTRAINT accounts_nickname_not_null NOT NULL nickname NOT VALID;
