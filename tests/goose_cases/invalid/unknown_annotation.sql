-- +goose Up
-- +goose Sideways
CREATE TABLE a (id int);
