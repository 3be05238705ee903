CREATE TABLE payloads (body jsonb);
CREATE VIEW names AS SELECT JSON_VALUE(body, '$.name') AS name FROM payloads;
