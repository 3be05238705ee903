CREATE TABLE audit (who text);
ALTER TABLE audit ALTER COLUMN who SET DEFAULT system_user;
