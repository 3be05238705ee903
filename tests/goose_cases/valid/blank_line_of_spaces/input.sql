-- +goose Up
   
-- sent with the statement
SELECT 1;

-- not sent
SELECT 2;
