-- lock_timeout: 5s
ALTER TABLE accounts ALTER COLUMN email TYPE varchar(300);
