-- lock_timeout: 5s
ALTER TABLE profiles ALTER COLUMN score TYPE bigint;
