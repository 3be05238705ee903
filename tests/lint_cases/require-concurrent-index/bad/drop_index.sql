DROP INDEX orders_account_id_idx;
