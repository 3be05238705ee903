-- +goose Up
-- nothing to do any more

-- +goose Down
-- nor here
