-- transactional: false
CREATE TABLE scratch (n integer);
VACUUM (BUFFER_USAGE_LIMIT '256kB') scratch;
