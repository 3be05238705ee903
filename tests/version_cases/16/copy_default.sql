CREATE TABLE imports (n integer);
COPY imports FROM '/dev/null' (DEFAULT '\D');
