DROP TABLE feelings;
DROP DOMAIN email;
DROP TYPE feeling;
