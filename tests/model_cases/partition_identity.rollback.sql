DROP TABLE entries;
DROP TABLE ledger;
