-- Two tables whose names share their first 55 characters: PostgreSQL's sequence
-- names for their serial columns collide once cut to 63 bytes, so the second is
-- numbered; identity columns get sequences too, and OWNED BY moves one.
CREATE TABLE a_long_name_that_contains_more_than_56_char_and_less_63_ (
    id serial NOT NULL
);
CREATE TABLE a_long_name_that_contains_more_than_56_char_and_less_63_bis (
    id serial NOT NULL,
    n integer GENERATED ALWAYS AS IDENTITY
);
CREATE SEQUENCE loose_numbers;
ALTER SEQUENCE loose_numbers OWNED BY orders.total;
CREATE TABLE photos (
    id uuid NOT NULL,
    bucket text NOT NULL,
    CONSTRAINT photos_pkey PRIMARY KEY (id, bucket)
) PARTITION BY LIST (bucket);
CREATE TABLE photos_avatars PARTITION OF photos FOR VALUES IN ('avatars');
CREATE TABLE photos_brands (LIKE photos INCLUDING DEFAULTS);
ALTER TABLE photos ATTACH PARTITION photos_brands FOR VALUES IN ('brands');
CREATE TABLE likes (
    photo_id uuid NOT NULL,
    bucket text NOT NULL,
    CONSTRAINT likes_photo_id_bucket_fkey FOREIGN KEY (photo_id, bucket) REFERENCES photos
);
ALTER TABLE orders DROP COLUMN total;
