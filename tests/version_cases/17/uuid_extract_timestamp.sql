CREATE TABLE tokens (id uuid);
CREATE VIEW token_times AS SELECT uuid_extract_timestamp(id) AS at FROM tokens;
