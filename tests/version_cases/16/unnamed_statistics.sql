CREATE TABLE pairs (a integer, b integer);
CREATE STATISTICS ON a, b FROM pairs;
