-- lock_timeout: 5s
-- lint: allow ban-drop-column
ALTER TABLE accounts DROP COLUMN nickname;
