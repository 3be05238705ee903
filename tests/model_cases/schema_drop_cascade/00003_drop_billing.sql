-- Drops the schema's tables, indexes and functions, and the foreign key
-- that pointed into it from public (the column stays).
DROP SCHEMA billing CASCADE;
