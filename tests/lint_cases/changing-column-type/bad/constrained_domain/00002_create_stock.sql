CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TABLE stock (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    quantity integer,
    CONSTRAINT stock_pkey PRIMARY KEY (id)
);
COMMENT ON TABLE stock IS 'How many of an item are left.';
