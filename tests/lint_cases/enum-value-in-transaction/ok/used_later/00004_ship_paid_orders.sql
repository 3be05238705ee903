-- lock_timeout: 5s
UPDATE orders SET status = 'shipped' WHERE status = 'paid';
