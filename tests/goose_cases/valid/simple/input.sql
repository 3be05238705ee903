-- +goose Up
CREATE TABLE a (id int);
INSERT INTO a VALUES (1); -- a comment after the semicolon

-- +goose Down
DROP TABLE a;
