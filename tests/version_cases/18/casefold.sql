CREATE TABLE handles (name text);
CREATE UNIQUE INDEX handles_casefold_key ON handles (casefold(name));
