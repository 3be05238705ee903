-- +goose Up
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$
  -- +goose Down inside a body
  SELECT 1
$$;
