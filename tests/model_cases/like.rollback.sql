DROP TABLE order_plain;
DROP TABLE order_copies;
COMMENT ON COLUMN orders.total IS NULL;
ALTER TABLE orders DROP CONSTRAINT orders_total_check;
ALTER TABLE orders DROP COLUMN n;
ALTER TABLE orders DROP COLUMN doubled;
DROP TABLE order_defaults;
DROP TABLE order_shapes;
DROP TABLE order_drafts;
