-- Quoted names keep their case and spaces; names past 63 bytes are cut, by bytes.
CREATE TABLE "Order Lines" (
    "Line Id" integer PRIMARY KEY,
    "Ünïcödé_cölümn_with_a_näme_that_is_löng_enough_to_be_cut_ät_sixty_three_bytes" text UNIQUE,
    "Quantity" integer CHECK ("Quantity" > 0)
);
CREATE INDEX ON "Order Lines" ("Quantity");
COMMENT ON COLUMN "Order Lines"."Quantity" IS 'How many.';
ALTER TABLE "Order Lines" RENAME COLUMN "Quantity" TO "Count";
CREATE TABLE ééééééééééééééééééééééééééééééééééééééééé (id integer PRIMARY KEY);
