-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    RETURN 1;
END;
$$;
-- +goose StatementEnd
SELECT f();

-- +goose Down
DROP FUNCTION f();
