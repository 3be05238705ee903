-- +goose Up +goose Down
SELECT 1;
