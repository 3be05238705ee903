-- 41 characters, 81 bytes: PostgreSQL counts bytes.
ALTER TABLE accounts ADD COLUMN ééééééééééééééééééééééééééééééééééééééééx text;
