CREATE TABLE heap_things (n integer);
ALTER TABLE heap_things SET ACCESS METHOD DEFAULT;
