CREATE TABLE dice (roll integer);
ALTER TABLE dice ALTER COLUMN roll SET DEFAULT random(1, 6);
