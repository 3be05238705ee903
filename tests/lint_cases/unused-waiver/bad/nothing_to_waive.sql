-- lint: allow ban-drop-table -- cleanup
SELECT 1;
