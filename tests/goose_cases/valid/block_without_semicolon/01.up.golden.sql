CREATE TABLE e (id int)
