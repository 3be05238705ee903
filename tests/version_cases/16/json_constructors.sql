CREATE TABLE facts (k text, v integer);
SELECT json_object('a': 1), json_array(1, 2), json_objectagg(k: v), json_arrayagg(v) FROM facts;
