DROP TABLE likes;
DROP TABLE photos;
ALTER TABLE orders ADD COLUMN total numeric(10, 2) NOT NULL DEFAULT 0;
ALTER TABLE orders ALTER COLUMN total DROP DEFAULT;
DROP TABLE a_long_name_that_contains_more_than_56_char_and_less_63_bis;
DROP TABLE a_long_name_that_contains_more_than_56_char_and_less_63_;
