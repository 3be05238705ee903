-- DROP FUNCTION ... CASCADE takes the triggers, defaults, CHECKs and indexes using it.
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE FUNCTION twice(n numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT n * 2 $$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
ALTER TABLE orders ADD COLUMN bonus numeric DEFAULT twice(1);
ALTER TABLE orders ADD CONSTRAINT orders_bonus_check CHECK (twice(bonus) > 0);
CREATE INDEX orders_twice_idx ON orders (twice(total));
DROP FUNCTION touch() CASCADE;
DROP FUNCTION twice CASCADE;
