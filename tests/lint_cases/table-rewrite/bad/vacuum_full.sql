-- transactional: false
-- lock_timeout: 5s
VACUUM FULL orders;
