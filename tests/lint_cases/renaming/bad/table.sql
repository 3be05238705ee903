-- lock_timeout: 5s
ALTER TABLE orders RENAME TO purchases;
