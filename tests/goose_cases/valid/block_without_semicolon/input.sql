-- +goose Up
-- +goose StatementBegin
CREATE TABLE e (id int)
-- +goose StatementEnd

-- +goose Down
DROP TABLE e;
