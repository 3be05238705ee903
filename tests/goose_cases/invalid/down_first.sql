-- +goose Down
DROP TABLE a;
-- +goose Up
CREATE TABLE a (id int);
