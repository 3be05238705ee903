CREATE TABLE accounts (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    email text NOT NULL,
    nickname text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_pkey PRIMARY KEY (id)
);
COMMENT ON TABLE accounts IS 'A customer account.';
ALTER TABLE orders ADD CONSTRAINT orders_account_id_fkey
    FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE;
DROP TABLE part_codes;
DROP TABLE parts;
