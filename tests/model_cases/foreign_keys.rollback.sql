CREATE TABLE accounts (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    email text NOT NULL,
    nickname text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_pkey PRIMARY KEY (id)
);
COMMENT ON TABLE accounts IS 'A customer account.';
CREATE TABLE orders (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL,
    total numeric(10, 2) NOT NULL,
    CONSTRAINT orders_pkey PRIMARY KEY (id),
    CONSTRAINT orders_account_id_fkey
        FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX orders_account_id_idx ON orders (account_id);
COMMENT ON TABLE orders IS 'An order placed by an account.';
DROP TABLE products;
DROP TABLE categories;
