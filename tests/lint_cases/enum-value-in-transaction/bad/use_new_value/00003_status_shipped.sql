-- lock_timeout: 5s
ALTER TYPE order_status ADD VALUE 'shipped';
UPDATE orders SET status = 'shipped' WHERE status = 'paid';
