-- transactional: false
-- lock_timeout: 5s
CREATE INDEX CONCURRENTLY orders_total_account_id_idx ON orders (total, account_id);
