CREATE TABLE counts (n integer);
INSERT INTO counts SELECT n FROM (SELECT 1 AS n);
