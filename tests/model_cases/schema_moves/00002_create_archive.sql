CREATE SCHEMA archive;
CREATE TABLE old_orders (
    id bigint GENERATED ALWAYS AS IDENTITY,
    order_id uuid NOT NULL,
    CONSTRAINT old_orders_pkey PRIMARY KEY (id),
    CONSTRAINT old_orders_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id)
);
CREATE INDEX old_orders_order_id_idx ON old_orders (order_id);
CREATE TABLE notes (
    id serial PRIMARY KEY,
    old_order_id bigint REFERENCES old_orders (id)
);
