CREATE TABLE names (name text);
ALTER TABLE names ADD CONSTRAINT names_name_not_null NOT NULL name NOT VALID;
