-- What a drop takes with it: a table's dependent keys (CASCADE), a column's
-- indexes, CHECKs and the keys pointing at it, a constraint's dependent keys.
CREATE TABLE parts (
    id uuid NOT NULL,
    code text NOT NULL,
    size integer,
    weight integer,
    CONSTRAINT parts_pkey PRIMARY KEY (id),
    CONSTRAINT parts_code_key UNIQUE (code),
    CONSTRAINT parts_size_weight_check CHECK (size < weight)
);
CREATE INDEX parts_size_weight_idx ON parts (size, weight);
CREATE INDEX parts_weight_expr_idx ON parts ((weight * 2));
CREATE INDEX parts_code_partial_idx ON parts (code) WHERE size > 0;
CREATE TABLE part_codes (
    code text NOT NULL,
    part_id uuid,
    CONSTRAINT part_codes_code_fkey FOREIGN KEY (code) REFERENCES parts (code),
    CONSTRAINT part_codes_part_id_fkey FOREIGN KEY (part_id) REFERENCES parts (id)
);
ALTER TABLE parts DROP COLUMN size;
ALTER TABLE parts DROP COLUMN code CASCADE;
ALTER TABLE parts DROP CONSTRAINT parts_pkey CASCADE;
ALTER TABLE part_codes ADD COLUMN extra integer;
ALTER TABLE part_codes DROP COLUMN IF EXISTS nothing_here;
ALTER TABLE part_codes DROP CONSTRAINT IF EXISTS nothing_here;
ALTER TABLE orders DROP CONSTRAINT orders_account_id_fkey;
DROP TABLE accounts CASCADE;
