-- lock_timeout: 5s
ALTER TABLE tags DROP CONSTRAINT tags_pkey;
