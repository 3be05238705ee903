-- lock_timeout: 5s
-- lint: allow changing-column-type -- right after the up: every value is positive
ALTER TABLE stock ALTER COLUMN quantity TYPE positive;
