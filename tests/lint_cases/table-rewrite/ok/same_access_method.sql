-- lock_timeout: 5s
ALTER TABLE orders SET ACCESS METHOD heap;
