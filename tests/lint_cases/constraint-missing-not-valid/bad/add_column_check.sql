-- lock_timeout: 5s
ALTER TABLE orders
    ADD COLUMN discount numeric(10, 2) CONSTRAINT orders_discount_check CHECK (discount >= 0);
