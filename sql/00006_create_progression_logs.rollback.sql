DROP TABLE progression_logs;

DROP FUNCTION is_json_integer(jsonb);
