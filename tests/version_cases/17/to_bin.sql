CREATE VIEW bits AS SELECT to_bin(5) AS five;
