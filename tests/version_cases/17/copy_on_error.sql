CREATE TABLE imports (n integer);
COPY imports FROM '/dev/null' (ON_ERROR ignore);
