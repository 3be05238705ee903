CREATE TABLE boxes (w numeric, area numeric GENERATED ALWAYS AS (w * w) STORED);
ALTER TABLE boxes ALTER COLUMN area SET EXPRESSION AS (w * w * 2);
