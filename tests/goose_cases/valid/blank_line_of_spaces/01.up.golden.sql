-- sent with the statement
SELECT 1;
