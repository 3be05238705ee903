-- +goose Up
COMMENT ON TABLE t IS 'an arrow -->';
CREATE TABLE u (id int);
