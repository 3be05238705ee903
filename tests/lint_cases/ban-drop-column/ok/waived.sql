-- lock_timeout: 5s
-- lint: allow ban-drop-column -- nothing reads nickname since release 12
ALTER TABLE accounts DROP COLUMN nickname;
