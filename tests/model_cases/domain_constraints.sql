-- Domains' NOT NULL and CHECKs: named by the server when the SQL does not (against every
-- constraint of the schema, a table's too), added NOT VALID and validated, dropped,
-- renamed, and kept through a domain's rename and SET SCHEMA.
CREATE TABLE stock (
    id uuid NOT NULL,
    CONSTRAINT stock_pkey PRIMARY KEY (id),
    CONSTRAINT price_check CHECK (id IS NOT NULL)
);
COMMENT ON TABLE stock IS 'What the shelves hold.';
CREATE DOMAIN quantity AS integer NOT NULL CHECK (VALUE >= 0) CHECK (VALUE < 1000000);
CREATE DOMAIN price AS numeric(10, 2) CHECK (VALUE > 0);
ALTER DOMAIN price ADD CHECK (VALUE < 100000);
ALTER DOMAIN price ADD CONSTRAINT price_cents CHECK (scale(VALUE) <= 2) NOT VALID;
ALTER DOMAIN price ADD CONSTRAINT price_sane CHECK (VALUE < 1000000000) NOT VALID;
ALTER DOMAIN price VALIDATE CONSTRAINT price_cents;
ALTER TABLE stock ADD COLUMN on_hand quantity DEFAULT 0;
ALTER TABLE stock ADD COLUMN unit_price price;
ALTER DOMAIN quantity DROP CONSTRAINT quantity_check1;
ALTER DOMAIN quantity RENAME CONSTRAINT quantity_check TO quantity_not_negative;
ALTER DOMAIN quantity DROP NOT NULL;
CREATE DOMAIN label AS varchar(40);
ALTER DOMAIN label SET NOT NULL;
ALTER DOMAIN label ADD CONSTRAINT label_not_blank CHECK (VALUE <> '');
CREATE SCHEMA catalogue;
ALTER DOMAIN price SET SCHEMA catalogue;
ALTER DOMAIN catalogue.price RENAME TO amount;
CREATE DOMAIN catalogue.weight AS real CHECK (VALUE > 0);
