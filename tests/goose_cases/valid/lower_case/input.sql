-- +goose up
-- +goose no transaction
CREATE INDEX CONCURRENTLY c_idx ON c (id);
-- +goose down
-- +goose statementbegin
DROP INDEX CONCURRENTLY c_idx;
-- +goose statementend
