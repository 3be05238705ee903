-- +goose Up
CREATE TABLE a (id int);
-- +goose StatementEnd
