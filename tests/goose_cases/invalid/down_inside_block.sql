-- +goose Up
-- +goose StatementBegin
SELECT 1;
-- +goose Down
-- +goose StatementEnd
