DROP TABLE codes;
