CREATE TABLE samples (x double precision);
ALTER TABLE samples ALTER COLUMN x SET DEFAULT random_normal();
