-- lint: allow no-such-rule -- because
SELECT 1;
