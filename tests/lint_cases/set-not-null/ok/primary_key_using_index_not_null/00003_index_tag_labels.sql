-- transactional: false
CREATE UNIQUE INDEX CONCURRENTLY tags_pkey ON tags (label);
