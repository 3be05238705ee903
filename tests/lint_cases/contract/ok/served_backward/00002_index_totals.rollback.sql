-- transactional: false
DROP INDEX CONCURRENTLY orders_account_id_total_idx;
