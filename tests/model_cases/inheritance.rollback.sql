DROP TABLE trailers;
DROP TABLE vehicles CASCADE;
