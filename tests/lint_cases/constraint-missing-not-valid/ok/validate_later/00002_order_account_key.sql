-- lock_timeout: 5s
ALTER TABLE orders
    ADD CONSTRAINT orders_account_id_again_fkey
    FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;
