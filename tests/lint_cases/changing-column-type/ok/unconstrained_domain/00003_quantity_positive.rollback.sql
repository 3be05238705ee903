-- lock_timeout: 5s
ALTER TABLE stock ALTER COLUMN quantity TYPE integer;
