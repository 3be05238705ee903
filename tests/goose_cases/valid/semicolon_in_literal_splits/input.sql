-- +goose Up
INSERT INTO t VALUES ('first;
second');
