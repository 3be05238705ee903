-- lock_timeout: 5s
UPDATE orders SET status = 'paid' WHERE status = 'shipped';
