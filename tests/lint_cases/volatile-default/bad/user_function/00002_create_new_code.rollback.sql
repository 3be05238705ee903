DROP FUNCTION new_code();
