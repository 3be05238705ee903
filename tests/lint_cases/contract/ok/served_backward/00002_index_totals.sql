-- transactional: false
-- lock_timeout: 5s
CREATE INDEX CONCURRENTLY orders_account_id_total_idx ON orders (account_id, total);
