CREATE DOMAIN positive AS integer;
