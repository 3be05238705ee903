-- lock_timeout: 5s
ALTER TABLE orders
    ADD COLUMN referrer_id uuid CONSTRAINT orders_referrer_id_fkey REFERENCES accounts (id);
