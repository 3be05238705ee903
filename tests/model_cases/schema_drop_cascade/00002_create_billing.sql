CREATE SCHEMA billing;
CREATE TABLE billing.invoices (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL,
    CONSTRAINT invoices_pkey PRIMARY KEY (id),
    CONSTRAINT invoices_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
);
CREATE INDEX invoices_account_id_idx ON billing.invoices (account_id);
COMMENT ON TABLE billing.invoices IS 'An invoice.';
CREATE FUNCTION billing.total(invoice uuid) RETURNS numeric
    LANGUAGE sql STABLE AS $$ SELECT 0::numeric $$;
ALTER TABLE orders ADD COLUMN invoice_id uuid
    CONSTRAINT orders_invoice_id_fkey REFERENCES billing.invoices (id);
