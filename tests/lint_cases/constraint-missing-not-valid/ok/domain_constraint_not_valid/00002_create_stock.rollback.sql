DROP TABLE stock;
DROP DOMAIN positive;
