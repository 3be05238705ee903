CREATE TABLE prices (net numeric);
ALTER TABLE prices ADD COLUMN gross numeric GENERATED ALWAYS AS (net * 1.2) VIRTUAL;
