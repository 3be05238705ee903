-- lock_timeout: 5s
ALTER TABLE orders DROP CONSTRAINT orders_account_id_again_fkey;
