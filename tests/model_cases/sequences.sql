-- A serial's default names its sequence, which a rename or SET SCHEMA changes.
CREATE SCHEMA counters;
CREATE TABLE tickets (
    id serial,
    number bigserial,
    CONSTRAINT tickets_pkey PRIMARY KEY (id)
);
CREATE SEQUENCE ticket_codes;
ALTER TABLE tickets ADD COLUMN code bigint DEFAULT nextval('ticket_codes');
ALTER SEQUENCE tickets_number_seq RENAME TO ticket_numbers;
ALTER SEQUENCE ticket_codes SET SCHEMA counters;
ALTER TABLE tickets RENAME TO passes;
