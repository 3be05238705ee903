-- A comment above the Up annotation: goose skips it.

-- +goose Up
-- A comment before a statement is not part of it.
CREATE TABLE b (
    -- but one inside a statement is;
    id int

);

-- +goose Down
DROP TABLE b;
