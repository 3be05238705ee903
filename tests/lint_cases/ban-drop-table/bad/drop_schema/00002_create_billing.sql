CREATE SCHEMA billing;
CREATE TABLE billing.invoices (
    id uuid NOT NULL,
    CONSTRAINT invoices_pkey PRIMARY KEY (id)
);
COMMENT ON TABLE billing.invoices IS 'An invoice.';
