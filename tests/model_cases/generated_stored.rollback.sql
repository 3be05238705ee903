ALTER TABLE orders DROP COLUMN doubled;
DROP TABLE boxes;
