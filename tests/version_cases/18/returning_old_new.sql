CREATE TABLE counters (n integer);
UPDATE counters SET n = n + 1 RETURNING old.n, new.n;
