DROP TABLE notes;
DROP TABLE old_orders;
DROP SCHEMA archive;
