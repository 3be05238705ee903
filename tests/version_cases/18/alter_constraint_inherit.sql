CREATE TABLE rules (n integer NOT NULL);
ALTER TABLE rules ALTER CONSTRAINT rules_n_not_null NO INHERIT;
