-- transactional: no
-- lock_timeout: 5
--   statement_timeout:   a while
ALTER TABLE accounts ADD COLUMN referrer uuid;
