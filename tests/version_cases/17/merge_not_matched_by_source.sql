CREATE TABLE stock (sku text PRIMARY KEY, n integer);
CREATE TABLE arrivals (sku text, n integer);
MERGE INTO stock s USING arrivals a ON s.sku = a.sku
    WHEN NOT MATCHED BY SOURCE THEN DELETE;
