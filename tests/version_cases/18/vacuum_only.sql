-- transactional: false
CREATE TABLE scratch (n integer);
VACUUM ONLY scratch;
