-- transactional: false
DROP INDEX CONCURRENTLY tags_pkey;
