CREATE TABLE parents (name text NOT NULL NO INHERIT);
