CREATE TABLE boxes (
    id uuid NOT NULL,
    width numeric NOT NULL,
    height numeric NOT NULL,
    area numeric GENERATED ALWAYS AS (width * height) STORED,
    half numeric GENERATED ALWAYS AS (width / 2) STORED,
    CONSTRAINT boxes_pkey PRIMARY KEY (id)
);
ALTER TABLE boxes ALTER COLUMN half DROP EXPRESSION;
ALTER TABLE orders ADD COLUMN doubled numeric GENERATED ALWAYS AS (total * 2) STORED;
