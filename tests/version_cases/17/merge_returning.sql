CREATE TABLE stock (sku text PRIMARY KEY, n integer);
CREATE TABLE arrivals (sku text, n integer);
MERGE INTO stock s USING arrivals a ON s.sku = a.sku
    WHEN MATCHED THEN UPDATE SET n = s.n + a.n
    WHEN NOT MATCHED THEN INSERT VALUES (a.sku, a.n)
    RETURNING s.sku;
