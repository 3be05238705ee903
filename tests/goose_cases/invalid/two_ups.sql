-- +goose Up
CREATE TABLE a (id int);
-- +goose Up
CREATE TABLE b (id int);
