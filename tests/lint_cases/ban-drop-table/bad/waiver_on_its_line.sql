-- A waiver at the end of a statement's line is that statement's, not the next one's.
DROP TABLE orders; -- lint: allow ban-drop-table -- nothing reads orders since release 12
DROP TABLE accounts;
