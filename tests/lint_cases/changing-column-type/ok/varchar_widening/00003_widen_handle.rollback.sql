-- lock_timeout: 5s
-- lint: allow changing-column-type -- undoing the widening right after it: no value is longer than 50 yet
ALTER TABLE profiles ALTER COLUMN handle TYPE varchar(50);
