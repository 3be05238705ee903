CREATE FUNCTION on_login() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER liftdb_case_login ON login EXECUTE FUNCTION on_login();
DROP EVENT TRIGGER IF EXISTS liftdb_case_login;
