CREATE TABLE payloads (body jsonb);
CREATE VIEW items AS
    SELECT j.id FROM payloads, JSON_TABLE(body, '$[*]' COLUMNS (id integer PATH '$.id')) AS j;
