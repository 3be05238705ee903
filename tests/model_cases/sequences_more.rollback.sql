DROP TABLE remarks;
DROP TABLE notes;
DROP TABLE notes_id_seq;
DROP SCHEMA ids;
