-- Every rename the model tracks, and what follows each: expressions that name a
-- renamed column, keys that point at a renamed table, a key's index.
CREATE TABLE boxes (
    id uuid NOT NULL,
    width integer NOT NULL,
    height integer NOT NULL,
    area integer GENERATED ALWAYS AS (width * height) STORED,
    CONSTRAINT boxes_pkey PRIMARY KEY (id),
    CONSTRAINT boxes_width_check CHECK (width > 0 AND width < height * 10)
);
CREATE INDEX boxes_lower_idx ON boxes ((width + 1)) WHERE height > 2;
CREATE TABLE lids (
    box_id uuid NOT NULL REFERENCES boxes (id),
    CONSTRAINT lids_pkey PRIMARY KEY (box_id)
);
CREATE FUNCTION box_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NEW;
END
$$;
CREATE TRIGGER boxes_touch BEFORE UPDATE ON boxes FOR EACH ROW EXECUTE FUNCTION box_touch();
ALTER TABLE boxes RENAME COLUMN width TO breadth;
ALTER TABLE boxes RENAME COLUMN id TO box_id;
ALTER TABLE boxes RENAME TO crates;
ALTER TABLE crates RENAME CONSTRAINT boxes_width_check TO crates_breadth_check;
ALTER TABLE crates RENAME CONSTRAINT boxes_pkey TO crates_pkey;
ALTER INDEX boxes_lower_idx RENAME TO crates_breadth_idx;
ALTER INDEX lids_pkey RENAME TO lids_key;
ALTER TRIGGER boxes_touch ON crates RENAME TO crates_touch;
ALTER FUNCTION box_touch() RENAME TO crate_touch;
COMMENT ON FUNCTION crate_touch() IS 'Touches a crate.';
ALTER TABLE lids RENAME box_id TO crate_id;
