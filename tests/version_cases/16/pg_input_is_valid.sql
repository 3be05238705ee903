CREATE TABLE raw_numbers (v text);
ALTER TABLE raw_numbers ADD CONSTRAINT raw_numbers_v_check CHECK (pg_input_is_valid(v, 'integer'));
