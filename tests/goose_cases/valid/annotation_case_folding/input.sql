-- +goose UP
-- +goose no transaction
SELECT 1;
-- +goose ſtatementBegin
SELECT 2;
-- +goose StatementEnd
