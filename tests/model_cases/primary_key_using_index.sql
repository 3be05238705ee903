-- The key takes the index's name (or the constraint's, renaming the index),
-- and makes its columns NOT NULL.
CREATE TABLE codes (
    code text,
    label text
);
CREATE UNIQUE INDEX codes_code_idx ON codes (code);
ALTER TABLE codes ADD CONSTRAINT codes_pkey PRIMARY KEY USING INDEX codes_code_idx;
CREATE UNIQUE INDEX codes_label_idx ON codes (label);
ALTER TABLE codes ADD UNIQUE USING INDEX codes_label_idx;
