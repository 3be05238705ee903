DROP TABLE named, dated CASCADE;
