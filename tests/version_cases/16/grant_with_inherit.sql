DROP ROLE IF EXISTS liftdb_case_app;
DROP ROLE IF EXISTS liftdb_case_reader;
CREATE ROLE liftdb_case_reader NOLOGIN;
CREATE ROLE liftdb_case_app NOLOGIN;
GRANT liftdb_case_reader TO liftdb_case_app WITH INHERIT FALSE;
DROP ROLE liftdb_case_app;
DROP ROLE liftdb_case_reader;
