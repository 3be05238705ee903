-- A temporary table lives for the session only; TRUNCATE empties, changes no shape.
CREATE TEMPORARY TABLE scratch (id integer);
TRUNCATE scratch;
CREATE UNLOGGED TABLE cache (id integer PRIMARY KEY);
TRUNCATE cache, public.orders CASCADE;
