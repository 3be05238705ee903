CREATE TABLE a (id int);
-- +goose Up
