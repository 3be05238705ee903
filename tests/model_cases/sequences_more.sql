CREATE SCHEMA ids;
CREATE SEQUENCE ids.shared;
CREATE TABLE ids.notes (
    id bigserial PRIMARY KEY,
    other bigint DEFAULT nextval('ids.shared')
);
CREATE TABLE notes_id_seq (id integer PRIMARY KEY);
CREATE TABLE notes (id serial PRIMARY KEY);
DROP SEQUENCE ids.shared CASCADE;
ALTER TABLE ids.notes RENAME TO remarks;
ALTER INDEX ids.notes_pkey RENAME TO remarks_pkey;
ALTER SEQUENCE ids.notes_id_seq RENAME TO remarks_id_seq;
ALTER TABLE ids.remarks SET SCHEMA public;
