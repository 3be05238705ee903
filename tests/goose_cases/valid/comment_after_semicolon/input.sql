-- +goose Up
SELECT 1; -- done
SELECT 2 -- not done;
+ 3;
